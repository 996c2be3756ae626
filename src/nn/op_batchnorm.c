/* Batch norm over channels (BatchNorm2d), in training mode (batch statistics, running statistics
 * updated with PyTorch's momentum and unbiased variance) and inference mode (running statistics).
 * Parameters [gamma (C), beta (C)], state [running_mean (C), running_var (C)].
 * Aux keeps the batch mean and 1/sqrt(var + eps) per channel (2C floats) for backward.
 * Activations are channel-major, so each channel is one contiguous run of L = N*H*W values.
 * A following relu/relu6 can be fused in (see hn_op_ctx.act_hi).
 *
 * Sums run in float over blocks of BLOCK values (vectorised: `omp simd` permits the reassociation)
 * and in double across blocks, so a channel of a million values loses no precision. */
#include <math.h>
#include <string.h>

#include "op.h"

enum { BLOCK = 1024 };

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

static size_t aux_bytes(const hn_graph *g, const hn_node *n, int batch, bool with_grad) {
    (void)g, (void)batch, (void)with_grad;
    return 2 * sizeof(float) * (size_t)n->shape.c;
}

/* sum(x) and sum((x - shift)^2) over L values */
static void moments(const float *x, size_t L, float shift, double *s, double *ss) {
    double a = 0, b = 0;
    for (size_t i0 = 0; i0 < L; i0 += BLOCK) {
        size_t i1 = i0 + BLOCK < L ? i0 + BLOCK : L;
        float fa = 0, fb = 0;
#pragma omp simd reduction(+ : fa, fb)
        for (size_t i = i0; i < i1; i++) {
            float d = x[i] - shift;
            fa += x[i];
            fb += d * d;
        }
        a += fa, b += fb;
    }
    *s = a, *ss = b;
}

static void forward(const hn_op_ctx *c) {
    const hn_node *nd = c->node;
    const int C = nd->shape.c;
    const size_t L = (size_t)c->n * nd->shape.h * nd->shape.w;
    const float *gamma = c->w, *beta = c->w + C, hi = c->act_hi;
    float *rmean = c->state, *rvar = c->state + C;
    float *smean = c->aux, *sinv = (float *)c->aux + C;
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < C; ch++) {
        const float *x = c->in[0] + (size_t)ch * L;
        float *y = c->out + (size_t)ch * L;
        float mean, inv;
        if (c->training) {
            /* shifting by a sample value keeps sum((x - shift)^2) free of cancellation */
            double s, ss;
            moments(x, L, x[0], &s, &ss);
            double m = s / (double)L, dm = m - x[0];
            double sq = ss - (double)L * dm * dm; /* sum (x - m)^2 */
            if (sq < 0) sq = 0;
            double var = sq / (double)L;
            mean = (float)m;
            inv = (float)(1.0 / sqrt(var + nd->eps));
            double unbiased = L > 1 ? sq / (double)(L - 1) : var;
            rmean[ch] = (1.0f - nd->momentum) * rmean[ch] + nd->momentum * mean;
            rvar[ch] = (1.0f - nd->momentum) * rvar[ch] + nd->momentum * (float)unbiased;
        } else {
            mean = rmean[ch];
            inv = 1.0f / sqrtf(rvar[ch] + nd->eps);
        }
        smean[ch] = mean;
        sinv[ch] = inv;
        float a = gamma[ch] * inv;
        hn_affine_act(y, x, L, a, beta[ch] - mean * a, hi);
    }
}

/* The gradient reaching the batch norm's own output: dout, masked by a fused activation. */
static inline float grad_in(const float *dout, const float *out, float hi, size_t i) {
    return hi > 0 ? (out[i] > 0 && out[i] < hi ? dout[i] : 0.0f) : dout[i];
}

static void backward(const hn_op_ctx *c) {
    const hn_node *nd = c->node;
    const int C = nd->shape.c;
    const size_t L = (size_t)c->n * nd->shape.h * nd->shape.w;
    const float *gamma = c->w, hi = c->act_hi;
    float *dgamma = c->dw, *dbeta = c->dw + C;
    const float *smean = c->aux, *sinv = (const float *)c->aux + C;
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < C; ch++) {
        const float *x = c->in[0] + (size_t)ch * L, *dy = c->dout + (size_t)ch * L, *y = c->out + (size_t)ch * L;
        const float mean = smean[ch], inv = sinv[ch];
        double sdy = 0, sdyx = 0;
        for (size_t i0 = 0; i0 < L; i0 += BLOCK) {
            size_t i1 = i0 + BLOCK < L ? i0 + BLOCK : L;
            float fa = 0, fb = 0;
#pragma omp simd reduction(+ : fa, fb)
            for (size_t i = i0; i < i1; i++) {
                float g = grad_in(dy, y, hi, i);
                fa += g;
                fb += g * (x[i] - mean);
            }
            sdy += fa, sdyx += fb;
        }
        dbeta[ch] = (float)sdy;
        dgamma[ch] = (float)(sdyx * inv);
        float *dx = c->din[0] ? c->din[0] + (size_t)ch * L : NULL;
        if (!dx) continue;
        const bool acc = c->din_acc[0];
        const float gi = gamma[ch] * inv;
        /* training: dx = gamma*inv/L * (L*g - sum(g) - xhat * sum(g*xhat)), xhat = (x - mean)*inv;
         * inference: the statistics are constants, dx = gamma*inv*g */
        const float k1 = c->training ? (float)(sdy / (double)L) : 0.0f;
        const float k2 = c->training ? (float)(sdyx * inv * inv / (double)L) : 0.0f;
#pragma omp simd
        for (size_t i = 0; i < L; i++) {
            float v = gi * (grad_in(dy, y, hi, i) - k1 - (x[i] - mean) * k2);
            dx[i] = acc ? dx[i] + v : v;
        }
    }
}

const hn_op_def hn_op_batchnorm = {
    .name = "batchnorm", .min_inputs = 1, .max_inputs = 1, .infer = infer, .init = init, .views = views,
    .aux_bytes = aux_bytes, .forward = forward, .backward = backward, .can_fuse_act = true,
};
