/* Data-type classes and element-wise work shared by the device models (models.h). */
#include <string.h>

#include "models.h"

static hn_dtype_class class_of(hn_numtype t) {
    switch (t) {
    case HN_INT2:
    case HN_INT3:
    case HN_INT4:
    case HN_INT5:
    case HN_INT6:
    case HN_INT7:
    case HN_INT8: return HN_CLASS_INT8;
    case HN_INT16: return HN_CLASS_INT16;
    case HN_FP8_E4M3:
    case HN_FP8_E5M2:
    case HN_FP6_E3M2:
    case HN_FP4_E2M1: return HN_CLASS_FP8;
    default: return HN_CLASS_FP32;
    }
}

/* the wider of two classes: a layer computes in the widest type it reads */
static hn_dtype_class wider(hn_dtype_class a, hn_dtype_class b) {
    static const int rank[HN_CLASS_COUNT] = {[HN_CLASS_INT8] = 0, [HN_CLASS_FP8] = 1, [HN_CLASS_INT16] = 2,
                                             [HN_CLASS_FP16] = 3, [HN_CLASS_FP32] = 4};
    return rank[a] >= rank[b] ? a : b;
}

hn_dtype_class hw_dtype_class(const hn_graph *g, const hn_node *n) {
    hn_dtype_class c = n->op == HN_OP_INPUT ? class_of(n->atype) : class_of(g->nodes[n->inputs[0]].atype);
    if (n->op == HN_OP_CONV2D || n->op == HN_OP_LINEAR) c = wider(c, class_of(n->wtype));
    return c;
}

int64_t hw_elementwise_ops(const hn_graph *g, const hn_node *n) {
    const int64_t out = (int64_t)n->shape.c * n->shape.h * n->shape.w;
    switch (n->op) {
    case HN_OP_AVGPOOL:
    case HN_OP_MAXPOOL: return out * n->kernel * n->kernel;
    case HN_OP_GLOBAL_AVGPOOL: {
        hn_shape in = g->nodes[n->inputs[0]].shape;
        return (int64_t)in.c * in.h * in.w;
    }
    case HN_OP_ADD: return out * (n->ninputs - 1);
    case HN_OP_BATCHNORM:
    case HN_OP_RELU:
    case HN_OP_RELU6:
    case HN_OP_GELU:
    case HN_OP_HARDSWISH: return out;
    case HN_OP_LAYERNORM:
    case HN_OP_SOFTMAX: return 3 * out; /* two passes over the token (statistics, or max and sum), one to write */
    case HN_OP_ATTENTION: { /* the softmax of each head's T x T scores; the products count as MACs */
        int64_t T = (int64_t)n->shape.h * n->shape.w;
        return 3 * T * T * n->heads;
    }
    case HN_OP_LINEAR_ATTENTION: /* ReLU of the queries and keys, the keys' sums, the division */
        return 4 * out;
    default: return 0; /* conv and linear count MACs; concat, zero and views move or write nothing */
    }
}
