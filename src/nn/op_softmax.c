/* Softmax over the channels of each token of a (C, H, W) feature map (F.softmax(x, dim=1)), in the
 * numerically safe two-pass form: the token's maximum first, then exp(x - max) and its sum. Backward
 * from the output: dx = y * (dy - sum_c y * dy). Channel-major activations, so the loops run over
 * channels outside and a block of tokens inside, as in layer norm. */
#include <math.h>

#include "op.h"

static hn_status infer(const hn_graph *g, hn_node *n) {
    n->shape = hn_in_shape(g, n, 0);
    return HN_OK;
}

enum { TOKENS = 256 };

static size_t tokens(const hn_op_ctx *c) { return (size_t)c->n * c->node->shape.h * c->node->shape.w; }

static void forward(const hn_op_ctx *c) {
    const int C = c->node->shape.c;
    const size_t L = tokens(c), blocks = (L + TOKENS - 1) / TOKENS;
    const float *x = c->in[0];
    float *y = c->out;
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < blocks; b++) {
        size_t t0 = b * TOKENS, t1 = t0 + TOKENS < L ? t0 + TOKENS : L;
        float mx[TOKENS], sum[TOKENS] = {0};
        for (size_t t = t0; t < t1; t++) mx[t - t0] = x[t];
        for (int ch = 1; ch < C; ch++) {
            const float *xc = x + (size_t)ch * L;
            for (size_t t = t0; t < t1; t++) mx[t - t0] = xc[t] > mx[t - t0] ? xc[t] : mx[t - t0];
        }
        for (int ch = 0; ch < C; ch++) {
            const float *xc = x + (size_t)ch * L;
            float *yc = y + (size_t)ch * L;
            for (size_t t = t0; t < t1; t++) yc[t] = expf(xc[t] - mx[t - t0]), sum[t - t0] += yc[t];
        }
        for (int ch = 0; ch < C; ch++) {
            float *yc = y + (size_t)ch * L;
            for (size_t t = t0; t < t1; t++) yc[t] /= sum[t - t0];
        }
    }
}

static void backward(const hn_op_ctx *c) {
    float *dx = c->din[0];
    if (!dx) return;
    const int C = c->node->shape.c;
    const size_t L = tokens(c), blocks = (L + TOKENS - 1) / TOKENS;
    const float *y = c->out, *dy = c->dout;
    const bool acc = c->din_acc[0];
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < blocks; b++) {
        size_t t0 = b * TOKENS, t1 = t0 + TOKENS < L ? t0 + TOKENS : L;
        float dot[TOKENS] = {0};
        for (int ch = 0; ch < C; ch++) {
            const float *yc = y + (size_t)ch * L, *dyc = dy + (size_t)ch * L;
#pragma omp simd
            for (size_t t = t0; t < t1; t++) dot[t - t0] += yc[t] * dyc[t];
        }
        for (int ch = 0; ch < C; ch++) {
            const float *yc = y + (size_t)ch * L, *dyc = dy + (size_t)ch * L;
            float *dxc = dx + (size_t)ch * L;
#pragma omp simd
            for (size_t t = t0; t < t1; t++) {
                float v = yc[t] * (dyc[t] - dot[t - t0]);
                dxc[t] = acc ? dxc[t] + v : v;
            }
        }
    }
}

const hn_op_def hn_op_softmax = {
    .name = "softmax", .min_inputs = 1, .max_inputs = 1, .infer = infer, .forward = forward, .backward = backward,
};
