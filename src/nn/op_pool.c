/* Average and max pooling over K x K windows (square kernel, stride, zero/-inf padding, floor mode),
 * and global average pooling. Each (channel, image) plane is pooled independently; in the
 * channel-major layout plane p = c*N + n starts at p*H*W.
 * avgpool divides by the window clipped to the padded input (count_include_pad, PyTorch's default)
 * or by the number of real input pixels in it. maxpool keeps the argmax of each output (int32, index
 * within the plane) in aux for backward; ties go to the first maximum, as in PyTorch. */
#include <float.h>
#include <string.h>

#include "op.h"

static hn_status infer(const hn_graph *g, hn_node *n) {
    hn_shape in = hn_in_shape(g, n, 0);
    if (n->kernel <= 0) return hn_error(HN_ERR_INVALID, "kernel must be positive (got %d)", n->kernel);
    if (n->pad < 0 || 2 * n->pad > n->kernel)
        return hn_error(HN_ERR_INVALID, "padding %d must be between 0 and half the kernel %d", n->pad, n->kernel);
    if (in.h + 2 * n->pad < n->kernel || in.w + 2 * n->pad < n->kernel)
        return hn_error(HN_ERR_SHAPE, "kernel %d is larger than the padded input %dx%d (padding %d)", n->kernel, in.h,
                        in.w, n->pad);
    n->shape.c = in.c;
    n->shape.h = (in.h + 2 * n->pad - n->kernel) / n->stride + 1;
    n->shape.w = (in.w + 2 * n->pad - n->kernel) / n->stride + 1;
    return HN_OK;
}

/* The window of output (oh, ow) clipped to the real input: rows [*h0, *h1), columns [*w0, *w1);
 * returns the divisor avgpool uses. */
static int window(const hn_node *n, hn_shape in, int oh, int ow, int *h0, int *h1, int *w0, int *w1) {
    int hs = oh * n->stride - n->pad, ws = ow * n->stride - n->pad;
    int he = hs + n->kernel, we = ws + n->kernel;
    int hp = he < in.h + n->pad ? he : in.h + n->pad, wp = we < in.w + n->pad ? we : in.w + n->pad;
    int padded = (hp - hs) * (wp - ws);
    *h0 = hs > 0 ? hs : 0;
    *w0 = ws > 0 ? ws : 0;
    *h1 = he < in.h ? he : in.h;
    *w1 = we < in.w ? we : in.w;
    return n->count_include_pad ? padded : (*h1 - *h0) * (*w1 - *w0);
}

/* output (oh, ow) of one plane, by its clipped window */
static float avg_at(const hn_node *n, hn_shape in, const float *x, int oh, int ow) {
    int h0, h1, w0, w1, div = window(n, in, oh, ow, &h0, &h1, &w0, &w1);
    float s = 0;
    for (int ih = h0; ih < h1; ih++)
        for (int iw = w0; iw < w1; iw++) s += x[ih * in.w + iw];
    return s / (float)div;
}

/* With stride 1, the outputs whose window lies inside the input (all but a border of `pad`) are
 * summed tap by tap along whole row segments, which vectorises; the border goes through avg_at. */
static void avg_plane_stride1(const hn_node *n, hn_shape in, hn_shape o, const float *x, float *y) {
    const int k = n->kernel, p = n->pad, lo = p, hi_h = o.h - p, hi_w = o.w - p;
    const float inv = 1.0f / (float)(k * k);
    for (int oh = 0; oh < o.h; oh++) {
        float *restrict yr = y + (size_t)oh * o.w;
        if (oh < lo || oh >= hi_h || hi_w <= lo) {
            for (int ow = 0; ow < o.w; ow++) yr[ow] = avg_at(n, in, x, oh, ow);
            continue;
        }
        for (int ow = 0; ow < lo; ow++) yr[ow] = avg_at(n, in, x, oh, ow);
        for (int ow = hi_w; ow < o.w; ow++) yr[ow] = avg_at(n, in, x, oh, ow);
        for (int ow = lo; ow < hi_w; ow++) yr[ow] = 0;
        for (int ki = 0; ki < k; ki++) {
            const float *xr = x + (size_t)(oh - p + ki) * in.w; /* window row; column ow - p + kj */
            for (int kj = 0; kj < k; kj++) {
                const float *restrict xs = xr + kj - p + lo; /* input of output column lo */
                float *restrict yd = yr + lo;
                for (int t = 0; t < hi_w - lo; t++) yd[t] += xs[t];
            }
        }
        for (int ow = lo; ow < hi_w; ow++) yr[ow] *= inv;
    }
}

static void avg_forward(const hn_op_ctx *c) {
    const hn_node *n = c->node;
    hn_shape in = hn_in_shape(c->g, n, 0), o = n->shape;
    const int planes = in.c * c->n;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        const float *x = c->in[0] + (size_t)p * in.h * in.w;
        float *y = c->out + (size_t)p * o.h * o.w;
        if (n->stride == 1) {
            avg_plane_stride1(n, in, o, x, y);
            continue;
        }
        for (int oh = 0; oh < o.h; oh++)
            for (int ow = 0; ow < o.w; ow++) y[oh * o.w + ow] = avg_at(n, in, x, oh, ow);
    }
}

