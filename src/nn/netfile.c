/* Network files: a YAML description of a network as a list of layers, each taking the previous
 * layer's output unless it names its inputs (a small DAG). Format: docs/network-files.md.
 * Errors name the file, the line and the field. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "hwnas/graph.h"

typedef struct {
    const char *path;
    yaml_document_t *doc;
} ctx;

static int line_of(const yaml_node_t *n) { return (int)n->start_mark.line + 1; }

static const char *scalar(const yaml_node_t *n) {
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static hn_status get_int(const ctx *c, const yaml_node_t *n, const char *field, int lo, int *out) {
    const char *s = scalar(n);
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || *s == 0 || *end || errno || v < lo || v > INT_MAX)
        return hn_error(HN_ERR_INVALID, "%s:%d: field '%s': expected an integer >= %d, got '%s'", c->path, line_of(n),
                        field, lo, s ? s : "(not a scalar)");
    *out = (int)v;
    return HN_OK;
}

static hn_status get_float(const ctx *c, const yaml_node_t *n, const char *field, float *out) {
    const char *s = scalar(n);
    char *end;
    double v = s ? strtod(s, &end) : 0;
    if (!s || *s == 0 || *end || !(v > 0) || v > 1e6)
        return hn_error(HN_ERR_INVALID, "%s:%d: field '%s': expected a positive number, got '%s'", c->path, line_of(n),
                        field, s ? s : "(not a scalar)");
    *out = (float)v;
    return HN_OK;
}

static hn_status get_bool(const ctx *c, const yaml_node_t *n, const char *field, bool *out) {
    const char *s = scalar(n);
    if (s && (!strcmp(s, "true") || !strcmp(s, "yes"))) *out = true;
    else if (s && (!strcmp(s, "false") || !strcmp(s, "no"))) *out = false;
    else
        return hn_error(HN_ERR_INVALID, "%s:%d: field '%s': expected true or false, got '%s'", c->path, line_of(n),
                        field, s ? s : "(not a scalar)");
    return HN_OK;
}

static hn_status resolve_input(const ctx *c, const hn_graph *g, const yaml_node_t *n, int *id) {
    const char *s = scalar(n);
    *id = s ? hn_graph_find(g, s) : -1;
    if (*id < 0)
        return hn_error(HN_ERR_INVALID, "%s:%d: field 'inputs': no earlier layer is named '%s'", c->path, line_of(n),
                        s ? s : "(not a scalar)");
    return HN_OK;
}

/* One layer mapping -> one node. prev is the id of the previous layer. */
static hn_status parse_layer(const ctx *c, hn_graph *g, const yaml_node_t *m, int prev, int *id) {
    if (m->type != YAML_MAPPING_NODE)
        return hn_error(HN_ERR_INVALID, "%s:%d: a layer must be a mapping such as {op: relu}", c->path, line_of(m));
    hn_node_spec s = hn_spec(HN_OP_COUNT, prev);
    s.bias = true;              /* PyTorch's defaults: conv2d and linear have a bias, */
    s.count_include_pad = true; /* avgpool divides by the whole window */
    bool have_out = false, have_kernel = false;
    char name[128] = "";
    hn_status st = HN_OK;
    /* the op first, so that errors can say which layer */
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const char *k = scalar(yaml_document_get_node(c->doc, p->key));
        const char *v = scalar(yaml_document_get_node(c->doc, p->value));
        if (k && !strcmp(k, "op")) {
            s.op = v ? hn_op_from_name(v) : HN_OP_COUNT;
            if (s.op == HN_OP_COUNT || s.op == HN_OP_INPUT)
                return hn_error(HN_ERR_INVALID,
                                "%s:%d: unknown op '%s' (known: conv2d, batchnorm, relu, relu6, avgpool, maxpool, "
                                "global_avgpool, linear, add, concat, zero, identity, flatten)",
                                c->path, line_of(m), v ? v : "(not a scalar)");
        }
    }
    if (s.op == HN_OP_COUNT) return hn_error(HN_ERR_INVALID, "%s:%d: layer has no 'op' field", c->path, line_of(m));
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top && !st; p++) {
        yaml_node_t *kn = yaml_document_get_node(c->doc, p->key), *vn = yaml_document_get_node(c->doc, p->value);
        const char *k = scalar(kn);
        if (!k) return hn_error(HN_ERR_INVALID, "%s:%d: layer keys must be plain names", c->path, line_of(kn));
        if (!strcmp(k, "op")) continue;
        if (!strcmp(k, "name")) {
            if (!scalar(vn) || strlen(scalar(vn)) >= sizeof name)
                return hn_error(HN_ERR_INVALID, "%s:%d: field 'name': expected a short string", c->path, line_of(vn));
            snprintf(name, sizeof name, "%s", scalar(vn));
            s.name = name;
        } else if (!strcmp(k, "inputs")) {
            if (vn->type == YAML_SCALAR_NODE) {
                s.ninputs = 1;
                st = resolve_input(c, g, vn, &s.inputs[0]);
            } else if (vn->type == YAML_SEQUENCE_NODE) {
                s.ninputs = 0;
                for (yaml_node_item_t *it = vn->data.sequence.items.start; it < vn->data.sequence.items.top && !st; it++) {
                    if (s.ninputs == HN_MAX_INPUTS)
                        return hn_error(HN_ERR_INVALID, "%s:%d: at most %d inputs", c->path, line_of(vn), HN_MAX_INPUTS);
                    st = resolve_input(c, g, yaml_document_get_node(c->doc, *it), &s.inputs[s.ninputs++]);
                }
            } else {
                return hn_error(HN_ERR_INVALID, "%s:%d: field 'inputs': expected a name or a list of names", c->path,
                                line_of(vn));
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
            st = get_bool(c, vn, k, &s.bias);
        } else if (!strcmp(k, "count_include_pad")) {
            st = get_bool(c, vn, k, &s.count_include_pad);
        } else if (!strcmp(k, "eps")) {
            st = get_float(c, vn, k, &s.eps);
        } else if (!strcmp(k, "momentum")) {
            st = get_float(c, vn, k, &s.momentum);
        } else {
            return hn_error(HN_ERR_INVALID,
                            "%s:%d: unknown field '%s' in a %s layer (known: op, name, inputs, out, kernel, stride, "
                            "padding, groups, bias, count_include_pad, eps, momentum)",
                            c->path, line_of(kn), k, hn_op_name(s.op));
        }
    }
    if (st) return st;
    bool needs_out = s.op == HN_OP_CONV2D || s.op == HN_OP_LINEAR;
    bool needs_kernel = s.op == HN_OP_CONV2D || s.op == HN_OP_AVGPOOL || s.op == HN_OP_MAXPOOL;
    if (needs_out && !have_out)
        return hn_error(HN_ERR_INVALID, "%s:%d: %s layer is missing the field 'out'", c->path, line_of(m),
                        hn_op_name(s.op));
    if (needs_kernel && !have_kernel)
        return hn_error(HN_ERR_INVALID, "%s:%d: %s layer is missing the field 'kernel'", c->path, line_of(m),
                        hn_op_name(s.op));
    st = hn_graph_add(g, &s, id);
    if (st) return hn_error_prefix(st, "%s:%d", c->path, line_of(m));
    return HN_OK;
}

