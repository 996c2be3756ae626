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
#include <stdio.h>
#include <string.h>

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
    bool failed;   /* an allocation failed */
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
    memcpy(d, dims, sizeof(int64_t) * (size_t)ndim);
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
        node(w, "Reshape", name, (const char *[]){w->value[id], "shape.4d", NULL}, name, NULL);
    }
    return str(w, name);
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
        initializer_f32(w, v[k].name, v[k].ndim, v[k].shape, v[k].data, count);
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
    case HN_OP_ZERO: node(w, "Mul", out, (const char *[]){x, "zero", NULL}, out, NULL); break;
    default: break;
    }
}

hn_status hn_export_onnx(const hn_graph *g, const char *path, const char *name) {
    if (!g->finalized) return hn_error(HN_ERR_INVALID, "ONNX export: the graph has no parameters (not finalized)");
    writer w = {.a = hn_arena_new(), .g = g};
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset, *opsets[1] = {&opset};
    onnx__model_proto__init(&model), onnx__graph_proto__init(&graph), onnx__operator_set_id_proto__init(&opset);
    w.graph = &graph;
    if (!w.a) return hn_error(HN_ERR_NOMEM, "ONNX export");
    w.value = alloc(&w, sizeof(char *) * (size_t)g->nnodes);
    w.rank = alloc(&w, sizeof(int) * (size_t)g->nnodes);
    hn_status st = HN_OK;
    if (!w.failed) {
        /* shared constants */
        static const float zero = 0;
        static const int64_t shape4[4] = {0, -1, 1, 1};
        initializer_f32(&w, "zero", 0, NULL, &zero, 1);
        initializer_i64(&w, "shape.4d", shape4, 4);
        const hn_node *in = &g->nodes[0];
        w.value[0] = str(&w, in->name), w.rank[0] = 4;
        int64_t dims[3] = {in->shape.c, in->shape.h, in->shape.w};
        Onnx__ValueInfoProto *input = value_info(&w, in->name, 3, dims);
        for (int i = 1; i < g->nnodes; i++) op(&w, i);
        /* a flat output leaves as (N, K) */
        int last = g->nnodes - 1;
        hn_shape os = g->nodes[last].shape;
        const char *oname = os.h == 1 && os.w == 1 ? as_rank(&w, last, 2) : w.value[last];
        int64_t odims[3] = {os.c, os.h, os.w};
        Onnx__ValueInfoProto *output = value_info(&w, oname, os.h == 1 && os.w == 1 ? 1 : 3, odims);
        graph.name = str(&w, name ? name : "hwnas");
        graph.n_input = 1, graph.input = &input, graph.n_output = 1, graph.output = &output;
        opset.domain = str(&w, ""), opset.has_version = 1, opset.version = 10;
        model.has_ir_version = 1, model.ir_version = 5; /* ONNX 1.5+, which opset 10 needs */
        model.n_opset_import = 1, model.opset_import = opsets;
        model.producer_name = str(&w, "hwnas"), model.graph = &graph;
        if (w.failed) st = hn_error(HN_ERR_NOMEM, "ONNX export");
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
    } else {
        st = hn_error(HN_ERR_NOMEM, "ONNX export");
    }
    hn_arena_free(w.a);
    return st;
}
