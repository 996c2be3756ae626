/* Counting on the graph: parameters, MACs, activation sizes, the peak of a sequential schedule and
 * weight bytes, against hand-computed values. */
#include "check.h"
#include "hwnas/hw.h"
#include "hwnas/provider.h"
#include "hwnas/space.h"

static int add(hn_graph *g, hn_node_spec s) {
    int id = -1;
    CHECK_OK(hn_graph_add(g, &s, &id));
    return id;
}

/* input 1x4x4 -> conv3x3 p1 2ch -> [batchnorm ->] relu -> gap -> flatten -> linear 3 */
static hn_graph *conv_chain(bool batchnorm) {
    hn_graph *g;
    CHECK_OK(hn_graph_new((hn_shape){1, 4, 4}, &g));
    hn_node_spec c = hn_spec(HN_OP_CONV2D, 0);
    c.out = 2, c.kernel = 3, c.pad = 1;
    int x = add(g, c);
    if (batchnorm) x = add(g, hn_spec(HN_OP_BATCHNORM, x));
    x = add(g, hn_spec(HN_OP_RELU, x));
    x = add(g, hn_spec(HN_OP_GLOBAL_AVGPOOL, x));
    x = add(g, hn_spec(HN_OP_FLATTEN, x));
    hn_node_spec l = hn_spec(HN_OP_LINEAR, x);
    l.out = 3, l.bias = true;
    add(g, l);
    return g;
}

static void chain(void) {
    /* input 1x4x4 (64 B) -> conv3x3 p1 2ch (128 B, 18 params, 288 MACs) -> relu (128 B)
     * -> gap (8 B) -> flatten (8 B) -> linear 3 (12 B, 9 params, 6 MACs).
     * Live bytes per step: 64, 64+128, 128+128 (peak 256), 128+8, 8+8, 8+12. */
    hn_graph *g = conv_chain(false);
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

/* A file of SCALE-Sim v2 rows (../shared/reference/scalesim, or tests/ref/gen_scalesim.py's random
 * draw): every metric of every row must equal SCALE-Sim's -- total and stall cycles, mapping
 * efficiency, compute and overall utilisation, the SRAM and the DRAM counts of each operand -- in
 * every dataflow, with CALC's unlimited bandwidth as with a user-set one. A summary line says which
 * metrics differ on how many rows, so that a failing draw points at the part of the model to fix. */
static void scalesim_reference(const char *path, int want_rows) {
    char line[1024];
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "cannot open %s (../shared must sit beside the repository)", path);
    if (!f) return;
    enum { TOTAL, STALL, MAPPING, COMPUTE, OVERALL, SIF, SFI, SOF, DIF, DFI, DOF, NMETRIC };
    static const char *const metric[NMETRIC] = {"total", "stall", "mapping", "compute", "overall", "sram_ifmap",
                                                "sram_filter", "sram_ofmap", "dram_ifmap", "dram_filter", "dram_ofmap"};
    int rows = 0, exact = 0, limited = 0, differ[NMETRIC] = {0}, printed = 0;
    while (fgets(line, sizeof line, f)) {
        ref_row r;
        if (line[0] == '#' || !parse_row(line, &r)) continue; /* the generator's comment, the header */
        rows++;
        limited += r.a.bandwidth > 0;
        hn_systolic_result m;
        hn_status st = hn_systolic_layer_cost(&r.a, &r.l, &m);
        CHECK_MSG(st == HN_OK, "%s: %s: %s", path, r.l.name, hn_last_error());
        if (st) continue;
        const bool same[NMETRIC] = {m.total_cycles == r.total, m.stall_cycles == r.stall,
                                    close_rel(m.mapping_efficiency, r.mapping), close_rel(m.compute_utilization, r.compute),
                                    close_rel(m.overall_utilization, r.overall), m.sram_ifmap_reads == r.sif,
                                    m.sram_filter_reads == r.sfi, m.sram_ofmap_writes == r.sof,
                                    m.dram_ifmap_reads == r.dif, m.dram_filter_reads == r.dfi,
                                    m.dram_ofmap_writes == r.dof};
        bool ok = true;
        for (int k = 0; k < NMETRIC; k++) ok &= same[k], differ[k] += !same[k];
        exact += ok;
        if (!ok && printed++ < 12)
            fprintf(stderr,
                    "%s: %s %dx%d %s sram %g/%g/%g bw %g, layer %dx%d %dx%d c%d f%d s%d: total %lld (want %lld), "
                    "stalls %lld (%lld), mapping %.6f (%.6f), compute %.6f (%.6f), overall %.6f (%.6f), SRAM "
                    "%lld/%lld/%lld (%lld/%lld/%lld), DRAM %lld/%lld/%lld (%lld/%lld/%lld)\n",
                    path, r.l.name, r.a.rows, r.a.cols, r.a.dataflow == HN_DATAFLOW_OS ? "os" : r.a.dataflow == HN_DATAFLOW_WS ? "ws" : "is",
                    r.a.ifmap_sram_kb, r.a.filter_sram_kb, r.a.ofmap_sram_kb, r.a.bandwidth, r.l.ifmap_h, r.l.ifmap_w,
                    r.l.filter_h, r.l.filter_w, r.l.channels, r.l.filters, r.l.stride, (long long)m.total_cycles, r.total,
                    (long long)m.stall_cycles, r.stall, m.mapping_efficiency, r.mapping, m.compute_utilization, r.compute,
                    m.overall_utilization, r.overall, (long long)m.sram_ifmap_reads, (long long)m.sram_filter_reads,
                    (long long)m.sram_ofmap_writes, r.sif, r.sfi, r.sof, (long long)m.dram_ifmap_reads,
                    (long long)m.dram_filter_reads, (long long)m.dram_ofmap_writes, r.dif, r.dfi, r.dof);
    }
    fclose(f);
    char summary[512] = "";
    for (int k = 0, n = 0; k < NMETRIC; k++)
        if (differ[k]) n += snprintf(summary + n, sizeof summary - (size_t)n, " %s %d", metric[k], differ[k]);
    CHECK_MSG((want_rows < 0 || rows == want_rows) && exact == rows && rows > 0, "%s: %d of %d rows exact; rows differing by metric:%s",
              path, exact, rows, summary);
    fprintf(stderr, "%s: %d of %d rows exact (%d bandwidth-limited)\n", path, exact, rows, limited);
}

