/* Faster convolutions for the int8 kernels on x86-64, chosen at run time: AVX-512 VNNI (vpdpbusd:
 * four uint8 x int8 products summed into each int32 lane) or else AVX2 (bytes widened to int16,
 * vpmaddwd), both vectorised over output positions with the requantization vectorised too. Both are
 * exact: their products and sums never saturate (unlike vpmaddubsw's), so they give the portable C
 * path's int32 sums, and the same int8 values, bit for bit. Elsewhere the portable path runs. */
#include <pthread.h>
#include <string.h>

#include "qmodel_internal.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X86 1

static inline int32_t load4(const int8_t *w) {
    int32_t v;
    memcpy(&v, w, 4);
    return v;
}

/* gemmlowp's SaturatingRoundingDoublingHighMul, per 64-bit lane, of the int32 value sign-extended from
 * the lane's low half by a positive Q31 multiplier: vpmuldq gives the exact product, then (product +
 * nudge) / 2^31 truncated toward zero; the result is in the lane's low half */
__attribute__((target("avx512f,avx512dq,avx512vl"), always_inline)) static inline __m512i high_mul_lanes(__m512i x, __m512i multiplier) {
    __m512i ab = _mm512_mul_epi32(x, multiplier), zero = _mm512_setzero_si512();
    __mmask8 neg = _mm512_cmplt_epi64_mask(ab, zero);
    __m512i t = _mm512_add_epi64(ab, _mm512_mask_blend_epi64(neg, _mm512_set1_epi64(1 << 30), _mm512_set1_epi64(1 - (1 << 30))));
    __m512i q = _mm512_srai_epi64(t, 31); /* floor; + 1 where t < 0 and not a multiple of 2^31 */
    __mmask8 neg_inexact = _mm512_cmplt_epi64_mask(t, zero) & _mm512_test_epi64_mask(t, _mm512_set1_epi64(0x7fffffff));
    return _mm512_mask_add_epi64(q, neg_inexact, q, _mm512_set1_epi64(1));
}

/* s8_requant of 16 sums lane-wise (the left shift wraps in 32 bits as the scalar code's does; the
 * high multiply runs on the even and the odd lanes, the rounding shift on 16 int32 lanes). The codes of
 * the lanes in keep are written to out[0 ..], packed: the direct convolutions drop their junk positions
 * so, and the unfolding path keeps its first n lanes. */
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"), always_inline)) static inline void requant16(__m512i acc, const s8_conv_params *p, int oc,
                                                                          int8_t *out, __mmask16 keep) {
    s8_mult m = p->mult[oc];
    int left = m.shift > 0 ? m.shift : 0, right = m.shift > 0 ? 0 : -m.shift;
    __m512i x = _mm512_slli_epi32(acc, (unsigned)left), mult = _mm512_set1_epi64(m.multiplier);
    __m512i even = high_mul_lanes(x, mult), odd = high_mul_lanes(_mm512_srli_epi64(x, 32), mult);
    __m512i h = _mm512_mask_blend_epi32(0xaaaa, even, _mm512_slli_epi64(odd, 32));
    __m512i mask = _mm512_set1_epi32((int32_t)(((int64_t)1 << right) - 1));
    __m512i rem = _mm512_and_si512(h, mask), thr = _mm512_srai_epi32(mask, 1);
    thr = _mm512_mask_add_epi32(thr, _mm512_cmplt_epi32_mask(h, _mm512_setzero_si512()), thr, _mm512_set1_epi32(1));
    __m512i y = _mm512_srai_epi32(h, (unsigned)right);
    y = _mm512_mask_add_epi32(y, _mm512_cmpgt_epi32_mask(rem, thr), y, _mm512_set1_epi32(1));
    y = _mm512_add_epi32(y, _mm512_set1_epi32(p->out_zp));
    y = _mm512_min_epi32(_mm512_max_epi32(y, _mm512_set1_epi32(p->act_min)), _mm512_set1_epi32(p->act_max));
    y = _mm512_maskz_compress_epi32(keep, y);
    _mm_mask_storeu_epi8(out, (__mmask16)((1u << __builtin_popcount(keep)) - 1), _mm512_cvtepi32_epi8(y));
}

/* the first n lanes */
static inline __mmask16 first_lanes(int n) { return (__mmask16)((1u << n) - 1); }

