/* Device profiles (YAML files, devices/NAME.yaml; format in docs/hardware.md) and the dispatch of a network's
 * cost to the profile's model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/yaml_util.h"
#include "models.h"

static const char *const class_names[HN_CLASS_COUNT] = {"int8", "int16", "fp8", "fp16", "fp32"};
static const char *const kernel_names[HN_KERNEL_COUNT] = {"conv", "depthwise", "pointwise", "linear"};

static hn_status bad_key(const yfile *f, const yaml_node_t *k, const char *where, const char *known) {
    return hn_error(HN_ERR_INVALID, "%s:%d: unknown field '%s'%s (known: %s)", f->path, yline(k), yscalar(k), where,
                    known);
}

static hn_status expect_map(const yfile *f, const yaml_node_t *n, const char *field) {
    if (n->type == YAML_MAPPING_NODE) return HN_OK;
    return hn_error(HN_ERR_INVALID, "%s:%d: field '%s': expected a mapping such as {int8: 1.0}", f->path, yline(n),
                    field);
}

static int index_of(const char *s, const char *const *names, int n) {
    for (int i = 0; s && i < n; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

/* {int8: {conv: 1.0, ...}, fp32: {...}} */
static hn_status read_macs_per_cycle(const yfile *f, const yaml_node_t *n, hn_mcu *m) {
    hn_status st = expect_map(f, n, "macs_per_cycle");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; !st && p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = ynode(f, p->key), *v = ynode(f, p->value);
        int c = index_of(yscalar(k), class_names, HN_CLASS_COUNT);
        if (c < 0) return bad_key(f, k, " in macs_per_cycle", "int8, int16, fp8, fp16, fp32");
        if ((st = expect_map(f, v, yscalar(k)))) return st;
        for (yaml_node_pair_t *q = v->data.mapping.pairs.start; !st && q < v->data.mapping.pairs.top; q++) {
            yaml_node_t *kk = ynode(f, q->key);
            int kind = index_of(yscalar(kk), kernel_names, HN_KERNEL_COUNT);
            if (kind < 0) return bad_key(f, kk, " in macs_per_cycle", "conv, depthwise, pointwise, linear");
            st = ydouble(f, ynode(f, q->value), yscalar(kk), 1e-6, 1e6, &m->macs_per_cycle[c][kind]);
        }
    }
    return st;
}

/* {int8: v, ...} for roofline peaks and energies; extra names (byte) go to *extra */
static hn_status read_class_map(const yfile *f, const yaml_node_t *n, const char *field, double lo, double *out,
                                const char *extra_name, double *extra) {
    hn_status st = expect_map(f, n, field);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; !st && p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = ynode(f, p->key), *v = ynode(f, p->value);
        int c = index_of(yscalar(k), class_names, HN_CLASS_COUNT);
        if (c >= 0) st = ydouble(f, v, yscalar(k), lo, 1e30, &out[c]);
        else if (extra_name && yscalar(k) && !strcmp(yscalar(k), extra_name)) st = ydouble(f, v, extra_name, 0, 1e30, extra);
        else {
            char known[96];
            snprintf(known, sizeof known, "int8, int16, fp8, fp16, fp32%s%s", extra_name ? ", " : "", extra_name ? extra_name : "");
            char where[64];
            snprintf(where, sizeof where, " in %s", field);
            return bad_key(f, k, where, known);
        }
    }
    return st;
}

static hn_status read_int64(const yfile *f, const yaml_node_t *n, const char *field, int64_t *out) {
    double v;
    hn_status st = ydouble(f, n, field, 0, 1e15, &v);
    if (st == HN_OK) *out = (int64_t)v;
    return st;
}

