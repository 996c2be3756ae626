/* Counting on the graph: parameters, MACs, activation sizes, the peak of a sequential schedule and
 * weight bytes, against hand-computed values. */
#include "check.h"
#include "hwnas/hw.h"

static int add(hn_graph *g, hn_node_spec s) {
    int id = -1;
    CHECK_OK(hn_graph_add(g, &s, &id));
    return id;
}

static void chain(void) {
    /* input 1x4x4 (64 B) -> conv3x3 p1 2ch (128 B, 18 params, 288 MACs) -> relu (128 B)
     * -> gap (8 B) -> flatten (8 B) -> linear 3 (12 B, 9 params, 6 MACs).
     * Live bytes per step: 64, 64+128, 128+128 (peak 256), 128+8, 8+8, 8+12. */
    hn_graph *g;
    CHECK_OK(hn_graph_new((hn_shape){1, 4, 4}, &g));
    hn_node_spec c = hn_spec(HN_OP_CONV2D, 0);
    c.out = 2, c.kernel = 3, c.pad = 1;
    int x = add(g, c);
    x = add(g, hn_spec(HN_OP_RELU, x));
    x = add(g, hn_spec(HN_OP_GLOBAL_AVGPOOL, x));
    x = add(g, hn_spec(HN_OP_FLATTEN, x));
    hn_node_spec l = hn_spec(HN_OP_LINEAR, x);
    l.out = 3, l.bias = true;
    add(g, l);
    hn_cost t;
    hn_layer_cost layers[8];
    CHECK_OK(hn_count(g, &t, layers));
    CHECK(t.params == 27 && t.macs == 288 + 6);
    CHECK(t.activation_bytes == 64 + 128 + 128 + 8 + 8 + 12);
    CHECK_MSG(t.peak_activation_bytes == 256, "peak %lld", (long long)t.peak_activation_bytes);
    CHECK(t.weight_bytes == 27 * 4);
    CHECK(layers[1].params == 18 && layers[1].macs == 288 && layers[5].activation_bytes == 12);
    CHECK(layers[0].live_bytes == 64 && layers[1].live_bytes == 192 && layers[2].live_bytes == 256 &&
          layers[5].live_bytes == 20);
    hn_graph_set_numtypes(g, HN_INT4, HN_INT8); /* int8 activations, 4-bit weights */
    CHECK_OK(hn_count(g, &t, NULL));
    /* conv: 18 weights, 9 B; linear: 6 weights, 3 B, and 3 biases at 32 bits, 12 B */
    CHECK_MSG(t.peak_activation_bytes == 64 && t.weight_bytes == 9 + 3 + 12, "peak %lld, weights %lld",
              (long long)t.peak_activation_bytes, (long long)t.weight_bytes);
    /* per layer: the conv keeps fp8 weights and writes int4; relu, pool and flatten pass int4 on; the
     * input takes the first layer's type; the classifier writes fp32 (32 + 64 + 64 + 4 + 4 + 96 bits) */
    hn_graph_set_numtypes(g, HN_FP32, HN_FP32);
    g->nodes[1].wtype = HN_FP8_E4M3, g->nodes[1].atype = HN_INT4;
    hn_graph_propagate_numtypes(g);
    CHECK(g->nodes[0].atype == HN_INT4 && g->nodes[4].atype == HN_INT4 && g->nodes[5].atype == HN_FP32);
    CHECK_OK(hn_count(g, &t, NULL));
    CHECK_MSG(t.activation_bytes == 8 + 16 + 16 + 1 + 1 + 12 && t.weight_bytes == 18 + 24 + 12, "act %lld, weights %lld",
              (long long)t.activation_bytes, (long long)t.weight_bytes);
    hn_graph_free(g);
}

static void dag(void) {
    /* input 1x2x2 (16 B); a = conv1x1 2ch (32 B); b = conv1x1 2ch of input (32 B); add(a, b) (32 B).
     * Steps: 16; 16+32; 16+32+32 = 80 (peak), input dies; 32+32+32 = 96 (peak). */
    hn_graph *g;
    CHECK_OK(hn_graph_new((hn_shape){1, 2, 2}, &g));
    hn_node_spec c = hn_spec(HN_OP_CONV2D, 0);
    c.out = 2, c.kernel = 1;
    int a = add(g, c), b = add(g, c);
    hn_node_spec s = hn_spec(HN_OP_ADD, a);
    s.ninputs = 2, s.inputs[1] = b;
    add(g, s);
    hn_cost t;
    CHECK_OK(hn_count(g, &t, NULL));
    CHECK_MSG(t.peak_activation_bytes == 96, "peak %lld", (long long)t.peak_activation_bytes);
    CHECK(t.activation_bytes == 16 + 32 * 3 && t.params == 4 && t.macs == 16);
    hn_graph_free(g);
}