/* channel oc for the 16 pixels from pb (n of them real) of the unfolding col (see below) */
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni"))) static void one_channel(const s8_conv_params *p,
                                                                                         const uint8_t *col, int np,
                                                                                         int kq, int kg, int oc, int pb,
                                                                                         int n, int8_t *out) {
    __m512i a0 = _mm512_setzero_si512();
    const int8_t *w0 = p->weights + (size_t)oc * kg;
    for (int q = 0; q < kq; q++)
        a0 = _mm512_dpbusd_epi32(a0, _mm512_loadu_si512(col + ((size_t)q * np + pb) * 4), _mm512_set1_epi32(load4(w0 + 4 * q)));
    requant16(_mm512_add_epi32(a0, _mm512_set1_epi32(p->bias[oc])), p, oc, out + (size_t)oc * p->oh * p->ow + pb, first_lanes(n));
}

/* a phase plane of the direct convolutions: its width, and its bytes / 4 with slack for the last
 * blocks, which read past the rows */
static int direct_width(const s8_conv_params *p) { return (p->w + 2 * p->pad + p->stride - 1) / p->stride; }
static size_t direct_plane(const s8_conv_params *p) {
    size_t ph = (size_t)(p->h + 2 * p->pad + p->stride - 1) / (size_t)p->stride;
    return ph * (size_t)direct_width(p) + 32 + (size_t)p->kernel;
}

/* 16 pixels of 4 channels (rows of 16 bytes) interleaved into 16 groups of 4 bytes, in 4 vectors */
static inline void interleave4x16(__m128i r0, __m128i r1, __m128i r2, __m128i r3, __m128i v[4]) {
    __m128i lo01 = _mm_unpacklo_epi8(r0, r1), hi01 = _mm_unpackhi_epi8(r0, r1);
    __m128i lo23 = _mm_unpacklo_epi8(r2, r3), hi23 = _mm_unpackhi_epi8(r2, r3);
    v[0] = _mm_unpacklo_epi16(lo01, lo23), v[1] = _mm_unpackhi_epi16(lo01, lo23);
    v[2] = _mm_unpacklo_epi16(hi01, hi23), v[3] = _mm_unpackhi_epi16(hi01, hi23);
}

/* The direct convolutions' input: group g's channels as unsigned values in zero-point-padded phase
 * planes (C/4, stride^2, plane, 4), each plane pw wide (see conv_direct_vnni). 16 pixels at a time:
 * 4 channel rows interleaved, and with stride 2 their even and odd pixels to the two column phases. */
