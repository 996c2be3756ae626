/* Depthwise convolution, vectorised across planes.
 *
 * Activations are (C, N, H, W): C*N planes of H x W, plane ch*N + n. A depthwise filter reads one
 * plane at a time, and the searched networks' planes are small (28x28 down to 4x4): too small to
 * vectorise along a row without wasting most lanes on padding. So the kernels take LANES
 * consecutive planes at once (a block: images of one channel, or with a small batch several
 * channels), transpose them to pixel-major (pixels, LANES) and vectorise over the lanes. Each output
 * pixel is then a sum of lane vectors over the K x K taps, a tap's weights being a lane vector as
 * well (the filter of each lane's channel). Padding is never materialised: a pixel sums only the taps
 * that fall inside the input, so a border pixel costs less, not more, and any stride works alike.
 *
 * Backward reads the same blocks: the weight gradient of a tap is a sum over the output pixels of
 * dy * x lane vectors (reduced to channels in lane order at the end of a block), and the input
 * gradient is gathered, each input pixel summing w * dy over the output pixels that read it.
 *
 * Threads split the channels, so each channel's weight gradient has one owner that sums it in a
 * fixed order: a run is reproducible for a given thread count. A thread cuts its planes into blocks
 * from its first plane on; the last block may be short, its spare lanes zero.
 *
 * Scratch per thread (lane vectors): x (H*W), y or dy (OH*OW), dx (H*W), the taps' weights (K*K),
 * the taps' gradients (K*K). */
#include <omp.h>
#include <string.h>

#include "depthwise.h"

enum { LANES = 32, VL = 8, NV = LANES / VL };

/* 8 floats; loads and stores through it may be unaligned and alias float arrays */
typedef float v8 __attribute__((vector_size(VL * sizeof(float)), aligned(4), may_alias));

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }
static inline int floor_div(int a, int s) { return a >= 0 ? a / s : -((-a + s - 1) / s); }
static inline int ceil_div(int a, int s) { return -floor_div(-a, s); }

typedef struct {
    float *x, *y, *dx, *w, *gw;
} block_scratch;

size_t hn_dw_scratch_floats(const geom *q) {
    const size_t hw = (size_t)q->h * q->w, p = (size_t)q->oh * q->ow, kk = (size_t)q->k * q->k;
    return (2 * hw + p + 2 * kk) * LANES;
}

static block_scratch scratch_of(const hn_op_ctx *c, const geom *q) {
    const size_t hw = (size_t)q->h * q->w, p = (size_t)q->oh * q->ow, kk = (size_t)q->k * q->k;
    block_scratch b;
    b.x = c->scratch + hn_dw_scratch_floats(q) * (size_t)omp_get_thread_num();
    b.y = b.x + hw * LANES;
    b.dx = b.y + p * LANES;
    b.w = b.dx + hw * LANES;
    b.gw = b.w + kk * LANES;
    return b;
}

static int pass_threads(const hn_op_ctx *c, const geom *q) {
    size_t slots = c->scratch_len / hn_dw_scratch_floats(q);
    int t = imin(omp_get_max_threads(), q->cout);
    return (size_t)t < slots ? t : (int)(slots ? slots : 1);
}

/* This thread's planes [*p0, *p1): those of its share of the channels. */
static void thread_planes(const geom *q, int n, size_t *p0, size_t *p1) {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    *p0 = (size_t)((int64_t)q->cout * t / nt) * n;
    *p1 = (size_t)((int64_t)q->cout * (t + 1) / nt) * n;
}

/* The 8 x 8 transpose of rows r[0..7] (8 floats each) into o[0..7]: o[j][i] = r[i][j]. Three rounds
 * of two-input shuffles (pairs of floats, then pairs of pairs, then halves), as the AVX unpack /
 * shuffle / permute sequence would do it, written portably. */
