/* Saving and loading a graph's parameters and state as a versioned tensor file (tensor.h), one named
 * tensor per parameter, PyTorch-shaped, so mismatches are reported by name and shape. */
#include <string.h>

#include "hwnas/graph.h"
#include "hwnas/tensor.h"

/* All parameter views of g; returns how many (at most 4 per node). views has room for 4*nnodes. */
static int all_views(const hn_graph *g, hn_param_view *views) {
    int nv = 0;
    for (int i = 1; i < g->nnodes; i++) nv += hn_node_params(g, i, views + nv);
    return nv;
}

hn_status hn_graph_save_weights(const hn_graph *g, const char *path) {
    HN_ASSERT(g->finalized);
    const int cap = 4 * g->nnodes;
    hn_param_view *views = hn_alloc(sizeof(hn_param_view) * cap);
    hn_tensor *tensors = hn_alloc(sizeof(hn_tensor) * cap); /* shallow: names and data alias views / g */
    const hn_tensor **ptrs = hn_alloc(sizeof(hn_tensor *) * cap);
    hn_status st = HN_ERR_NOMEM;
    if (views && tensors && ptrs) {
        int nv = all_views(g, views);
        for (int j = 0; j < nv; j++) {
            tensors[j] = (hn_tensor){views[j].name, views[j].ndim, {0}, views[j].data};
            memcpy(tensors[j].shape, views[j].shape, sizeof tensors[j].shape);
            ptrs[j] = &tensors[j];
        }
        st = hn_tensor_file_write(path, nv, ptrs);
    }
    hn_free(views);
    hn_free(tensors);
    hn_free(ptrs);
    return st;
}

hn_status hn_graph_load_weights(hn_graph *g, const char *path) {
    HN_ASSERT(g->finalized);
    hn_param_view *views = hn_alloc(sizeof(hn_param_view) * 4 * g->nnodes);
    if (!views) return HN_ERR_NOMEM;
    hn_tensor_set set;
    hn_status st = hn_tensor_file_read(path, &set);
    if (st) {
        hn_free(views);
        return st;
    }
    int nv = all_views(g, views);
    char a[64], b[64];
    /* check everything before changing anything, so a mismatched file leaves the graph as it was */
    for (int j = 0; j < nv && st == HN_OK; j++) {
        const hn_param_view *v = &views[j];
        const hn_tensor *t = hn_tensor_set_find(&set, v->name);
        if (!t)
            st = hn_error(HN_ERR_FORMAT, "%s: has no tensor '%s' (saved from a different network?)", path, v->name);
        else if (t->ndim != v->ndim || memcmp(t->shape, v->shape, sizeof(int64_t) * v->ndim) != 0)
            st = hn_error(HN_ERR_FORMAT, "%s: tensor '%s' has shape %s but the network expects %s", path, v->name,
                          hn_shape_str(t->ndim, t->shape, a, sizeof a), hn_shape_str(v->ndim, v->shape, b, sizeof b));
    }
    if (st == HN_OK && nv != set.count)
        st = hn_error(HN_ERR_FORMAT, "%s: holds %d tensors but the network has %d (saved from a different network?)",
                      path, set.count, nv);
    for (int j = 0; j < nv && st == HN_OK; j++) {
        const hn_tensor *t = hn_tensor_set_find(&set, views[j].name);
        memcpy(views[j].data, t->data, sizeof(float) * (size_t)hn_tensor_numel(t));
    }
    hn_tensor_set_free(&set);
    hn_free(views);
    return st;
}