static void prepare_direct(const s8_conv_params *p, const int8_t *in, int g, uint8_t *buf, int pw, size_t plane) {
    const int cg = p->cin / p->groups, cq = (cg + 3) / 4, st = p->stride, H = p->h, W = p->w, pad = p->pad;
    const uint8_t fill = (uint8_t)(p->in_zp + 128);
    const __m128i flip = _mm_set1_epi8((char)0x80), fills = _mm_set1_epi8((char)fill);
    memset(buf, fill, (size_t)cq * st * st * plane * 4);
    for (int q = 0; q < cq; q++)
        for (int y = 0; y < H; y++) {
            const int8_t *row[4];
            for (int j = 0; j < 4; j++)
                row[j] = 4 * q + j < cg ? in + ((size_t)(g * cg + 4 * q + j) * H + y) * W : NULL;
            const int py = y + pad;
            uint8_t *phase_row[2]; /* the plane rows of this row's even and odd padded columns */
            for (int par = 0; par < st; par++)
                phase_row[par] = buf + (((size_t)q * st * st + (size_t)(py % st) * st + par) * plane + (size_t)(py / st) * pw) * 4;
            int x = 0;
            for (; x < W && W >= 16; x += 16) {
                if (x + 16 > W) x = W - 16; /* the last block overlaps the one before: the same words again */
                __m128i r[4], v[4];
                for (int j = 0; j < 4; j++)
                    r[j] = row[j] ? _mm_xor_si128(_mm_loadu_si128((const __m128i *)(row[j] + x)), flip) : fills;
                interleave4x16(r[0], r[1], r[2], r[3], v);
                const int px = x + pad;
                if (st == 1) {
                    for (int i = 0; i < 4; i++) _mm_storeu_si128((__m128i *)(phase_row[0] + (size_t)px * 4) + i, v[i]);
                    continue;
                }
                /* pixels x + 2i go to column phase px % 2 from column px / 2, pixels x + 2i + 1 to the
                 * other phase from column (px + 1) / 2 */
                __m128 f[4];
                for (int i = 0; i < 4; i++) f[i] = _mm_castsi128_ps(v[i]);
                __m128i *even = (__m128i *)(phase_row[px % 2] + (size_t)(px / 2) * 4);
                __m128i *odd = (__m128i *)(phase_row[(px + 1) % 2] + (size_t)((px + 1) / 2) * 4);
                _mm_storeu_si128(even, _mm_castps_si128(_mm_shuffle_ps(f[0], f[1], _MM_SHUFFLE(2, 0, 2, 0))));
                _mm_storeu_si128(even + 1, _mm_castps_si128(_mm_shuffle_ps(f[2], f[3], _MM_SHUFFLE(2, 0, 2, 0))));
                _mm_storeu_si128(odd, _mm_castps_si128(_mm_shuffle_ps(f[0], f[1], _MM_SHUFFLE(3, 1, 3, 1))));
                _mm_storeu_si128(odd + 1, _mm_castps_si128(_mm_shuffle_ps(f[2], f[3], _MM_SHUFFLE(3, 1, 3, 1))));
            }
            for (; x < W; x++) { /* rows narrower than 16: one 32-bit store per pixel */
                uint32_t v = 0;
                for (int j = 0; j < 4; j++) v |= (uint32_t)(row[j] ? (uint8_t)row[j][x] ^ 0x80 : fill) << (8 * j);
                int px = x + pad, odd = st == 2 && (px & 1);
                memcpy(phase_row[odd] + (size_t)(st == 2 ? px >> 1 : px) * 4, &v, 4);
            }
        }
}

/* the bytes of tap (ky, kx) for virtual position t0 in the direct convolutions' buffer (4 channels;
 * the next 4 channels follow stride^2 planes later) */
static const uint8_t *direct_tap(const s8_conv_params *p, const uint8_t *buf, size_t plane, int pw, int t0, int ky,
                                 int kx) {
    int st = p->stride, phase = (ky % st) * st + kx % st;
    return buf + ((size_t)phase * plane + (size_t)t0 + (size_t)(ky / st) * pw + kx / st) * 4;
}

/* Of the 16 virtual positions from t (t < total), the lanes that are real outputs, and in *at the
 * index of the first of them in an output channel */
static __mmask16 direct_lanes(const s8_conv_params *p, int pw, int total, int t, size_t *at) {
    int x = t % pw;
    *at = (size_t)(t / pw) * (size_t)p->ow + (size_t)(x < p->ow ? x : p->ow);
    unsigned keep = 0;
    for (int i = 0; i < 16 && t + i < total; i++, x = x + 1 == pw ? 0 : x + 1) keep |= (unsigned)(x < p->ow) << i;
    return (__mmask16)keep;
}

/* Writes the codes of channels oc .. oc + rows - 1 for the n virtual positions from t0 (codes[r * 32 +
 * i]) to out, dropping the junk positions (x >= OW) of each padded row */
static void direct_store(const s8_conv_params *p, int8_t *out, int oc, int rows, const int8_t *codes, int t0, int n,
                         int pw) {
    for (int i = 0, y = t0 / pw, x = t0 % pw; i < n; i++, x++) {
        if (x == pw) x = 0, y++;
        if (x < p->ow)
            for (int r = 0; r < rows; r++) out[((size_t)(oc + r) * p->oh + y) * p->ow + x] = codes[r * 32 + i];
    }
}

