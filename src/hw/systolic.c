/* The systolic-array model (include/hwnas/hw.h). A layer is the GEMM ifmap (Sr x T) . filter (T x Sc);
 * the array holds one operand tile per fold and streams the third dimension through it:
 *
 *   dataflow  held in the array (rows x cols)   streamed   folds
 *   OS        outputs   Sr x Sc                  T          ceil(Sr/R) ceil(Sc/C)
 *   WS        filters   T  x Sc                  Sr         ceil(T/R)  ceil(Sc/C)
 *   IS        inputs    T  x Sr                  Sc         ceil(T/R)  ceil(Sr/C)
 *
 * Per fold SCALE-Sim v2 spends the streamed length plus the array's fill and drain: T + R + C - 2
 * cycles for OS, n + 2R + C - 2 for WS and IS (n = Sr or Sc: the stationary tile is loaded through
 * the R rows first), and a layer takes folds x that - 1 cycles. Its compute utilisation averages per
 * fold mapped PEs x streamed length over R x C x the fold's demand length, which for WS and IS it
 * counts as n + 2R + 2C - 3. SRAM traffic: the streamed operands are read once per fold that needs
 * them; OS writes each output once plus R + C words per fold; WS and IS write every partial sum, once
 * per row fold. These formulas reproduce every row of SCALE-Sim's own reports exactly
 * (../shared/reference/scalesim, tests/test_hw.c).
 *
 * DRAM: with a limited bandwidth, SCALE-Sim's double-buffered SRAMs replayed (systolic_memory.c:
 * DRAM counts, stalls and total cycles). With CALC's unlimited one nothing stalls, and the traffic is
 * an estimate: an operand whose unique words fit in its SRAM is fetched once, one that does not is
 * fetched again for every SRAM read, outputs are written once. */
#include <stdio.h>
#include <string.h>

#include "models.h"

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

void hn_systolic_apply_arch(hn_systolic *a, const hn_accel *arch) {
    a->rows = arch->rows, a->cols = arch->cols, a->dataflow = (hn_dataflow)arch->dataflow;
    a->ifmap_sram_kb = arch->ifmap_sram_kb, a->filter_sram_kb = arch->filter_sram_kb, a->ofmap_sram_kb = arch->ofmap_sram_kb;
    a->bandwidth = arch->bandwidth;
}

void hw_systolic_ofmap(const hn_systolic_layer *l, int64_t *oh, int64_t *ow) {
    *oh = cdiv(l->ifmap_h - l->filter_h + l->stride, l->stride);
    *ow = cdiv(l->ifmap_w - l->filter_w + l->stride, l->stride);
}

hn_status hn_systolic_layer_cost(const hn_systolic *a, const hn_systolic_layer *l, hn_systolic_result *r) {
    memset(r, 0, sizeof *r);
    if (a->rows < 1 || a->cols < 1)
        return hn_error(HN_ERR_INVALID, "systolic: an array of %d x %d PEs (rows and cols must be at least 1)", a->rows, a->cols);
    if (l->filter_h < 1 || l->filter_w < 1 || l->stride < 1 || l->channels < 1 || l->filters < 1 ||
        l->ifmap_h < l->filter_h || l->ifmap_w < l->filter_w)
        return hn_error(HN_ERR_INVALID,
                        "systolic: layer %s: ifmap %dx%d, filter %dx%d, stride %d, %d channels, %d filters (every field at "
                        "least 1, and the filter no larger than the ifmap)",
                        l->name, l->ifmap_h, l->ifmap_w, l->filter_h, l->filter_w, l->stride, l->channels, l->filters);
    const int64_t R = a->rows, C = a->cols, rep = l->repeats > 0 ? l->repeats : 1;
    int64_t oh, ow;
    hw_systolic_ofmap(l, &oh, &ow);
    const int64_t Sr = oh * ow, T = (int64_t)l->filter_h * l->filter_w * l->channels, Sc = l->filters;
    int64_t folds, per_fold, streamed, util_len, mapped;
    switch (a->dataflow) {
    case HN_DATAFLOW_OS: {
        int64_t rf = cdiv(Sr, R), cf = cdiv(Sc, C);
        folds = rf * cf, per_fold = T + R + C - 2, streamed = T, util_len = per_fold, mapped = Sr * Sc;
        r->sram_ifmap_reads = Sr * T * cf;
        r->sram_filter_reads = T * Sc * rf;
        r->sram_ofmap_writes = Sr * Sc + folds * (R + C);
        break;
    }
    case HN_DATAFLOW_WS: {
        int64_t rf = cdiv(T, R), cf = cdiv(Sc, C);
        folds = rf * cf, per_fold = Sr + 2 * R + C - 2, streamed = Sr, util_len = Sr + 2 * R + 2 * C - 3, mapped = T * Sc;
        r->sram_ifmap_reads = Sr * T * cf;
        r->sram_filter_reads = T * Sc;
        r->sram_ofmap_writes = Sr * Sc * rf;
        break;
    }
    default: {
        int64_t rf = cdiv(T, R), cf = cdiv(Sr, C);
        folds = rf * cf, per_fold = Sc + 2 * R + C - 2, streamed = Sc, util_len = Sc + 2 * R + 2 * C - 3, mapped = T * Sr;
        r->sram_ifmap_reads = T * Sr;
        r->sram_filter_reads = T * Sc * cf;
        r->sram_ofmap_writes = Sr * Sc * rf;
        break;
    }
    }
    const int64_t compute = folds * per_fold - 1;
    r->mapping_efficiency = 100.0 * (double)mapped / ((double)folds * R * C);
    r->compute_utilization = r->mapping_efficiency * (double)streamed / (double)util_len;
    r->macs = Sr * T * Sc;

    hn_status st = hn_systolic_memory(a, l, r);
    if (st) return st;
    const int64_t total = r->total_cycles;
    /* repeats run one after another; percentages are per copy */
    r->stall_cycles = (total - compute) * rep;
    r->total_cycles = total * rep;
    r->macs *= rep;
    int64_t *counts[] = {&r->sram_ifmap_reads, &r->sram_filter_reads, &r->sram_ofmap_writes,
                         &r->dram_ifmap_reads, &r->dram_filter_reads, &r->dram_ofmap_writes};
    for (int i = 0; i < 6; i++) *counts[i] *= rep;
    r->overall_utilization = 100.0 * (double)r->macs / ((double)r->total_cycles * R * C);
    r->energy_j = 1e-12 * ((double)r->macs * a->mac_pj + (double)r->sram_ifmap_reads * a->sram_pj_per_word[0] +
                           (double)r->sram_filter_reads * a->sram_pj_per_word[1] +
                           (double)r->sram_ofmap_writes * a->sram_pj_per_word[2] +
                           (double)(r->dram_ifmap_reads + r->dram_filter_reads + r->dram_ofmap_writes) * a->dram_pj_per_word);
    return HN_OK;
}