/* one key of the profile's top-level mapping */
static hn_status read_field(const yfile *f, hn_device *d, const yaml_node_t *kn, const yaml_node_t *v) {
    const char *k = yscalar(kn);
    if (!k) return hn_error(HN_ERR_INVALID, "%s:%d: keys must be plain names", f->path, yline(kn));
    if (!strcmp(k, "name") || !strcmp(k, "kind")) return HN_OK; /* read first */
    if (!strcmp(k, "description")) {
        if (!yscalar(v)) return hn_error(HN_ERR_INVALID, "%s:%d: field 'description': expected text", f->path, yline(v));
        snprintf(d->description, sizeof d->description, "%s", yscalar(v));
        return HN_OK;
    }
    hn_systolic *s = &d->systolic;
    hn_mcu *m = &d->mcu;
    hn_roofline *r = &d->roofline;
    long iv;
    hn_status st;
    switch (d->kind) {
    case HN_DEVICE_SYSTOLIC:
        if (!strcmp(k, "rows") || !strcmp(k, "cols")) {
            if ((st = yint(f, v, k, 1, 65536, &iv))) return st;
            *(!strcmp(k, "rows") ? &s->rows : &s->cols) = (int)iv;
            return HN_OK;
        }
        if (!strcmp(k, "dataflow")) {
            int df = index_of(yscalar(v), (const char *const[]){"os", "ws", "is"}, 3);
            if (df < 0)
                return hn_error(HN_ERR_INVALID, "%s:%d: field 'dataflow': expected os, ws or is, got '%s'", f->path,
                                yline(v), yscalar(v) ? yscalar(v) : "(not a scalar)");
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
        if (!strcmp(k, "clock_hz")) return ydouble(f, v, k, 1, 1e12, &s->clock_hz);
        if (!strcmp(k, "energy_pj")) {
            if ((st = expect_map(f, v, k))) return st;
            for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
                yaml_node_t *ek = ynode(f, p->key), *ev = ynode(f, p->value);
                const char *e = yscalar(ek);
                double *dst = e && !strcmp(e, "mac") ? &s->mac_pj : e && !strcmp(e, "sram_word") ? &s->sram_pj_per_word
                              : e && !strcmp(e, "dram_word") ? &s->dram_pj_per_word : NULL;
                if (!dst) return bad_key(f, ek, " in energy_pj", "mac, sram_word, dram_word");
                if ((st = ydouble(f, ev, e, 0, 1e9, dst))) return st;
            }
            return HN_OK;
        }
        return bad_key(f, kn, "", "name, kind, description, rows, cols, dataflow, ifmap_sram_kb, filter_sram_kb, "
                                  "ofmap_sram_kb, bandwidth, word_bytes, clock_hz, energy_pj");
    case HN_DEVICE_MCU:
        if (!strcmp(k, "clock_hz")) return ydouble(f, v, k, 1, 1e12, &m->clock_hz);
        if (!strcmp(k, "sram_bytes")) return read_int64(f, v, k, &m->sram_bytes);
        if (!strcmp(k, "flash_bytes")) return read_int64(f, v, k, &m->flash_bytes);
        if (!strcmp(k, "runtime_sram_bytes")) return read_int64(f, v, k, &m->runtime_sram_bytes);
        if (!strcmp(k, "runtime_flash_bytes")) return read_int64(f, v, k, &m->runtime_flash_bytes);
        if (!strcmp(k, "elementwise_cycles")) return ydouble(f, v, k, 0, 1e6, &m->elementwise_cycles);
        if (!strcmp(k, "power_w")) return ydouble(f, v, k, 0, 1e6, &m->power_w);
        if (!strcmp(k, "macs_per_cycle")) return read_macs_per_cycle(f, v, m);
        return bad_key(f, kn, "", "name, kind, description, clock_hz, sram_bytes, flash_bytes, runtime_sram_bytes, "
                                  "runtime_flash_bytes, macs_per_cycle, elementwise_cycles, power_w");
    case HN_DEVICE_ROOFLINE:
        if (!strcmp(k, "peak_ops")) return read_class_map(f, v, k, 1, r->peak_ops, NULL, NULL);
        if (!strcmp(k, "bandwidth_bytes_s")) return ydouble(f, v, k, 1, 1e18, &r->bandwidth_bytes_s);
        if (!strcmp(k, "layer_overhead_s")) return ydouble(f, v, k, 0, 1, &r->layer_overhead_s);
        if (!strcmp(k, "energy_pj")) return read_class_map(f, v, k, 0, r->op_pj, "byte", &r->byte_pj);
        return bad_key(f, kn, "", "name, kind, description, peak_ops, bandwidth_bytes_s, layer_overhead_s, energy_pj");
    case HN_DEVICE_HOST:
        if (!strcmp(k, "threads") || !strcmp(k, "warmup") || !strcmp(k, "runs")) {
            if ((st = yint(f, v, k, !strcmp(k, "runs"), 1000, &iv))) return st;
            *(!strcmp(k, "threads") ? &d->host.threads : !strcmp(k, "warmup") ? &d->host.warmup : &d->host.runs) = (int)iv;
            return HN_OK;
        }
        if (!strcmp(k, "lut")) {
            if (!yscalar(v)) return hn_error(HN_ERR_INVALID, "%s:%d: field 'lut': expected a path", f->path, yline(v));
            snprintf(d->host.lut_path, sizeof d->host.lut_path, "%s", yscalar(v));
            return HN_OK;
        }
        return bad_key(f, kn, "", "name, kind, description, threads, warmup, runs, lut");
    }
    return HN_OK;
}

