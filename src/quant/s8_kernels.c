/* int8 kernels; see s8_kernels.h. Self-contained C99: copied verbatim into exported models. */
#include "s8_kernels.h"

#include <string.h>

static int32_t clamp32(int32_t x, int32_t lo, int32_t hi) { return x < lo ? lo : x > hi ? hi : x; }

/* high 32 bits of 2 * a * b rounded (ties up, gemmlowp); saturates the one overflowing case */
static int32_t rounding_doubling_high_mul(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    int64_t ab = (int64_t)a * b;
    int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31)); /* C division truncates toward zero */
}

/* x / 2^e rounded to nearest, ties away from zero (gemmlowp's RoundingDivideByPOT) */
static int32_t rounding_divide_by_pot(int32_t x, int e) {
    int32_t mask = (int32_t)(((int64_t)1 << e) - 1), remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + (remainder > threshold ? 1 : 0);
}

int32_t s8_mult_apply(int32_t x, s8_mult m) {
    int left = m.shift > 0 ? m.shift : 0, right = m.shift > 0 ? 0 : -m.shift;
    return rounding_divide_by_pot(rounding_doubling_high_mul((int32_t)((uint32_t)x << left), m.multiplier), right);
}

/* out[r] = sum over i < n of a[i] * w[r * wstride + i] for rows r < rows (1..4) */
static void dot(const uint8_t *a, const int8_t *w, size_t wstride, int n, int rows, int32_t *out) {
    for (int r = 0; r < rows; r++) {
        const int8_t *wr = w + (size_t)r * wstride;
        int32_t acc = 0;
        for (int i = 0; i < n; i++) acc += (int32_t)a[i] * (int32_t)wr[i];
        out[r] = acc;
    }
}

static s8_conv_group_fn conv_group = s8_conv_group_c;

void s8_set_conv_group(s8_conv_group_fn fn) { conv_group = fn ? fn : s8_conv_group_c; }

enum { PIXELS = 16 }; /* output pixels unfolded at a time: scratch stays small on a microcontroller */

size_t s8_conv_scratch_bytes(const s8_conv_params *p) {
    return (size_t)PIXELS * (size_t)(p->cin / p->groups * p->kernel * p->kernel);
}

/* the unfolding of output pixels [p0, p0 + n) of one group's input channels as unsigned values,
 * (n, Cg*K*K): row = one output pixel, so that each output value is one contiguous dot product with a
 * weight row */
static void unfold(const s8_conv_params *p, const int8_t *in, int c0, int cg, int p0, int n, uint8_t *col) {
    int k = p->kernel;
    uint8_t pad = (uint8_t)(p->in_zp + 128);
    for (int i = p0; i < p0 + n; i++) {
        int oy = i / p->ow, ox = i % p->ow;
        for (int c = 0; c < cg; c++) {
            const int8_t *plane = in + (size_t)(c0 + c) * p->h * p->w;
            for (int ky = 0; ky < k; ky++) {
                int iy = oy * p->stride - p->pad + ky;
                for (int kx = 0; kx < k; kx++) {
                    int ix = ox * p->stride - p->pad + kx;
                    *col++ = iy >= 0 && iy < p->h && ix >= 0 && ix < p->w ? (uint8_t)(plane[iy * p->w + ix] + 128) : pad;
                }
            }
        }
    }
}

int8_t s8_requant(int32_t acc, const s8_conv_params *p, int oc) {
    return (int8_t)clamp32(p->out_zp + s8_mult_apply(acc, p->mult[oc]), p->act_min, p->act_max);
}

/* depthwise: one input channel per output channel, direct loops */
static void depthwise(const s8_conv_params *p, const int8_t *in, int8_t *out) {
    int k = p->kernel;
    for (int c = 0; c < p->cout; c++) {
        const int8_t *plane = in + (size_t)c * p->h * p->w, *wt = p->weights + (size_t)c * k * k;
        int8_t *o = out + (size_t)c * p->oh * p->ow;
        for (int oy = 0; oy < p->oh; oy++)
            for (int ox = 0; ox < p->ow; ox++) {
                int32_t acc = p->bias[c];
                for (int ky = 0; ky < k; ky++) {
                    int iy = oy * p->stride - p->pad + ky;
                    for (int kx = 0; kx < k; kx++) {
                        int ix = ox * p->stride - p->pad + kx;
                        int32_t u = (iy >= 0 && iy < p->h && ix >= 0 && ix < p->w ? plane[iy * p->w + ix] : p->in_zp) + 128;
                        acc += u * wt[ky * k + kx];
                    }
                }
                o[oy * p->ow + ox] = s8_requant(acc, p, c);
            }
    }
}

