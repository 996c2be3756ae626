/* Graph-building helpers of the spaces (see builder.h). */
#include "builder.h"

#include <string.h>

int build_add(builder *b, const hn_node_spec *s) {
    int id = -1;
    if (b->st == HN_OK) b->st = hn_graph_add(b->g, s, &id);
    return id;
}

int build_op(builder *b, hn_op op, int x) {
    hn_node_spec s = hn_spec(op, x);
    return build_add(b, &s);
}

static void set_slot(builder *b, int id, int qslot) {
    if (b->st == HN_OK) b->g->nodes[id].qslot = qslot;
}

int build_conv(builder *b, int x, int out, int kernel, int stride, int pad, int groups, int qslot) {
    hn_node_spec s = hn_spec(HN_OP_CONV2D, x);
    s.out = out, s.kernel = kernel, s.stride = stride, s.pad = pad, s.groups = groups;
    int id = build_add(b, &s);
    set_slot(b, id, qslot);
    return id;
}

int build_sum(builder *b, const int *ids, int n) {
    if (n == 1) return ids[0];
    hn_node_spec s = hn_spec(HN_OP_ADD, ids[0]);
    s.ninputs = n;
    memcpy(s.inputs, ids, sizeof(int) * (size_t)n);
    return build_add(b, &s);
}

int build_linear(builder *b, int x, int out, int qslot) {
    hn_node_spec s = hn_spec(HN_OP_LINEAR, x);
    s.out = out, s.bias = true;
    int id = build_add(b, &s);
    set_slot(b, id, qslot);
    return id;
}

hn_status space_parse_error(const char *space, const char *str, const char *p, const char *expected) {
    return hn_error(HN_ERR_INVALID, "%s architecture '%s': at position %d: expected %s", space, str, (int)(p - str),
                    expected);
}

hn_status space_parse_head(const hn_space *s, const hn_space *inner, const char *str, const char *sep, const char *needs,
                           uint8_t *g) {
    if (!sep) return hn_error(HN_ERR_INVALID, "%s architecture '%s': expected %s", s->name, str, needs);
    char head[4096];
    if ((size_t)(sep - str) >= sizeof head)
        return hn_error(HN_ERR_INVALID, "%s architecture: longer than %zu characters", s->name, sizeof head - 1);
    memcpy(head, str, (size_t)(sep - str));
    head[sep - str] = 0;
    return inner->parse(inner, head, g);
}