/* Direct convolution (stride 1 or 2) of one group with VNNI, with no unfolding. The group's input is
 * copied once as unsigned values into zero-point-padded planes laid out (C/4, H', W', 4): 4 channels'
 * bytes side by side. With stride 2 the padded input is first split into its four phases (even/odd
 * rows x even/odd columns), each a plane of half the size, so that tap (ky, kx) of output (y, x) is
 * phase (ky % 2, kx % 2) at (y + ky / 2, x + kx / 2): a stride-1 access again. Over "virtual" output
 * positions t = y * W' + x (positions with x >= OW are junk and dropped) the tap of 16 consecutive
 * positions is then 64 consecutive bytes: one load per (tap, 4 channels), and vpdpbusd with the 4
 * weights broadcast (packed per output channel as (K, K, C/4, 4)) accumulates 16 outputs. */
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni"))) static void conv_direct_vnni(
    const s8_conv_params *p, const int8_t *in, int g, int8_t *out, uint8_t *buf) {
    const int cg = p->cin / p->groups, og = p->cout / p->groups, k = p->kernel, cq = (cg + 3) / 4, st = p->stride;
    const int OH = p->oh, pw = direct_width(p);
    const size_t plane = direct_plane(p);
    const int8_t *packed = p->packed + (size_t)g * og * k * k * cq * 4;
    prepare_direct(p, in, g, buf, pw, plane);
    const int total = OH * pw; /* virtual output positions */
    const size_t wstride = (size_t)k * k * cq * 4;
    const size_t npix = (size_t)OH * p->ow;
    for (int t0 = 0; t0 < total; t0 += 32) {
        size_t at[2];
        __mmask16 keep[2] = {direct_lanes(p, pw, total, t0, &at[0]), direct_lanes(p, pw, total, t0 + 16, &at[1])};
        for (int oc = g * og; oc < (g + 1) * og; oc += 4) {
            int rows = (g + 1) * og - oc < 4 ? (g + 1) * og - oc : 4;
            /* four channels x 32 positions: eight independent sums hide vpdpbusd's latency, and each
             * broadcast weight serves two loads */
            __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            const int8_t *w0 = packed + (size_t)(oc - g * og) * wstride;
            const int8_t *w1 = rows > 1 ? w0 + wstride : w0, *w2 = rows > 2 ? w0 + 2 * wstride : w0;
            const int8_t *w3 = rows > 3 ? w0 + 3 * wstride : w0;
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) {
                    const uint8_t *a = direct_tap(p, buf, plane, pw, t0, ky, kx);
                    size_t tap = (size_t)(ky * k + kx) * cq * 4;
                    for (int q = 0; q < cq; q++) {
                        const uint8_t *aq = a + (size_t)q * st * st * plane * 4;
                        __m512i x = _mm512_loadu_si512(aq), y = _mm512_loadu_si512(aq + 64);
                        size_t o = tap + 4 * (size_t)q;
                        __m512i v0 = _mm512_set1_epi32(load4(w0 + o)), v1 = _mm512_set1_epi32(load4(w1 + o));
                        __m512i v2 = _mm512_set1_epi32(load4(w2 + o)), v3 = _mm512_set1_epi32(load4(w3 + o));
                        a0 = _mm512_dpbusd_epi32(a0, x, v0), b0 = _mm512_dpbusd_epi32(b0, y, v0);
                        a1 = _mm512_dpbusd_epi32(a1, x, v1), b1 = _mm512_dpbusd_epi32(b1, y, v1);
                        a2 = _mm512_dpbusd_epi32(a2, x, v2), b2 = _mm512_dpbusd_epi32(b2, y, v2);
                        a3 = _mm512_dpbusd_epi32(a3, x, v3), b3 = _mm512_dpbusd_epi32(b3, y, v3);
                    }
                }
            __m512i sums[8] = {a0, a1, a2, a3, b0, b1, b2, b3};
            for (int r = 0; r < 8; r++) /* sums[r]: channel oc + r % 4, positions 16 * (r / 4) on */
                if (r % 4 < rows && keep[r / 4]) /* (past the last row nothing is kept, nor addressed) */
                    requant16(_mm512_add_epi32(sums[r], _mm512_set1_epi32(p->bias[oc + r % 4])), p, oc + r % 4,
                              out + (size_t)(oc + r % 4) * npix + at[r / 4], keep[r / 4]);
        }
    }
}

/* s8_requant of 8 int32 sums with AVX2, lane-wise: gemmlowp's high multiply through vpmuldq on the
 * even and odd lanes (exact 64-bit products), the truncating division by 2^31 on magnitudes (AVX2 has
 * no 64-bit arithmetic shift), the rounding shift on int32 lanes; out gets the 8 clamped codes */