/* A graph larger than the count's stack array: correct without injected failures, and an allocation
 * that fails is an error, not a crash. Peak: two relu outputs of 4 bytes alive at once. */
static void long_graph(void) {
    hn_graph *g;
    CHECK_OK(hn_graph_new((hn_shape){1, 1, 1}, &g));
    int x = 0;
    for (int i = 0; i < 1500; i++) x = add(g, hn_spec(HN_OP_RELU, x));
    hn_cost t;
    CHECK_OK(hn_count(g, &t, NULL));
    CHECK(t.peak_activation_bytes == 8 && t.activation_bytes == 1501 * 4);
    hn_alloc_fail_after(1);
    CHECK_ERR(hn_count(g, &t, NULL), HN_ERR_NOMEM, "counting a graph of 1501 nodes");
    hn_alloc_fail_after(0);
    hn_graph_free(g);
}

/* One SCALE-Sim reference row: the array and the layer from its columns, SCALE-Sim's reports. */
typedef struct {
    hn_systolic a;
    hn_systolic_layer l;
    long long total, stall, sif, sfi, sof, dif, dfi, dof;
    double overall, mapping, compute;
} ref_row;

static bool parse_row(char *line, ref_row *r) {
    char name[64], df[8], mode[8];
    double ikb, fkb, okb, bw;
    memset(r, 0, sizeof *r);
    int k = sscanf(line,
                   "%63[^,],%d,%d,%7[^,],%lf,%lf,%lf,%7[^,],%lf,%63[^,],%d,%d,%d,%d,%d,%d,%d,%lld,%lld,%lf,%lf,%lf,%lld,"
                   "%lld,%lld,%lld,%lld,%lld",
                   name, &r->a.rows, &r->a.cols, df, &ikb, &fkb, &okb, mode, &bw, r->l.name, &r->l.ifmap_h,
                   &r->l.ifmap_w, &r->l.filter_h, &r->l.filter_w, &r->l.channels, &r->l.filters, &r->l.stride, &r->total,
                   &r->stall, &r->overall, &r->mapping, &r->compute, &r->sif, &r->sfi, &r->sof, &r->dif, &r->dfi, &r->dof);
    if (k != 28) return false;
    r->a.dataflow = !strcmp(df, "os") ? HN_DATAFLOW_OS : !strcmp(df, "ws") ? HN_DATAFLOW_WS : HN_DATAFLOW_IS;
    r->a.ifmap_sram_kb = ikb, r->a.filter_sram_kb = fkb, r->a.ofmap_sram_kb = okb;
    r->a.bandwidth = strcmp(mode, "CALC") ? bw : 0;
    r->a.word_bytes = 1;
    r->l.repeats = 1;
    return true;
}

static bool close_rel(double a, double b) { return fabs(a - b) <= 1e-9 * fmax(1, fabs(b)); }

/* Set A (no stalls): cycles, mapping efficiency, compute and overall utilisation and SRAM traffic equal
 * SCALE-Sim's exactly, in all three dataflows. Set C (bandwidth-limited): the compute part (cycles
 * without stalls), efficiencies and SRAM traffic exactly; the DRAM estimate is only reported. */
