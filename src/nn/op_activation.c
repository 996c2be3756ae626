/* Elementwise activations: relu and relu6 (PyTorch's hardtanh(0, 6)), whose gradient passes where the
 * output lies strictly inside the clamp range, as in PyTorch's threshold/hardtanh backward; GELU in its
 * tanh form and hard-swish, whose gradients are PyTorch's formulas of the input. */
#include <math.h>

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

/* GELU, tanh form: 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3) */
#define GELU_A 0.7978845608028654f /* sqrt(2 / pi) */
#define GELU_B 0.044715f

static float gelu(float v) { return 0.5f * v * (1.0f + tanhf(GELU_A * (v + GELU_B * v * v * v))); }
static float gelu_slope(float v) {
    float t = tanhf(GELU_A * (v + GELU_B * v * v * v));
    return 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * GELU_A * (1.0f + 3.0f * GELU_B * v * v);
}
/* hard-swish: x relu6(x + 3) / 6; PyTorch's gradient: 0 below -3, x / 3 + 1/2 up to 3, 1 above */
static float hardswish(float v) {
    float r = v + 3.0f;
    return v * (r < 0 ? 0 : r > 6 ? 6 : r) / 6.0f;
}
static float hardswish_slope(float v) { return v < -3.0f ? 0.0f : v <= 3.0f ? v / 3.0f + 0.5f : 1.0f; }

/* y = f(x), and dx = dy f'(x): the activations whose gradient is a function of the input */
static void map_forward(const hn_op_ctx *c, float (*f)(float)) {
    const float *x = c->in[0];
    float *y = c->out;
    size_t L = len_of(c);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < L; i++) y[i] = f(x[i]);
}

static void map_backward(const hn_op_ctx *c, float (*slope)(float)) {
    float *dx = c->din[0];
    if (!dx) return;
    const float *x = c->in[0], *dy = c->dout;
    size_t L = len_of(c);
    bool acc = c->din_acc[0];
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < L; i++) {
        float v = dy[i] * slope(x[i]);
        dx[i] = acc ? dx[i] + v : v;
    }
}

static void gelu_forward(const hn_op_ctx *c) { map_forward(c, gelu); }
static void gelu_backward(const hn_op_ctx *c) { map_backward(c, gelu_slope); }
static void hardswish_forward(const hn_op_ctx *c) { map_forward(c, hardswish); }
static void hardswish_backward(const hn_op_ctx *c) { map_backward(c, hardswish_slope); }

const hn_op_def hn_op_gelu = {
    .name = "gelu", .min_inputs = 1, .max_inputs = 1, .infer = infer, .forward = gelu_forward,
    .backward = gelu_backward, .map = gelu,
};
const hn_op_def hn_op_hardswish = {
    .name = "hardswish", .min_inputs = 1, .max_inputs = 1, .infer = infer, .forward = hardswish_forward,
    .backward = hardswish_backward, .map = hardswish,
};
