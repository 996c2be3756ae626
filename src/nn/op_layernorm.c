/* Layer norm over the channels of each token (position) of a (C, H, W) feature map: nn.LayerNorm(C)
 * applied to x.permute(0, 2, 3, 1). Parameters [gamma (C), beta (C)]; eps as the node says (1e-5).
 * Activations are channel-major, (C, N*H*W): a token's C values lie L = N*H*W apart, so every loop
 * runs over channels outside and tokens inside (contiguous, vectorised), with per-token sums.
 * Aux keeps each token's mean and 1/sqrt(var + eps) (2L floats) for backward. */
#include <math.h>
#include <string.h>

#include "op.h"

static hn_status infer(const hn_graph *g, hn_node *n) {
    n->shape = hn_in_shape(g, n, 0);
    n->nparams = 2 * (size_t)n->shape.c;
    return HN_OK;
}

static void init(const hn_graph *g, const hn_node *n, float *w, float *state, hn_rng *r) {
    (void)g, (void)state, (void)r;
    for (int i = 0; i < n->shape.c; i++) w[i] = 1.0f, w[n->shape.c + i] = 0.0f;
}

static int views(const hn_graph *g, const hn_node *n, float *w, float *state, hn_param_view *v) {
    (void)g, (void)state;
    int64_t C = n->shape.c;
    v[0] = (hn_param_view){"weight", 1, {C}, w, true};
    v[1] = (hn_param_view){"bias", 1, {C}, w + C, true};
    return 2;
}

static size_t tokens(const hn_node *n, int batch) { return (size_t)batch * n->shape.h * n->shape.w; }

static size_t aux_bytes(const hn_graph *g, const hn_node *n, int batch, bool with_grad) {
    (void)g, (void)with_grad;
    return 2 * sizeof(float) * tokens(n, batch);
}

/* Tokens [t0, t1) of every channel: mean and 1/sqrt(var + eps) of each, then the normalised output. */
static void forward_block(const hn_op_ctx *c, size_t t0, size_t t1) {
    const int C = c->node->shape.c;
    const size_t L = tokens(c->node, c->n);
    const float *x = c->in[0], *gamma = c->w, *beta = c->w + C;
    float *mean = c->aux, *inv = (float *)c->aux + L, *y = c->out;
    for (size_t t = t0; t < t1; t++) mean[t] = 0, inv[t] = 0;
    for (int ch = 0; ch < C; ch++) {
        const float *xc = x + (size_t)ch * L;
#pragma omp simd
        for (size_t t = t0; t < t1; t++) mean[t] += xc[t];
    }
    for (size_t t = t0; t < t1; t++) mean[t] /= (float)C;
    for (int ch = 0; ch < C; ch++) { /* the variance about the mean: two passes, no cancellation */
        const float *xc = x + (size_t)ch * L;
#pragma omp simd
        for (size_t t = t0; t < t1; t++) inv[t] += (xc[t] - mean[t]) * (xc[t] - mean[t]);
    }
    for (size_t t = t0; t < t1; t++) inv[t] = 1.0f / sqrtf(inv[t] / (float)C + c->node->eps);
    for (int ch = 0; ch < C; ch++) {
        const float *xc = x + (size_t)ch * L;
        float *yc = y + (size_t)ch * L, gc = gamma[ch], bc = beta[ch];
#pragma omp simd
        for (size_t t = t0; t < t1; t++) yc[t] = (xc[t] - mean[t]) * inv[t] * gc + bc;
    }
}

enum { TOKENS = 256 }; /* tokens a block: per-token sums stay in cache across the channel loops */

static void forward(const hn_op_ctx *c) {
    const size_t L = tokens(c->node, c->n), blocks = (L + TOKENS - 1) / TOKENS;
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < blocks; b++) forward_block(c, b * TOKENS, (b + 1) * TOKENS < L ? (b + 1) * TOKENS : L);
}

/* With xhat = (x - mean) * inv and g = dy * gamma per channel:
 * dx = inv * (g - mean_c(g) - xhat * mean_c(g * xhat)); dgamma = sum_t dy * xhat; dbeta = sum_t dy. */
static void backward(const hn_op_ctx *c) {
    const int C = c->node->shape.c;
    const size_t L = tokens(c->node, c->n), blocks = (L + TOKENS - 1) / TOKENS;
    const float *x = c->in[0], *dy = c->dout, *gamma = c->w, *mean = c->aux, *inv = (const float *)c->aux + L;
    float *dx = c->din[0];
    /* parameter gradients: per channel, over all tokens */
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < C; ch++) {
        const float *xc = x + (size_t)ch * L, *dyc = dy + (size_t)ch * L;
        double sg = 0, sb = 0;
        for (size_t t0 = 0; t0 < L; t0 += TOKENS) {
            size_t t1 = t0 + TOKENS < L ? t0 + TOKENS : L;
            float fg = 0, fb = 0;
#pragma omp simd reduction(+ : fg, fb)
            for (size_t t = t0; t < t1; t++) fg += dyc[t] * (xc[t] - mean[t]) * inv[t], fb += dyc[t];
            sg += fg, sb += fb;
        }
        c->dw[ch] = (float)sg, c->dw[C + ch] = (float)sb;
    }
    if (!dx) return;
    const bool acc = c->din_acc[0];
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < blocks; b++) {
        size_t t0 = b * TOKENS, t1 = t0 + TOKENS < L ? t0 + TOKENS : L;
        float mg[TOKENS] = {0}, mgx[TOKENS] = {0};
        for (int ch = 0; ch < C; ch++) {
            const float *xc = x + (size_t)ch * L, *dyc = dy + (size_t)ch * L;
            float gc = gamma[ch];
#pragma omp simd
            for (size_t t = t0; t < t1; t++) {
                float g = dyc[t] * gc;
                mg[t - t0] += g, mgx[t - t0] += g * (xc[t] - mean[t]) * inv[t];
            }
        }
        for (size_t t = t0; t < t1; t++) mg[t - t0] /= (float)C, mgx[t - t0] /= (float)C;
        for (int ch = 0; ch < C; ch++) {
            const float *xc = x + (size_t)ch * L, *dyc = dy + (size_t)ch * L;
            float *dxc = dx + (size_t)ch * L, gc = gamma[ch];
#pragma omp simd
            for (size_t t = t0; t < t1; t++) {
                float v = inv[t] * (dyc[t] * gc - mg[t - t0] - (xc[t] - mean[t]) * inv[t] * mgx[t - t0]);
                dxc[t] = acc ? dxc[t] + v : v;
            }
        }
    }
}

const hn_op_def hn_op_layernorm = {
    .name = "layernorm", .min_inputs = 1, .max_inputs = 1, .infer = infer, .init = init, .views = views,
    .aux_bytes = aux_bytes, .forward = forward, .backward = backward,
};
