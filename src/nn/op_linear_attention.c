/* ReLU linear attention (EfficientViT's and LowFormer's): the input is (3D, H, W) as for attention
 * (queries, keys and values stacked by a 1x1 convolution), the output (D, H, W); with T = H*W tokens,
 * d = D / heads and phi = ReLU, head h computes from its channels
 *     A = V phi(K)^T  (d x d),   z = phi(K) 1  (d),   O_t = A phi(Q_t) / (z . phi(Q_t) + eps)
 * for each token t (eps = HN_LINEAR_ATTENTION_EPS, 1e-6): cost linear in T instead of attention's T^2. Activations are
 * channel-major, (C, N, T): a head's row k of Q, K or V is T contiguous values (attention.h).
 * Backward (no state kept between the passes: A and z are recomputed), with g_t = dO_t / den_t and
 * e_t = -(dO_t . O_t) / den_t:
 *     dphi(Q_t) = A^T g_t + z e_t,   dA = sum_t g_t phi(Q_t)^T,   dz = sum_t e_t phi(Q_t),
 *     dV_u = dA phi(K_u),            dphi(K_u) = dA^T V_u + dz,   and ReLU's mask on Q and K.
 * The (sample, head) pairs run in parallel, each thread on its own scratch. */
#include <string.h>

#include "attention.h"

static int64_t macs(const hn_graph *g, const hn_node *n) { /* A and A phi(Q): T d^2 each; z . phi(Q): T d */
    (void)g;
    int64_t T = (int64_t)n->shape.h * n->shape.w, d = n->shape.c / n->heads;
    return 2 * T * d * n->shape.c + T * n->shape.c;
}

static size_t per_thread(const hn_node *n) { /* A, dA (d x d); z, dz, and two d-vectors of a token */
    size_t d = (size_t)(n->shape.c / n->heads);
    return 2 * d * d + 4 * d;
}

static size_t scratch_floats(const hn_graph *g, const hn_node *n, int batch) {
    (void)g, (void)batch;
    return per_thread(n) * (size_t)omp_get_max_threads();
}

static inline float relu(float v) { return v > 0 ? v : 0; }

/* A (row a: value channel, column b: key channel) and z of pair (s, h) */
static void key_sums(const hn_attn_dims *m, const float *x, int s, int h, float *A, float *z) {
    for (int b = 0; b < m->d; b++) {
        const float *k = x + hn_attn_row(m, 1, h, b, s);
        float sum = 0;
        for (int u = 0; u < m->T; u++) sum += relu(k[u]);
        z[b] = sum;
        for (int a = 0; a < m->d; a++) {
            const float *v = x + hn_attn_row(m, 2, h, a, s);
            float acc = 0;
#pragma omp simd reduction(+ : acc)
            for (int u = 0; u < m->T; u++) acc += v[u] * relu(k[u]);
            A[a * m->d + b] = acc;
        }
    }
}

/* phi(Q_t) into q, A phi(Q_t) into num; returns the denominator */
static float token(const hn_attn_dims *m, const float *x, int s, int h, int t, const float *A, const float *z, float *q,
                   float *num) {
    float den = HN_LINEAR_ATTENTION_EPS;
    for (int b = 0; b < m->d; b++) q[b] = relu(x[hn_attn_row(m, 0, h, b, s) + t]), den += z[b] * q[b];
    for (int a = 0; a < m->d; a++) {
        float acc = 0;
        for (int b = 0; b < m->d; b++) acc += A[a * m->d + b] * q[b];
        num[a] = acc;
    }
    return den;
}

static void forward(const hn_op_ctx *c) {
    const hn_attn_dims m = hn_attn_dims_of(c);
    const size_t per = per_thread(c->node), dd = (size_t)m.d * m.d;
#pragma omp parallel for schedule(dynamic) num_threads(hn_attn_threads(c, per))
    for (int p = 0; p < m.N * m.heads; p++) {
        int s = p / m.heads, h = p % m.heads;
        float *A = c->scratch + per * (size_t)omp_get_thread_num(), *z = A + 2 * dd, *q = z + 2 * m.d, *num = q + m.d;
        key_sums(&m, c->in[0], s, h, A, z);
        for (int t = 0; t < m.T; t++) {
            float den = token(&m, c->in[0], s, h, t, A, z, q, num);
            for (int a = 0; a < m.d; a++) c->out[hn_attn_row(&m, 0, h, a, s) + t] = num[a] / den;
        }
    }
}

static void backward(const hn_op_ctx *c) {
    float *dx = c->din[0];
    if (!dx) return;
    const hn_attn_dims m = hn_attn_dims_of(c);
    const float *x = c->in[0], *dy = c->dout;
    const size_t per = per_thread(c->node), dd = (size_t)m.d * m.d;
    const bool acc = c->din_acc[0];
#pragma omp parallel for schedule(dynamic) num_threads(hn_attn_threads(c, per))
    for (int p = 0; p < m.N * m.heads; p++) {
        int s = p / m.heads, h = p % m.heads;
        float *A = c->scratch + per * (size_t)omp_get_thread_num(), *dA = A + dd, *z = dA + dd, *dz = z + m.d;
        float *q = dz + m.d, *g = q + m.d;
        key_sums(&m, x, s, h, A, z);
        memset(dA, 0, sizeof(float) * dd);
        memset(dz, 0, sizeof(float) * (size_t)m.d);
        for (int t = 0; t < m.T; t++) {
            float den = token(&m, x, s, h, t, A, z, q, g), e = 0; /* g holds num, then g_t */
            for (int a = 0; a < m.d; a++) {
                float dout = dy[hn_attn_row(&m, 0, h, a, s) + t];
                e -= dout * g[a] / den;
                g[a] = dout / den;
            }
            e /= den;
            for (int b = 0; b < m.d; b++) {
                float dq = z[b] * e;
                for (int a = 0; a < m.d; a++) dq += A[a * m.d + b] * g[a], dA[a * m.d + b] += g[a] * q[b];
                dz[b] += e * q[b];
                size_t at = hn_attn_row(&m, 0, h, b, s) + t;
                dq = x[at] > 0 ? dq : 0;
                dx[at] = acc ? dx[at] + dq : dq;
            }
        }
        for (int u = 0; u < m.T; u++) {
            for (int a = 0; a < m.d; a++) { /* dV_u = dA phi(K_u) */
                float dv = 0;
                for (int b = 0; b < m.d; b++) dv += dA[a * m.d + b] * relu(x[hn_attn_row(&m, 1, h, b, s) + u]);
                size_t at = hn_attn_row(&m, 2, h, a, s) + u;
                dx[at] = acc ? dx[at] + dv : dv;
            }
            for (int b = 0; b < m.d; b++) { /* dphi(K_u) = dA^T V_u + dz, masked */
                size_t at = hn_attn_row(&m, 1, h, b, s) + u;
                float dk = dz[b];
                for (int a = 0; a < m.d; a++) dk += dA[a * m.d + b] * x[hn_attn_row(&m, 2, h, a, s) + u];
                dk = x[at] > 0 ? dk : 0;
                dx[at] = acc ? dx[at] + dk : dk;
            }
        }
    }
}

const hn_op_def hn_op_linear_attention = {
    .name = "linear_attention", .min_inputs = 1, .max_inputs = 1, .infer = hn_attention_infer,
    .scratch_floats = scratch_floats, .forward = forward, .backward = backward, .macs = macs,
};