/* what a profile must give, by kind */
static hn_status check_complete(const char *path, const hn_device *d) {
    const char *missing = NULL;
    switch (d->kind) {
    case HN_DEVICE_SYSTOLIC:
        missing = !d->systolic.rows ? "rows" : !d->systolic.cols ? "cols" : !d->systolic.clock_hz ? "clock_hz"
                  : !d->systolic.ifmap_sram_kb ? "ifmap_sram_kb" : !d->systolic.filter_sram_kb ? "filter_sram_kb"
                  : !d->systolic.ofmap_sram_kb ? "ofmap_sram_kb" : NULL;
        break;
    case HN_DEVICE_MCU: {
        bool any = false;
        for (int c = 0; c < HN_CLASS_COUNT; c++)
            for (int k = 0; k < HN_KERNEL_COUNT; k++) any |= d->mcu.macs_per_cycle[c][k] > 0;
        missing = !d->mcu.clock_hz ? "clock_hz" : !d->mcu.sram_bytes ? "sram_bytes" : !d->mcu.flash_bytes ? "flash_bytes"
                  : !any ? "macs_per_cycle" : NULL;
        break;
    }
    case HN_DEVICE_ROOFLINE:
        missing = !d->roofline.bandwidth_bytes_s ? "bandwidth_bytes_s" : !d->roofline.peak_ops[HN_CLASS_FP32] ? "peak_ops.fp32" : NULL;
        break;
    case HN_DEVICE_HOST: break;
    }
    if (missing) return hn_error(HN_ERR_INVALID, "%s: a %s profile needs the field '%s'", path,
                                 (const char *const[]){"systolic", "mcu", "roofline", "host"}[d->kind], missing);
    return HN_OK;
}

hn_status hn_device_load(const char *path, hn_device *d) {
    memset(d, 0, sizeof *d);
    d->systolic.word_bytes = 1;
    d->host = (hn_host){0, 3, 15, ""};
    snprintf(d->path, sizeof d->path, "%s", path);
    yfile f;
    hn_status st = yfile_load(&f, path, "device profile");
    if (st) return st;
    yaml_node_t *root = yroot(&f);
    if (root->type != YAML_MAPPING_NODE) {
        st = hn_error(HN_ERR_INVALID, "%s:%d: expected a mapping with name, kind and the model's fields", path,
                      yline(root));
        goto done;
    }
    bool have_kind = false;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; !st && p < root->data.mapping.pairs.top; p++) {
        const char *k = yscalar(ynode(&f, p->key));
        yaml_node_t *v = ynode(&f, p->value);
        if (k && !strcmp(k, "name")) {
            if (!yscalar(v) || !*yscalar(v) || strlen(yscalar(v)) >= sizeof d->name)
                st = hn_error(HN_ERR_INVALID, "%s:%d: field 'name': expected a short name", path, yline(v));
            else snprintf(d->name, sizeof d->name, "%s", yscalar(v));
        } else if (k && !strcmp(k, "kind")) {
            int kind = index_of(yscalar(v), (const char *const[]){"systolic", "mcu", "roofline", "host"}, 4);
            if (kind < 0)
                st = hn_error(HN_ERR_INVALID, "%s:%d: field 'kind': expected systolic, mcu, roofline or host, got '%s'",
                              path, yline(v), yscalar(v) ? yscalar(v) : "(not a scalar)");
            d->kind = (hn_device_kind)kind, have_kind = true;
        }
    }
    if (!st && !have_kind) st = hn_error(HN_ERR_INVALID, "%s: missing the field 'kind' (systolic, mcu, roofline or host)", path);
    if (!st && !d->name[0]) st = hn_error(HN_ERR_INVALID, "%s: missing the field 'name'", path);
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; !st && p < root->data.mapping.pairs.top; p++)
        st = read_field(&f, d, ynode(&f, p->key), ynode(&f, p->value));
    if (!st) st = check_complete(path, d);
