/* Network files: a YAML description of a network as a list of layers, each taking the previous
 * layer's output unless it names its inputs (a small DAG). Format: docs/network-files.md.
 * Errors name the file, the line and the field. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../core/yaml_util.h"
#include "hwnas/graph.h"

typedef yfile ctx;

static hn_status get_int(const ctx *c, const yaml_node_t *n, const char *field, int lo, int *out) {
    long v;
    hn_status st = yint(c, n, field, lo, INT_MAX, &v);
    if (st == HN_OK) *out = (int)v;
    return st;
}

/* eps and momentum */
static hn_status get_float(const ctx *c, const yaml_node_t *n, const char *field, float *out) {
    double v;
    hn_status st = ydouble(c, n, field, 1e-12, 1, &v);
    if (st == HN_OK) *out = (float)v;
    return st;
}

static hn_status resolve_input(const ctx *c, const hn_graph *g, const yaml_node_t *n, int *id) {
    const char *s = yscalar(n);
    *id = s ? hn_graph_find(g, s) : -1;
    if (*id < 0)
        return hn_error(HN_ERR_INVALID, "%s:%d: field 'inputs': no earlier layer is named '%s'", c->path, yline(n),
                        s ? s : "(not a scalar)");
    return HN_OK;
}

/* One layer mapping -> one node. prev is the id of the previous layer. */
static hn_status parse_layer(const ctx *c, hn_graph *g, const yaml_node_t *m, int prev, int *id) {
    if (m->type != YAML_MAPPING_NODE)
        return hn_error(HN_ERR_INVALID, "%s:%d: a layer must be a mapping such as {op: relu}", c->path, yline(m));
    hn_node_spec s = hn_spec(HN_OP_COUNT, prev);
    s.bias = true;              /* PyTorch's defaults: conv2d and linear have a bias, */
    s.count_include_pad = true; /* avgpool divides by the whole window */
    bool have_out = false, have_kernel = false;
    hn_numtype wtype = HN_FP32, atype = HN_FP32;
    char name[128] = "";
    hn_status st = HN_OK;
    /* the op first, so that errors can say which layer */
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const char *k = yscalar(ynode(c, p->key));
        const char *v = yscalar(ynode(c, p->value));
        if (k && !strcmp(k, "op")) {
            s.op = v ? hn_op_from_name(v) : HN_OP_COUNT;
            if (s.op == HN_OP_COUNT || s.op == HN_OP_INPUT)
                return hn_error(HN_ERR_INVALID,
                                "%s:%d: unknown op '%s' (known: conv2d, batchnorm, relu, relu6, avgpool, maxpool, "
                                "global_avgpool, linear, add, concat, zero, identity, flatten, layernorm, gelu, "
                                "hardswish, softmax, attention, linear_attention)",
                                c->path, yline(m), v ? v : "(not a scalar)");
        }
    }
    if (s.op == HN_OP_COUNT) return hn_error(HN_ERR_INVALID, "%s:%d: layer has no 'op' field", c->path, yline(m));
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top && !st; p++) {
        yaml_node_t *kn = ynode(c, p->key), *vn = ynode(c, p->value);
        const char *k = yscalar(kn);
        if (!k) return hn_error(HN_ERR_INVALID, "%s:%d: layer keys must be plain names", c->path, yline(kn));
        if (!strcmp(k, "op")) continue;
        if (!strcmp(k, "name")) {
            if (!yscalar(vn) || strlen(yscalar(vn)) >= sizeof name)
                return hn_error(HN_ERR_INVALID, "%s:%d: field 'name': expected a short string", c->path, yline(vn));
            snprintf(name, sizeof name, "%s", yscalar(vn));
            s.name = name;
        } else if (!strcmp(k, "inputs")) {
            if (vn->type == YAML_SCALAR_NODE) {
                s.ninputs = 1;
                st = resolve_input(c, g, vn, &s.inputs[0]);
            } else if (vn->type == YAML_SEQUENCE_NODE) {
                s.ninputs = 0;
                for (yaml_node_item_t *it = vn->data.sequence.items.start; it < vn->data.sequence.items.top && !st; it++) {
                    if (s.ninputs == HN_MAX_INPUTS)
                        return hn_error(HN_ERR_INVALID, "%s:%d: at most %d inputs", c->path, yline(vn), HN_MAX_INPUTS);
                    st = resolve_input(c, g, ynode(c, *it), &s.inputs[s.ninputs++]);
                }
            } else {
                return hn_error(HN_ERR_INVALID, "%s:%d: field 'inputs': expected a name or a list of names", c->path,
                                yline(vn));
            }
        } else if (!strcmp(k, "out")) {
            st = get_int(c, vn, k, 1, &s.out);
            have_out = true;
        } else if (!strcmp(k, "kernel")) {
            st = get_int(c, vn, k, 1, &s.kernel);
            have_kernel = true;
        } else if (!strcmp(k, "stride")) {
            st = get_int(c, vn, k, 1, &s.stride);
        } else if (!strcmp(k, "padding")) {
            st = get_int(c, vn, k, 0, &s.pad);
        } else if (!strcmp(k, "groups")) {
            st = get_int(c, vn, k, 1, &s.groups);
        } else if (!strcmp(k, "bias")) {
            st = ybool(c, vn, k, &s.bias);
        } else if (!strcmp(k, "count_include_pad")) {
            st = ybool(c, vn, k, &s.count_include_pad);
        } else if (!strcmp(k, "eps")) {
            st = get_float(c, vn, k, &s.eps);
        } else if (!strcmp(k, "momentum")) {
            st = get_float(c, vn, k, &s.momentum);
        } else if (!strcmp(k, "heads")) {
            st = get_int(c, vn, k, 1, &s.heads);
        } else if (!strcmp(k, "wtype") || !strcmp(k, "atype")) {
            hn_numtype t = yscalar(vn) ? hn_numtype_from_name(yscalar(vn)) : HN_NUMTYPE_COUNT;
            if (t == HN_NUMTYPE_COUNT)
                return hn_error(HN_ERR_INVALID,
                                "%s:%d: field '%s': unknown number type '%s' (known: fp32, int2, int4, int8, int16, "
                                "fp8-e4m3, fp8-e5m2, fp6-e3m2, fp4-e2m1)",
                                c->path, yline(vn), k, yscalar(vn) ? yscalar(vn) : "(not a scalar)");
            *(k[0] == 'w' ? &wtype : &atype) = t;
        } else {
            return hn_error(HN_ERR_INVALID,
                            "%s:%d: unknown field '%s' in a %s layer (known: op, name, inputs, out, kernel, stride, "
                            "padding, groups, bias, count_include_pad, eps, momentum, heads, wtype, atype)",
                            c->path, yline(kn), k, hn_op_name(s.op));
        }
    }
    if (st) return st;
    bool needs_out = s.op == HN_OP_CONV2D || s.op == HN_OP_LINEAR;
    bool needs_kernel = s.op == HN_OP_CONV2D || s.op == HN_OP_AVGPOOL || s.op == HN_OP_MAXPOOL;
    if (needs_out && !have_out)
        return hn_error(HN_ERR_INVALID, "%s:%d: %s layer is missing the field 'out'", c->path, yline(m),
                        hn_op_name(s.op));
    if (needs_kernel && !have_kernel)
        return hn_error(HN_ERR_INVALID, "%s:%d: %s layer is missing the field 'kernel'", c->path, yline(m),
                        hn_op_name(s.op));
    st = hn_graph_add(g, &s, id);
    if (st) return hn_error_prefix(st, "%s:%d", c->path, yline(m));
    g->nodes[*id].wtype = wtype;
    g->nodes[*id].atype = atype;
    return HN_OK;
}

