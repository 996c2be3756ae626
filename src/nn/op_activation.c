/* Elementwise activations: relu and relu6 (PyTorch's hardtanh(0, 6)). The gradient passes where the
 * output lies strictly inside the clamp range, as in PyTorch's threshold/hardtanh backward. */
#include "op.h"

static hn_status infer(const hn_graph *g, hn_node *n) {
    n->shape = hn_in_shape(g, n, 0);
    return HN_OK;
}

static size_t len_of(const hn_op_ctx *c) { return (size_t)c->n * hn_shape_numel(c->node->shape); }

static void clamp_forward(const hn_op_ctx *c, float hi) {
    const float *x = c->in[0];
    float *y = c->out;
    size_t L = len_of(c);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < L; i++) {
        float v = x[i] > 0 ? x[i] : 0;
        y[i] = v < hi ? v : hi;
    }
}

static void clamp_backward(const hn_op_ctx *c, float hi) {
    float *dx = c->din[0];
    if (!dx) return;
    const float *y = c->out, *dy = c->dout;
    size_t L = len_of(c);
    bool acc = c->din_acc[0];
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < L; i++) {
        float v = (y[i] > 0 && y[i] < hi) ? dy[i] : 0;
        dx[i] = acc ? dx[i] + v : v;
    }
}

static void relu_forward(const hn_op_ctx *c) { clamp_forward(c, __builtin_inff()); }
static void relu_backward(const hn_op_ctx *c) { clamp_backward(c, __builtin_inff()); }
static void relu6_forward(const hn_op_ctx *c) { clamp_forward(c, 6.0f); }
static void relu6_backward(const hn_op_ctx *c) { clamp_backward(c, 6.0f); }

const hn_op_def hn_op_relu = {
    .name = "relu", .min_inputs = 1, .max_inputs = 1, .infer = infer, .forward = relu_forward,
    .backward = relu_backward,
};
const hn_op_def hn_op_relu6 = {
    .name = "relu6", .min_inputs = 1, .max_inputs = 1, .infer = infer, .forward = relu6_forward,
    .backward = relu6_backward,
};
