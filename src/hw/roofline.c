/* The roofline model (docs/hardware.md): per layer, latency = max(operations / peak of its data-type
 * class, bytes moved / bandwidth) + a fixed per-layer overhead; energy = MACs x energy per MAC of the
 * class + bytes x energy per byte. Bytes moved: the layer's inputs, output and weights at their
 * types (nothing stays on chip between layers). Fused nodes cost nothing. */
#include <string.h>

#include "models.h"

/* the class a layer runs in: its own, or the next wider one the device has */
static hn_dtype_class supported(const hn_roofline *r, hn_dtype_class c) {
    static const hn_dtype_class next[HN_CLASS_COUNT] = {[HN_CLASS_INT8] = HN_CLASS_INT16, [HN_CLASS_INT16] = HN_CLASS_FP32,
                                                         [HN_CLASS_FP8] = HN_CLASS_FP16, [HN_CLASS_FP16] = HN_CLASS_FP32,
                                                         [HN_CLASS_FP32] = HN_CLASS_FP32};
    if (c == HN_CLASS_INT8 && r->peak_ops[c] <= 0 && r->peak_ops[HN_CLASS_INT16] <= 0 && r->peak_ops[HN_CLASS_FP16] > 0)
        return HN_CLASS_FP16;
    while (r->peak_ops[c] <= 0 && c != HN_CLASS_FP32) c = next[c];
    return c;
}

hn_status roofline_graph_cost(const hn_roofline *r, const hn_graph *g, hn_hw_cost *total, hn_hw_cost *layers) {
    bool *fused = hn_alloc(sizeof(bool) * (size_t)g->nnodes);
    hn_status st = fused ? hn_graph_fused(g, fused) : hn_error_prefix(HN_ERR_NOMEM, "costing %d nodes", g->nnodes);
    for (int i = 1; !st && i < g->nnodes; i++) {
        const hn_node *n = &g->nodes[i];
        if (fused[i] || n->op == HN_OP_CONCAT || n->op == HN_OP_ZERO) continue;
        hn_dtype_class c = supported(r, hw_dtype_class(g, n));
        int64_t macs = hn_node_macs(g, i), ops = 2 * macs + hw_elementwise_ops(g, n);
        double bytes = (double)(hw_act_bytes(n) + (hw_kernel_elems(n) * hn_numtype_bits(n->wtype) + 7) / 8);
        for (int j = 0; j < n->ninputs; j++) bytes += (double)hw_act_bytes(&g->nodes[n->inputs[j]]);
        double compute = (double)ops / r->peak_ops[c], memory = bytes / r->bandwidth_bytes_s;
        hn_hw_cost l = {.latency_s = (compute > memory ? compute : memory) + r->layer_overhead_s,
                        .energy_j = 1e-12 * ((double)macs * r->op_pj[c] + (double)hw_elementwise_ops(g, n) * r->op_pj[c] / 2 +
                                             bytes * r->byte_pj),
                        .fits = true, .macs = macs, .params = (int64_t)n->nparams};
        total->latency_s += l.latency_s;
        total->energy_j += l.energy_j;
        if (layers) layers[i] = l;
    }
    total->fits = true;
    hn_free(fused);
    return st;
}