static void avg_backward(const hn_op_ctx *c) {
    if (!c->din[0]) return;
    const hn_node *n = c->node;
    hn_shape in = hn_in_shape(c->g, n, 0), o = n->shape;
    const int planes = in.c * c->n;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        float *dx = c->din[0] + (size_t)p * in.h * in.w;
        const float *dy = c->dout + (size_t)p * o.h * o.w;
        if (!c->din_acc[0]) memset(dx, 0, sizeof(float) * in.h * in.w);
        for (int oh = 0; oh < o.h; oh++)
            for (int ow = 0; ow < o.w; ow++) {
                int h0, h1, w0, w1, div = window(n, in, oh, ow, &h0, &h1, &w0, &w1);
                float g = dy[oh * o.w + ow] / (float)div;
                for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++) dx[ih * in.w + iw] += g;
            }
    }
}

static size_t max_aux(const hn_graph *g, const hn_node *n, int batch, bool with_grad) {
    (void)g, (void)with_grad;
    return sizeof(int32_t) * (size_t)batch * hn_shape_numel(n->shape);
}

static void max_forward(const hn_op_ctx *c) {
    const hn_node *n = c->node;
    hn_shape in = hn_in_shape(c->g, n, 0), o = n->shape;
    const int planes = in.c * c->n;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        const float *x = c->in[0] + (size_t)p * in.h * in.w;
        float *y = c->out + (size_t)p * o.h * o.w;
        int32_t *arg = (int32_t *)c->aux + (size_t)p * o.h * o.w;
        for (int oh = 0; oh < o.h; oh++)
            for (int ow = 0; ow < o.w; ow++) {
                int h0, h1, w0, w1;
                window(n, in, oh, ow, &h0, &h1, &w0, &w1);
                float best = -FLT_MAX;
                int32_t bi = h0 * in.w + w0;
                for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++)
                        if (x[ih * in.w + iw] > best) {
                            best = x[ih * in.w + iw];
                            bi = ih * in.w + iw;
                        }
                y[oh * o.w + ow] = best;
                arg[oh * o.w + ow] = bi;
            }
    }
}

static void max_backward(const hn_op_ctx *c) {
    if (!c->din[0]) return;
    const hn_node *n = c->node;
    hn_shape in = hn_in_shape(c->g, n, 0), o = n->shape;
    const int planes = in.c * c->n;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        float *dx = c->din[0] + (size_t)p * in.h * in.w;
        const float *dy = c->dout + (size_t)p * o.h * o.w;
        const int32_t *arg = (const int32_t *)c->aux + (size_t)p * o.h * o.w;
        if (!c->din_acc[0]) memset(dx, 0, sizeof(float) * in.h * in.w);
        for (int i = 0; i < o.h * o.w; i++) dx[arg[i]] += dy[i];
    }
}

const hn_op_def hn_op_avgpool = {
    .name = "avgpool", .min_inputs = 1, .max_inputs = 1, .infer = infer, .forward = avg_forward,
    .backward = avg_backward,
};
const hn_op_def hn_op_maxpool = {
    .name = "maxpool", .min_inputs = 1, .max_inputs = 1, .infer = infer, .aux_bytes = max_aux,
    .forward = max_forward, .backward = max_backward,
};

/* ---- global average pooling: (C, N, H, W) -> (C, N, 1, 1) ---- */

static hn_status gap_infer(const hn_graph *g, hn_node *n) {
    hn_shape in = hn_in_shape(g, n, 0);
    n->shape = (hn_shape){in.c, 1, 1};
    return HN_OK;
}

static void gap_forward(const hn_op_ctx *c) {
    hn_shape in = hn_in_shape(c->g, c->node, 0);
    const int planes = in.c * c->n, HW = in.h * in.w;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        const float *x = c->in[0] + (size_t)p * HW;
        float s = 0;
        for (int i = 0; i < HW; i++) s += x[i];
        c->out[p] = s / (float)HW;
    }
}

static void gap_backward(const hn_op_ctx *c) {
    if (!c->din[0]) return;
    hn_shape in = hn_in_shape(c->g, c->node, 0);
    const int planes = in.c * c->n, HW = in.h * in.w;
    bool acc = c->din_acc[0];
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        float *dx = c->din[0] + (size_t)p * HW;
        float g = c->dout[p] / (float)HW;
        for (int i = 0; i < HW; i++) dx[i] = acc ? dx[i] + g : g;
    }
}

const hn_op_def hn_op_global_avgpool = {
    .name = "global_avgpool", .min_inputs = 1, .max_inputs = 1, .infer = gap_infer, .forward = gap_forward,
    .backward = gap_backward,
};