static hn_status parse_root(const ctx *c, hn_graph **out) {
    yaml_node_t *root = yroot(c);
    if (root->type != YAML_MAPPING_NODE)
        return hn_error(HN_ERR_INVALID, "%s:%d: expected a mapping with 'input' and 'layers'", c->path, yline(root));
    yaml_node_t *input = NULL, *layers = NULL;
    hn_numtype input_type = HN_FP32;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = ynode(c, p->key), *vn = ynode(c, p->value);
        const char *k = yscalar(kn);
        if (k && !strcmp(k, "input")) input = vn;
        else if (k && !strcmp(k, "layers")) layers = vn;
        else if (k && !strcmp(k, "name")) continue;
        else if (k && !strcmp(k, "input_type")) {
            input_type = yscalar(vn) ? hn_numtype_from_name(yscalar(vn)) : HN_NUMTYPE_COUNT;
            if (input_type == HN_NUMTYPE_COUNT)
                return hn_error(HN_ERR_INVALID, "%s:%d: field 'input_type': unknown number type '%s'", c->path,
                                yline(vn), yscalar(vn) ? yscalar(vn) : "(not a scalar)");
        } else
            return hn_error(HN_ERR_INVALID,
                            "%s:%d: unknown top-level field '%s' (known: name, input, input_type, layers)", c->path,
                            yline(kn), k ? k : "?");
    }
    if (!input) return hn_error(HN_ERR_INVALID, "%s: missing the field 'input' (e.g. input: [1, 28, 28])", c->path);
    if (!layers) return hn_error(HN_ERR_INVALID, "%s: missing the field 'layers'", c->path);
    int dims[3];
    if (input->type != YAML_SEQUENCE_NODE || input->data.sequence.items.top - input->data.sequence.items.start != 3)
        return hn_error(HN_ERR_INVALID, "%s:%d: field 'input': expected [channels, height, width]", c->path,
                        yline(input));
    for (int i = 0; i < 3; i++) {
        hn_status st = get_int(c, ynode(c, input->data.sequence.items.start[i]), "input", 1, &dims[i]);
        if (st) return st;
    }
    if (layers->type != YAML_SEQUENCE_NODE || layers->data.sequence.items.top == layers->data.sequence.items.start)
        return hn_error(HN_ERR_INVALID, "%s:%d: field 'layers': expected a non-empty list of layers", c->path,
                        yline(layers));
    hn_graph *g;
    hn_status st = hn_graph_new((hn_shape){dims[0], dims[1], dims[2]}, &g);
    if (st) return hn_error_prefix(st, "%s:%d: field 'input'", c->path, yline(input));
    if (input_type != HN_FP32) g->nodes[0].atype = input_type;
    int prev = 0;
    for (yaml_node_item_t *it = layers->data.sequence.items.start; it < layers->data.sequence.items.top; it++) {
        if ((st = parse_layer(c, g, ynode(c, *it), prev, &prev))) {
            hn_graph_free(g);
            return st;
        }
    }
    if ((st = hn_graph_finalize(g))) {
        hn_graph_free(g);
        return st;
    }
    *out = g;
    return HN_OK;
}

