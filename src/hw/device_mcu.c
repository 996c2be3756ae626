/* Device model "mcu": a microcontroller's memory and latency (src/hw/mcu.c); its profile fields. */
#include <math.h>
#include <string.h>

#include "models.h"

static const char *const kernel_names[HN_KERNEL_COUNT] = {"conv", "depthwise", "pointwise", "linear"};

/* power_w has no default: an energy of 0 J would be a silently wrong result */
static void defaults(void *params) {
    memset(params, 0, sizeof(hn_mcu));
    ((hn_mcu *)params)->power_w = NAN;
}

/* {int8: {conv: 1.0, ...}, fp32: {...}} */
static hn_status read_macs_per_cycle(const yfile *f, const yaml_node_t *n, hn_mcu *m) {
    hn_status st = hw_expect_map(f, n, "macs_per_cycle");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; !st && p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = ynode(f, p->key), *v = ynode(f, p->value);
        int c = hw_index_of(yscalar(k), hw_class_names, HN_CLASS_COUNT);
        if (c < 0) return hw_bad_key(f, k, " in macs_per_cycle", "int8, int16, fp8, fp16, fp32");
        if ((st = hw_expect_map(f, v, yscalar(k)))) return st;
        for (yaml_node_pair_t *q = v->data.mapping.pairs.start; !st && q < v->data.mapping.pairs.top; q++) {
            yaml_node_t *kk = ynode(f, q->key);
            int kind = hw_index_of(yscalar(kk), kernel_names, HN_KERNEL_COUNT);
            if (kind < 0) return hw_bad_key(f, kk, " in macs_per_cycle", "conv, depthwise, pointwise, linear");
            st = ydouble(f, ynode(f, q->value), yscalar(kk), 1e-6, 1e6, &m->macs_per_cycle[c][kind]);
        }
    }
    return st;
}

static hn_status read_field(void *params, const yfile *f, const char *k, const yaml_node_t *v, bool *known) {
    hn_mcu *m = params;
    *known = true;
    if (!strcmp(k, "clock_hz")) return ydouble(f, v, k, 1, 1e12, &m->clock_hz);
    if (!strcmp(k, "sram_bytes")) return hw_read_int64(f, v, k, &m->sram_bytes);
    if (!strcmp(k, "flash_bytes")) return hw_read_int64(f, v, k, &m->flash_bytes);
    if (!strcmp(k, "runtime_sram_bytes")) return hw_read_int64(f, v, k, &m->runtime_sram_bytes);
    if (!strcmp(k, "runtime_flash_bytes")) return hw_read_int64(f, v, k, &m->runtime_flash_bytes);
    if (!strcmp(k, "elementwise_cycles")) return ydouble(f, v, k, 0, 1e6, &m->elementwise_cycles);
    if (!strcmp(k, "power_w")) return ydouble(f, v, k, 0, 1e6, &m->power_w);
    if (!strcmp(k, "macs_per_cycle")) return read_macs_per_cycle(f, v, m);
    *known = false;
    return HN_OK;
}

static const char *missing(const void *params) {
    const hn_mcu *m = params;
    bool any = false;
    for (int c = 0; c < HN_CLASS_COUNT; c++)
        for (int k = 0; k < HN_KERNEL_COUNT; k++) any |= m->macs_per_cycle[c][k] > 0;
    return !m->clock_hz ? "clock_hz" : !m->sram_bytes ? "sram_bytes" : !m->flash_bytes ? "flash_bytes"
           : !any ? "macs_per_cycle" : isnan(m->power_w) ? "power_w" : NULL;
}

static hn_status cost(const void *params, const hn_graph *g, hn_hw_cost *total, hn_hw_cost *layers) {
    return mcu_graph_cost(params, g, total, layers);
}

static void describe(const void *params, FILE *f) {
    const hn_mcu *m = params;
    fprintf(f, "clock       %.4g Hz\nSRAM        %lld bytes (runtime %lld)\nflash       %lld bytes (runtime %lld)\n",
            m->clock_hz, (long long)m->sram_bytes, (long long)m->runtime_sram_bytes, (long long)m->flash_bytes,
            (long long)m->runtime_flash_bytes);
    fprintf(f, "MACs/cycle  %-6s %6s %9s %9s %6s\n", "", "conv", "depthwise", "pointwise", "linear");
    for (int c = 0; c < HN_CLASS_COUNT; c++) {
        const double *v = m->macs_per_cycle[c];
        if (v[0] + v[1] + v[2] + v[3] > 0)
            fprintf(f, "            %-6s %6.2f %9.2f %9.2f %6.2f\n", hw_class_names[c], v[0], v[1], v[2], v[3]);
    }
    fprintf(f, "elementwise %g cycles/element\npower       %g W\n", m->elementwise_cycles, m->power_w);
}

const hn_device_model hn_device_model_mcu = {
    "mcu", "clock_hz, sram_bytes, flash_bytes, runtime_sram_bytes, runtime_flash_bytes, macs_per_cycle, elementwise_cycles, power_w",
    false, sizeof(hn_mcu), defaults, read_field, missing, cost, describe};
