/* Device model "roofline": peak throughput per data type, memory bandwidth and a per-layer overhead
 * (src/hw/roofline.c); its profile fields. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models.h"

/* the energies have no default (an energy of 0 J would be a silently wrong result): the class of
 * every peak given and the byte need one */
static void defaults(void *params) {
    hn_roofline *r = params;
    memset(r, 0, sizeof *r);
    for (int c = 0; c < HN_CLASS_COUNT; c++) r->op_pj[c] = NAN;
    r->byte_pj = NAN;
}

/* {int8: v, ...} for peaks and energies; extra names (byte) go to *extra */
static hn_status read_class_map(const yfile *f, const yaml_node_t *n, const char *field, double lo, double *out,
                                const char *extra_name, double *extra) {
    hn_status st = hw_expect_map(f, n, field);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; !st && p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = ynode(f, p->key), *v = ynode(f, p->value);
        int c = hw_index_of(yscalar(k), hw_class_names, HN_CLASS_COUNT);
        if (c >= 0) st = ydouble(f, v, yscalar(k), lo, 1e30, &out[c]);
        else if (extra_name && yscalar(k) && !strcmp(yscalar(k), extra_name)) st = ydouble(f, v, extra_name, 0, 1e30, extra);
        else {
            char known[96], where[64];
            snprintf(known, sizeof known, "int8, int16, fp8, fp16, fp32%s%s", extra_name ? ", " : "", extra_name ? extra_name : "");
            snprintf(where, sizeof where, " in %s", field);
            return hw_bad_key(f, k, where, known);
        }
    }
    return st;
}

static hn_status read_field(void *params, const yfile *f, const char *k, const yaml_node_t *v, bool *known) {
    hn_roofline *r = params;
    *known = true;
    if (!strcmp(k, "peak_ops")) return read_class_map(f, v, k, 1, r->peak_ops, NULL, NULL);
    if (!strcmp(k, "bandwidth_bytes_s")) return ydouble(f, v, k, 1, 1e18, &r->bandwidth_bytes_s);
    if (!strcmp(k, "layer_overhead_s")) return ydouble(f, v, k, 0, 1, &r->layer_overhead_s);
    if (!strcmp(k, "energy_pj")) return read_class_map(f, v, k, 0, r->op_pj, "byte", &r->byte_pj);
    *known = false;
    return HN_OK;
}

static const char *missing(const void *params) {
    const hn_roofline *r = params;
    static const char *const energy[HN_CLASS_COUNT] = {"energy_pj.int8", "energy_pj.int16", "energy_pj.fp8",
                                                       "energy_pj.fp16", "energy_pj.fp32"};
    if (!r->bandwidth_bytes_s) return "bandwidth_bytes_s";
    if (!r->peak_ops[HN_CLASS_FP32]) return "peak_ops.fp32";
    for (int c = 0; c < HN_CLASS_COUNT; c++)
        if (r->peak_ops[c] > 0 && isnan(r->op_pj[c])) return energy[c];
    return isnan(r->byte_pj) ? "energy_pj.byte" : NULL;
}

static hn_status cost(const void *params, const hn_graph *g, hn_hw_cost *total, hn_hw_cost *layers) {
    return roofline_graph_cost(params, g, total, layers);
}

static void describe(const void *params, FILE *f) {
    const hn_roofline *r = params;
    fprintf(f, "peak       ");
    for (int c = 0; c < HN_CLASS_COUNT; c++)
        if (r->peak_ops[c] > 0) fprintf(f, " %s %.3g op/s,", hw_class_names[c], r->peak_ops[c]);
    fprintf(f, "\nbandwidth   %.3g bytes/s\noverhead    %g s per layer\n", r->bandwidth_bytes_s, r->layer_overhead_s);
}

const hn_device_model hn_device_model_roofline = {
    "roofline", "peak_ops, bandwidth_bytes_s, layer_overhead_s, energy_pj",
    false, sizeof(hn_roofline), defaults, read_field, missing, cost, describe};
