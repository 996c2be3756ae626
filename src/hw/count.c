/* Counting on the graph (see include/hwnas/hw.h). */
#include "hwnas/hw.h"

#include <string.h>

static int64_t act_bytes(const hn_node *n) {
    return ((int64_t)n->shape.c * n->shape.h * n->shape.w * hn_numtype_bits(n->atype) + 7) / 8;
}

/* The kernel at the node's weight type; biases, batch-norm parameters and statistics at 32 bits. */
static int64_t weight_bytes(const hn_node *n) {
    int64_t kernel = n->op == HN_OP_CONV2D || n->op == HN_OP_LINEAR ? (int64_t)n->nparams - (n->bias ? n->out : 0) : 0;
    return (kernel * hn_numtype_bits(n->wtype) + 7) / 8 + ((int64_t)(n->nparams + n->nstate) - kernel) * 4;
}

hn_status hn_count(const hn_graph *g, hn_cost *total, hn_layer_cost *layers) {
    memset(total, 0, sizeof *total);
    const int nn = g->nnodes;
    int last_stack[1024], *last = nn <= 1024 ? last_stack : hn_alloc(sizeof(int) * nn);
    if (!last) return hn_error_prefix(HN_ERR_NOMEM, "counting a graph of %d nodes", nn);
    for (int i = 0; i < nn; i++) last[i] = i;
    for (int i = 1; i < nn; i++)
        for (int j = 0; j < g->nodes[i].ninputs; j++)
            if (i > last[g->nodes[i].inputs[j]]) last[g->nodes[i].inputs[j]] = i;
    last[nn - 1] = nn;
    int64_t live = 0;
    for (int i = 0; i < nn; i++) {
        const hn_node *n = &g->nodes[i];
        int64_t act = act_bytes(n), wb = weight_bytes(n);
        int64_t macs = hn_node_macs(g, i);
        total->params += (int64_t)n->nparams;
        total->macs += macs;
        total->activation_bytes += act;
        total->weight_bytes += wb;
        if (layers) layers[i] = (hn_layer_cost){(int64_t)n->nparams, macs, act, wb};
        live += act; /* the output is written while the inputs are still alive */
        if (live > total->peak_activation_bytes) total->peak_activation_bytes = live;
        for (int j = 0; j < (i ? n->ninputs : 0); j++) { /* inputs read for the last time die */
            int u = n->inputs[j];
            bool dup = false;
            for (int k = 0; k < j; k++) dup |= n->inputs[k] == u;
            if (last[u] == i && !dup)
                live -= act_bytes(&g->nodes[u]);
        }
        if (last[i] == i) live -= act; /* nobody reads it */
    }
    if (last != last_stack) hn_free(last);
    return HN_OK;
}