done:
    yfile_free(&f);
    return st;
}

static bool is_file(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

hn_status hn_device_find(const char *name, const char *const *dirs, char *path, size_t cap) {
    size_t len = strlen(name);
    if (strchr(name, '/') || (len > 5 && !strcmp(name + len - 5, ".yaml"))) {
        snprintf(path, cap, "%s", name);
        return HN_OK;
    }
    char env[4096];
    snprintf(env, sizeof env, "%s", getenv("HWNAS_DEVICE_PATH") ? getenv("HWNAS_DEVICE_PATH") : "");
    char *save = NULL;
    for (char *dir = strtok_r(env, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        snprintf(path, cap, "%s/%s.yaml", dir, name);
        if (is_file(path)) return HN_OK;
    }
    for (int i = 0; dirs && dirs[i]; i++) {
        snprintf(path, cap, "%s/%s.yaml", dirs[i], name);
        if (is_file(path)) return HN_OK;
    }
    return hn_error(HN_ERR_INVALID, "unknown device '%s' (see 'hwnas hw list'; a profile file can be given by path)", name);
}

hn_status hn_device_cost(const hn_device *d, const hn_graph *g, hn_hw_cost *total, hn_hw_cost *layers) {
    memset(total, 0, sizeof *total);
    if (layers) memset(layers, 0, sizeof(hn_hw_cost) * (size_t)g->nnodes);
    hn_status st = HN_OK;
    switch (d->kind) {
    case HN_DEVICE_SYSTOLIC: {
        hn_systolic_result t, *per = layers ? hn_alloc(sizeof(hn_systolic_result) * (size_t)g->nnodes) : NULL;
        if (layers && !per) return hn_error_prefix(HN_ERR_NOMEM, "costing %d nodes", g->nnodes);
        st = hn_systolic_graph(&d->systolic, g, &t, per);
        for (int i = 0; !st && per && i < g->nnodes; i++)
            layers[i] = (hn_hw_cost){.latency_s = (double)per[i].total_cycles / d->systolic.clock_hz,
                                     .energy_j = per[i].energy_j, .cycles = per[i].total_cycles, .fits = true,
                                     .macs = per[i].macs, .params = (int64_t)g->nodes[i].nparams};
        hn_free(per);
        total->cycles = t.total_cycles;
        total->latency_s = (double)t.total_cycles / d->systolic.clock_hz;
        total->energy_j = t.energy_j;
        total->fits = true;
        break;
    }
    case HN_DEVICE_MCU: st = mcu_graph_cost(&d->mcu, g, total, layers); break;
    case HN_DEVICE_ROOFLINE: st = roofline_graph_cost(&d->roofline, g, total, layers); break;
    case HN_DEVICE_HOST: st = host_graph_cost(&d->host, g, total, layers); break;
    }
    total->macs = hn_graph_macs(g);
    total->params = hn_graph_param_count(g);
    return st;
}

static const char *const metric_names[] = {"latency_s", "energy_j", "cycles", "peak_sram_bytes", "flash_bytes",
                                           "fits",      "macs",     "params", NULL};

const char *const *hn_hw_metric_names(void) { return metric_names; }

bool hn_hw_metric(const hn_hw_cost *c, const char *name, double *value) {
    const double v[] = {c->latency_s,     c->energy_j, (double)c->cycles, (double)c->peak_sram_bytes,
                        (double)c->flash_bytes, c->fits ? 1 : 0, (double)c->macs, (double)c->params};
    int i = index_of(name, metric_names, 8);
    if (i < 0) return false;
    *value = v[i];
    return true;
}
