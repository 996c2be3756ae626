/* What the two attention ops share (op_attention.c: softmax attention; op_linear_attention.c: ReLU
 * linear attention): the stacked (3D, H, W) input of queries, keys and values, the heads' sizes, and
 * where a head's rows lie in the channel-major activations. Internal to src/nn/. */
#ifndef HWNAS_NN_ATTENTION_H
#define HWNAS_NN_ATTENTION_H

#include <math.h>
#include <omp.h>

#include "op.h"

/* input (3D, H, W) -> output (D, H, W), heads dividing D */
hn_status hn_attention_infer(const hn_graph *g, hn_node *n);

typedef struct {
    int N, T, D, d, heads; /* samples, tokens, value channels, per head, heads */
    float scale;           /* 1 / sqrt(d) */
} hn_attn_dims;

static inline hn_attn_dims hn_attn_dims_of(const hn_op_ctx *c) {
    const hn_node *nd = c->node;
    hn_attn_dims m = {c->n, nd->shape.h * nd->shape.w, nd->shape.c, nd->shape.c / nd->heads, nd->heads, 0};
    m.scale = 1.0f / sqrtf((float)m.d);
    return m;
}

/* Row k of head h's block `which` (0 Q, 1 K, 2 V) of sample s in a (3D, N, T) tensor, or of the
 * output (D, N, T) with which = 0: T contiguous values. */
static inline size_t hn_attn_row(const hn_attn_dims *m, int which, int h, int k, int s) {
    return ((size_t)(which * m->D + h * m->d + k) * m->N + s) * m->T;
}

/* threads for the (sample, head) pairs: no more than the scratch holds per_thread floats for */
static inline int hn_attn_threads(const hn_op_ctx *c, size_t per_thread) {
    int t = (int)(c->scratch_len / per_thread), max = omp_get_max_threads();
    return t < 1 ? 1 : t < max ? t : max;
}

#endif