void s8_conv_group_c(const s8_conv_params *p, const int8_t *in, int g, int8_t *out, uint8_t *scratch) {
    int cg = p->cin / p->groups, og = p->cout / p->groups, kg = cg * p->kernel * p->kernel, npix = p->oh * p->ow;
    for (int p0 = 0; p0 < npix; p0 += PIXELS) {
        int n = npix - p0 < PIXELS ? npix - p0 : PIXELS;
        unfold(p, in, g * cg, cg, p0, n, scratch);
        for (int i = 0; i < n; i++) {
            const uint8_t *col = scratch + (size_t)i * kg;
            for (int oc = g * og; oc < (g + 1) * og; oc += 4) {
                int rows = (g + 1) * og - oc < 4 ? (g + 1) * og - oc : 4;
                int32_t acc[4];
                dot(col, p->weights + (size_t)oc * kg, (size_t)kg, kg, rows, acc);
                for (int r = 0; r < rows; r++)
                    out[(size_t)(oc + r) * npix + p0 + i] = s8_requant(p->bias[oc + r] + acc[r], p, oc + r);
            }
        }
    }
}

void s8_conv(const s8_conv_params *p, const int8_t *in, int8_t *out, uint8_t *scratch) {
    if (p->groups > 1 && p->groups == p->cin && p->groups == p->cout) {
        depthwise(p, in, out);
        return;
    }
    for (int g = 0; g < p->groups; g++) conv_group(p, in, g, out, scratch);
}

void s8_add(int n, const int8_t *const *in, const int32_t *zp, const s8_mult *mult, size_t len, int32_t out_zp,
            s8_mult out_mult, int32_t act_min, int32_t act_max, int8_t *out) {
    for (size_t i = 0; i < len; i++) {
        int32_t sum = 0;
        for (int k = 0; k < n; k++) sum += s8_mult_apply((in[k][i] - zp[k]) * (1 << 20), mult[k]);
        out[i] = (int8_t)clamp32(out_zp + s8_mult_apply(sum, out_mult), act_min, act_max);
    }
}

void s8_rescale(const int8_t *in, size_t len, int32_t in_zp, s8_mult m, int32_t out_zp, int8_t *out) {
    if (m.multiplier == 1 << 30 && m.shift == 1 && in_zp == out_zp) { /* a multiplier of exactly 1 */
        memmove(out, in, len);
        return;
    }
    for (size_t i = 0; i < len; i++) out[i] = (int8_t)clamp32(out_zp + s8_mult_apply(in[i] - in_zp, m), -128, 127);
}

/* sum / count rounded half away from zero (TFLite's average pool, of the codes themselves) */
static int32_t rounded_div(int32_t sum, int32_t count) {
    return sum >= 0 ? (sum + count / 2) / count : -((-sum + count / 2) / count);
}

void s8_avgpool(const s8_pool_params *p, const int8_t *in, int8_t *out) {
    int k = p->kernel;
    for (int c = 0; c < p->c; c++) {
        const int8_t *plane = in + (size_t)c * p->h * p->w;
        for (int oy = 0; oy < p->oh; oy++)
            for (int ox = 0; ox < p->ow; ox++) {
                int32_t sum = 0, count = 0;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        int iy = oy * p->stride - p->pad + ky, ix = ox * p->stride - p->pad + kx;
                        if (iy >= 0 && iy < p->h && ix >= 0 && ix < p->w) sum += plane[iy * p->w + ix], count++;
                    }
                if (p->count_include_pad) sum += (k * k - count) * p->zp, count = k * k; /* padding is real 0 */
                out[((size_t)c * p->oh + oy) * p->ow + ox] = (int8_t)clamp32(rounded_div(sum, count), -128, 127);
            }
    }
}