hn_status hn_graph_load_yaml(const char *path, hn_graph **out) {
    *out = NULL;
    yfile f;
    hn_status st = yfile_load(&f, path, "network file");
    if (st) return st;
    st = parse_root(&f, out);
    yfile_free(&f);
    return st;
}

/* Writing: every attribute an op uses is written explicitly except where it equals the reader's
 * default, and `inputs` only where a layer does not read the previous one, so the file reads like a
 * hand-written one and loads back into the same graph (names, attributes, number types). */
static bool pool_op(hn_op op) { return op == HN_OP_AVGPOOL || op == HN_OP_MAXPOOL; }

/* A name as a YAML flow scalar: plain when it is a simple word, else double-quoted and escaped. */
static void write_name(FILE *f, const char *s) {
    bool plain = (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_';
    for (const char *p = s; *p && plain; p++)
        plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("_.-", *p);
    if (plain) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\') fputc('\\', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

static void write_layer(FILE *f, const hn_graph *g, int id) {
    const hn_node *n = &g->nodes[id];
    fprintf(f, "  - {op: %s, name: ", hn_op_name(n->op));
    write_name(f, n->name);
    if (n->ninputs != 1 || n->inputs[0] != id - 1) {
        fprintf(f, ", inputs: [");
        for (int i = 0; i < n->ninputs; i++) {
            if (i) fputs(", ", f);
            write_name(f, g->nodes[n->inputs[i]].name);
        }
        fprintf(f, "]");
    }
    if (n->op == HN_OP_CONV2D || n->op == HN_OP_LINEAR) fprintf(f, ", out: %d", n->out);
    if (n->op == HN_OP_CONV2D || pool_op(n->op))
        fprintf(f, ", kernel: %d, stride: %d, padding: %d", n->kernel, n->stride, n->pad);
    if (n->op == HN_OP_CONV2D && n->groups > 1) fprintf(f, ", groups: %d", n->groups);
    if ((n->op == HN_OP_CONV2D || n->op == HN_OP_LINEAR) && !n->bias) fprintf(f, ", bias: false");
    if (n->op == HN_OP_AVGPOOL && !n->count_include_pad) fprintf(f, ", count_include_pad: false");
    if (n->op == HN_OP_BATCHNORM || n->op == HN_OP_LAYERNORM) {
        if (n->eps != 1e-5f) fprintf(f, ", eps: %.9g", n->eps);
        if (n->op == HN_OP_BATCHNORM && n->momentum != 0.1f) fprintf(f, ", momentum: %.9g", n->momentum);
    }
    if (n->op == HN_OP_ATTENTION || n->op == HN_OP_LINEAR_ATTENTION) fprintf(f, ", heads: %d", n->heads);
    if (n->wtype != HN_FP32) fprintf(f, ", wtype: %s", hn_numtype_name(n->wtype));
    if (n->atype != HN_FP32) fprintf(f, ", atype: %s", hn_numtype_name(n->atype));
    fprintf(f, "}\n");
}

hn_status hn_graph_save_yaml(const hn_graph *g, const char *name, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return hn_error(HN_ERR_IO, "cannot write the network file '%s'", path);
    const hn_node *in = &g->nodes[0];
    if (name) {
        fputs("name: ", f);
        write_name(f, name);
        fputc('\n', f);
    }
    fprintf(f, "input: [%d, %d, %d]\n", in->shape.c, in->shape.h, in->shape.w);
    if (in->atype != HN_FP32) fprintf(f, "input_type: %s\n", hn_numtype_name(in->atype));
    fprintf(f, "layers:\n");
    for (int i = 1; i < g->nnodes; i++) write_layer(f, g, i);
    if (ferror(f) | fclose(f)) return hn_error(HN_ERR_IO, "cannot write the network file '%s'", path);
    return HN_OK;
}
