/* The ONNX exporter: the float graph as an ONNX model, built with protobuf-c from the ONNX schema
 * (Debian's onnx.proto, compiled by protoc-c at build time), not by hand. Opset 10: the newest whose
 * Clip (ReLU6) takes its bounds as attributes, which every runtime reads (OpenCV 4.6's importer reads
 * no other form); every op hwnas uses exists there unchanged.
 *
 * Every protobuf message and string lives in one arena, freed after packing. hwnas's shapes are per
 * sample (C, H, W) with flat vectors as (F, 1, 1); in ONNX a value is 4-D (N, C, H, W) or, after
 * flatten and linear layers, 2-D (N, F). The writer tracks each value's rank and reshapes where an op
 * needs the other one (a convolution of a flat vector, an addition of a 2-D and a 4-D value). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../quant/qmodel_internal.h"
#include "hwnas/export.h"
#include "hwnas/graph.h"
#include "onnx.pb-c.h"

typedef struct {
    hn_arena *a;
    const hn_graph *g;
    Onnx__GraphProto *graph;
    size_t cap_node, cap_init;
    char **value;  /* g->nnodes: the ONNX name of each node's value */
    int *rank;     /* g->nnodes: 4 or 2 */
    int tmp;       /* counter for the names of inserted values */
    int opset;     /* 10 (the float graph) or 13 (QDQ): Clip's bounds and ReduceSum's axes moved to inputs */
    bool failed;   /* an allocation failed */
    bool zero, shape4d; /* the shared constants "zero" and "shape.4d" exist (written on first use only:
                           runtimes warn about initializers nothing reads) */
} writer;

static void *alloc(writer *w, size_t bytes) {
    void *p = hn_arena_alloc(w->a, bytes);
    if (!p) w->failed = true;
    else memset(p, 0, bytes);
    return p;
}

static char *str(writer *w, const char *s) {
    char *p = alloc(w, strlen(s) + 1);
    if (p) strcpy(p, s);
    return p;
}

/* appends *item to a protobuf repeated field (n, items), growing it in the arena */
static void push(writer *w, size_t *n, size_t *cap, void ***items, void *item) {
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 16;
        void **grown = alloc(w, sizeof(void *) * c);
        if (!grown) return;
        if (*n) memcpy(grown, *items, sizeof(void *) * *n);
        *items = grown, *cap = c;
    }
    (*items)[(*n)++] = item;
}

/* an attribute named name of the given type, its value not yet set */
static Onnx__AttributeProto *attr(writer *w, const char *name, Onnx__AttributeProto__AttributeType type) {
    Onnx__AttributeProto *a = alloc(w, sizeof *a);
    if (!a) return NULL;
    onnx__attribute_proto__init(a);
    a->name = str(w, name), a->has_type = 1, a->type = type;
    return a;
}

static Onnx__AttributeProto *attr_int(writer *w, const char *name, int64_t v) {
    Onnx__AttributeProto *a = attr(w, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a) a->has_i = 1, a->i = v;
    return a;
}

static Onnx__AttributeProto *attr_float(writer *w, const char *name, float v) {
    Onnx__AttributeProto *a = attr(w, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a) a->has_f = 1, a->f = v;
    return a;
}

