/* Saving and loading a graph's parameters and state as a versioned tensor file (tensor.h), one named
 * tensor per parameter, PyTorch-shaped, so mismatches are reported by name and shape. */
#include <string.h>

#include "hwnas/graph.h"
#include "hwnas/tensor.h"

/* Calls fn for every parameter view of every node; stops at the first failure. */
static hn_status each_view(const hn_graph *g, hn_status (*fn)(const hn_param_view *, void *), void *user) {
    for (int i = 1; i < g->nnodes; i++) {
        hn_param_view v[4];
        int k = hn_node_params(g, i, v);
        for (int j = 0; j < k; j++) {
            hn_status st = fn(&v[j], user);
            if (st) return st;
        }
    }
    return HN_OK;
}

typedef struct {
    hn_tensor *items; /* shallow: data alias the graph */
    const hn_tensor **ptrs;
    int count;
} collect;

static hn_status collect_view(const hn_param_view *v, void *user) {
    collect *c = user;
    hn_tensor *t = &c->items[c->count];
    t->name = (char *)v->name;
    t->ndim = v->ndim;
    memcpy(t->shape, v->shape, sizeof t->shape);
    t->data = v->data;
    c->ptrs[c->count] = t;
    c->count++;
    return HN_OK;
}

hn_status hn_graph_save_weights(const hn_graph *g, const char *path) {
    HN_ASSERT(g->finalized);
    int cap = 4 * g->nnodes;
    collect c = {hn_calloc(sizeof(hn_tensor) * cap), hn_calloc(sizeof(hn_tensor *) * cap), 0};
    /* names must outlive the write: keep the views */
    hn_param_view *views = hn_calloc(sizeof(hn_param_view) * cap);
    hn_status st = HN_ERR_NOMEM;
    if (c.items && c.ptrs && views) {
        int nv = 0;
        for (int i = 1; i < g->nnodes; i++) nv += hn_node_params(g, i, views + nv);
        for (int j = 0; j < nv; j++) collect_view(&views[j], &c);
        st = hn_tensor_file_write(path, c.count, c.ptrs);
    }
    hn_free(views);
    hn_free(c.items);
    hn_free(c.ptrs);
    return st;
}

typedef struct {
    const hn_tensor_set *set;
    const char *path;
    int used;
} loader;

static hn_status load_view(const hn_param_view *v, void *user) {
    loader *l = user;
    hn_tensor *t = hn_tensor_set_find(l->set, v->name);
    char a[64], b[64];
    if (!t) return hn_error(HN_ERR_FORMAT, "%s: has no tensor '%s' (saved from a different network?)", l->path, v->name);
    if (t->ndim != v->ndim || memcmp(t->shape, v->shape, sizeof(int64_t) * v->ndim) != 0)
        return hn_error(HN_ERR_FORMAT, "%s: tensor '%s' has shape %s but the network expects %s", l->path, v->name,
                        hn_shape_str(t->ndim, t->shape, a, sizeof a), hn_shape_str(v->ndim, v->shape, b, sizeof b));
    memcpy(v->data, t->data, sizeof(float) * (size_t)hn_tensor_numel(t));
    l->used++;
    return HN_OK;
}

hn_status hn_graph_load_weights(hn_graph *g, const char *path) {
    HN_ASSERT(g->finalized);
    hn_tensor_set set;
    hn_status st = hn_tensor_file_read(path, &set);
    if (st) return st;
    loader l = {&set, path, 0};
    st = each_view(g, load_view, &l);
    if (st == HN_OK && l.used != set.count)
        st = hn_error(HN_ERR_FORMAT, "%s: holds %d tensors but the network has %d (saved from a different network?)",
                      path, set.count, l.used);
    hn_tensor_set_free(&set);
    return st;
}