void s8_maxpool(const s8_pool_params *p, const int8_t *in, int8_t *out) {
    int k = p->kernel;
    for (int c = 0; c < p->c; c++) {
        const int8_t *plane = in + (size_t)c * p->h * p->w;
        for (int oy = 0; oy < p->oh; oy++)
            for (int ox = 0; ox < p->ow; ox++) {
                int32_t m = -128;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        int iy = oy * p->stride - p->pad + ky, ix = ox * p->stride - p->pad + kx;
                        if (iy >= 0 && iy < p->h && ix >= 0 && ix < p->w && plane[iy * p->w + ix] > m) m = plane[iy * p->w + ix];
                    }
                out[((size_t)c * p->oh + oy) * p->ow + ox] = (int8_t)m;
            }
    }
}

void s8_mean(int c, int hw, const int8_t *in, int8_t *out) {
    for (int k = 0; k < c; k++) {
        int32_t sum = 0;
        for (int i = 0; i < hw; i++) sum += in[(size_t)k * hw + i];
        out[k] = (int8_t)clamp32(rounded_div(sum, hw), -128, 127);
    }
}

void s8_clamp(const int8_t *in, size_t len, int32_t lo, int32_t hi, int8_t *out) {
    for (size_t i = 0; i < len; i++) out[i] = (int8_t)clamp32(in[i], lo, hi);
}

void s8_lut(const int8_t *in, size_t len, const int8_t *lut, int8_t *out) {
    for (size_t i = 0; i < len; i++) out[i] = lut[in[i] + 128];
}

/* ---- gemmlowp's fixed point, as TFLite's softmax uses it: Qi.(31-i) values in int32 ---- */

