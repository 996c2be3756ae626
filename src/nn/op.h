/* Private interface between the graph/executor and the ops: one table of function pointers per op,
 * each filled in the op's own file (src/nn/op_*.c). Adding an op is one new file and one line in
 * op_table.c. */
#ifndef HWNAS_NN_OP_H
#define HWNAS_NN_OP_H

#include "hwnas/graph.h"

/* Everything a kernel sees for one node in one pass. All activation buffers are channel-major,
 * (C, N, H, W), with N = n, the batch of this pass. */
typedef struct {
    const hn_graph *g;
    const hn_node *node;
    int n;
    bool training;                   /* batch norm: batch statistics vs running statistics */
    const float *in[HN_MAX_INPUTS];  /* input activations */
    float *out;                      /* output activation */
    const float *dout;               /* gradient of the output (backward only) */
    float *din[HN_MAX_INPUTS];       /* gradients of the inputs; NULL when not needed */
    bool din_acc[HN_MAX_INPUTS];     /* true: add into din (another consumer wrote it first) */
    float *w, *dw;                   /* this node's parameters and their gradients (dw overwritten) */
    float *state;                    /* batch-norm running statistics */
    void *aux;                       /* per-node memory kept from forward to backward */
    float *scratch;                  /* shared scratch of scratch_len >= scratch_floats(batch) floats */
    size_t scratch_len;
    /* Fused activation epilogue (ops with can_fuse_act): when act_hi > 0 the op's output is
     * clamp(y, 0, act_hi) -- relu (act_hi = inf) or relu6 -- written to `out`, which is then the
     * activation's buffer; backward masks dout with 0 < out < act_hi before using it. */
    float act_hi;
    /* Folded affine epilogue (ops with can_fold_affine, inference only): when post_scale is not NULL
     * the output of channel c is (y + bias_c) * post_scale[c] + post_shift[c] (a batch norm in
     * inference mode folded in), before the activation epilogue. */
    const float *post_scale, *post_shift;
} hn_op_ctx;

typedef struct {
    const char *name;
    int min_inputs, max_inputs;
    /* Checks the inputs' shapes and the attributes; sets node->shape, nparams, nstate. Returns
     * HN_ERR_SHAPE / HN_ERR_INVALID with a message (the caller prefixes the node name). */
    hn_status (*infer)(const hn_graph *g, hn_node *n);
    /* Optional: PyTorch-default initialisation of w (nparams) and state (nstate). */
    void (*init)(const hn_graph *g, const hn_node *n, float *w, float *state, hn_rng *r);
    /* Optional: PyTorch-shaped views of the parameters and state; returns how many. */
    int (*views)(const hn_graph *g, const hn_node *n, float *w, float *state, hn_param_view *v);
    /* Optional: bytes of aux for a batch of `batch` (with_grad: backward will run, so forward may keep
     * what backward can reuse), and floats of scratch. */
    size_t (*aux_bytes)(const hn_graph *g, const hn_node *n, int batch, bool with_grad);
    size_t (*scratch_floats)(const hn_graph *g, const hn_node *n, int batch);
    void (*forward)(const hn_op_ctx *c);
    void (*backward)(const hn_op_ctx *c);
    /* Optional: multiply-accumulates per sample. */
    int64_t (*macs)(const hn_graph *g, const hn_node *n);
    /* The op implements the activation epilogue (act_hi), so a following relu/relu6 that is its only
     * consumer is folded into it: one pass over memory instead of three, and no intermediate buffer. */
    bool can_fuse_act;
    /* The op implements the folded affine epilogue, so an inference-mode batch norm that is its only
     * consumer is folded into it (and that batch norm's activation with it). */
    bool can_fold_affine;
    /* Optional, elementwise ops: y = map(x) (hn_op_elementwise) */
    hn_elementwise_fn map;
} hn_op_def;

const hn_op_def *hn_op_get(hn_op op);

/* Shape of input i of node n. */
static inline hn_shape hn_in_shape(const hn_graph *g, const hn_node *n, int i) { return g->nodes[n->inputs[i]].shape; }

/* din = v (overwrite) or din += v (accumulate), elementwise over len floats. Shared by the ops
 * whose input gradient is a plain copy or a masked copy. */
void hn_grad_store(float *din, const float *v, size_t len, bool acc);

/* y = x * a + b, then clamped to [0, hi] when hi > 0 (the activation epilogue), over len floats;
 * y may be x. Shared by batch norm and the convolution's folded epilogue. */
void hn_affine_act(float *y, const float *x, size_t len, float a, float b, float hi);

#endif