/* n ints alternating v0, v1 (kernel_shape, strides: both; pads: begin and end of each axis) */
static Onnx__AttributeProto *attr_ints(writer *w, const char *name, int n, int64_t v0, int64_t v1) {
    Onnx__AttributeProto *a = attr(w, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *v = alloc(w, sizeof(int64_t) * (size_t)n);
    if (!a || !v) return NULL;
    for (int i = 0; i < n; i++) v[i] = i % 2 ? v1 : v0;
    a->n_ints = (size_t)n, a->ints = v;
    return a;
}

/* Pad's pads for (N, C, H, W): nothing on N and C, p on both sides of H and W */
static Onnx__AttributeProto *attr_pads(writer *w, int p) {
    Onnx__AttributeProto *a = attr_ints(w, "pads", 8, 0, 0);
    if (a) a->ints[2] = a->ints[3] = a->ints[6] = a->ints[7] = p;
    return a;
}

/* Transpose's perm of a rank-4 value */
static Onnx__AttributeProto *attr_perm(writer *w, int p0, int p1, int p2, int p3) {
    Onnx__AttributeProto *a = attr_ints(w, "perm", 4, 0, 0);
    if (a) a->ints[0] = p0, a->ints[1] = p1, a->ints[2] = p2, a->ints[3] = p3;
    return a;
}

/* a node: op_type, inputs (NULL-terminated), one output, and attributes (NULL-terminated) */
static Onnx__NodeProto *node(writer *w, const char *op, const char *name, const char *const *in, const char *out,
                             Onnx__AttributeProto *const *attrs) {
    Onnx__NodeProto *n = alloc(w, sizeof *n);
    if (!n) return NULL;
    onnx__node_proto__init(n);
    n->op_type = str(w, op), n->name = str(w, name);
    while (in[n->n_input]) n->n_input++;
    n->input = alloc(w, sizeof(char *) * (n->n_input ? n->n_input : 1));
    for (size_t i = 0; n->input && i < n->n_input; i++) n->input[i] = str(w, in[i]);
    n->n_output = 1, n->output = alloc(w, sizeof(char *));
    if (n->output) n->output[0] = str(w, out);
    size_t cap = 0;
    for (int i = 0; attrs && attrs[i]; i++) push(w, &n->n_attribute, &cap, (void ***)&n->attribute, attrs[i]);
    push(w, &w->graph->n_node, &w->cap_node, (void ***)&w->graph->node, n);
    return n;
}

static void initializer_f32(writer *w, const char *name, int ndim, const int64_t *dims, const float *data, size_t n) {
    Onnx__TensorProto *t = alloc(w, sizeof *t);
    int64_t *d = alloc(w, sizeof(int64_t) * (size_t)(ndim ? ndim : 1));
    float *v = alloc(w, sizeof(float) * (n ? n : 1));
    if (!t || !d || !v) return;
    onnx__tensor_proto__init(t);
    if (ndim) memcpy(d, dims, sizeof(int64_t) * (size_t)ndim);
    memcpy(v, data, sizeof(float) * n);
    t->name = str(w, name), t->n_dims = (size_t)ndim, t->dims = d, t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, t->n_float_data = n, t->float_data = v;
    push(w, &w->graph->n_initializer, &w->cap_init, (void ***)&w->graph->initializer, t);
}

static void initializer_i64(writer *w, const char *name, const int64_t *data, size_t n) {
    Onnx__TensorProto *t = alloc(w, sizeof *t);
    int64_t *d = alloc(w, sizeof(int64_t)), *v = alloc(w, sizeof(int64_t) * n);
    if (!t || !d || !v) return;
    onnx__tensor_proto__init(t);
    d[0] = (int64_t)n;
    memcpy(v, data, sizeof(int64_t) * n);
    t->name = str(w, name), t->n_dims = 1, t->dims = d, t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64, t->n_int64_data = n, t->int64_data = v;
    push(w, &w->graph->n_initializer, &w->cap_init, (void ***)&w->graph->initializer, t);
}

/* the scalar 0 (the zero op multiplies by it) and the shape (0, -1, 1, 1) (a flat value as a 1x1 map) */
static const char *const_zero(writer *w) {
    static const float zero = 0;
    if (!w->zero) initializer_f32(w, "zero", 0, NULL, &zero, 1), w->zero = true;
    return "zero";
}

static const char *const_shape4d(writer *w) {
    static const int64_t shape4[4] = {0, -1, 1, 1};
    if (!w->shape4d) initializer_i64(w, "shape.4d", shape4, 4), w->shape4d = true;
    return "shape.4d";
}

/* a float tensor value named name: (N, dims...) with N symbolic */
static Onnx__ValueInfoProto *value_info(writer *w, const char *name, int ndim, const int64_t *dims) {
    Onnx__ValueInfoProto *v = alloc(w, sizeof *v);
    Onnx__TypeProto *t = alloc(w, sizeof *t);
    Onnx__TypeProto__Tensor *tt = alloc(w, sizeof *tt);
    Onnx__TensorShapeProto *s = alloc(w, sizeof *s);
    Onnx__TensorShapeProto__Dimension **d = alloc(w, sizeof(void *) * (size_t)(ndim + 1));
    if (!v || !t || !tt || !s || !d) return NULL;
    onnx__value_info_proto__init(v), onnx__type_proto__init(t), onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(s);
    for (int i = 0; i <= ndim; i++) {
        if (!(d[i] = alloc(w, sizeof **d))) return NULL;
        onnx__tensor_shape_proto__dimension__init(d[i]);
        if (i == 0) d[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM, d[i]->dim_param = str(w, "N");
        else d[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE, d[i]->dim_value = dims[i - 1];
    }
    s->n_dim = (size_t)ndim + 1, s->dim = d;
    tt->has_elem_type = 1, tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, tt->shape = s;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, t->tensor_type = tt;
    v->name = str(w, name), v->type = t;
    return v;
}

/* node id's value with the rank `rank`, reshaping it (once per use) if it has the other one */
static const char *as_rank(writer *w, int id, int rank) {
    if (w->rank[id] == rank) return w->value[id];
    char name[HN_NAME_MAX + 32];
    snprintf(name, sizeof name, "%s.%dd.%d", w->value[id], rank, w->tmp++);
    if (rank == 2) {
        Onnx__AttributeProto *at[] = {attr_int(w, "axis", 1), NULL};
        node(w, "Flatten", name, (const char *[]){w->value[id], NULL}, name, at);
    } else {
        node(w, "Reshape", name, (const char *[]){w->value[id], const_shape4d(w), NULL}, name, NULL);
    }
    return str(w, name);
}

/* ---- the attention ops and their parts, in opset-10 operators -------------------------------------
 * A (C, H, W) feature map is H*W tokens of C features; every value here is rank 4, (N, C, H, W). The
 * ops have no single operator at opset 10 (LayerNormalization is opset 17, Gelu 20, HardSwish 14), so
 * each is the chain of elementary operators that defines it, which runtimes fuse back into one
 * kernel where they have it (the pattern torch.onnx writes below opset 17). A chain's values and
 * constants are named <node>.<part>, its last value <node>. */

/* the float constant v of shape (1, 1, 1, 1), which broadcasts against any rank-4 value */
static const char *const_f(writer *w, const char *node_name, const char *part, float v) {
    static const int64_t ones[4] = {1, 1, 1, 1};
    char name[HN_NAME_MAX + 32];
    snprintf(name, sizeof name, "%s.%s", node_name, part);
    initializer_f32(w, name, 4, ones, &v, 1);
    return str(w, name);
}

static const char *const_ints(writer *w, const char *node_name, const char *part, const int64_t *v, size_t n) {
    char name[HN_NAME_MAX + 32];
    snprintf(name, sizeof name, "%s.%s", node_name, part);
    initializer_i64(w, name, v, n);
    return str(w, name);
}

/* one operator of a chain: its output is <node>.<part>, or <node> itself when part is NULL */
static const char *step(writer *w, const char *op_type, const char *node_name, const char *part,
                        const char *const *in, Onnx__AttributeProto *const *attrs) {
    char name[HN_NAME_MAX + 32];
    snprintf(name, sizeof name, part ? "%s.%s" : "%s", node_name, part);
    node(w, op_type, name, in, name, attrs);
    return str(w, name);
}

#define IN(...) ((const char *[]){__VA_ARGS__, NULL})
#define ATTRS(...) ((Onnx__AttributeProto *[]){__VA_ARGS__, NULL})

/* layer norm over C: (x - mean) / sqrt(var + eps) * weight + bias, the initializers weight and bias
 * (C, 1, 1) */
static void layernorm_form(writer *w, const char *nm, const char *x, float eps, const char *weight, const char *bias) {
    const char *mu = step(w, "ReduceMean", nm, "mean", IN(x), ATTRS(attr_ints(w, "axes", 1, 1, 0), attr_int(w, "keepdims", 1)));
    const char *dev = step(w, "Sub", nm, "dev", IN(x, mu), NULL);
    const char *sq = step(w, "Mul", nm, "sq", IN(dev, dev), NULL);
    const char *var = step(w, "ReduceMean", nm, "var", IN(sq), ATTRS(attr_ints(w, "axes", 1, 1, 0), attr_int(w, "keepdims", 1)));
    const char *ve = step(w, "Add", nm, "var_eps", IN(var, const_f(w, nm, "eps", eps)), NULL);
    const char *sd = step(w, "Sqrt", nm, "std", IN(ve), NULL);
    const char *nrm = step(w, "Div", nm, "normed", IN(dev, sd), NULL);
    const char *sc = step(w, "Mul", nm, "scaled", IN(nrm, weight), NULL);
    step(w, "Add", nm, NULL, IN(sc, bias), NULL);
}

/* GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
static void gelu_form(writer *w, const char *nm, const char *x) {
    const char *x2 = step(w, "Mul", nm, "x2", IN(x, x), NULL);
    const char *x3 = step(w, "Mul", nm, "x3", IN(x2, x), NULL);
    const char *cx3 = step(w, "Mul", nm, "cx3", IN(x3, const_f(w, nm, "c", 0.044715f)), NULL);
    const char *in = step(w, "Add", nm, "inner", IN(x, cx3), NULL);
    const char *u = step(w, "Mul", nm, "u", IN(in, const_f(w, nm, "sqrt_2_over_pi", 0.7978845608028654f)), NULL);
    const char *t = step(w, "Tanh", nm, "tanh", IN(u), NULL);
    const char *t1 = step(w, "Add", nm, "one_plus", IN(t, const_f(w, nm, "one", 1.0f)), NULL);
    const char *xh = step(w, "Mul", nm, "half_x", IN(x, const_f(w, nm, "half", 0.5f)), NULL);
    step(w, "Mul", nm, NULL, IN(xh, t1), NULL);
}

/* hard-swish: x relu6(x + 3) / 6 (Clip's bounds: attributes at opset 10, inputs from 11) */
static void hardswish_form(writer *w, const char *nm, const char *x) {
    const char *a = step(w, "Add", nm, "plus3", IN(x, const_f(w, nm, "three", 3.0f)), NULL);
    static const float zero = 0, six = 6;
    char mn[HN_NAME_MAX + 32], mx[HN_NAME_MAX + 32];
    snprintf(mn, sizeof mn, "%s.zero", nm), snprintf(mx, sizeof mx, "%s.six", nm);
    if (w->opset >= 11) initializer_f32(w, mn, 0, NULL, &zero, 1), initializer_f32(w, mx, 0, NULL, &six, 1);
    const char *cl = w->opset >= 11 ? step(w, "Clip", nm, "relu6", IN(a, mn, mx), NULL)
                                    : step(w, "Clip", nm, "relu6", IN(a), ATTRS(attr_float(w, "min", 0), attr_float(w, "max", 6)));
    const char *xc = step(w, "Mul", nm, "x_relu6", IN(x, cl), NULL);
    step(w, "Mul", nm, NULL, IN(xc, const_f(w, nm, "sixth", 1.0f / 6.0f)), NULL);
}

/* softmax over C: opset 10's Softmax flattens everything from its axis on, so the channels go last
 * first (N, H, W, C), where axis 3 is exactly the channels of one token */
static void softmax_form(writer *w, const char *nm, const char *x) {
    const char *t = step(w, "Transpose", nm, "tokens", IN(x), ATTRS(attr_perm(w, 0, 2, 3, 1)));
    const char *sm = step(w, "Softmax", nm, "softmax", IN(t), ATTRS(attr_int(w, "axis", 3)));
    step(w, "Transpose", nm, NULL, IN(sm), ATTRS(attr_perm(w, 0, 3, 1, 2)));
}

/* Both attention ops: the queries, keys and values of input (N, 3D, H, W) as (N, heads, d, T)
 * values (Slice of their channels, Reshape), op-specific products, and (N, heads, d, T) back to
 * (N, D, H, W) = out. Softmax attention: P = softmax_rows((scale Q)^T K) (N, heads, T, T), O = V P^T;
 * p_scale > 0 passes P through Quantize/DequantizeLinear at (p_scale, p_zp), as the int8 kernel keeps
 * it. Linear attention: A = V phi(K)^T, z = phi(K) 1, O = A phi(Q) / (z^T phi(Q) + eps), phi = ReLU. */
typedef struct {
    hn_op op;
    int64_t D, heads, h, w;
    float p_scale;
    int32_t p_zp;
} attn_form;

static const char *qdq(writer *w, const char *x, const char *base, float scale, int32_t zp);

static void attention_form(writer *w, const char *nm, const attn_form *f, const char *x) {
    const int64_t D = f->D, heads = f->heads, d = D / heads, T = f->h * f->w;
    const int64_t axes = 1, split[4] = {0, heads, d, T}, out_shape[4] = {0, D, f->h, f->w};
    const char *ax = const_ints(w, nm, "axes", &axes, 1), *hs = const_ints(w, nm, "heads_shape", split, 4);
    const char *qkv[3];
    static const char *const part[3] = {"q", "k", "v"};
    for (int b = 0; b < 3; b++) {
        char what[16];
        const int64_t lo = b * D, hi = (b + 1) * D;
        snprintf(what, sizeof what, "%s_start", part[b]);
        const char *st = const_ints(w, nm, what, &lo, 1);
        snprintf(what, sizeof what, "%s_end", part[b]);
        const char *en = const_ints(w, nm, what, &hi, 1);
        snprintf(what, sizeof what, "%s_channels", part[b]);
        const char *sl = step(w, "Slice", nm, what, IN(x, st, en, ax), NULL);
        qkv[b] = step(w, "Reshape", nm, part[b], IN(sl, hs), NULL);
    }
    const char *o;
    if (f->op == HN_OP_ATTENTION) {
        const char *qs = step(w, "Mul", nm, "q_scaled", IN(qkv[0], const_f(w, nm, "scale", 1.0f / sqrtf((float)d))), NULL);
        const char *qt = step(w, "Transpose", nm, "q_t", IN(qs), ATTRS(attr_perm(w, 0, 1, 3, 2)));
        const char *sc = step(w, "MatMul", nm, "scores", IN(qt, qkv[1]), NULL);
        const char *p = step(w, "Softmax", nm, "probs", IN(sc), ATTRS(attr_int(w, "axis", 3)));
        if (f->p_scale > 0) {
            char base[HN_NAME_MAX + 32];
            snprintf(base, sizeof base, "%s.probs8", nm);
            p = qdq(w, p, base, f->p_scale, f->p_zp);
        }
        const char *pt = step(w, "Transpose", nm, "probs_t", IN(p), ATTRS(attr_perm(w, 0, 1, 3, 2)));
        o = step(w, "MatMul", nm, "heads_out", IN(qkv[2], pt), NULL);
    } else {
        const char *pq = step(w, "Relu", nm, "phi_q", IN(qkv[0]), NULL);
        const char *pk = step(w, "Relu", nm, "phi_k", IN(qkv[1]), NULL);
        const char *pkt = step(w, "Transpose", nm, "phi_k_t", IN(pk), ATTRS(attr_perm(w, 0, 1, 3, 2)));
        const char *a = step(w, "MatMul", nm, "kv", IN(qkv[2], pkt), NULL);
        const int64_t last = 3;
        const char *z = w->opset >= 13 ? step(w, "ReduceSum", nm, "z", IN(pk, const_ints(w, nm, "z_axes", &last, 1)),
                                              ATTRS(attr_int(w, "keepdims", 1)))
                                       : step(w, "ReduceSum", nm, "z", IN(pk), ATTRS(attr_ints(w, "axes", 1, 3, 0), attr_int(w, "keepdims", 1)));
        const char *zt = step(w, "Transpose", nm, "z_t", IN(z), ATTRS(attr_perm(w, 0, 1, 3, 2)));
        const char *num = step(w, "MatMul", nm, "num", IN(a, pq), NULL);
        const char *den0 = step(w, "MatMul", nm, "den_sum", IN(zt, pq), NULL);
        const char *den = step(w, "Add", nm, "den", IN(den0, const_f(w, nm, "eps", HN_LINEAR_ATTENTION_EPS)), NULL);
        o = step(w, "Div", nm, "heads_out", IN(num, den), NULL);
    }
    step(w, "Reshape", nm, NULL, IN(o, const_ints(w, nm, "out_shape", out_shape, 4)), NULL);
}

/* The ops op() writes (any other is refused, never dropped). */
static bool has_onnx_form(hn_op op) {
    switch (op) {
    case HN_OP_CONV2D:
    case HN_OP_BATCHNORM:
    case HN_OP_RELU:
    case HN_OP_RELU6:
    case HN_OP_AVGPOOL:
    case HN_OP_MAXPOOL:
    case HN_OP_GLOBAL_AVGPOOL:
    case HN_OP_LINEAR:
    case HN_OP_ADD:
    case HN_OP_CONCAT:
    case HN_OP_ZERO:
    case HN_OP_IDENTITY:
    case HN_OP_FLATTEN:
    case HN_OP_LAYERNORM:
    case HN_OP_GELU:
    case HN_OP_HARDSWISH:
    case HN_OP_SOFTMAX:
    case HN_OP_ATTENTION:
    case HN_OP_LINEAR_ATTENTION: return true;
    default: return false;
    }
}

/* the ops: each node's value gets the node's name */
static void op(writer *w, int id) {
    const hn_graph *g = w->g;
    const hn_node *n = &g->nodes[id];
    char pname[HN_NAME_MAX + 16], bname[HN_NAME_MAX + 16];
    const char *x = n->ninputs ? w->value[n->inputs[0]] : NULL, *out = n->name;
    w->value[id] = str(w, out);
    w->rank[id] = n->ninputs ? w->rank[n->inputs[0]] : 4;
    hn_param_view v[4];
    int np = hn_node_params(g, id, v);
    for (int k = 0; k < np; k++) {
        size_t count = 1;
        for (int d = 0; d < v[k].ndim; d++) count *= (size_t)v[k].shape[d];
        /* layer norm's weight and bias (C) broadcast against (N, C, H, W) as (C, 1, 1) */
        const int64_t per_channel[3] = {v[k].shape[0], 1, 1};
        if (n->op == HN_OP_LAYERNORM) initializer_f32(w, v[k].name, 3, per_channel, v[k].data, count);
        else initializer_f32(w, v[k].name, v[k].ndim, v[k].shape, v[k].data, count);
    }
    switch (n->op) {
    case HN_OP_CONV2D: {
        x = as_rank(w, n->inputs[0], 4);
        snprintf(pname, sizeof pname, "%s.weight", n->name), snprintf(bname, sizeof bname, "%s.bias", n->name);
        Onnx__AttributeProto *at[] = {attr_ints(w, "kernel_shape", 2, n->kernel, n->kernel), attr_ints(w, "strides", 2, n->stride, n->stride),
                                      attr_ints(w, "pads", 4, n->pad, n->pad), attr_int(w, "group", n->groups), NULL};
        node(w, "Conv", out, (const char *[]){x, pname, n->bias ? bname : NULL, NULL}, out, at);
        w->rank[id] = 4;
        break;
    }
    case HN_OP_LINEAR: {
        x = as_rank(w, n->inputs[0], 2);
        snprintf(pname, sizeof pname, "%s.weight", n->name), snprintf(bname, sizeof bname, "%s.bias", n->name);
        if (!n->bias) { /* opset 10's Gemm needs its C input: zeros */
            float *zeros = alloc(w, sizeof(float) * (size_t)n->out);
            int64_t dim = n->out;
            if (zeros) initializer_f32(w, bname, 1, &dim, zeros, (size_t)n->out);
        }
        Onnx__AttributeProto *at[] = {attr_int(w, "transB", 1), NULL};
        node(w, "Gemm", out, (const char *[]){x, pname, bname, NULL}, out, at);
        w->rank[id] = 2;
        break;
    }
    case HN_OP_BATCHNORM: {
        char m[HN_NAME_MAX + 16], va[HN_NAME_MAX + 16];
        snprintf(pname, sizeof pname, "%s.weight", n->name), snprintf(bname, sizeof bname, "%s.bias", n->name);
        snprintf(m, sizeof m, "%s.running_mean", n->name), snprintf(va, sizeof va, "%s.running_var", n->name);
        Onnx__AttributeProto *at[] = {attr_float(w, "epsilon", n->eps), NULL};
        node(w, "BatchNormalization", out, (const char *[]){x, pname, bname, m, va, NULL}, out, at);
        break;
    }
    case HN_OP_RELU: node(w, "Relu", out, (const char *[]){x, NULL}, out, NULL); break;
    case HN_OP_RELU6: {
        Onnx__AttributeProto *at[] = {attr_float(w, "min", 0), attr_float(w, "max", 6), NULL};
        node(w, "Clip", out, (const char *[]){x, NULL}, out, at);
        break;
    }
    case HN_OP_AVGPOOL:
    case HN_OP_MAXPOOL: {
        x = as_rank(w, n->inputs[0], 4);
        int pad = n->pad;
        if (n->op == HN_OP_AVGPOOL && n->count_include_pad && pad > 0) {
            /* padding that counts in the average is an explicit zero Pad: runtimes disagree on
             * AveragePool's count_include_pad at the far edges (OpenCV 4.6 divides by less) */
            char padded[HN_NAME_MAX + 16];
            snprintf(padded, sizeof padded, "%s.padded", n->name);
            Onnx__AttributeProto *pat[] = {attr_pads(w, pad), NULL};
            node(w, "Pad", padded, (const char *[]){x, NULL}, padded, pat);
            x = str(w, padded), pad = 0;
        }
        Onnx__AttributeProto *at[] = {attr_ints(w, "kernel_shape", 2, n->kernel, n->kernel), attr_ints(w, "strides", 2, n->stride, n->stride),
                                      attr_ints(w, "pads", 4, pad, pad), NULL};
        node(w, n->op == HN_OP_AVGPOOL ? "AveragePool" : "MaxPool", out, (const char *[]){x, NULL}, out, at);
        w->rank[id] = 4;
        break;
    }
    case HN_OP_GLOBAL_AVGPOOL:
        node(w, "GlobalAveragePool", out, (const char *[]){as_rank(w, n->inputs[0], 4), NULL}, out, NULL);
        w->rank[id] = 4;
        break;
    case HN_OP_FLATTEN: {
        Onnx__AttributeProto *at[] = {attr_int(w, "axis", 1), NULL};
        node(w, "Flatten", out, (const char *[]){x, NULL}, out, at);
        w->rank[id] = 2;
        break;
    }
    case HN_OP_ADD:
    case HN_OP_CONCAT: {
        /* inputs of one rank: 4 unless all are 2 */
        int rank = 2;
        for (int k = 0; k < n->ninputs; k++) rank = w->rank[n->inputs[k]] == 4 ? 4 : rank;
        const char *ins[HN_MAX_INPUTS + 1] = {0};
        for (int k = 0; k < n->ninputs; k++) ins[k] = as_rank(w, n->inputs[k], rank);
        Onnx__AttributeProto *at[] = {n->op == HN_OP_CONCAT ? attr_int(w, "axis", 1) : NULL, NULL};
        const char *type = n->op == HN_OP_CONCAT ? "Concat" : n->ninputs == 2 ? "Add" : n->ninputs == 1 ? "Identity" : "Sum";
        node(w, type, out, ins, out, at);
        w->rank[id] = rank;
        break;
    }
    case HN_OP_IDENTITY: node(w, "Identity", out, (const char *[]){x, NULL}, out, NULL); break;
    case HN_OP_ZERO: node(w, "Mul", out, (const char *[]){x, const_zero(w), NULL}, out, NULL); break;
    case HN_OP_LAYERNORM:
        snprintf(pname, sizeof pname, "%s.weight", n->name), snprintf(bname, sizeof bname, "%s.bias", n->name);
        layernorm_form(w, out, as_rank(w, n->inputs[0], 4), n->eps, pname, bname), w->rank[id] = 4;
        break;
    case HN_OP_GELU: gelu_form(w, out, x); break;
    case HN_OP_HARDSWISH: hardswish_form(w, out, x); break;
    case HN_OP_SOFTMAX: softmax_form(w, out, as_rank(w, n->inputs[0], 4)), w->rank[id] = 4; break;
    case HN_OP_ATTENTION:
    case HN_OP_LINEAR_ATTENTION: {
        const attn_form f = {n->op, n->shape.c, n->heads, n->shape.h, n->shape.w, 0, 0};
        attention_form(w, out, &f, as_rank(w, n->inputs[0], 4)), w->rank[id] = 4;
        break;
    }
    default: break;
    }
}

/* Wraps w's graph (its nodes and initializers) in a model with one input and one output, at opset
 * `opset`, packs it and writes it to path. Frees w's arena. */
static hn_status finish(writer *w, Onnx__ValueInfoProto *input, Onnx__ValueInfoProto *output, int opset_version,
                        const char *path, const char *name) {
    Onnx__ModelProto model;
    Onnx__OperatorSetIdProto opset, *opsets[1] = {&opset};
    onnx__model_proto__init(&model), onnx__operator_set_id_proto__init(&opset);
    w->graph->name = str(w, name ? name : "hwnas");
    w->graph->n_input = 1, w->graph->input = &input, w->graph->n_output = 1, w->graph->output = &output;
    opset.domain = str(w, ""), opset.has_version = 1, opset.version = opset_version;
    /* the IR version each opset needs: ONNX 1.5 (IR 5) for opset 10, ONNX 1.8 (IR 7) for 13 */
    model.has_ir_version = 1, model.ir_version = opset_version >= 13 ? 7 : 5;
    model.n_opset_import = 1, model.opset_import = opsets;
    model.producer_name = str(w, "hwnas"), model.graph = w->graph;
    hn_status st = w->failed || !input || !output ? hn_error(HN_ERR_NOMEM, "ONNX export") : HN_OK;
    if (!st) {
        size_t bytes = onnx__model_proto__get_packed_size(&model);
        uint8_t *buf = hn_alloc(bytes ? bytes : 1);
        FILE *f = NULL;
        if (!buf) st = hn_error(HN_ERR_NOMEM, "ONNX export: %zu bytes", bytes);
        else if (!(f = fopen(path, "wb"))) st = hn_error(HN_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        else {
            onnx__model_proto__pack(&model, buf);
            if (fwrite(buf, 1, bytes, f) != bytes) st = hn_error(HN_ERR_IO, "cannot write '%s'", path);
            if (fclose(f) && !st) st = hn_error(HN_ERR_IO, "cannot write '%s'", path);
        }
        hn_free(buf);
    }
    hn_arena_free(w->a);
    return st;
}

hn_status hn_export_onnx(const hn_graph *g, const char *path, const char *name) {
    if (!g->finalized) return hn_error(HN_ERR_INVALID, "ONNX export: the graph has no parameters (not finalized)");
    for (int i = 1; i < g->nnodes; i++)
        if (!has_onnx_form(g->nodes[i].op))
            return hn_error(HN_ERR_INVALID, "ONNX export: node '%s': op %s has no ONNX export yet", g->nodes[i].name,
                            hn_op_name(g->nodes[i].op));
    Onnx__GraphProto graph;
    onnx__graph_proto__init(&graph);
    writer w = {.a = hn_arena_new(), .g = g, .graph = &graph, .opset = 10};
    if (!w.a) return hn_error(HN_ERR_NOMEM, "ONNX export");
    w.value = alloc(&w, sizeof(char *) * (size_t)g->nnodes);
    w.rank = alloc(&w, sizeof(int) * (size_t)g->nnodes);
    Onnx__ValueInfoProto *input = NULL, *output = NULL;
    if (!w.failed) {
        /* shared constants */
        const hn_node *in = &g->nodes[0];
        w.value[0] = str(&w, in->name), w.rank[0] = 4;
        int64_t dims[3] = {in->shape.c, in->shape.h, in->shape.w};
        input = value_info(&w, in->name, 3, dims);
        for (int i = 1; i < g->nnodes; i++) op(&w, i);
        /* a flat output leaves as (N, K) */
        int last = g->nnodes - 1;
        hn_shape os = g->nodes[last].shape;
        const char *oname = os.h == 1 && os.w == 1 ? as_rank(&w, last, 2) : w.value[last];
        int64_t odims[3] = {os.c, os.h, os.w};
        output = value_info(&w, oname, os.h == 1 && os.w == 1 ? 1 : 3, odims);
    }
    return finish(&w, input, output, 10, path, name);
}

/* ---- the int8 model as a QDQ graph ---------------------------------------------------------------- */

/* an initializer of raw little-endian values (int8, int32) */
static void initializer_raw(writer *w, const char *name, int32_t dtype, int ndim, const int64_t *dims, const void *data,
                            size_t bytes) {
    Onnx__TensorProto *t = alloc(w, sizeof *t);
    int64_t *d = alloc(w, sizeof(int64_t) * (size_t)(ndim ? ndim : 1));
    uint8_t *v = alloc(w, bytes ? bytes : 1);
    if (!t || !d || !v) return;
    onnx__tensor_proto__init(t);
    if (ndim) memcpy(d, dims, sizeof(int64_t) * (size_t)ndim);
    memcpy(v, data, bytes);
    t->name = str(w, name), t->n_dims = (size_t)ndim, t->dims = d, t->has_data_type = 1, t->data_type = dtype;
    t->has_raw_data = 1, t->raw_data.len = bytes, t->raw_data.data = v;
    push(w, &w->graph->n_initializer, &w->cap_init, (void ***)&w->graph->initializer, t);
}

/* QuantizeLinear then DequantizeLinear of x with one scale and int8 zero point: the value a
 * deployment stores; returns the dequantized value's name, `base` */
static const char *qdq(writer *w, const char *x, const char *base, float scale, int32_t zp) {
    char sname[64], zname[64], qname[64];
    snprintf(sname, sizeof sname, "%s.scale", base), snprintf(zname, sizeof zname, "%s.zero_point", base);
    snprintf(qname, sizeof qname, "%s.q", base);
    int8_t z = (int8_t)zp;
    initializer_f32(w, sname, 0, NULL, &scale, 1);
    initializer_raw(w, zname, ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 0, NULL, &z, 1);
    node(w, "QuantizeLinear", qname, (const char *[]){x, sname, zname, NULL}, qname, NULL);
    node(w, "DequantizeLinear", base, (const char *[]){qname, sname, zname, NULL}, base, NULL);
    return str(w, base);
}

/* Clip of x to the real values of the codes [lo, hi] at (scale, zp), when that clamps anything */
static const char *clamp(writer *w, const char *x, const char *base, int32_t lo, int32_t hi, float scale, int32_t zp) {
    if (lo <= -128 && hi >= 127) return x;
    char name[64], mn[64], mx[64];
    snprintf(name, sizeof name, "%s.clip", base), snprintf(mn, sizeof mn, "%s.min", base), snprintf(mx, sizeof mx, "%s.max", base);
    float a = (float)(lo - zp) * scale, b = (float)(hi - zp) * scale;
    initializer_f32(w, mn, 0, NULL, &a, 1);
    initializer_f32(w, mx, 0, NULL, &b, 1);
    node(w, "Clip", name, (const char *[]){x, mn, mx, NULL}, name, NULL);
    return str(w, name);
}

/* the quantized convolution i: int8 weights and int32 biases dequantized per output channel */
static const char *qdq_conv(writer *w, const hn_qmodel *m, const s8_node *plan, int i, const char *x, const char *base) {
    const s8_conv_params *c = &plan[i].conv;
    hn_shape shape, in_shape;
    hn_qparams q, in_q;
    const float *w_scale, *unused;
    hn_qmodel_node_info(m, i, &shape, &q, &w_scale, NULL);
    hn_qmodel_node_info(m, plan[i].inputs[0], &in_shape, &in_q, &unused, NULL);
    if (in_shape.c != c->cin || in_shape.h != c->h || in_shape.w != c->w) { /* a linear layer reads a flat view */
        char r[64];
        snprintf(r, sizeof r, "%s.flat", base);
        node(w, "Reshape", r, (const char *[]){x, const_shape4d(w), NULL}, r, NULL);
        x = str(w, r);
    }
    int per = c->cin / c->groups * c->kernel * c->kernel;
    int32_t *bias = alloc(w, sizeof(int32_t) * (size_t)c->cout);
    float *bscale = alloc(w, sizeof(float) * (size_t)c->cout);
    int8_t *wz = alloc(w, (size_t)c->cout);
    int32_t *bz = alloc(w, sizeof(int32_t) * (size_t)c->cout);
    if (!bias || !bscale || !wz || !bz) return x;
    hn_q_conv_bias(c, bias);
    for (int o = 0; o < c->cout; o++) bscale[o] = in_q.scale * w_scale[o];
    char wn[64], ws[64], wzn[64], wf[64], bn[64], bs[64], bzn[64], bf[64], out[64];
    snprintf(wn, sizeof wn, "%s.w", base), snprintf(ws, sizeof ws, "%s.w.scale", base);
    snprintf(wzn, sizeof wzn, "%s.w.zero_point", base), snprintf(wf, sizeof wf, "%s.w.f", base);
    snprintf(bn, sizeof bn, "%s.b", base), snprintf(bs, sizeof bs, "%s.b.scale", base);
    snprintf(bzn, sizeof bzn, "%s.b.zero_point", base), snprintf(bf, sizeof bf, "%s.b.f", base);
    snprintf(out, sizeof out, "%s.conv", base);
    int64_t wd[4] = {c->cout, c->cin / c->groups, c->kernel, c->kernel}, cd = c->cout;
    initializer_raw(w, wn, ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 4, wd, c->weights, (size_t)c->cout * (size_t)per);
    initializer_f32(w, ws, 1, &cd, w_scale, (size_t)c->cout);
    initializer_raw(w, wzn, ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 1, &cd, wz, (size_t)c->cout);
    initializer_raw(w, bn, ONNX__TENSOR_PROTO__DATA_TYPE__INT32, 1, &cd, bias, sizeof(int32_t) * (size_t)c->cout);
    initializer_f32(w, bs, 1, &cd, bscale, (size_t)c->cout);
    initializer_raw(w, bzn, ONNX__TENSOR_PROTO__DATA_TYPE__INT32, 1, &cd, bz, sizeof(int32_t) * (size_t)c->cout);
    Onnx__AttributeProto *axis[] = {attr_int(w, "axis", 0), NULL};
    node(w, "DequantizeLinear", wf, (const char *[]){wn, ws, wzn, NULL}, wf, axis);
    Onnx__AttributeProto *axis2[] = {attr_int(w, "axis", 0), NULL};
    node(w, "DequantizeLinear", bf, (const char *[]){bn, bs, bzn, NULL}, bf, axis2);
    Onnx__AttributeProto *at[] = {attr_ints(w, "kernel_shape", 2, c->kernel, c->kernel), attr_ints(w, "strides", 2, c->stride, c->stride),
                                  attr_ints(w, "pads", 4, c->pad, c->pad), attr_int(w, "group", c->groups), NULL};
    node(w, "Conv", out, (const char *[]){x, wf, bf, NULL}, out, at);
    return clamp(w, str(w, out), base, c->act_min, c->act_max, q.scale, q.zero_point);
}

/* The int8 layer norm of plan node i as the float chain, with the gain and offset its kernel applies:
 * mult = gamma / (s_out 2^16), bias = round(beta / s_out), and eps = c^2 eps / s_in^2 x 2^16
 * (s8_kernels.h), so what the int8 model computes, not the float graph's parameters before rounding. */
static void qdq_layernorm(writer *w, const hn_qmodel *m, const s8_node *p, int i, const char *x, const char *pre) {
    const s8_norm_params *np = p->norm;
    hn_shape shape, in_shape;
    hn_qparams q, qin;
    const float *unused;
    hn_qmodel_node_info(m, i, &shape, &q, &unused, NULL);
    hn_qmodel_node_info(m, p->inputs[0], &in_shape, &qin, &unused, NULL);
    float *gamma = alloc(w, sizeof(float) * (size_t)np->c), *beta = alloc(w, sizeof(float) * (size_t)np->c);
    if (!gamma || !beta) return;
    for (int c = 0; c < np->c; c++) {
        gamma[c] = (float)ldexp((double)np->mult[c].multiplier, np->mult[c].shift - 31 + 16) * q.scale;
        beta[c] = (float)np->bias[c] * q.scale;
    }
    const int64_t dims[3] = {np->c, 1, 1};
    char wname[64], bname[64];
    snprintf(wname, sizeof wname, "%s.weight", pre), snprintf(bname, sizeof bname, "%s.bias", pre);
    initializer_f32(w, wname, 3, dims, gamma, (size_t)np->c);
    initializer_f32(w, bname, 3, dims, beta, (size_t)np->c);
    const double eps = (double)np->eps * qin.scale * qin.scale / ((double)np->c * np->c * 65536.0);
    layernorm_form(w, pre, x, (float)eps, wname, bname);
}

hn_status hn_export_onnx_qdq(const hn_qmodel *m, const char *path, const char *name) {
    int n, output;
    size_t values;
    const s8_node *plan = hn_qmodel_plan(m, &n, &output, &values);
    Onnx__GraphProto graph;
    onnx__graph_proto__init(&graph);
    writer w = {.a = hn_arena_new(), .graph = &graph, .opset = 13};
    if (!w.a) return hn_error(HN_ERR_NOMEM, "ONNX export");
    const char **v = alloc(&w, sizeof(char *) * (size_t)n);
    Onnx__ValueInfoProto *input = NULL, *out = NULL;
    if (v) {
        hn_shape s0;
        hn_qparams q0;
        const float *unused;
        hn_qmodel_node_info(m, 0, &s0, &q0, &unused, NULL);
        int64_t dims[3] = {s0.c, s0.h, s0.w};
        input = value_info(&w, "input", 3, dims);
        v[0] = qdq(&w, "input", "v0", q0.scale, q0.zero_point);
        for (int i = 1; i < n && !w.failed; i++) {
            const s8_node *p = &plan[i];
            hn_shape shape;
            hn_qparams q;
            char base[32], pre[40];
            snprintf(base, sizeof base, "v%d", i), snprintf(pre, sizeof pre, "v%d.pre", i);
            const char *x = v[p->inputs[0]], *y = pre;
            const char *ins[HN_MAX_INPUTS + 1] = {0};
            for (int k = 0; k < p->ninputs; k++) ins[k] = v[p->inputs[k]];
            hn_op op;
            hn_qmodel_node_info(m, i, &shape, &q, &unused, &op);
            switch (p->kind) {
            case S8_CONV: y = qdq_conv(&w, m, plan, i, x, base); break;
            case S8_ADD:
                node(&w, p->ninputs == 2 ? "Add" : "Sum", pre, ins, pre, NULL);
                y = clamp(&w, pre, base, p->lo, p->hi, q.scale, q.zero_point);
                break;
            case S8_CONCAT: {
                Onnx__AttributeProto *at[] = {attr_int(&w, "axis", 1), NULL};
                node(&w, "Concat", pre, ins, pre, at);
                break;
            }
            case S8_AVGPOOL:
            case S8_MAXPOOL: {
                const s8_pool_params *pp = &p->pool;
                Onnx__AttributeProto *at[] = {attr_ints(&w, "kernel_shape", 2, pp->kernel, pp->kernel),
                                              attr_ints(&w, "strides", 2, pp->stride, pp->stride),
                                              attr_ints(&w, "pads", 4, pp->pad, pp->pad),
                                              p->kind == S8_AVGPOOL ? attr_int(&w, "count_include_pad", pp->count_include_pad) : NULL,
                                              NULL};
                node(&w, p->kind == S8_AVGPOOL ? "AveragePool" : "MaxPool", pre, (const char *[]){x, NULL}, pre, at);
                break;
            }
            case S8_MEAN: node(&w, "GlobalAveragePool", pre, (const char *[]){x, NULL}, pre, NULL); break;
            case S8_CLAMP: y = clamp(&w, x, base, p->lo, p->hi, q.scale, q.zero_point); break;
            case S8_ZERO: node(&w, "Mul", pre, (const char *[]){x, const_zero(&w), NULL}, pre, NULL); break;
            /* the attention side: the float op's chain on the dequantized input, quantized at the
             * int8 kernel's output parameters */
            case S8_LUT:
                if (op == HN_OP_GELU) gelu_form(&w, pre, x);
                else hardswish_form(&w, pre, x);
                break;
            case S8_SOFTMAX: softmax_form(&w, pre, x); break;
            case S8_LAYERNORM: qdq_layernorm(&w, m, p, i, x, pre); break;
            case S8_ATTENTION:
            case S8_LINEAR_ATTENTION: {
                /* the softmax kernel's int8 probabilities: scale 1/256, zero point -128 */
                const attn_form f = {op, shape.c, p->attn->heads, shape.h, shape.w,
                                     p->kind == S8_ATTENTION ? 1.0f / 256 : 0, -128};
                attention_form(&w, pre, &f, x);
                break;
            }
            default: /* a kind added to the engine without a QDQ form here */
                hn_arena_free(w.a);
                return hn_error(HN_ERR_UNSUPPORTED, "ONNX QDQ export: node %d: op %s has no int8 QDQ form yet (the "
                                "float ONNX export and export --format c take it)", i, hn_op_name(op));
            }
            v[i] = qdq(&w, y, base, q.scale, q.zero_point);
        }
        hn_shape os;
        hn_qparams oq;
        hn_qmodel_node_info(m, output, &os, &oq, &unused, NULL);
        bool flat = os.h == 1 && os.w == 1;
        const char *oname = v[output];
        if (flat && !w.failed) {
            Onnx__AttributeProto *at[] = {attr_int(&w, "axis", 1), NULL};
            node(&w, "Flatten", "output", (const char *[]){v[output], NULL}, "output", at);
            oname = "output";
        }
        int64_t odims[3] = {os.c, os.h, os.w};
        out = value_info(&w, oname, flat ? 1 : 3, odims);
    }
    return finish(&w, input, out, 13, path, name);
}