/* x * 2^e saturated (SaturatingRoundingMultiplyByPOT with e > 0) */
static int32_t sat_shift_left(int32_t x, int e) {
    int64_t v = (int64_t)x * ((int64_t)1 << e);
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out: the Taylor series about -1/8 */
static int32_t exp_quarter(int32_t a) {
    const int32_t exp_minus_eighth = 1895147668, third = 715827883;
    int32_t x = a + (1 << 28); /* a + 1/8 */
    int32_t x2 = rounding_doubling_high_mul(x, x), x3 = rounding_doubling_high_mul(x2, x);
    int32_t x4 = rounding_doubling_high_mul(x2, x2);
    int32_t poly = rounding_divide_by_pot(rounding_doubling_high_mul(rounding_divide_by_pot(x4, 2) + x3, third) + x2, 1);
    return exp_minus_eighth + rounding_doubling_high_mul(exp_minus_eighth, x + poly);
}

/* exp(a) for a <= 0 in Q5.26, result in Q0.31: exp of a mod 1/4, times exp(-2^k) for each bit k of
 * the rest */
static int32_t exp_negative_q5(int32_t a) {
    static const int32_t exp_minus_pow2[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t quarter = 1 << 24;
    int32_t a_mod = (a & (quarter - 1)) - quarter, rest = a_mod - a;
    int32_t r = exp_quarter(sat_shift_left(a_mod, 5));
    for (int k = 0; k < 7; k++) /* exp(-1/4), exp(-1/2), exp(-1), ..., exp(-16) */
        if (rest & (1 << (24 + k))) r = rounding_doubling_high_mul(r, exp_minus_pow2[k]);
    return a == 0 ? INT32_MAX : r;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31: three Newton-Raphson steps in Q2.29 on half the denominator */
static int32_t one_over_one_plus(int32_t a) {
    int64_t sum = (int64_t)a + INT32_MAX;
    int32_t half = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = 1515870810 + rounding_doubling_high_mul(half, -1010580540); /* 48/17 - 32/17 half */
    for (int i = 0; i < 3; i++) {
        int32_t err = (1 << 29) - rounding_doubling_high_mul(half, x);
        x = x + sat_shift_left(rounding_doubling_high_mul(x, err), 2);
    }
    return sat_shift_left(x, 1);
}

void s8_softmax_row(const s8_softmax_params *p, const int32_t *x, int n, int8_t *out, int stride) {
    int32_t max = x[0];
    for (int i = 1; i < n; i++) max = x[i] > max ? x[i] : max;
    int32_t sum = 0; /* Q12.19 */
    for (int i = 0; i < n; i++)
        if (x[i] - max >= p->diff_min) sum += rounding_divide_by_pot(exp_negative_q5(s8_mult_apply(x[i] - max, p->beta)), 12);
    int lead = 0; /* leading zeros of sum (> 0: the largest value contributes 1) */
    while (lead < 31 && !((uint32_t)sum & (0x80000000u >> lead))) lead++;
    int over = 12 - lead;
    int32_t scale = one_over_one_plus((int32_t)(((uint32_t)sum << lead) - 0x80000000u));
    for (int i = 0; i < n; i++) {
        int32_t q = -128;
        if (x[i] - max >= p->diff_min) {
            int32_t e = exp_negative_q5(s8_mult_apply(x[i] - max, p->beta));
            q = clamp32(rounding_divide_by_pot(rounding_doubling_high_mul(scale, e), over + 23) - 128, -128, 127);
        }
        out[(size_t)i * stride] = (int8_t)q;
    }
}

void s8_softmax(const s8_softmax_params *p, const int8_t *in, int8_t *out, int32_t *row) {
    for (int t = 0; t < p->hw; t++) {
        for (int c = 0; c < p->c; c++) row[c] = in[(size_t)c * p->hw + t];
        s8_softmax_row(p, row, p->c, out + t, p->hw);
    }
}

/* floor(sqrt(v)), digit by digit */
static uint64_t isqrt64(uint64_t v) {
    uint64_t r = 0, bit = (uint64_t)1 << 62;
    while (bit > v) bit >>= 2;
    for (; bit; bit >>= 2) {
        if (v >= r + bit) {
            v -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
    }
    return r;
}

/* a / b rounded half away from zero, b > 0 */
static int64_t rounded_div64(int64_t a, int64_t b) { return a >= 0 ? (a + b / 2) / b : -((-a + b / 2) / b); }

void s8_layernorm(const s8_norm_params *p, const int8_t *in, int8_t *out) {
    const int c = p->c, hw = p->hw;
    for (int t = 0; t < hw; t++) {
        int32_t sum = 0;
        for (int ch = 0; ch < c; ch++) sum += in[(size_t)ch * hw + t];
        int64_t var = 0;
        for (int ch = 0; ch < c; ch++) {
            int64_t d = (int64_t)c * in[(size_t)ch * hw + t] - sum;
            var += d * d;
        }
        int64_t sd = (int64_t)isqrt64((uint64_t)(var * 65536 / c + p->eps));
        for (int ch = 0; ch < c; ch++) {
            int64_t d = (int64_t)c * in[(size_t)ch * hw + t] - sum;
            int32_t norm = sd ? (int32_t)rounded_div64(d * (1 << 24), sd) : 0; /* Q16 */
            out[(size_t)ch * hw + t] = (int8_t)clamp32(p->out_zp + s8_mult_apply(norm, p->mult[ch]) + p->bias[ch], -128, 127);
        }
    }
}

size_t s8_attention_scratch_bytes(const s8_attn_params *p) { return 5 * (size_t)p->tokens; }

void s8_attention(const s8_attn_params *p, const int8_t *in, int8_t *out, uint8_t *scratch) {
    const int T = p->tokens, D = p->dim, d = D / p->heads;
    const int32_t zp = p->in_zp;
    int32_t *score = (int32_t *)(void *)scratch; /* the arena's blocks are 16-byte aligned */
    int8_t *prob = (int8_t *)(scratch + 4 * (size_t)T);
    for (int h = 0; h < p->heads; h++)
        for (int t = 0; t < T; t++) {
            for (int u = 0; u < T; u++) {
                int32_t acc = 0;
                for (int k = 0; k < d; k++)
                    acc += (in[(size_t)(h * d + k) * T + t] - zp) * (in[(size_t)(D + h * d + k) * T + u] - zp);
                score[u] = acc;
            }
            s8_softmax_row(&p->softmax, score, T, prob, 1);
            for (int k = 0; k < d; k++) {
                const int8_t *v = in + (size_t)(2 * D + h * d + k) * T;
                int32_t acc = 0;
                for (int u = 0; u < T; u++) acc += (v[u] - zp) * (prob[u] + 128);
                out[(size_t)(h * d + k) * T + t] = (int8_t)clamp32(p->out_zp + s8_mult_apply(acc, p->out_mult), -128, 127);
            }
        }
}

size_t s8_linear_attention_scratch_bytes(const s8_attn_params *p) {
    size_t d = (size_t)(p->dim / p->heads);
    return 4 * (d * d + d);
}

void s8_linear_attention(const s8_attn_params *p, const int8_t *in, int8_t *out, uint8_t *scratch) {
    const int T = p->tokens, D = p->dim, d = D / p->heads;
    const int32_t zp = p->in_zp;
    int32_t *A = (int32_t *)(void *)scratch, *z = A + (size_t)d * d; /* row a: value channel, column b: key */
    for (int h = 0; h < p->heads; h++) {
        for (int b = 0; b < d; b++) {
            const int8_t *k = in + (size_t)(D + h * d + b) * T;
            int32_t sum = 0;
            for (int u = 0; u < T; u++) sum += k[u] > zp ? k[u] - zp : 0;
            z[b] = sum;
            for (int a = 0; a < d; a++) {
                const int8_t *v = in + (size_t)(2 * D + h * d + a) * T;
                int32_t acc = 0;
                for (int u = 0; u < T; u++) acc += (v[u] - zp) * (k[u] > zp ? k[u] - zp : 0);
                A[a * d + b] = acc;
            }
        }
        for (int t = 0; t < T; t++) {
            int64_t den = 0;
            for (int b = 0; b < d; b++) {
                int32_t q = in[(size_t)(h * d + b) * T + t];
                den += (int64_t)z[b] * (q > zp ? q - zp : 0);
            }
            for (int a = 0; a < d; a++) {
                int64_t num = 0;
                for (int b = 0; b < d; b++) {
                    int32_t q = in[(size_t)(h * d + b) * T + t];
                    num += (int64_t)A[a * d + b] * (q > zp ? q - zp : 0);
                }
                int32_t ratio = den ? (int32_t)rounded_div64(num * 65536, den) : 0;
                out[(size_t)(h * d + a) * T + t] = (int8_t)clamp32(p->out_zp + s8_mult_apply(ratio, p->out_mult), -128, 127);
            }
        }
    }
}

size_t s8_node_scratch_bytes(const s8_node *q) {
    switch (q->kind) {
    case S8_CONV: return s8_conv_scratch_bytes(&q->conv);
    case S8_SOFTMAX: return 4 * (size_t)q->softmax->c;
    case S8_ATTENTION: return s8_attention_scratch_bytes(q->attn);
    case S8_LINEAR_ATTENTION: return s8_linear_attention_scratch_bytes(q->attn);
    default: return 0;
    }
}

void s8_forward(const s8_node *nodes, int n, int output, const int8_t *in, int8_t *arena, int8_t *out) {
    memcpy(arena + nodes[0].off, in, (size_t)nodes[0].len);
    for (int i = 1; i < n; i++) {
        const s8_node *q = &nodes[i];
        int8_t *y = arena + q->off;
        const int8_t *x = arena + nodes[q->inputs[0]].off;
        switch (q->kind) {
        case S8_CONV: s8_conv(&q->conv, x, y, (uint8_t *)arena + q->scratch); break;
        case S8_CLAMP: s8_clamp(x, (size_t)q->len, q->lo, q->hi, y); break;
        case S8_AVGPOOL: s8_avgpool(&q->pool, x, y); break;
        case S8_MAXPOOL: s8_maxpool(&q->pool, x, y); break;
        case S8_MEAN: s8_mean(q->len, nodes[q->inputs[0]].len / q->len, x, y); break;
        case S8_ZERO: memset(y, (int8_t)q->zp, (size_t)q->len); break;
        case S8_LUT: s8_lut(x, (size_t)q->len, q->lut, y); break;
        case S8_SOFTMAX: s8_softmax(q->softmax, x, y, (int32_t *)(void *)(arena + q->scratch)); break;
        case S8_LAYERNORM: s8_layernorm(q->norm, x, y); break;
        case S8_ATTENTION: s8_attention(q->attn, x, y, (uint8_t *)arena + q->scratch); break;
        case S8_LINEAR_ATTENTION: s8_linear_attention(q->attn, x, y, (uint8_t *)arena + q->scratch); break;
        case S8_ADD: {
            const int8_t *ins[16];
            for (int k = 0; k < q->ninputs; k++) ins[k] = arena + nodes[q->inputs[k]].off;
            s8_add(q->ninputs, ins, q->in_zp, q->in_mult, (size_t)q->len, q->zp, q->out_mult, q->lo, q->hi, y);
            break;
        }
        case S8_CONCAT:
            for (int k = 0; k < q->ninputs; k++) {
                const s8_node *src = &nodes[q->inputs[k]];
                s8_rescale(arena + src->off, (size_t)src->len, q->in_zp[k], q->in_mult[k], q->zp, y);
                y += src->len;
            }
            break;
        default: break;
        }
    }
    memcpy(out, arena + nodes[output].off, (size_t)nodes[output].len);
}
