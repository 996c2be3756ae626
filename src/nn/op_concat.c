/* concat along channels. In the channel-major layout each input is one contiguous block of
 * C_i*N*H*W values, so concatenation is a sequence of copies and its backward a sequence of slices. */
#include <string.h>

#include "op.h"

static hn_status infer(const hn_graph *g, hn_node *n) {
    hn_shape a = hn_in_shape(g, n, 0);
    int c = 0;
    for (int i = 0; i < n->ninputs; i++) {
        hn_shape b = hn_in_shape(g, n, i);
        if (a.h != b.h || a.w != b.w)
            return hn_error(HN_ERR_SHAPE, "inputs must have the same height and width: %s is %dx%d but %s is %dx%d",
                            g->nodes[n->inputs[0]].name, a.h, a.w, g->nodes[n->inputs[i]].name, b.h, b.w);
        c += b.c;
    }
    n->shape = (hn_shape){c, a.h, a.w};
    return HN_OK;
}

static void forward(const hn_op_ctx *c) {
    size_t off = 0;
    for (int i = 0; i < c->node->ninputs; i++) {
        size_t len = (size_t)c->n * hn_shape_numel(hn_in_shape(c->g, c->node, i));
        memcpy(c->out + off, c->in[i], sizeof(float) * len);
        off += len;
    }
}

static void backward(const hn_op_ctx *c) {
    size_t off = 0;
    for (int i = 0; i < c->node->ninputs; i++) {
        size_t len = (size_t)c->n * hn_shape_numel(hn_in_shape(c->g, c->node, i));
        if (c->din[i]) hn_grad_store(c->din[i], c->dout + off, len, c->din_acc[i]);
        off += len;
    }
}

const hn_op_def hn_op_concat = {
    .name = "concat", .min_inputs = 1, .max_inputs = HN_MAX_INPUTS, .infer = infer, .forward = forward,
    .backward = backward,
};
