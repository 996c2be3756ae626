/* Device model "systolic": a SCALE-Sim-style systolic array (src/hw/systolic.c, systolic_memory.c);
 * its profile fields and its cost. */
#include <string.h>

#include "models.h"

static void defaults(void *params) {
    hn_systolic *s = params;
    memset(s, 0, sizeof *s);
    s->word_bytes = 1, s->numtype = HN_INT8;
}

static hn_status read_field(void *params, const yfile *f, const char *k, const yaml_node_t *v, bool *known) {
    hn_systolic *s = params;
    long iv;
    hn_status st;
    *known = true;
    if (!strcmp(k, "rows") || !strcmp(k, "cols")) {
        if ((st = yint(f, v, k, 1, 65536, &iv))) return st;
        *(!strcmp(k, "rows") ? &s->rows : &s->cols) = (int)iv;
        return HN_OK;
    }
    if (!strcmp(k, "dataflow")) {
        int df = hw_index_of(yscalar(v), (const char *const[]){"os", "ws", "is"}, 3);
        if (df < 0)
            return hn_error(HN_ERR_INVALID, "%s:%d: field 'dataflow': expected os, ws or is, got '%s'", f->path, yline(v),
                            yscalar(v) ? yscalar(v) : "(not a scalar)");
        s->dataflow = (hn_dataflow)df;
        return HN_OK;
    }
    if (!strcmp(k, "ifmap_sram_kb")) return ydouble(f, v, k, 0.001, 1e9, &s->ifmap_sram_kb);
    if (!strcmp(k, "filter_sram_kb")) return ydouble(f, v, k, 0.001, 1e9, &s->filter_sram_kb);
    if (!strcmp(k, "ofmap_sram_kb")) return ydouble(f, v, k, 0.001, 1e9, &s->ofmap_sram_kb);
    if (!strcmp(k, "bandwidth")) { /* whole words per cycle, as SCALE-Sim's Bandwidth */
        if ((st = yint(f, v, k, 0, 1000000000, &iv))) return st;
        s->bandwidth = (double)iv;
        return HN_OK;
    }
    if (!strcmp(k, "word_bytes")) {
        if ((st = yint(f, v, k, 1, 8, &iv))) return st;
        s->word_bytes = (int)iv;
        return HN_OK;
    }
    if (!strcmp(k, "number_type")) {
        hn_numtype t = hn_numtype_from_name(yscalar(v) ? yscalar(v) : "");
        if (t == HN_NUMTYPE_COUNT)
            return hn_error(HN_ERR_INVALID, "%s:%d: field 'number_type': expected a number type (int8, int4, fp8-e4m3, fp32, ...), got '%s'",
                            f->path, yline(v), yscalar(v) ? yscalar(v) : "(not a scalar)");
        s->numtype = t;
        return HN_OK;
    }
    if (!strcmp(k, "clock_hz")) return ydouble(f, v, k, 1, 1e12, &s->clock_hz);
    if (!strcmp(k, "energy_pj")) {
        if ((st = hw_expect_map(f, v, k))) return st;
        for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
            yaml_node_t *ek = ynode(f, p->key), *ev = ynode(f, p->value);
            const char *e = yscalar(ek);
            double *dst = e && !strcmp(e, "mac") ? &s->mac_pj : e && !strcmp(e, "sram_word") ? &s->sram_pj_per_word[0]
                          : e && !strcmp(e, "dram_word") ? &s->dram_pj_per_word : NULL;
            if (!dst) return hw_bad_key(f, ek, " in energy_pj", "mac, sram_word, dram_word");
            if ((st = ydouble(f, ev, e, 0, 1e9, dst))) return st;
            if (dst == &s->sram_pj_per_word[0]) s->sram_pj_per_word[1] = s->sram_pj_per_word[2] = *dst; /* every SRAM */
        }
        return HN_OK;
    }
    *known = false;
    return HN_OK;
}

static const char *missing(const void *params) {
    const hn_systolic *s = params;
    return !s->rows ? "rows" : !s->cols ? "cols" : !s->clock_hz ? "clock_hz" : !s->ifmap_sram_kb ? "ifmap_sram_kb"
           : !s->filter_sram_kb ? "filter_sram_kb" : !s->ofmap_sram_kb ? "ofmap_sram_kb" : NULL;
}

static hn_status cost(const void *params, const hn_graph *g, hn_hw_cost *total, hn_hw_cost *layers) {
    hn_systolic arch = *(const hn_systolic *)params, *a = &arch;
    if (g->accel.rows > 0) hn_systolic_apply_arch(a, &g->accel); /* a co-searched array: the genotype's */
    hn_systolic_fill_energy(a);
    hn_systolic_result t, *per = layers ? hn_alloc(sizeof(hn_systolic_result) * (size_t)g->nnodes) : NULL;
    if (layers && !per) return hn_error_prefix(HN_ERR_NOMEM, "costing %d nodes", g->nnodes);
    hn_status st = hn_systolic_graph(a, g, &t, per);
    for (int i = 0; !st && per && i < g->nnodes; i++)
        layers[i] = (hn_hw_cost){.latency_s = (double)per[i].total_cycles / a->clock_hz, .energy_j = per[i].energy_j,
                                 .cycles = per[i].total_cycles, .fits = true, .macs = per[i].macs,
                                 .params = (int64_t)g->nodes[i].nparams};
    hn_free(per);
    if (st) return st;
    total->cycles = t.total_cycles;
    total->latency_s = (double)t.total_cycles / a->clock_hz;
    total->energy_j = t.energy_j;
    total->area_mm2 = hn_systolic_area_mm2(a);
    total->fits = true;
    return HN_OK;
}

static void describe(const void *params, FILE *f) {
    const hn_systolic *s = params;
    fprintf(f, "array       %d x %d, %s-stationary, %d-byte words, %.4g Hz\n", s->rows, s->cols,
            (const char *const[]){"output", "weight", "input"}[s->dataflow], s->word_bytes, s->clock_hz);
    fprintf(f, "SRAM        ifmap %g KB, filter %g KB, ofmap %g KB\n", s->ifmap_sram_kb, s->filter_sram_kb, s->ofmap_sram_kb);
    if (s->bandwidth > 0) fprintf(f, "DRAM        %g words/cycle per operand\n", s->bandwidth);
    else fprintf(f, "DRAM        unlimited (never stalls)\n");
    hn_systolic e = *s;
    hn_systolic_fill_energy(&e);
    fprintf(f, "PEs         %s MACs\n", hn_numtype_name(s->numtype));
    fprintf(f, "energy      %.3g pJ/MAC, %.3g/%.3g/%.3g pJ per ifmap/filter/ofmap SRAM word, %.4g pJ/DRAM word%s\n", e.mac_pj,
            e.sram_pj_per_word[0], e.sram_pj_per_word[1], e.sram_pj_per_word[2], e.dram_pj_per_word,
            s->mac_pj > 0 && s->sram_pj_per_word[0] > 0 && s->dram_pj_per_word > 0 ? "" : " (tables: Horowitz 2014, 45 nm)");
    fprintf(f, "area        %.4g mm^2 (PEs' MACs and SRAMs)\n", hn_systolic_area_mm2(s));
}

const hn_device_model hn_device_model_systolic = {
    "systolic",
    "rows, cols, dataflow, ifmap_sram_kb, filter_sram_kb, ofmap_sram_kb, bandwidth, word_bytes, number_type, clock_hz, energy_pj",
    false, sizeof(hn_systolic), defaults, read_field, missing, cost, describe};
