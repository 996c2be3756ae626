/* Multi-head self-attention over the tokens of a feature map: the input is (3D, H, W), queries,
 * keys and values stacked on channels (a 1x1 convolution makes them from the tokens), the output
 * (D, H, W); with T = H*W tokens, d = D / heads and scale = 1/sqrt(d), head h computes
 *     P = softmax_rows(scale * Q^T K)    (T x T),    O = V P^T    (d x T)
 * from its channels [h d, (h + 1) d) of Q, K and V -- PyTorch's scaled_dot_product_attention on
 * (N, heads, T, d) views. Activations are channel-major, (C, N, T): a head's rows Q[k] (k < d) are
 * contiguous runs of T values, so every product below runs along contiguous rows without a
 * transpose. Backward recomputes P from Q and K (no T x T per pair kept between the passes):
 *     dV = dO P,  dP = dO^T V,  dS = P o (dP - rowsum(P o dP)),  dQ = scale K dS^T,  dK = scale Q dS.
 * The (sample, head) pairs run in parallel, each thread on its own T x T scratch. */
#include <string.h>

#include "attention.h"

hn_status hn_attention_infer(const hn_graph *g, hn_node *n) {
    hn_shape in = hn_in_shape(g, n, 0);
    if (in.c % 3)
        return hn_error(HN_ERR_SHAPE, "input has %d channels: attention takes queries, keys and values stacked, 3 x D", in.c);
    int D = in.c / 3;
    if (D % n->heads)
        return hn_error(HN_ERR_SHAPE, "%d heads do not divide the %d channels of the values", n->heads, D);
    n->shape = (hn_shape){D, in.h, in.w};
    return HN_OK;
}

static int64_t macs(const hn_graph *g, const hn_node *n) { /* Q^T K and V P^T: T x T x d each, per head */
    (void)g;
    int64_t T = (int64_t)n->shape.h * n->shape.w;
    return 2 * T * T * n->shape.c;
}

static size_t per_thread(const hn_node *n) {
    size_t T = (size_t)n->shape.h * n->shape.w;
    return 2 * T * T; /* P and dP */
}

static size_t scratch_floats(const hn_graph *g, const hn_node *n, int batch) {
    (void)g, (void)batch;
    return per_thread(n) * (size_t)omp_get_max_threads();
}

/* P = softmax_rows(scale * Q^T K) of pair (s, h), T x T row-major */
static void probabilities(const hn_attn_dims *m, const float *x, int s, int h, float *P) {
    const int T = m->T;
    memset(P, 0, sizeof(float) * (size_t)T * T);
    for (int k = 0; k < m->d; k++) {
        const float *q = x + hn_attn_row(m, 0, h, k, s), *kk = x + hn_attn_row(m, 1, h, k, s);
        for (int i = 0; i < T; i++) {
            float qi = q[i] * m->scale, *Pi = P + (size_t)i * T;
#pragma omp simd
            for (int j = 0; j < T; j++) Pi[j] += qi * kk[j];
        }
    }
    for (int i = 0; i < T; i++) { /* two passes: the maximum, then exp and the sum */
        float *Pi = P + (size_t)i * T, mx = Pi[0], sum = 0;
        for (int j = 1; j < T; j++) mx = Pi[j] > mx ? Pi[j] : mx;
        for (int j = 0; j < T; j++) Pi[j] = expf(Pi[j] - mx), sum += Pi[j];
        for (int j = 0; j < T; j++) Pi[j] /= sum;
    }
}

static void forward(const hn_op_ctx *c) {
    const hn_attn_dims m = hn_attn_dims_of(c);
    const float *x = c->in[0];
    float *y = c->out;
#pragma omp parallel for schedule(dynamic) num_threads(hn_attn_threads(c, per_thread(c->node)))
    for (int p = 0; p < m.N * m.heads; p++) {
        int s = p / m.heads, h = p % m.heads;
        float *P = c->scratch + per_thread(c->node) * (size_t)omp_get_thread_num();
        probabilities(&m, x, s, h, P);
        for (int k = 0; k < m.d; k++) {
            const float *v = x + hn_attn_row(&m, 2, h, k, s);
            float *o = y + hn_attn_row(&m, 0, h, k, s);
            for (int i = 0; i < m.T; i++) {
                const float *Pi = P + (size_t)i * m.T;
                float acc = 0;
#pragma omp simd reduction(+ : acc)
                for (int j = 0; j < m.T; j++) acc += Pi[j] * v[j];
                o[i] = acc;
            }
        }
    }
}

static void backward(const hn_op_ctx *c) {
    float *dx = c->din[0];
    if (!dx) return;
    const hn_attn_dims m = hn_attn_dims_of(c);
    const int T = m.T;
    const float *x = c->in[0], *dy = c->dout;
    const bool acc = c->din_acc[0];
#pragma omp parallel for schedule(dynamic) num_threads(hn_attn_threads(c, per_thread(c->node)))
    for (int p = 0; p < m.N * m.heads; p++) {
        int s = p / m.heads, h = p % m.heads;
        float *P = c->scratch + per_thread(c->node) * (size_t)omp_get_thread_num(), *dP = P + (size_t)T * T;
        probabilities(&m, x, s, h, P);
        if (!acc) /* this pair's rows of dQ, dK, dV are its own: cleared, then accumulated */
            for (int w = 0; w < 3; w++)
                for (int k = 0; k < m.d; k++) memset(dx + hn_attn_row(&m, w, h, k, s), 0, sizeof(float) * (size_t)T);
        memset(dP, 0, sizeof(float) * (size_t)T * T);
        for (int k = 0; k < m.d; k++) {
            const float *dout = dy + hn_attn_row(&m, 0, h, k, s), *v = x + hn_attn_row(&m, 2, h, k, s);
            float *dv = dx + hn_attn_row(&m, 2, h, k, s);
            for (int i = 0; i < T; i++) {
                const float *Pi = P + (size_t)i * T;
                float *dPi = dP + (size_t)i * T, g = dout[i];
#pragma omp simd
                for (int j = 0; j < T; j++) dPi[j] += g * v[j], dv[j] += g * Pi[j];
            }
        }
        for (int i = 0; i < T; i++) { /* dS, in place of dP, times the scale */
            const float *Pi = P + (size_t)i * T;
            float *dSi = dP + (size_t)i * T, dot = 0;
            for (int j = 0; j < T; j++) dot += Pi[j] * dSi[j];
            for (int j = 0; j < T; j++) dSi[j] = Pi[j] * (dSi[j] - dot) * m.scale;
        }
        for (int k = 0; k < m.d; k++) {
            const float *q = x + hn_attn_row(&m, 0, h, k, s), *kk = x + hn_attn_row(&m, 1, h, k, s);
            float *dq = dx + hn_attn_row(&m, 0, h, k, s), *dk = dx + hn_attn_row(&m, 1, h, k, s);
            for (int i = 0; i < T; i++) {
                const float *dSi = dP + (size_t)i * T;
                float a = 0, qi = q[i];
#pragma omp simd reduction(+ : a)
                for (int j = 0; j < T; j++) a += dSi[j] * kk[j];
                dq[i] += a;
#pragma omp simd
                for (int j = 0; j < T; j++) dk[j] += qi * dSi[j];
            }
        }
    }
}

const hn_op_def hn_op_attention = {
    .name = "attention", .min_inputs = 1, .max_inputs = 1, .infer = hn_attention_infer, .scratch_floats = scratch_floats,
    .forward = forward, .backward = backward, .macs = macs,
};