__attribute__((target("avx2"))) static void requant8_avx2(__m256i acc, const s8_conv_params *p, int oc, int8_t *out) {
    s8_mult m = p->mult[oc];
    int left = m.shift > 0 ? m.shift : 0, right = m.shift > 0 ? 0 : -m.shift;
    __m256i x = _mm256_slli_epi32(acc, left), mult = _mm256_set1_epi64x(m.multiplier);
    __m256i zero = _mm256_setzero_si256(), high[2];
    for (int odd = 0; odd < 2; odd++) {
        __m256i ab = _mm256_mul_epi32(odd ? _mm256_srli_epi64(x, 32) : x, mult);
        __m256i neg = _mm256_cmpgt_epi64(zero, ab);
        __m256i t = _mm256_add_epi64(ab, _mm256_blendv_epi8(_mm256_set1_epi64x(1 << 30), _mm256_set1_epi64x(1 - (1 << 30)), neg));
        __m256i tneg = _mm256_cmpgt_epi64(zero, t);
        __m256i mag = _mm256_srli_epi64(_mm256_blendv_epi8(t, _mm256_sub_epi64(zero, t), tneg), 31);
        high[odd] = _mm256_blendv_epi8(mag, _mm256_sub_epi64(zero, mag), tneg); /* int32 values in int64 lanes */
    }
    /* interleave back: even lanes from high[0], odd lanes from high[1] (their low 32 bits) */
    __m256i h = _mm256_blend_epi32(high[0], _mm256_slli_epi64(high[1], 32), 0xaa);
    __m256i mask = _mm256_set1_epi32((int32_t)(((int64_t)1 << right) - 1));
    __m256i rem = _mm256_and_si256(h, mask);
    __m256i thr = _mm256_sub_epi32(_mm256_srai_epi32(mask, 1), _mm256_cmpgt_epi32(zero, h)); /* + 1 where h < 0 */
    __m256i y = _mm256_sub_epi32(_mm256_srai_epi32(h, right), _mm256_cmpgt_epi32(rem, thr));
    y = _mm256_add_epi32(y, _mm256_set1_epi32(p->out_zp));
    y = _mm256_min_epi32(_mm256_max_epi32(y, _mm256_set1_epi32(p->act_min)), _mm256_set1_epi32(p->act_max));
    int32_t v[8];
    _mm256_storeu_si256((__m256i *)v, y);
    for (int i = 0; i < 8; i++) out[i] = (int8_t)v[i];
}

/* The direct convolution with AVX2 (no VNNI): the same input and weight layouts as conv_direct_vnni;
 * 4 positions x 4 channels of bytes widen to int16 and vpmaddwd sums channel pairs into int32 lanes
 * (exact: no intermediate saturates, unlike vpmaddubsw), two channels x 8 positions per pass. The
 * pair lanes are added once at the end, and 8 values are requantized at a time. */
__attribute__((target("avx2"))) static void conv_direct_avx2(const s8_conv_params *p, const int8_t *in, int g,
                                                            int8_t *out, uint8_t *buf) {
    const int cg = p->cin / p->groups, og = p->cout / p->groups, k = p->kernel, cq = (cg + 3) / 4, st = p->stride;
    const int OH = p->oh, pw = direct_width(p);
    const size_t plane = direct_plane(p), wstride = (size_t)k * k * cq * 4;
    const int8_t *packed = p->packed + (size_t)g * og * wstride;
    prepare_direct(p, in, g, buf, pw, plane);
    const int total = OH * pw;
    const __m256i order = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
    for (int t0 = 0; t0 < total; t0 += 8) {
        for (int oc = g * og; oc < (g + 1) * og; oc += 2) {
            int rows = (g + 1) * og - oc < 2 ? 1 : 2;
            __m256i a0 = _mm256_setzero_si256(), a1 = a0, b0 = a0, b1 = a0; /* channel r, positions 0-3 / 4-7 */
            const int8_t *w0 = packed + (size_t)(oc - g * og) * wstride, *w1 = rows > 1 ? w0 + wstride : w0;
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) {
                    const uint8_t *a = direct_tap(p, buf, plane, pw, t0, ky, kx);
                    size_t tap = (size_t)(ky * k + kx) * cq * 4;
                    for (int q = 0; q < cq; q++) {
                        const uint8_t *aq = a + (size_t)q * st * st * plane * 4;
                        __m256i lo = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)aq));
                        __m256i hi = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(aq + 16)));
                        size_t o = tap + 4 * (size_t)q;
                        __m256i v0 = _mm256_broadcastq_epi64(_mm_cvtepi8_epi16(_mm_cvtsi32_si128(load4(w0 + o))));
                        __m256i v1 = _mm256_broadcastq_epi64(_mm_cvtepi8_epi16(_mm_cvtsi32_si128(load4(w1 + o))));
                        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(lo, v0)), a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(hi, v0));
                        b0 = _mm256_add_epi32(b0, _mm256_madd_epi16(lo, v1)), b1 = _mm256_add_epi32(b1, _mm256_madd_epi16(hi, v1));
                    }
                }
            int8_t codes[2 * 32];
            __m256i sums[2] = {_mm256_permutevar8x32_epi32(_mm256_hadd_epi32(a0, a1), order),
                               _mm256_permutevar8x32_epi32(_mm256_hadd_epi32(b0, b1), order)};
            for (int r = 0; r < rows; r++)
                requant8_avx2(_mm256_add_epi32(sums[r], _mm256_set1_epi32(p->bias[oc + r])), p, oc + r, codes + r * 32);
            direct_store(p, out, oc, rows, codes, t0, total - t0 < 8 ? total - t0 : 8, pw);
        }
    }
}