/* The replayed buffers on random small layers and arrays, SRAMs down to two words: they finish, the
 * stalls are the cycles over the compute part, every output and every filter word reaches DRAM at
 * least once. A one-word SRAM (no prefetch half) is refused with a message naming it. */
static void systolic_memory_properties(void) {
    uint64_t x = 12345;
    for (int k = 0; k < 300; k++) {
        hn_systolic a = {.word_bytes = 1};
        hn_systolic_layer l = {.repeats = 1};
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        a.rows = 1 + (int)(x >> 60 & 7), a.cols = 1 + (int)(x >> 56 & 7), a.dataflow = (hn_dataflow)((x >> 40) % 3);
        const double kb[] = {2.0 / 1024, 3.0 / 1024, 0.05, 0.25, 1, 8};
        a.ifmap_sram_kb = kb[(x >> 20) % 6], a.filter_sram_kb = kb[(x >> 24) % 6], a.ofmap_sram_kb = kb[(x >> 28) % 6];
        a.bandwidth = 1 + (double)((x >> 32) % 4);
        l.filter_h = l.filter_w = 1 + (int)((x >> 8) % 3), l.stride = 1 + (int)((x >> 12) % 2);
        l.ifmap_h = l.filter_h + (int)((x >> 14) % 6), l.ifmap_w = l.filter_w + (int)((x >> 17) % 6);
        l.channels = 1 + (int)((x >> 44) % 5), l.filters = 1 + (int)((x >> 48) % 9);
        hn_systolic_result m, unlimited;
        CHECK_OK(hn_systolic_layer_cost(&a, &l, &m));
        hn_systolic b = a; /* CALC, with SRAMs its estimate accepts */
        b.bandwidth = 0, b.ifmap_sram_kb = b.filter_sram_kb = b.ofmap_sram_kb = 1;
        CHECK_OK(hn_systolic_layer_cost(&b, &l, &unlimited));
        int64_t oh = (l.ifmap_h - l.filter_h + l.stride) / l.stride, ow = (l.ifmap_w - l.filter_w + l.stride) / l.stride;
        int64_t outputs = oh * ow * l.filters, filter_words = (int64_t)l.filter_h * l.filter_w * l.channels * l.filters;
        CHECK_MSG(m.total_cycles - m.stall_cycles == unlimited.total_cycles - unlimited.stall_cycles && m.stall_cycles >= 0 &&
                      m.dram_ofmap_writes >= outputs && m.dram_filter_reads >= filter_words &&
                      m.sram_ifmap_reads == unlimited.sram_ifmap_reads,
                  "case %d: %dx%d df %d sram %g/%g/%g kB bw %g, layer %dx%d k%d s%d c%d f%d: total %lld stall %lld "
                  "(compute %lld), DRAM %lld/%lld/%lld",
                  k, a.rows, a.cols, (int)a.dataflow, a.ifmap_sram_kb, a.filter_sram_kb, a.ofmap_sram_kb, a.bandwidth,
                  l.ifmap_h, l.ifmap_w, l.filter_h, l.stride, l.channels, l.filters, (long long)m.total_cycles,
                  (long long)m.stall_cycles, (long long)unlimited.total_cycles, (long long)m.dram_ifmap_reads,
                  (long long)m.dram_filter_reads, (long long)m.dram_ofmap_writes);
    }
    hn_systolic a = {.rows = 4, .cols = 4, .dataflow = HN_DATAFLOW_WS, .ifmap_sram_kb = 1.0 / 1024, .filter_sram_kb = 1,
                     .ofmap_sram_kb = 1, .bandwidth = 1, .word_bytes = 1};
    hn_systolic_layer l = {.ifmap_h = 6, .ifmap_w = 6, .filter_h = 3, .filter_w = 3, .channels = 2, .filters = 4,
                           .stride = 1, .repeats = 1};
    hn_systolic_result m;
    CHECK(hn_systolic_layer_cost(&a, &l, &m) == HN_ERR_INVALID && strstr(hn_last_error(), "ifmap SRAM holds 1 word"));
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

/* A made-up MCU with round numbers, so that every figure below can be computed by hand. */
static hn_mcu test_mcu(void) {
    hn_mcu m = {.clock_hz = 1e6, .sram_bytes = 1000, .flash_bytes = 2000, .runtime_sram_bytes = 10,
                .runtime_flash_bytes = 100, .elementwise_cycles = 1, .power_w = 1};
    const double int8[HN_KERNEL_COUNT] = {1, 0.5, 2, 1};
    memcpy(m.macs_per_cycle[HN_CLASS_INT8], int8, sizeof int8);
    return m;
}

static hn_device mcu_device(void) {
    hn_device d;
    CHECK_OK(hn_device_init(&d, "mcu", "test"));
    *(hn_mcu *)hn_device_params(&d, "mcu") = test_mcu();
    return d;
}

static void mcu_cases(void) {
    hn_device d = mcu_device();
    hn_hw_cost t, layers[8];
    /* chain, int8: the conv's step holds the input (16 B), its output (32 B) and CMSIS-NN's im2col
     * scratch (4 x 1 x 3 x 3 rounded up to 4 x 12 = 48 B): 96, plus the runtime's 10. Batch norm and relu are fused, flatten
     * is a view. Cycles: conv 288 MACs at 1, pooling 32 elements at 1, linear 6 MACs at 1. Flash:
     * conv 18 B of weights + 2 x 12 B (bias, multiplier, shift), linear 6 + 3 x 12, runtime 100. */
    hn_graph *g = conv_chain(true);
    hn_graph_set_numtypes(g, HN_INT8, HN_INT8);
    CHECK_OK(hn_device_cost(&d, g, &t, layers));
    CHECK_MSG(t.peak_sram_bytes == 106 && t.cycles == 326 && t.flash_bytes == 184 && t.fits, "chain: sram %lld cycles %lld flash %lld",
              (long long)t.peak_sram_bytes, (long long)t.cycles, (long long)t.flash_bytes);
    CHECK(fabs(t.latency_s - 326e-6) < 1e-12 && fabs(t.energy_j - 326e-6) < 1e-12);
    CHECK(layers[1].cycles == 288 && layers[2].cycles == 0 && layers[3].cycles == 0 && layers[4].cycles == 32);
    /* float32 on a device with only int8 kernels is an error that names the node */
    hn_graph_set_numtypes(g, HN_FP32, HN_FP32);
    CHECK_ERR(hn_device_cost(&d, g, &t, NULL), HN_ERR_INVALID, "node 'conv2d1': the device has no conv kernel");
    hn_graph_free(g);

    /* residual: input 2x2x2 (8 B); a = pointwise conv (8 B, no scratch); relu fused into it;
     * add(input, a) (8 B): 8, 16, 16, 24 -> peak 24 + 10. Counting without fusion agrees here. */
    CHECK_OK(hn_graph_new((hn_shape){2, 2, 2}, &g));
    hn_node_spec c = hn_spec(HN_OP_CONV2D, 0);
    c.out = 2, c.kernel = 1;
    int a = add(g, c), r = add(g, hn_spec(HN_OP_RELU, a));
    hn_node_spec s = hn_spec(HN_OP_ADD, 0);
    s.ninputs = 2, s.inputs[1] = r;
    add(g, s);
    hn_graph_set_numtypes(g, HN_INT8, HN_INT8);
    hn_cost cnt;
    CHECK_OK(hn_device_cost(&d, g, &t, NULL));
    CHECK_OK(hn_count(g, &cnt, NULL));
    CHECK_MSG(t.peak_sram_bytes == 34 && cnt.peak_activation_bytes == 24, "residual: %lld, counting %lld",
              (long long)t.peak_sram_bytes, (long long)cnt.peak_activation_bytes);
    CHECK(t.cycles == 16 / 2 + 8); /* 16 MACs at 2 per cycle, 8 additions */
    hn_graph_free(g);

    /* concat: input 1x2x2 (4 B); pointwise convs to 2 and 3 channels (8 and 12 B); concat (20 B):
     * 4, 12, 24 (the input dies), 20 + 20 = 40 -> 50. Without fusable nodes the MCU's peak is the
     * counting's peak plus the runtime. */
    CHECK_OK(hn_graph_new((hn_shape){1, 2, 2}, &g));
    c = hn_spec(HN_OP_CONV2D, 0);
    c.out = 2, c.kernel = 1;
    int c1 = add(g, c);
    c.out = 3;
    int c2 = add(g, c);
    s = hn_spec(HN_OP_CONCAT, c1);
    s.ninputs = 2, s.inputs[1] = c2;
    add(g, s);
    hn_graph_set_numtypes(g, HN_INT8, HN_INT8);
    CHECK_OK(hn_device_cost(&d, g, &t, NULL));
    CHECK_OK(hn_count(g, &cnt, NULL));
    CHECK_MSG(t.peak_sram_bytes == 50 && cnt.peak_activation_bytes + 10 == 50 && t.cycles == 4 + 6,
              "concat: %lld, counting %lld, cycles %lld", (long long)t.peak_sram_bytes,
              (long long)cnt.peak_activation_bytes, (long long)t.cycles);
    /* too little SRAM: does not fit */
    ((hn_mcu *)hn_device_params(&d, "mcu"))->sram_bytes = 49;
    CHECK_OK(hn_device_cost(&d, g, &t, NULL));
    CHECK(!t.fits);
    hn_graph_free(g);
}

/* Both attention kinds on 64 tokens (8x8) of D = 8 value channels, 2 heads (d = 4), int8: the MACs, the
 * MCU's cycles (products at the linear kernel's 1 MAC a cycle, elementwise work at 1 a cycle) and SRAM
 * (the stacked input 1,536 B + the output 512 B + the kernel's scratch + the runtime's 10), and the
 * systolic array's two GEMMs a head. */
static void attention_costs(void) {
    hn_device d = mcu_device();
    hn_systolic a = {.rows = 8, .cols = 8, .dataflow = HN_DATAFLOW_OS, .ifmap_sram_kb = 64, .filter_sram_kb = 64,
                     .ofmap_sram_kb = 64, .word_bytes = 1, .clock_hz = 1e9};
    const int64_t T = 64, D = 8, dh = 4;
    for (int kind = 0; kind < 2; kind++) {
        hn_graph *g;
        CHECK_OK(hn_graph_new((hn_shape){3 * (int)D, 8, 8}, &g));
        hn_node_spec s = hn_spec(kind ? HN_OP_LINEAR_ATTENTION : HN_OP_ATTENTION, 0);
        s.heads = 2;
        add(g, s);
        hn_graph_set_numtypes(g, HN_INT8, HN_INT8);
        /* softmax: Q^T K and P V, 2 T^2 D; its softmax 3 T^2 per head; scratch one query's int32 scores
         * and int8 probabilities, 5 T. Linear: V relu(K)^T and its product with the queries, 2 T d D,
         * the denominators T D; ReLUs, sums and division 4 T D; scratch a head's d x d and d sums in int32 */
        int64_t macs = kind ? 2 * T * dh * D + T * D : 2 * T * T * D, ew = kind ? 4 * T * D : 3 * T * T * 2;
        int64_t scratch = kind ? 4 * (dh * dh + dh) : 5 * T, gemm = kind ? 2 * 2 * dh * T * dh : macs;
        hn_hw_cost t;
        CHECK_OK(hn_device_cost(&d, g, &t, NULL));
        CHECK_MSG(hn_graph_macs(g) == macs && t.cycles == macs + ew && t.peak_sram_bytes == 3 * D * T + D * T + scratch + 10,
                  "%s: MACs %lld, cycles %lld, SRAM %lld", kind ? "linear attention" : "attention",
                  (long long)hn_graph_macs(g), (long long)t.cycles, (long long)t.peak_sram_bytes);
        hn_systolic_result total, layers[2];
        CHECK_OK(hn_systolic_graph(&a, g, &total, layers));
        CHECK_MSG(layers[1].macs == gemm, "%s on the array: %lld MACs, want %lld", kind ? "linear attention" : "attention",
                  (long long)layers[1].macs, (long long)gemm);
        hn_graph_free(g);
    }
}

static void roofline_case(void) {
    /* conv 3x3 p1 1->2 on 4x4, float32: 576 operations at 1e9/s = 0.576 us; 264 bytes (input 64,
     * output 128, weights 72) at 1e8 B/s = 2.64 us: memory-bound, + 1 us overhead. Energy: 288 MACs x
     * 1 pJ + 264 B x 10 pJ. The fused batch norm and relu cost nothing. */
    hn_device d;
    CHECK_OK(hn_device_init(&d, "roofline", "test"));
    CHECK(!hn_device_params(&d, "mcu")); /* not of that kind */
    hn_roofline *r = hn_device_params(&d, "roofline");
    r->peak_ops[HN_CLASS_FP32] = 1e9;
    r->bandwidth_bytes_s = 1e8;
    r->layer_overhead_s = 1e-6;
    r->op_pj[HN_CLASS_FP32] = 1;
    r->byte_pj = 10;
    hn_graph *g;
    CHECK_OK(hn_graph_new((hn_shape){1, 4, 4}, &g));
    hn_node_spec c = hn_spec(HN_OP_CONV2D, 0);
    c.out = 2, c.kernel = 3, c.pad = 1;
    int x = add(g, c);
    add(g, hn_spec(HN_OP_RELU, add(g, hn_spec(HN_OP_BATCHNORM, x))));
    hn_hw_cost t;
    CHECK_OK(hn_device_cost(&d, g, &t, NULL));
    CHECK_MSG(fabs(t.latency_s - 3.64e-6) < 1e-12 && fabs(t.energy_j - 2928e-12) < 1e-18, "latency %g energy %g",
              t.latency_s, t.energy_j);
    hn_graph_free(g);
}

/* The graph mapping of the systolic model: a padded 3x3 convolution on 3x32x32 is SCALE-Sim's layer
 * on a 34x34 input (set A's stem3x3 on the 8x8 OS array: 10495 cycles); a depthwise convolution runs
 * one layer per channel. */
static void systolic_graph(void) {
    hn_systolic a = {.rows = 8, .cols = 8, .dataflow = HN_DATAFLOW_OS, .ifmap_sram_kb = 64, .filter_sram_kb = 64,
                     .ofmap_sram_kb = 64, .word_bytes = 1, .clock_hz = 1e9};
    hn_graph *g;
    CHECK_OK(hn_graph_new((hn_shape){3, 32, 32}, &g));
    hn_node_spec c = hn_spec(HN_OP_CONV2D, 0);
    c.out = 16, c.kernel = 3, c.pad = 1;
    int x = add(g, c);
    x = add(g, hn_spec(HN_OP_RELU, add(g, hn_spec(HN_OP_BATCHNORM, x))));
    hn_node_spec dw = hn_spec(HN_OP_CONV2D, x);
    dw.out = 16, dw.kernel = 3, dw.pad = 1, dw.groups = 16;
    add(g, dw);
    hn_systolic_result total, layers[8];
    CHECK_OK(hn_systolic_graph(&a, g, &total, layers));
    hn_systolic_layer one = {"dw", 34, 34, 3, 3, 1, 1, 1, 1};
    hn_systolic_result r1;
    CHECK_OK(hn_systolic_layer_cost(&a, &one, &r1));
    CHECK_MSG(layers[1].total_cycles == 10495 && layers[2].total_cycles == 0 && layers[3].total_cycles == 0 &&
                  layers[4].total_cycles == 16 * r1.total_cycles && total.total_cycles == 10495 + 16 * r1.total_cycles,
              "conv %lld, depthwise %lld (one channel %lld)", (long long)layers[1].total_cycles,
              (long long)layers[4].total_cycles, (long long)r1.total_cycles);
    /* under a limited bandwidth the network's layers are replayed ones: the depthwise layer is 16
     * copies of its one-channel replay, stalls included */
    a.bandwidth = 1, a.ifmap_sram_kb = a.filter_sram_kb = a.ofmap_sram_kb = 0.5;
    CHECK_OK(hn_systolic_graph(&a, g, &total, layers));
    CHECK_OK(hn_systolic_layer_cost(&a, &one, &r1));
    CHECK_MSG(layers[4].total_cycles == 16 * r1.total_cycles && layers[4].stall_cycles == 16 * r1.stall_cycles &&
                  layers[4].dram_ifmap_reads == 16 * r1.dram_ifmap_reads && r1.stall_cycles > 0 &&
                  total.stall_cycles > layers[4].stall_cycles,
              "depthwise %lld cycles, %lld stalls (one channel %lld, %lld)", (long long)layers[4].total_cycles,
              (long long)layers[4].stall_cycles, (long long)r1.total_cycles, (long long)r1.stall_cycles);
    a.filter_sram_kb = 1.0 / 1024; /* one word: refused, naming the node */
    CHECK(hn_systolic_graph(&a, g, &total, layers) == HN_ERR_INVALID && strstr(hn_last_error(), "node ") &&
          strstr(hn_last_error(), "filter SRAM holds 1 word"));
    hn_graph_free(g);
}

static void device_files(void) {
    hn_device d;
    char path[1024];
    snprintf(path, sizeof path, "%s/../devices", HWNAS_TEST_DIR);
    const char *dirs[] = {path, NULL};
    char found[1024];
    const char *names[] = {"cortex-m7", "cortex-m4", "systolic-32x32", "eyeriss", "edge-gpu", "host"};
    for (int i = 0; i < 6; i++) {
        CHECK_OK(hn_device_find(names[i], dirs, found, sizeof found));
        CHECK_OK(hn_device_load(found, &d));
        CHECK(!strcmp(d.name, names[i]));
    }
    CHECK_OK(hn_device_load(found, &d)); /* the last one: host */
    CHECK(!strcmp(hn_device_kind(&d), "host") && ((const hn_host *)hn_device_params_const(&d, "host"))->runs == 15);
    CHECK_ERR(hn_device_init(&d, "fpga", "x"), HN_ERR_INVALID, "unknown device kind 'fpga'");
    CHECK_ERR(hn_device_find("nosuch", dirs, found, sizeof found), HN_ERR_INVALID, "unknown device 'nosuch'");
    const char *tmp = "test_hw_device.yaml";
    struct {
        const char *text, *want;
    } bad[] = {
        {"name: x\nkind: fpga\n", "test_hw_device.yaml:2: field 'kind': expected host, mcu, roofline or systolic, got 'fpga'"},
        {"name: x\nkind: mcu\nclock_hz: 1e6\nsram_bytes: 10\nflash_bytes: 10\nmacs_per_cycle: {int8: {conv: 1}}\nsram: 3\n",
         "test_hw_device.yaml:7: unknown field 'sram'"},
        {"name: x\nkind: mcu\nclock_hz: 1e6\nsram_bytes: 10\nflash_bytes: 10\nmacs_per_cycle: {int7: {conv: 1}}\n",
         "test_hw_device.yaml:6: unknown field 'int7' in macs_per_cycle"},
        {"name: x\nkind: systolic\nrows: 0\n", "test_hw_device.yaml:3: field 'rows': expected an integer in [1, 65536], got '0'"},
        {"name: x\nkind: systolic\nrows: 4\ncols: 4\nclock_hz: 1e9\n", "a systolic profile needs the field 'ifmap_sram_kb'"},
        {"kind: host\n", "missing the field 'name'"},
        {"name: x\nkind: roofline\npeak_ops: {fp32: -1}\n", "test_hw_device.yaml:3: field 'fp32': expected a number"},
        /* no energy data: an error, not an energy of 0 J */
        {"name: x\nkind: mcu\nclock_hz: 1e6\nsram_bytes: 10\nflash_bytes: 10\nmacs_per_cycle: {int8: {conv: 1}}\n",
         "a mcu profile needs the field 'power_w'"},
        {"name: x\nkind: roofline\npeak_ops: {int8: 1e12, fp32: 1e11}\nbandwidth_bytes_s: 1e9\nenergy_pj: {fp32: 1, byte: 10}\n",
         "a roofline profile needs the field 'energy_pj.int8'"},
        {"name: x\nkind: roofline\npeak_ops: {fp32: 1e11}\nbandwidth_bytes_s: 1e9\nenergy_pj: {fp32: 1}\n",
         "a roofline profile needs the field 'energy_pj.byte'"},
        {"name: [x\n", "YAML syntax error"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FILE *f = fopen(tmp, "w");
        fputs(bad[i].text, f);
        fclose(f);
        CHECK_ERR(hn_device_load(tmp, &d), HN_ERR_INVALID, bad[i].want);
    }
    remove(tmp);
}

/* The host: a measured latency, and a lookup table that measures each distinct node once, predicts
 * the fused nodes as free, and survives a round trip through its file. */
static void host_cases(void) {
    hn_host h = {1, 1, 3, ""};
    hn_graph *g = conv_chain(true);
    CHECK_OK(hn_graph_finalize(g));
    hn_graph_init_params(g, 1);
    double t = 0, nodes[8], sum = 0;
    CHECK_OK(hn_host_measure(&h, g, false, &t, nodes));
    CHECK(t > 0 && t < 1 && nodes[1] > 0);
    /* the fastest steps of the runs add up to no more than the fastest whole pass (which also holds
     * the clock reads between steps), and are most of it */
    CHECK_OK(hn_host_measure(&h, g, true, &t, nodes));
    for (int i = 0; i < g->nnodes; i++) sum += nodes[i];
    CHECK_MSG(sum <= t * 1.0001 && sum > 0.3 * t, "fastest pass %g s, fastest steps %g s", t, sum);
    const char *path = "test_hw_lut.tsv";
    remove(path);
    hn_host_lut *lut;
    double pred, per[8];
    CHECK_OK(hn_host_lut_open(&h, path, &lut));
    CHECK_OK(hn_host_lut_predict(lut, g, &pred, per));
    CHECK(hn_host_lut_size(lut) == 3 && pred > 0 && per[2] == 0 && per[3] == 0 && per[1] > 0); /* conv, gap, linear */
    CHECK_OK(hn_host_lut_close(lut));
    CHECK_OK(hn_host_lut_open(&h, path, &lut));
    CHECK(hn_host_lut_size(lut) == 3);
    double again;
    CHECK_OK(hn_host_lut_predict(lut, g, &again, NULL));
    CHECK(fabs(again - pred) <= 1e-6 * pred && hn_host_lut_size(lut) == 3); /* the file keeps 9 digits */
    CHECK_OK(hn_host_lut_close(lut));
    FILE *f = fopen(path, "a");
    fputs("broken line\n", f);
    fclose(f);
    CHECK_ERR(hn_host_lut_open(&h, path, &lut), HN_ERR_FORMAT, "test_hw_lut.tsv:4: expected KEY<tab>SECONDS");
    remove(path);
    hn_graph_free(g);
}

static void spearman(void) {
    double a[5] = {1, 2, 3, 4, 5}, b[5] = {10, 20, 30, 40, 50}, c[5] = {5, 4, 3, 2, 1}, ties[5] = {1, 1, 2, 3, 3};
    CHECK(fabs(hn_spearman(a, b, 5) - 1) < 1e-12 && fabs(hn_spearman(a, c, 5) + 1) < 1e-12);
    /* ranks of ties: 1.5 1.5 3 4.5 4.5 against 1..5: Pearson of the ranks = 0.9486833 */
    CHECK_MSG(fabs(hn_spearman(ties, a, 5) - 0.9486832980505138) < 1e-12, "%.12f", hn_spearman(ties, a, 5));
    CHECK(isnan(hn_spearman(a, b, 1)));
    /* Kendall: 7 concordant, 3 discordant pairs of 10; with ties 8 concordant of 10 - 2 tied pairs */
    double d[5] = {3, 1, 2, 5, 4};
    CHECK_NEAR(hn_kendall(a, d, 5), 0.4, 1e-12);
    CHECK_NEAR(hn_kendall(ties, a, 5), 8 / sqrt(80), 1e-12);
    CHECK(fabs(hn_kendall(a, c, 5) + 1) < 1e-12 && isnan(hn_kendall(a, b, 1)));
}

/* int16's MAC between the anchors: the multiplier's power law through int8 and int32, a 32-bit add */
static double through_check(void) { return 0.2 * pow(2, log(3.1 / 0.2) / log(4)) + 0.1; }

/* The energy and area tables reproduce their sources' anchors (Horowitz, ISSCC 2014, 45 nm; the 45 nm
 * SRAM cell), grow monotonically between them, and a co-searched network's array replaces the
 * profile's: its cost is the model's on that array, its area the array's. */
static void energy_area(void) {
    CHECK_NEAR(hn_mac_energy_pj(HN_INT8), 0.2 + 0.1, 1e-12);  /* int8 multiply + 32-bit accumulate */
    CHECK_NEAR(hn_mac_energy_pj(HN_FP32), 3.7 + 0.9, 1e-12);
    CHECK_NEAR(hn_mac_area_um2(HN_INT8), 282 + 137, 1e-9);
    CHECK_NEAR(hn_mac_area_um2(HN_FP32), 7700 + 4184, 1e-9);
    CHECK_NEAR(hn_mac_energy_pj(HN_INT16), through_check(), 1e-9);
    CHECK(hn_mac_energy_pj(HN_INT4) < hn_mac_energy_pj(HN_INT8) && hn_mac_energy_pj(HN_INT8) < hn_mac_energy_pj(HN_INT16) &&
          hn_mac_energy_pj(HN_FP8_E4M3) < hn_mac_energy_pj(HN_FP32) && hn_mac_energy_pj(HN_FP4_E2M1) < hn_mac_energy_pj(HN_FP8_E4M3));
    CHECK_NEAR(hn_sram_pj_per_word(8, 8), 10, 1e-9); /* a 64-bit word */
    CHECK_NEAR(hn_sram_pj_per_word(32, 8), 20, 1e-9);
    CHECK_NEAR(hn_sram_pj_per_word(1024, 8), 100, 1e-9);
    CHECK_NEAR(hn_sram_pj_per_word(32, 1), 2.5, 1e-9);
    CHECK(hn_sram_pj_per_word(16, 1) > 1.25 && hn_sram_pj_per_word(16, 1) < 2.5);
    CHECK_NEAR(hn_dram_pj_per_word(1), 250, 1e-9);
    CHECK_NEAR(hn_sram_area_mm2(1), 8192 * 0.346e-6 / 0.7, 1e-12);
    hn_systolic a = {.rows = 16, .cols = 8, .numtype = HN_INT8, .ifmap_sram_kb = 32, .filter_sram_kb = 64, .ofmap_sram_kb = 16};
    CHECK_NEAR(hn_systolic_area_mm2(&a), 128 * 419e-6 + hn_sram_area_mm2(112), 1e-12);

    hn_device d;
    CHECK_OK(hn_device_init(&d, "systolic", "co"));
    hn_systolic *p = hn_device_params(&d, "systolic");
    *p = (hn_systolic){.rows = 32, .cols = 32, .dataflow = HN_DATAFLOW_WS, .ifmap_sram_kb = 64, .filter_sram_kb = 64,
                       .ofmap_sram_kb = 64, .word_bytes = 1, .numtype = HN_INT8, .clock_hz = 1e9};
    const hn_space *s = hn_space_find("nb201+systolic");
    hn_candidate c;
    CHECK_OK(hn_candidate_build(s, "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|"
                                   "@8x64,os,16/32/8KB,bw8", &(hn_candidate_spec){.space = s->defaults}, &c));
    hn_hw_cost cost;
    CHECK_OK(hn_device_cost(&d, c.graph, &cost, NULL));
    hn_systolic arr = *p;
    arr.rows = 8, arr.cols = 64, arr.dataflow = HN_DATAFLOW_OS, arr.ifmap_sram_kb = 16, arr.filter_sram_kb = 32;
    arr.ofmap_sram_kb = 8, arr.bandwidth = 8;
    hn_systolic_fill_energy(&arr);
    hn_systolic_result direct;
    CHECK_OK(hn_systolic_graph(&arr, c.graph, &direct, NULL));
    CHECK(cost.cycles == direct.total_cycles && direct.stall_cycles > 0);
    CHECK_NEAR(cost.energy_j, direct.energy_j, 1e-15);
    CHECK_NEAR(cost.area_mm2, hn_systolic_area_mm2(&arr), 1e-12);
    double edp = 0;
    CHECK(hn_hw_metric(&cost, "edp", &edp) && fabs(edp - cost.energy_j * cost.latency_s) < 1e-18);
    c.graph->accel.rows = 0; /* no genotype array: the profile's */
    CHECK_OK(hn_device_cost(&d, c.graph, &cost, NULL));
    CHECK_NEAR(cost.area_mm2, hn_systolic_area_mm2(p), 1e-12);
    hn_candidate_free(&c);
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--scalesim")) { /* another draw of tests/ref/gen_scalesim.py */
        scalesim_reference(argv[2], -1);
        return check_report();
    }
    char path[1024];
    energy_area();
    mcu_cases();
    attention_costs();
    roofline_case();
    systolic_graph();
    device_files();
    host_cases();
    spearman();
    const char *const files[] = {"../../shared/reference/scalesim/scalesim-v2-set-a.csv",
                                 "../../shared/reference/scalesim/scalesim-v2-set-c-bandwidth.csv", "ref/scalesim-random.csv"};
    const int want[] = {56, 21, -1};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", HWNAS_TEST_DIR, files[i]);
        scalesim_reference(path, want[i]);
    }
    systolic_memory_properties();
    scalesim_files();
    chain();
    dag();
    long_graph();
    return check_report();
}