static void scalesim_reference(const char *file, int want_rows, bool stalls) {
    char path[1024], line[1024];
    snprintf(path, sizeof path, "%s/../../shared/reference/scalesim/%s", HWNAS_TEST_DIR, file);
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "cannot open %s (../shared must sit beside the repository)", path);
    if (!f) return;
    int rows = 0, exact = 0;
    double worst_total = 0, worst_dram = 0;
    if (!fgets(line, sizeof line, f)) line[0] = 0;
    while (fgets(line, sizeof line, f)) {
        ref_row r;
        if (!parse_row(line, &r)) continue;
        rows++;
        hn_systolic_result m;
        hn_systolic_layer_cost(&r.a, &r.l, &m);
        long long compute = r.total - r.stall;
        bool ok = m.total_cycles - m.stall_cycles == compute && close_rel(m.mapping_efficiency, r.mapping) &&
                  close_rel(m.compute_utilization, r.compute) && m.sram_ifmap_reads == r.sif &&
                  m.sram_filter_reads == r.sfi && m.sram_ofmap_writes == r.sof;
        if (!stalls) ok &= m.stall_cycles == 0 && close_rel(m.overall_utilization, r.overall);
        CHECK_MSG(ok, "%s: %dx%d %s: cycles %lld (want %lld), mapping %.6f (%.6f), compute %.6f (%.6f), overall %.6f "
                      "(%.6f), SRAM %lld/%lld/%lld (%lld/%lld/%lld)",
                  file, r.a.rows, r.a.cols, r.l.name, (long long)(m.total_cycles - m.stall_cycles), compute,
                  m.mapping_efficiency, r.mapping, m.compute_utilization, r.compute, m.overall_utilization, r.overall,
                  (long long)m.sram_ifmap_reads, (long long)m.sram_filter_reads, (long long)m.sram_ofmap_writes, r.sif,
                  r.sfi, r.sof);
        exact += ok;
        double dt = fabs((double)m.total_cycles / r.total - 1);
        double dd = fabs((double)(m.dram_ifmap_reads + m.dram_filter_reads + m.dram_ofmap_writes) / (r.dif + r.dfi + r.dof) - 1);
        worst_total = fmax(worst_total, dt), worst_dram = fmax(worst_dram, dd);
    }
    fclose(f);
    CHECK_MSG(rows == want_rows && exact == rows, "%s: %d of %d rows exact", file, exact, rows);
    fprintf(stderr, "%s: %d rows exact; total cycles within %.1f %%, DRAM words within %.1f %% of SCALE-Sim\n", file,
            exact, 100 * worst_total, 100 * worst_dram);
}

static void scalesim_files(void) {
    char topo[1024];
    snprintf(topo, sizeof topo, "%s/../../shared/reference/scalesim/set-a-topology.csv", HWNAS_TEST_DIR);
    hn_systolic_layer *layers = NULL;
    int n = 0;
    CHECK_OK(hn_scalesim_read_topology(topo, &layers, &n));
    CHECK(n == 7 && layers && !strcmp(layers[0].name, "stem3x3") && layers[3].stride == 2 && layers[6].channels == 64);
    hn_free(layers);
    const char *cfg = "test_hw_scalesim.cfg";
    FILE *f = fopen(cfg, "w");
    fputs("[general]\nrun_name = ws32\n\n[architecture_presets]\nArrayHeight:    32\nArrayWidth:     32\n"
          "IfmapSramSzkB:    64\nFilterSramSzkB:   64\nOfmapSramSzkB:    64\nIfmapOffset:    0\n"
          "FilterOffset:   10000000\nOfmapOffset:    20000000\nBandwidth : 10\nDataflow : ws\nMemoryBanks: 1\n\n"
          "[run_presets]\nInterfaceBandwidth: CALC\n",
          f);
    fclose(f);
    hn_systolic a = {0};
    CHECK_OK(hn_scalesim_read_config(cfg, &a));
    CHECK(a.rows == 32 && a.cols == 32 && a.dataflow == HN_DATAFLOW_WS && a.ifmap_sram_kb == 64 && a.bandwidth == 0);
    f = fopen(cfg, "w");
    fputs("[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\nDataflow: xs\n", f);
    fclose(f);
    CHECK_ERR(hn_scalesim_read_config(cfg, &a), HN_ERR_INVALID, "test_hw_scalesim.cfg:4: Dataflow: bad value 'xs' (os, ws or is)");
    f = fopen(cfg, "w");
    fputs("ArrayHeight: 8\nArrayWidht: 8\n", f);
    fclose(f);
    CHECK_ERR(hn_scalesim_read_config(cfg, &a), HN_ERR_INVALID, "test_hw_scalesim.cfg:2: unknown key 'ArrayWidht'");
    f = fopen(cfg, "w");
    fputs("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
          "conv1, 32, 32, 3, 3, 3, x, 1,\n",
          f);
    fclose(f);
    CHECK_ERR(hn_scalesim_read_topology(cfg, &layers, &n), HN_ERR_INVALID,
              "test_hw_scalesim.cfg:2: layer 'conv1': field 'Num Filter': expected a positive integer, got 'x'");
    remove(cfg);
}

int main(void) {
    scalesim_reference("scalesim-v2-set-a.csv", 56, false);
    scalesim_reference("scalesim-v2-set-c-bandwidth.csv", 21, true);
    scalesim_files();
    chain();
    dag();
    long_graph();
    return check_report();
}