/* AVX2: the direct convolution where the weights were packed for it, else the portable group */
__attribute__((target("avx2"))) static void conv_group_avx2(const s8_conv_params *p, const int8_t *in, int g,
                                                           int8_t *out, uint8_t *scratch) {
    if (p->packed) conv_direct_avx2(p, in, g, out, scratch);
    else s8_conv_group_c(p, in, g, out, scratch);
}

/* One convolution group with VNNI, vectorised over output pixels. The group's input is first copied
 * as unsigned values into a zero-point-padded buffer; the unfolding is laid out (K/4, P, 4) -- for
 * each group of 4 depths, 4 bytes per pixel, P = pixels rounded up to 16 -- so one 64-byte load holds
 * 16 pixels x 4 depths, and vpdpbusd with 4 weights of a channel broadcast adds their products into
 * 16 pixel sums. Depths past K are zero, so the weights read there (the next row's, or the 4 readable
 * bytes past the array) add nothing. */
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni"))) static void conv_group_vnni(const s8_conv_params *p,
                                                                                             const int8_t *in, int g,
                                                                                             int8_t *out, uint8_t *col) {
    if (p->packed) {
        conv_direct_vnni(p, in, g, out, col);
        return;
    }
    int cg = p->cin / p->groups, og = p->cout / p->groups, k = p->kernel, kg = cg * k * k, s = p->stride;
    int npix = p->oh * p->ow, np = (npix + 15) / 16 * 16, kq = (kg + 3) / 4;
    int ph = p->h + 2 * p->pad, pw = p->w + 2 * p->pad;
    uint8_t *padded = col + (size_t)kq * np * 4;
    memset(padded, (uint8_t)(p->in_zp + 128), (size_t)cg * ph * pw);
    const int H = p->h, W = p->w, pad = p->pad; /* locals: the stores below could alias *p */
    for (int c = 0; c < cg; c++)
        for (int y = 0; y < H; y++) {
            const int8_t *src = in + ((size_t)(g * cg + c) * H + y) * W;
            uint8_t *dst = padded + ((size_t)c * ph + y + pad) * pw + pad;
            for (int x = 0; x < W; x++) dst[x] = (uint8_t)src[x] ^ 0x80; /* x + 128 */
        }
    memset(col, 0, (size_t)kq * np * 4);
    for (int q = 0; q < kq; q++) {
        const uint8_t *src[4];
        int nd = kg - 4 * q < 4 ? kg - 4 * q : 4;
        for (int j = 0; j < nd; j++) { /* depth d = (c, ky, kx) */
            int d = 4 * q + j, c = d / (k * k), ky = d / k % k, kx = d % k;
            src[j] = padded + ((size_t)c * ph + ky) * pw + kx;
        }
        uint8_t *dst = col + (size_t)q * np * 4;
        for (int oy = 0, i = 0; oy < p->oh; oy++) {
            int ox = 0;
            if (nd == 4 && s == 1) /* 16 pixels of 4 rows interleaved into 16 groups of 4 bytes */
                for (; ox + 16 <= p->ow; ox += 16, i += 16) {
                    size_t at = (size_t)oy * pw + (size_t)ox;
                    __m128i r0 = _mm_loadu_si128((const __m128i *)(src[0] + at));
                    __m128i r1 = _mm_loadu_si128((const __m128i *)(src[1] + at));
                    __m128i r2 = _mm_loadu_si128((const __m128i *)(src[2] + at));
                    __m128i r3 = _mm_loadu_si128((const __m128i *)(src[3] + at));
                    __m128i v[4];
                    interleave4x16(r0, r1, r2, r3, v);
                    for (int j = 0; j < 4; j++) _mm_storeu_si128((__m128i *)(dst + (size_t)i * 4) + j, v[j]);
                }
            if (nd == 4)
                for (; ox < p->ow; ox++, i++) { /* one 32-bit store per pixel */
                    size_t at = (size_t)oy * s * pw + (size_t)ox * s;
                    uint32_t v = (uint32_t)src[0][at] | (uint32_t)src[1][at] << 8 | (uint32_t)src[2][at] << 16 |
                                 (uint32_t)src[3][at] << 24;
                    memcpy(dst + (size_t)i * 4, &v, 4);
                }
            for (; ox < p->ow; ox++, i++) {
                size_t at = (size_t)oy * s * pw + (size_t)ox * s;
                for (int j = 0; j < nd; j++) dst[i * 4 + j] = src[j][at];
            }
        }
    }
    int pb = 0;
    for (; pb + 32 <= npix; pb += 32) { /* 4 channels x 32 pixels: each broadcast weight serves 2 blocks */
        int oc = g * og;
        for (; oc + 4 <= (g + 1) * og; oc += 4) {
            __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            const int8_t *w0 = p->weights + (size_t)oc * kg, *w1 = w0 + kg, *w2 = w1 + kg, *w3 = w2 + kg;
            for (int q = 0; q < kq; q++) {
                const uint8_t *cq = col + ((size_t)q * np + pb) * 4;
                __m512i x = _mm512_loadu_si512(cq), y = _mm512_loadu_si512(cq + 64);
                __m512i v0 = _mm512_set1_epi32(load4(w0 + 4 * q)), v1 = _mm512_set1_epi32(load4(w1 + 4 * q));
                __m512i v2 = _mm512_set1_epi32(load4(w2 + 4 * q)), v3 = _mm512_set1_epi32(load4(w3 + 4 * q));
                a0 = _mm512_dpbusd_epi32(a0, x, v0), b0 = _mm512_dpbusd_epi32(b0, y, v0);
                a1 = _mm512_dpbusd_epi32(a1, x, v1), b1 = _mm512_dpbusd_epi32(b1, y, v1);
                a2 = _mm512_dpbusd_epi32(a2, x, v2), b2 = _mm512_dpbusd_epi32(b2, y, v2);
                a3 = _mm512_dpbusd_epi32(a3, x, v3), b3 = _mm512_dpbusd_epi32(b3, y, v3);
            }
            __m512i sums[8] = {a0, a1, a2, a3, b0, b1, b2, b3};
            for (int r = 0; r < 8; r++) {
                int c = oc + r % 4;
                requant16(_mm512_add_epi32(sums[r], _mm512_set1_epi32(p->bias[c])), p, c,
                          out + (size_t)c * npix + pb + 16 * (r / 4), 0xffff);
            }
        }
        for (; oc < (g + 1) * og; oc++)
            for (int h = 0; h < 2; h++) one_channel(p, col, np, kq, kg, oc, pb + 16 * h, 16, out);
    }
    for (; pb < npix; pb += 16) {
        int npb = npix - pb < 16 ? npix - pb : 16;
        int oc = g * og;
        for (; oc + 4 <= (g + 1) * og; oc += 4) { /* four channels at once, their sums in registers */
            __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
            const int8_t *w0 = p->weights + (size_t)oc * kg, *w1 = w0 + kg, *w2 = w1 + kg, *w3 = w2 + kg;
            for (int q = 0; q < kq; q++) {
                __m512i a = _mm512_loadu_si512(col + ((size_t)q * np + pb) * 4);
                a0 = _mm512_dpbusd_epi32(a0, a, _mm512_set1_epi32(load4(w0 + 4 * q)));
                a1 = _mm512_dpbusd_epi32(a1, a, _mm512_set1_epi32(load4(w1 + 4 * q)));
                a2 = _mm512_dpbusd_epi32(a2, a, _mm512_set1_epi32(load4(w2 + 4 * q)));
                a3 = _mm512_dpbusd_epi32(a3, a, _mm512_set1_epi32(load4(w3 + 4 * q)));
            }
            __m512i sums[4] = {a0, a1, a2, a3};
            for (int r = 0; r < 4; r++)
                requant16(_mm512_add_epi32(sums[r], _mm512_set1_epi32(p->bias[oc + r])), p, oc + r,
                          out + (size_t)(oc + r) * npix + pb, first_lanes(npb));
        }
        for (; oc < (g + 1) * og; oc++) one_channel(p, col, np, kq, kg, oc, pb, npb, out);
    }
}
#endif