void hn_systolic_accumulate(const hn_systolic *a, hn_systolic_result *t, const hn_systolic_result *r) {
    /* mapping efficiency and compute utilisation weighted by each layer's compute cycles */
    double tc = (double)(t->total_cycles - t->stall_cycles), rc = (double)(r->total_cycles - r->stall_cycles);
    if (tc + rc > 0) {
        t->mapping_efficiency = (t->mapping_efficiency * tc + r->mapping_efficiency * rc) / (tc + rc);
        t->compute_utilization = (t->compute_utilization * tc + r->compute_utilization * rc) / (tc + rc);
    }
    t->total_cycles += r->total_cycles;
    t->stall_cycles += r->stall_cycles;
    t->macs += r->macs;
    t->sram_ifmap_reads += r->sram_ifmap_reads;
    t->sram_filter_reads += r->sram_filter_reads;
    t->sram_ofmap_writes += r->sram_ofmap_writes;
    t->dram_ifmap_reads += r->dram_ifmap_reads;
    t->dram_filter_reads += r->dram_filter_reads;
    t->dram_ofmap_writes += r->dram_ofmap_writes;
    t->energy_j += r->energy_j;
    t->overall_utilization = t->total_cycles ? 100.0 * (double)t->macs / ((double)t->total_cycles * a->rows * a->cols) : 0;
}

/* an element-wise node on one row of PEs: ops operations, reads and writes words */
static void vector_op(const hn_systolic *a, int64_t ops, int64_t reads, int64_t writes, hn_systolic_result *r) {
    memset(r, 0, sizeof *r);
    if (ops == 0) return;
    int64_t cycles = cdiv(ops, a->cols), dram = reads + writes;
    if (a->bandwidth > 0 && (double)dram / a->bandwidth > (double)cycles) {
        int64_t t = (int64_t)((double)dram / a->bandwidth + 0.999999);
        r->stall_cycles = t - cycles;
        cycles = t;
    }
    r->total_cycles = cycles;
    r->mapping_efficiency = r->compute_utilization = 100.0 / a->rows;
    r->sram_ifmap_reads = r->dram_ifmap_reads = reads;
    r->sram_ofmap_writes = r->dram_ofmap_writes = writes;
    r->energy_j = 1e-12 * ((double)ops * a->mac_pj + (double)reads * a->sram_pj_per_word[0] +
                           (double)writes * a->sram_pj_per_word[2] + (double)(reads + writes) * a->dram_pj_per_word);
}

static bool same_layer(const hn_systolic_layer *x, const hn_systolic_layer *y) {
    return x->ifmap_h == y->ifmap_h && x->ifmap_w == y->ifmap_w && x->filter_h == y->filter_h && x->filter_w == y->filter_w &&
           x->channels == y->channels && x->filters == y->filters && x->stride == y->stride && x->repeats == y->repeats;
}

/* The cost of layer l: from the layers mapped so far (done_l, done_r, *ndone of them) if one has its
 * shape, else computed and added to them. */
