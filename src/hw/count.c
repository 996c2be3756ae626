/* Counting on the graph (see include/hwnas/hw.h), and the buffer schedule the MCU model shares. */
#include <string.h>

#include "models.h"

int64_t hw_act_bytes(const hn_node *n) {
    return ((int64_t)n->shape.c * n->shape.h * n->shape.w * hn_numtype_bits(n->atype) + 7) / 8;
}

int64_t hw_kernel_elems(const hn_node *n) {
    return n->op == HN_OP_CONV2D || n->op == HN_OP_LINEAR ? (int64_t)n->nparams - (n->bias ? n->out : 0) : 0;
}

/* The kernel at the node's weight type; biases, batch-norm parameters and statistics at 32 bits. */
static int64_t weight_bytes(const hn_node *n) {
    int64_t kernel = hw_kernel_elems(n);
    return (kernel * hn_numtype_bits(n->wtype) + 7) / 8 + ((int64_t)(n->nparams + n->nstate) - kernel) * 4;
}

/* Each node's buffer is its own, or (fused) its first input's; a buffer lives from the step of the
 * node that creates it to the last step that reads it (the output's to the end). */
hn_status hw_schedule(const hn_graph *g, const bool *fused, int64_t *live, int64_t *peak) {
    const int nn = g->nnodes;
    int stack[2048] = {0}, *work = 2 * nn <= 2048 ? stack : hn_alloc(sizeof(int) * 2 * (size_t)nn);
    if (!work) return hn_error_prefix(HN_ERR_NOMEM, "counting a graph of %d nodes", nn);
    int *root = work, *last = work + nn;
    for (int i = 0; i < nn; i++) {
        int in = i > 0 && fused && fused[i] ? g->nodes[i].inputs[0] : i; /* inputs come earlier */
        root[i] = in == i ? i : root[in];
        last[i] = i;
    }
    for (int i = 1; i < nn; i++)
        for (int j = 0; j < g->nodes[i].ninputs; j++)
            if (i > last[root[g->nodes[i].inputs[j]]]) last[root[g->nodes[i].inputs[j]]] = i;
    last[root[nn - 1]] = nn;
    int64_t alive = 0;
    *peak = 0;
    for (int i = 0; i < nn; i++) {
        if (root[i] == i) alive += hw_act_bytes(&g->nodes[i]); /* written while the inputs are alive */
        if (live) live[i] = alive;
        if (alive > *peak) *peak = alive;
        /* buffers read for the last time at this step die (each once, even if read twice) */
        for (int j = 0; j < (i ? g->nodes[i].ninputs : 0); j++) {
            int b = root[g->nodes[i].inputs[j]];
            bool dup = false;
            for (int k = 0; k < j; k++) dup |= root[g->nodes[i].inputs[k]] == b;
            if (last[b] == i && !dup && b != root[i]) alive -= hw_act_bytes(&g->nodes[b]);
        }
        if (root[i] == i && last[i] == i) alive -= hw_act_bytes(&g->nodes[i]); /* nobody reads it */
    }
    if (work != stack) hn_free(work);
    return HN_OK;
}

hn_status hn_count(const hn_graph *g, hn_cost *total, hn_layer_cost *layers) {
    memset(total, 0, sizeof *total);
    int64_t live_stack[1024], *live = g->nnodes <= 1024 ? live_stack : hn_alloc(sizeof(int64_t) * (size_t)g->nnodes);
    if (!live) return hn_error_prefix(HN_ERR_NOMEM, "counting a graph of %d nodes", g->nnodes);
    hn_status st = hw_schedule(g, NULL, live, &total->peak_activation_bytes);
    for (int i = 0; !st && i < g->nnodes; i++) {
        const hn_node *n = &g->nodes[i];
        int64_t act = hw_act_bytes(n), wb = weight_bytes(n), macs = hn_node_macs(g, i);
        total->params += (int64_t)n->nparams;
        total->macs += macs;
        total->activation_bytes += act;
        total->weight_bytes += wb;
        if (layers) layers[i] = (hn_layer_cost){(int64_t)n->nparams, macs, act, wb, live[i]};
    }
    if (live != live_stack) hn_free(live);
    return st;
}
