/* The op registry: HN_OP_* -> its function table. */
#include "op.h"

extern const hn_op_def hn_op_conv2d, hn_op_batchnorm, hn_op_relu, hn_op_relu6, hn_op_avgpool, hn_op_maxpool,
    hn_op_global_avgpool, hn_op_linear, hn_op_add, hn_op_concat, hn_op_zero, hn_op_identity, hn_op_flatten,
    hn_op_layernorm, hn_op_gelu, hn_op_hardswish, hn_op_softmax, hn_op_attention, hn_op_linear_attention;

static const hn_op_def input_def = {.name = "input", .min_inputs = 0, .max_inputs = 0};

static const hn_op_def *const table[HN_OP_COUNT] = {
    [HN_OP_INPUT] = &input_def,         [HN_OP_CONV2D] = &hn_op_conv2d,
    [HN_OP_BATCHNORM] = &hn_op_batchnorm, [HN_OP_RELU] = &hn_op_relu,
    [HN_OP_RELU6] = &hn_op_relu6,       [HN_OP_AVGPOOL] = &hn_op_avgpool,
    [HN_OP_MAXPOOL] = &hn_op_maxpool,   [HN_OP_GLOBAL_AVGPOOL] = &hn_op_global_avgpool,
    [HN_OP_LINEAR] = &hn_op_linear,     [HN_OP_ADD] = &hn_op_add,
    [HN_OP_CONCAT] = &hn_op_concat,     [HN_OP_ZERO] = &hn_op_zero,
    [HN_OP_IDENTITY] = &hn_op_identity, [HN_OP_FLATTEN] = &hn_op_flatten,
    [HN_OP_LAYERNORM] = &hn_op_layernorm, [HN_OP_GELU] = &hn_op_gelu,
    [HN_OP_HARDSWISH] = &hn_op_hardswish, [HN_OP_SOFTMAX] = &hn_op_softmax,
    [HN_OP_ATTENTION] = &hn_op_attention, [HN_OP_LINEAR_ATTENTION] = &hn_op_linear_attention,
};

const hn_op_def *hn_op_get(hn_op op) {
    HN_ASSERT(op >= 0 && op < HN_OP_COUNT);
    return table[op];
}

void hn_grad_store(float *din, const float *v, size_t len, bool acc) {
    if (acc) {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < len; i++) din[i] += v[i];
    } else {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < len; i++) din[i] = v[i];
    }
}

void hn_affine_act(float *y, const float *x, size_t len, float a, float b, float hi) {
    if (hi > 0) {
#pragma omp simd
        for (size_t i = 0; i < len; i++) {
            float v = x[i] * a + b;
            v = v > 0 ? v : 0;
            y[i] = v < hi ? v : hi;
        }
    } else {
#pragma omp simd
        for (size_t i = 0; i < len; i++) y[i] = x[i] * a + b;
    }
}