static hn_status parse_root(const ctx *c, hn_graph **out) {
    yaml_node_t *root = yaml_document_get_root_node(c->doc);
    if (!root) return hn_error(HN_ERR_INVALID, "%s: the file is empty", c->path);
    if (root->type != YAML_MAPPING_NODE)
        return hn_error(HN_ERR_INVALID, "%s:%d: expected a mapping with 'input' and 'layers'", c->path, line_of(root));
    yaml_node_t *input = NULL, *layers = NULL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(c->doc, p->key), *vn = yaml_document_get_node(c->doc, p->value);
        const char *k = scalar(kn);
        if (k && !strcmp(k, "input")) input = vn;
        else if (k && !strcmp(k, "layers")) layers = vn;
        else if (k && !strcmp(k, "name")) continue;
        else
            return hn_error(HN_ERR_INVALID, "%s:%d: unknown top-level field '%s' (known: name, input, layers)", c->path,
                            line_of(kn), k ? k : "?");
    }
    if (!input) return hn_error(HN_ERR_INVALID, "%s: missing the field 'input' (e.g. input: [1, 28, 28])", c->path);
    if (!layers) return hn_error(HN_ERR_INVALID, "%s: missing the field 'layers'", c->path);
    int dims[3];
    if (input->type != YAML_SEQUENCE_NODE || input->data.sequence.items.top - input->data.sequence.items.start != 3)
        return hn_error(HN_ERR_INVALID, "%s:%d: field 'input': expected [channels, height, width]", c->path,
                        line_of(input));
    for (int i = 0; i < 3; i++) {
        hn_status st = get_int(c, yaml_document_get_node(c->doc, input->data.sequence.items.start[i]), "input", 1, &dims[i]);
        if (st) return st;
    }
    if (layers->type != YAML_SEQUENCE_NODE || layers->data.sequence.items.top == layers->data.sequence.items.start)
        return hn_error(HN_ERR_INVALID, "%s:%d: field 'layers': expected a non-empty list of layers", c->path,
                        line_of(layers));
    hn_graph *g;
    hn_status st = hn_graph_new((hn_shape){dims[0], dims[1], dims[2]}, &g);
    if (st) return st;
    int prev = 0;
    for (yaml_node_item_t *it = layers->data.sequence.items.start; it < layers->data.sequence.items.top; it++) {
        if ((st = parse_layer(c, g, yaml_document_get_node(c->doc, *it), prev, &prev))) {
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
    FILE *f = fopen(path, "rb");
    if (!f) return hn_error(HN_ERR_IO, "%s: cannot open network file (does it exist?)", path);
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    hn_status st;
    if (!yaml_parser_load(&parser, &doc)) {
        st = hn_error(HN_ERR_INVALID, "%s:%d: YAML syntax error: %s", path, (int)parser.problem_mark.line + 1,
                      parser.problem ? parser.problem : "unknown");
    } else {
        ctx c = {path, &doc};
        st = parse_root(&c, out);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    fclose(f);
    return st;
}