static inline void transpose8(const v8 r[8], v8 o[8]) {
    v8 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int i = 0; i < 8; i += 4)
        for (int h = 0; h < 2; h++) {
            u[i + h] = __builtin_shufflevector(t[i + h], t[i + h + 2], 0, 1, 8, 9, 4, 5, 12, 13);
            u[i + h + 2] = __builtin_shufflevector(t[i + h], t[i + h + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        }
    /* u[0..3] hold columns (0,4), (2,6), (1,5), (3,7) of rows 0-3; u[4..7] the same of rows 4-7 */
    static const int col[4] = {0, 2, 1, 3};
    for (int i = 0; i < 4; i++) {
        o[col[i]] = __builtin_shufflevector(u[i], u[i + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        o[col[i] + 4] = __builtin_shufflevector(u[i], u[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}

/* xs (npix, LANES) <- nl planes of npix floats from src, lanes nl.. zero: 8 planes x 8 pixels a
 * transpose, the ragged edges (pixels past a multiple of 8, lanes past a multiple of 8) one float
 * at a time. */
static void to_lanes(float *restrict xs, const float *restrict src, int npix, int nl) {
    if (nl < LANES) memset(xs, 0, sizeof(float) * (size_t)npix * LANES);
    const int nl8 = nl & ~7, np8 = npix & ~7;
    for (int l = 0; l < nl8; l += 8)
        for (int p = 0; p < np8; p += 8) {
            v8 r[8], o[8];
            for (int i = 0; i < 8; i++) r[i] = *(const v8 *)(src + (size_t)(l + i) * npix + p);
            transpose8(r, o);
            for (int j = 0; j < 8; j++) *(v8 *)(xs + (size_t)(p + j) * LANES + l) = o[j];
        }
    for (int l = 0; l < nl; l++)
        for (int p = l < nl8 ? np8 : 0; p < npix; p++) xs[(size_t)p * LANES + l] = src[(size_t)l * npix + p];
}

/* nl planes of npix floats at dst = (acc ? dst + : ) the lanes of ys (npix, LANES); the transpose
 * of to_lanes. */
static void from_lanes(float *restrict dst, const float *restrict ys, int npix, int nl, bool acc) {
    const int nl8 = nl & ~7, np8 = npix & ~7;
    for (int l = 0; l < nl8; l += 8)
        for (int p = 0; p < np8; p += 8) {
            v8 r[8], o[8];
            for (int i = 0; i < 8; i++) r[i] = *(const v8 *)(ys + (size_t)(p + i) * LANES + l);
            transpose8(r, o);
            for (int j = 0; j < 8; j++) {
                v8 *d = (v8 *)(dst + (size_t)(l + j) * npix + p);
                if (acc)
                    *d += o[j];
                else
                    *d = o[j];
            }
        }
    for (int l = 0; l < nl; l++) {
        float *d = dst + (size_t)l * npix;
        for (int p = l < nl8 ? np8 : 0; p < npix; p++) {
            const float y = ys[(size_t)p * LANES + l];
            d[p] = acc ? d[p] + y : y;
        }
    }
}

/* ws (K*K, LANES) <- the filters of the channels of planes [p0, p0+nl) (n planes a channel). */
static void weights_to_lanes(float *restrict ws, const float *restrict w, int kk, size_t p0, int nl, int n) {
    memset(ws, 0, sizeof(float) * (size_t)kk * LANES);
    for (int l = 0; l < nl; l++) {
        const float *f = w + (p0 + (size_t)l) / (size_t)n * kk;
        for (int t = 0; t < kk; t++) ws[(size_t)t * LANES + l] = f[t];
    }
}

static inline void store(float *d, const v8 *acc) {
    for (int j = 0; j < NV; j++) ((v8 *)d)[j] = acc[j];
}

/* ys (OH*OW, LANES) = the convolution of xs (H*W, LANES) with ws (K*K, LANES). */
static void forward_block(const geom *q, const float *xs, const float *ws, float *ys) {
    for (int oh = 0; oh < q->oh; oh++) {
        const int ih0 = oh * q->s - q->p, ki0 = imax(0, -ih0), ki1 = imin(q->k, q->h - ih0);
        for (int ow = 0; ow < q->ow; ow++) {
            const int iw0 = ow * q->s - q->p, kj0 = imax(0, -iw0), kj1 = imin(q->k, q->w - iw0);
            v8 acc[NV] = {0};
            for (int ki = ki0; ki < ki1; ki++) {
                const float *xr = xs + ((ptrdiff_t)(ih0 + ki) * q->w + iw0 + kj0) * LANES;
                const float *wr = ws + ((size_t)ki * q->k + kj0) * LANES;
                for (int kj = kj0; kj < kj1; kj++, xr += LANES, wr += LANES)
                    for (int j = 0; j < NV; j++) acc[j] += ((const v8 *)wr)[j] * ((const v8 *)xr)[j];
            }
            store(ys + ((size_t)oh * q->ow + ow) * LANES, acc);
        }
    }
}

/* dxs (H*W, LANES) = the gradient of the input from dys (OH*OW, LANES): input pixel (ih, iw) is read
 * by output row oh through tap row ki = ih + p - oh*s when 0 <= ki < K, and likewise for columns. */
static void input_grad_block(const geom *q, const float *dys, const float *ws, float *dxs) {
    const int s = q->s;
    for (int ih = 0; ih < q->h; ih++) {
        const int oh0 = imax(0, ceil_div(ih + q->p - q->k + 1, s)), oh1 = imin(q->oh - 1, floor_div(ih + q->p, s));
        for (int iw = 0; iw < q->w; iw++) {
            const int ow0 = imax(0, ceil_div(iw + q->p - q->k + 1, s)), ow1 = imin(q->ow - 1, floor_div(iw + q->p, s));
            v8 acc[NV] = {0};
            for (int oh = oh0; oh <= oh1; oh++) {
                const int ki = ih + q->p - oh * s;
                for (int ow = ow0; ow <= ow1; ow++) {
                    const int kj = iw + q->p - ow * s;
                    const v8 *g = (const v8 *)(dys + ((size_t)oh * q->ow + ow) * LANES);
                    const v8 *wv = (const v8 *)(ws + ((size_t)ki * q->k + kj) * LANES);
                    for (int j = 0; j < NV; j++) acc[j] += wv[j] * g[j];
                }
            }
            store(dxs + ((size_t)ih * q->w + iw) * LANES, acc);
        }
    }
}

/* gws (K*K, LANES): tap (ki, kj)'s gradient, the sum over the output pixels that read an input pixel
 * through it of dy * x. Two interleaved partial sums per lane vector, for the FMA latency. */
static void weight_grad_block(const geom *q, const float *dys, const float *xs, float *gws) {
    const int s = q->s;
    for (int ki = 0; ki < q->k; ki++) {
        const int oh0 = imax(0, ceil_div(q->p - ki, s)), oh1 = imin(q->oh - 1, floor_div(q->h - 1 + q->p - ki, s));
        for (int kj = 0; kj < q->k; kj++) {
            const int ow0 = imax(0, ceil_div(q->p - kj, s)), ow1 = imin(q->ow - 1, floor_div(q->w - 1 + q->p - kj, s));
            v8 acc[2][NV];
            memset(acc, 0, sizeof acc);
            int u = 0;
            for (int oh = oh0; oh <= oh1; oh++) {
                const float *g = dys + ((size_t)oh * q->ow + ow0) * LANES;
                const float *x = xs + ((ptrdiff_t)(oh * s - q->p + ki) * q->w + ow0 * s - q->p + kj) * LANES;
                for (int ow = ow0; ow <= ow1; ow++, g += LANES, x += (size_t)s * LANES, u ^= 1)
                    for (int j = 0; j < NV; j++) acc[u][j] += ((const v8 *)g)[j] * ((const v8 *)x)[j];
            }
            for (int j = 0; j < NV; j++) acc[0][j] += acc[1][j];
            store(gws + ((size_t)ki * q->k + kj) * LANES, acc[0]);
        }
    }
}

void hn_dw_forward(const hn_op_ctx *c, const geom *q) {
    const int N = c->n, HW = q->h * q->w, P = q->oh * q->ow, kk = q->k * q->k;
    const float *bias = c->node->bias ? c->w + (size_t)q->cout * kk : NULL;
#pragma omp parallel num_threads(pass_threads(c, q))
    {
        block_scratch b = scratch_of(c, q);
        size_t p0, p1;
        thread_planes(q, N, &p0, &p1);
        for (size_t pb = p0; pb < p1; pb += LANES) {
            const int nl = (int)(p1 - pb < LANES ? p1 - pb : LANES);
            to_lanes(b.x, c->in[0] + pb * HW, HW, nl);
            weights_to_lanes(b.w, c->w, kk, pb, nl, N);
            forward_block(q, b.x, b.w, b.y);
            float *y = c->out + pb * P;
            from_lanes(y, b.y, P, nl, false);
            if (!c->post_scale && !bias) continue;
            for (int l = 0; l < nl; l++) { /* the epilogue, while the plane is in this core's cache */
                const size_t ch = (pb + (size_t)l) / (size_t)N;
                const float a = c->post_scale ? c->post_scale[ch] : 1.0f, bb = bias ? bias[ch] * a : 0.0f;
                hn_affine_act(y + (size_t)l * P, y + (size_t)l * P, (size_t)P, a,
                              (c->post_scale ? c->post_shift[ch] : 0.0f) + bb, c->post_scale ? c->act_hi : 0.0f);
            }
        }
    }
}

void hn_dw_backward(const hn_op_ctx *c, const geom *q, float *dx, bool acc) {
    const int N = c->n, HW = q->h * q->w, P = q->oh * q->ow, kk = q->k * q->k;
#pragma omp parallel num_threads(pass_threads(c, q))
    {
        block_scratch b = scratch_of(c, q);
        size_t p0, p1;
        thread_planes(q, N, &p0, &p1);
        memset(c->dw + p0 / (size_t)N * kk, 0, sizeof(float) * (p1 - p0) / (size_t)N * kk);
        for (size_t pb = p0; pb < p1; pb += LANES) {
            const int nl = (int)(p1 - pb < LANES ? p1 - pb : LANES);
            to_lanes(b.x, c->in[0] + pb * HW, HW, nl);
            to_lanes(b.y, c->dout + pb * P, P, nl);
            weight_grad_block(q, b.y, b.x, b.gw);
            for (int l = 0; l < nl; l++) { /* lanes to channels, in lane order */
                float *dwc = c->dw + (pb + (size_t)l) / (size_t)N * kk;
                for (int t = 0; t < kk; t++) dwc[t] += b.gw[(size_t)t * LANES + l];
            }
            if (!dx) continue;
            weights_to_lanes(b.w, c->w, kk, pb, nl, N);
            input_grad_block(q, b.y, b.w, b.dx);
            from_lanes(dx + pb * HW, b.dx, HW, nl, acc);
        }
    }
}
