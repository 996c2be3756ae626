/* identity (skip connection) and zero (NAS-Bench-201's "none": an edge that carries nothing). Both
 * keep the input's shape; zero's output and input gradient are zeros. */
#include <string.h>

#include "op.h"

static hn_status infer(const hn_graph *g, hn_node *n) {
    n->shape = hn_in_shape(g, n, 0);
    return HN_OK;
}

static size_t len_of(const hn_op_ctx *c) { return (size_t)c->n * hn_shape_numel(c->node->shape); }

static void identity_forward(const hn_op_ctx *c) { memcpy(c->out, c->in[0], sizeof(float) * len_of(c)); }

static void identity_backward(const hn_op_ctx *c) {
    if (c->din[0]) hn_grad_store(c->din[0], c->dout, len_of(c), c->din_acc[0]);
}

static void zero_forward(const hn_op_ctx *c) { memset(c->out, 0, sizeof(float) * len_of(c)); }

static void zero_backward(const hn_op_ctx *c) {
    if (c->din[0] && !c->din_acc[0]) memset(c->din[0], 0, sizeof(float) * len_of(c));
}

const hn_op_def hn_op_identity = {
    .name = "identity", .min_inputs = 1, .max_inputs = 1, .infer = infer, .forward = identity_forward,
    .backward = identity_backward,
};
const hn_op_def hn_op_zero = {
    .name = "zero", .min_inputs = 1, .max_inputs = 1, .infer = infer, .forward = zero_forward,
    .backward = zero_backward,
};