static const char *isa = "c";

size_t hn_s8_simd_scratch_bytes(const s8_conv_params *p) {
    /* conv_group_vnni: the unfolding with pixels padded to 16 and depths to 4, then the padded input;
     * conv_direct_vnni: the padded, channel-interleaved input with its slack. Counted whichever kernels
     * are installed now, so that switching them later stays safe. */
#ifdef HAVE_X86
    size_t cg = (size_t)(p->cin / p->groups), kg = cg * (size_t)(p->kernel * p->kernel), npix = (size_t)p->oh * (size_t)p->ow;
    size_t padded = cg * (size_t)(p->h + 2 * p->pad) * (size_t)(p->w + 2 * p->pad);
    size_t gather = (npix + 15) / 16 * 16 * ((kg + 3) / 4 * 4) + padded;
    size_t direct = (cg + 3) / 4 * 4 * (size_t)(p->stride * p->stride) * direct_plane(p);
    return gather > direct ? gather : direct;
#else
    (void)p;
    return 0;
#endif
}

#ifdef HAVE_X86
static bool vnni_ok(void) {
    return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}
#endif

static void choose_best(void) {
#ifdef HAVE_X86
    __builtin_cpu_init();
    if (vnni_ok()) {
        s8_set_conv_group(conv_group_vnni), isa = "avx512vnni";
        return;
    }
    if (__builtin_cpu_supports("avx2")) s8_set_conv_group(conv_group_avx2), isa = "avx2";
#endif
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

const char *hn_quant_kernels(void) {
    pthread_once(&once, choose_best);
    return isa;
}

hn_status hn_quant_set_kernels(const char *name) {
    pthread_once(&once, choose_best);
    if (!strcmp(name, "c")) {
        s8_set_conv_group(NULL), isa = "c";
        return HN_OK;
    }
#ifdef HAVE_X86
    if (!strcmp(name, "avx512vnni") && vnni_ok()) {
        s8_set_conv_group(conv_group_vnni), isa = "avx512vnni";
        return HN_OK;
    }
    if (!strcmp(name, "avx2") && __builtin_cpu_supports("avx2")) {
        s8_set_conv_group(conv_group_avx2), isa = "avx2";
        return HN_OK;
    }
#endif
    if (!strcmp(name, "avx512vnni") || !strcmp(name, "avx2"))
        return hn_error(HN_ERR_INVALID, "int8 kernels '%s': this CPU does not support them", name);
    return hn_error(HN_ERR_INVALID, "int8 kernels '%s': expected c, avx2 or avx512vnni", name);
}

const int8_t *hn_s8_simd_pack(const s8_conv_params *p, hn_arena *a) {
    /* the direct convolution's layout: per output channel (K, K, C/4, 4), missing channels zero */
    if (p->stride > 2 || (p->groups > 1 && p->groups == p->cin && p->groups == p->cout)) return NULL;
    int cg = p->cin / p->groups, cq = (cg + 3) / 4, k = p->kernel;
    size_t per = (size_t)k * k * cq * 4;
    int8_t *w = hn_arena_alloc(a, per * (size_t)p->cout);
    if (!w) return NULL; /* the unfolding path still works */
    memset(w, 0, per * (size_t)p->cout);
    for (int oc = 0; oc < p->cout; oc++)
        for (int c = 0; c < cg; c++)
            for (int t = 0; t < k * k; t++)
                w[oc * per + ((size_t)t * cq + c / 4) * 4 + c % 4] = p->weights[((size_t)oc * cg + c) * k * k + t];
    return w;
}
