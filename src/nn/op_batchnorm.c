/* Batch norm over channels (BatchNorm2d), in training mode (batch statistics, running statistics
 * updated with PyTorch's momentum and unbiased variance) and inference mode (running statistics).
 * Parameters [gamma (C), beta (C)], state [running_mean (C), running_var (C)].
 * Aux keeps the batch mean and 1/sqrt(var + eps) per channel (2C floats) for backward.
 * Activations are channel-major, so each channel is one contiguous run of N*H*W values. */
#include <math.h>
#include <string.h>

#include "op.h"

static hn_status infer(const hn_graph *g, hn_node *n) {
    n->shape = hn_in_shape(g, n, 0);
    n->nparams = 2 * (size_t)n->shape.c;
    n->nstate = 2 * (size_t)n->shape.c;
    return HN_OK;
}

static void init(const hn_graph *g, const hn_node *n, float *w, float *state, hn_rng *r) {
    (void)g, (void)r;
    int C = n->shape.c;
    for (int i = 0; i < C; i++) {
        w[i] = 1.0f;
        w[C + i] = 0.0f;
        state[i] = 0.0f;
        state[C + i] = 1.0f;
    }
}

static int views(const hn_graph *g, const hn_node *n, float *w, float *state, hn_param_view *v) {
    (void)g;
    int64_t C = n->shape.c;
    v[0] = (hn_param_view){"weight", 1, {C}, w, true};
    v[1] = (hn_param_view){"bias", 1, {C}, w + C, true};
    v[2] = (hn_param_view){"running_mean", 1, {C}, state, false};
    v[3] = (hn_param_view){"running_var", 1, {C}, state + C, false};
    return 4;
}

static size_t aux_bytes(const hn_graph *g, const hn_node *n, int batch) {
    (void)g, (void)batch;
    return 2 * sizeof(float) * (size_t)n->shape.c;
}

static void forward(const hn_op_ctx *c) {
    const hn_node *nd = c->node;
    const int C = nd->shape.c;
    const size_t L = (size_t)c->n * nd->shape.h * nd->shape.w;
    const float *gamma = c->w, *beta = c->w + C;
    float *rmean = c->state, *rvar = c->state + C;
    float *smean = c->aux, *sinv = (float *)c->aux + C;
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < C; ch++) {
        const float *x = c->in[0] + (size_t)ch * L;
        float *y = c->out + (size_t)ch * L;
        float mean, inv;
        if (c->training) {
            double s = 0, ss = 0; /* double: a channel of a batch has up to ~10^6 values */
            for (size_t i = 0; i < L; i++) s += x[i];
            double m = s / (double)L;
            for (size_t i = 0; i < L; i++) {
                double d = x[i] - m;
                ss += d * d;
            }
            double var = ss / (double)L;
            mean = (float)m;
            inv = (float)(1.0 / sqrt(var + nd->eps));
            double unbiased = L > 1 ? ss / (double)(L - 1) : var;
            rmean[ch] = (1.0f - nd->momentum) * rmean[ch] + nd->momentum * mean;
            rvar[ch] = (1.0f - nd->momentum) * rvar[ch] + nd->momentum * (float)unbiased;
        } else {
            mean = rmean[ch];
            inv = 1.0f / sqrtf(rvar[ch] + nd->eps);
        }
        smean[ch] = mean;
        sinv[ch] = inv;
        float a = gamma[ch] * inv, b = beta[ch] - mean * a;
        for (size_t i = 0; i < L; i++) y[i] = x[i] * a + b;
    }
}

static void backward(const hn_op_ctx *c) {
    const hn_node *nd = c->node;
    const int C = nd->shape.c;
    const size_t L = (size_t)c->n * nd->shape.h * nd->shape.w;
    const float *gamma = c->w;
    float *dgamma = c->dw, *dbeta = c->dw + C;
    const float *smean = c->aux, *sinv = (const float *)c->aux + C;
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < C; ch++) {
        const float *x = c->in[0] + (size_t)ch * L, *dy = c->dout + (size_t)ch * L;
        float mean = smean[ch], inv = sinv[ch];
        double sdy = 0, sdyx = 0;
        for (size_t i = 0; i < L; i++) {
            sdy += dy[i];
            sdyx += dy[i] * (x[i] - mean);
        }
        dbeta[ch] = (float)sdy;
        dgamma[ch] = (float)(sdyx * inv);
        float *dx = c->din[0] ? c->din[0] + (size_t)ch * L : NULL;
        if (!dx) continue;
        bool acc = c->din_acc[0];
        float gi = gamma[ch] * inv;
        if (c->training) {
            /* dx = gamma*inv/L * (L*dy - sum(dy) - xhat * sum(dy*xhat)), xhat = (x - mean)*inv */
            float k1 = (float)(sdy / (double)L), k2 = (float)(sdyx * inv * inv / (double)L);
            for (size_t i = 0; i < L; i++) {
                float v = gi * (dy[i] - k1 - (x[i] - mean) * k2);
                dx[i] = acc ? dx[i] + v : v;
            }
        } else {
            for (size_t i = 0; i < L; i++) dx[i] = acc ? dx[i] + gi * dy[i] : gi * dy[i];
        }
    }
}

const hn_op_def hn_op_batchnorm = {
    .name = "batchnorm", .min_inputs = 1, .max_inputs = 1, .infer = infer, .init = init, .views = views,
    .aux_bytes = aux_bytes, .forward = forward, .backward = backward,
};
