/* add: elementwise sum of two or more inputs of the same shape (residual connections, cell nodes). */
#include "op.h"

static hn_status infer(const hn_graph *g, hn_node *n) {
    hn_shape a = hn_in_shape(g, n, 0);
    for (int i = 1; i < n->ninputs; i++) {
        hn_shape b = hn_in_shape(g, n, i);
        if (a.c != b.c || a.h != b.h || a.w != b.w)
            return hn_error(HN_ERR_SHAPE, "inputs must have the same shape: %s is %dx%dx%d but %s is %dx%dx%d",
                            g->nodes[n->inputs[0]].name, a.c, a.h, a.w, g->nodes[n->inputs[i]].name, b.c, b.h, b.w);
    }
    n->shape = a;
    return HN_OK;
}

static void forward(const hn_op_ctx *c) {
    size_t L = (size_t)c->n * hn_shape_numel(c->node->shape);
    const int k = c->node->ninputs;
    const float *a = c->in[0], *b = c->in[1];
    float *y = c->out;
    /* two inputs (a residual) in one vector pass; any further one added in its own */
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < L; i++) y[i] = a[i] + b[i];
    for (int j = 2; j < k; j++) hn_grad_store(y, c->in[j], L, true);
}

static void backward(const hn_op_ctx *c) {
    size_t L = (size_t)c->n * hn_shape_numel(c->node->shape);
    for (int j = 0; j < c->node->ninputs; j++)
        if (c->din[j]) hn_grad_store(c->din[j], c->dout, L, c->din_acc[j]);
}

const hn_op_def hn_op_add = {
    .name = "add", .min_inputs = 2, .max_inputs = HN_MAX_INPUTS, .infer = infer, .forward = forward,
    .backward = backward,
};