static hn_status cached_cost(const hn_systolic *a, const hn_systolic_layer *l, hn_systolic_layer *done_l,
                             hn_systolic_result *done_r, int *ndone, hn_systolic_result *r) {
    for (int k = 0; k < *ndone; k++)
        if (same_layer(&done_l[k], l)) return *r = done_r[k], HN_OK;
    hn_status st = hn_systolic_layer_cost(a, l, r);
    if (!st) done_l[*ndone] = *l, done_r[(*ndone)++] = *r;
    return st;
}

hn_status hn_systolic_graph(const hn_systolic *a, const hn_graph *g, hn_systolic_result *total,
                            hn_systolic_result *layers) {
    memset(total, 0, sizeof *total);
    /* fused[i]; and the layers mapped so far with their results: a network repeats a few shapes
     * (cells, blocks), and a layer's cost depends on its shape alone */
    const size_t n_nodes = (size_t)g->nnodes;
    const size_t n_layers = 2 * n_nodes; /* an attention node maps to two GEMMs */
    void *block = hn_alloc(sizeof(bool) * n_nodes + (sizeof(hn_systolic_layer) + sizeof(hn_systolic_result)) * n_layers);
    hn_systolic_result *done_r = block;
    hn_systolic_layer *done_l = (hn_systolic_layer *)(void *)(done_r + n_layers);
    bool *fused = (bool *)(void *)(done_l + n_layers);
    int ndone = 0;
    hn_status st = block ? hn_graph_fused(g, fused) : hn_error_prefix(HN_ERR_NOMEM, "mapping %d nodes", g->nnodes);
    if (st) {
        hn_free(block);
        return st;
    }
    for (int i = 0; i < g->nnodes; i++) {
        const hn_node *n = &g->nodes[i];
        hn_systolic_result r;
        memset(&r, 0, sizeof r);
        if (!fused[i] && (n->op == HN_OP_CONV2D || n->op == HN_OP_LINEAR)) {
            hn_shape in = g->nodes[n->inputs[0]].shape;
            hn_systolic_layer l = {.filter_h = 1, .filter_w = 1, .stride = 1, .repeats = 1};
            snprintf(l.name, sizeof l.name, "%s", n->name);
            if (n->op == HN_OP_CONV2D) {
                /* the padded input as far as a window reads it: SCALE-Sim rounds the output size up, and
                 * rows past the last window would give it one more than the network computes */
                l.ifmap_h = (n->shape.h - 1) * n->stride + n->kernel, l.ifmap_w = (n->shape.w - 1) * n->stride + n->kernel;
                l.filter_h = l.filter_w = n->kernel, l.stride = n->stride;
                l.channels = in.c / n->groups, l.filters = n->out / n->groups, l.repeats = n->groups;
            } else {
                l.ifmap_h = l.ifmap_w = 1, l.channels = in.c * in.h * in.w, l.filters = n->out;
            }
            if ((st = cached_cost(a, &l, done_l, done_r, &ndone, &r))) {
                st = hn_error_prefix(st, "node %s", n->name);
                break;
            }
        } else if (n->op == HN_OP_ATTENTION || n->op == HN_OP_LINEAR_ATTENTION) {
            /* two GEMMs a head, as SCALE-Sim layers of a 1-wide input (rows x reduction x columns):
             * attention: scores T x d x T, then T x T x d with the values; linear attention: V phi(K)^T
             * d x T x d, then its product with the queries T x d x d; the rest as a vector op (the
             * softmax of the scores; ReLU, sums and division) */
            int T = n->shape.h * n->shape.w, d = n->shape.c / n->heads;
            bool lin = n->op == HN_OP_LINEAR_ATTENTION;
            hn_systolic_layer gemm[2] = {{.ifmap_h = lin ? d : T, .ifmap_w = 1, .filter_h = 1, .filter_w = 1,
                                          .channels = lin ? T : d, .filters = lin ? d : T, .stride = 1, .repeats = n->heads},
                                         {.ifmap_h = T, .ifmap_w = 1, .filter_h = 1, .filter_w = 1, .channels = lin ? d : T,
                                          .filters = d, .stride = 1, .repeats = n->heads}};
            for (int k = 0; k < 2 && !st; k++) {
                hn_systolic_result part;
                snprintf(gemm[k].name, sizeof gemm[k].name, "%s.%s", n->name, k ? "values" : lin ? "keys" : "scores");
                if ((st = cached_cost(a, &gemm[k], done_l, done_r, &ndone, &part))) st = hn_error_prefix(st, "node %s", n->name);
                else hn_systolic_accumulate(a, &r, &part);
            }
            if (st) break;
            hn_systolic_result softmax;
            int64_t ops = hw_elementwise_ops(g, n);
            vector_op(a, ops, ops / 3, ops / 3, &softmax);
            hn_systolic_accumulate(a, &r, &softmax);
        } else if (!fused[i]) {
            int64_t ops = hw_elementwise_ops(g, n), out = (int64_t)n->shape.c * n->shape.h * n->shape.w, reads = ops;
            if (n->op == HN_OP_ADD) reads = out * n->ninputs;
            vector_op(a, ops, reads, ops ? out : 0, &r);
        }
        if (layers) layers[i] = r;
        hn_systolic_accumulate(a, total, &r);
    }
    hn_free(block);
    return st;
}
