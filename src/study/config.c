/* Study files (YAML; docs/studies.md): reading them into hn_study_config with errors that name the
 * line and the field. */
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/yaml_util.h"
#include "hwnas/study.h"
#include "study_internal.h"

static const char *const top_keys = "name, space, numtypes, dataset, validation, table, accuracy, device, estimators, "
                                    "objectives, constraints, strategy, budget, fidelity, final, seed, threads";

static hn_status bad(const yfile *f, const yaml_node_t *n, const char *fmt, const char *a, const char *b) {
    char msg[512];
    snprintf(msg, sizeof msg, fmt, a, b);
    return hn_error(HN_ERR_INVALID, "%s:%d: %s", f->path, yline(n), msg);
}

static hn_status unknown_key(const yfile *f, const yaml_node_t *k, const char *where, const char *known) {
    char msg[600];
    snprintf(msg, sizeof msg, "unknown key '%s'%s (known: %s)", yscalar(k) ? yscalar(k) : "?", where, known);
    return hn_error(HN_ERR_INVALID, "%s:%d: %s", f->path, yline(k), msg);
}

static hn_status string(const yfile *f, const yaml_node_t *n, const char *field, char *dst, size_t cap) {
    const char *s = yscalar(n);
    if (!s || !*s) return bad(f, n, "field '%s': expected a string%s", field, "");
    if (strlen(s) >= cap) return bad(f, n, "field '%s': longer than the %s-byte limit", field, cap >= 512 ? "511" : "63");
    snprintf(dst, cap, "%s", s);
    return HN_OK;
}

static hn_status quantity(const yfile *f, const yaml_node_t *n, const char *field, double lo, double *out) {
    const char *s = yscalar(n);
    if (!s || !hn_parse_quantity(s, out) || *out < lo)
        return bad(f, n, "field '%s': expected a number with an optional unit (e.g. 320KB, 50ms, 8min), got '%s'", field,
                   s ? s : "(not a scalar)");
    return HN_OK;
}

/* a map's pairs; NULL-safe iteration over a scalar or sequence is the caller's check */
#define FOR_PAIRS(f, n, p) for (yaml_node_pair_t *p = (n)->data.mapping.pairs.start; p < (n)->data.mapping.pairs.top; p++)

static hn_status expect(const yfile *f, const yaml_node_t *n, yaml_node_type_t type, const char *field, const char *example) {
    if (n->type == type) return HN_OK;
    return bad(f, n, "field '%s': expected %s", field, example);
}

/* space: NAME, or {name: NAME, width: C, cells: N} */
static hn_status read_space(const yfile *f, const yaml_node_t *v, hn_study_config *c) {
    const yaml_node_t *name = v;
    if (v->type == YAML_MAPPING_NODE) {
        name = NULL;
        FOR_PAIRS(f, v, p) {
            const yaml_node_t *k = ynode(f, p->key), *x = ynode(f, p->value);
            const char *key = yscalar(k);
            long iv;
            hn_status st = HN_OK;
            if (key && !strcmp(key, "name")) name = x;
            else if (key && !strcmp(key, "width")) st = yint(f, x, "width", 1, 4096, &iv), c->space_cfg.width = (int)iv;
            else if (key && !strcmp(key, "cells")) st = yint(f, x, "cells", 1, 64, &iv), c->space_cfg.cells = (int)iv;
            else st = unknown_key(f, k, " in 'space'", "name, width, cells");
            if (st) return st;
        }
        if (!name) return bad(f, v, "field 'space': missing its 'name'%s%s", "", "");
    }
    hn_status st = string(f, name, "space", c->space, sizeof c->space);
    if (st) return st;
    const hn_space *sp = hn_space_find(c->space);
    if (!sp) return bad(f, name, "unknown space '%s' (see 'hwnas space list')%s", c->space, "");
    int width = c->space_cfg.width, cells = c->space_cfg.cells;
    c->space_cfg = sp->defaults;
    if (v->type == YAML_MAPPING_NODE) { /* keep what the mapping set */
        if (width) c->space_cfg.width = width;
        if (cells) c->space_cfg.cells = cells;
    }
    return HN_OK;
}

/* strategy: NAME, or {name: NAME, population:, sample:, mutations:, restarts:, eta:, min_fidelity:} */
static hn_status read_strategy(const yfile *f, const yaml_node_t *v, hn_study_config *c) {
    const yaml_node_t *name = v;
    hn_strategy_options *o = &c->strategy_options;
    if (v->type == YAML_MAPPING_NODE) {
        name = NULL;
        FOR_PAIRS(f, v, p) {
            const yaml_node_t *k = ynode(f, p->key), *x = ynode(f, p->value);
            const char *key = yscalar(k) ? yscalar(k) : "";
            long iv = 0;
            hn_status st = HN_OK;
            if (!strcmp(key, "name")) name = x;
            else if (!strcmp(key, "population")) st = yint(f, x, key, 2, 100000, &iv), o->population = (int)iv;
            else if (!strcmp(key, "sample")) st = yint(f, x, key, 1, 100000, &iv), o->sample = (int)iv;
            else if (!strcmp(key, "mutations")) st = yint(f, x, key, 1, 256, &iv), o->mutations = (int)iv;
            else if (!strcmp(key, "restarts")) st = yint(f, x, key, 1, 100000, &iv), o->restarts = (int)iv;
            else if (!strcmp(key, "eta")) st = yint(f, x, key, 2, 100, &iv), o->eta = (int)iv;
            else if (!strcmp(key, "min_fidelity")) st = ydouble(f, x, key, 1e-6, 1, &o->min_fidelity);
            else st = unknown_key(f, k, " in 'strategy'", "name, population, sample, mutations, restarts, eta, min_fidelity");
            if (st) return st;
        }
        if (!name) return bad(f, v, "field 'strategy': missing its 'name'%s%s", "", "");
    }
    hn_status st = string(f, name, "strategy", c->strategy, sizeof c->strategy);
    if (st) return st;
    for (const char *const *n = hn_strategy_names(); *n; n++)
        if (!strcmp(*n, c->strategy)) return HN_OK;
    return bad(f, name, "unknown strategy '%s' (known: %s)", c->strategy, hn_strategy_known());
}

/* objectives: {METRIC: max|min, ...}; metrics are checked once the device is known */
static hn_status read_objectives(const yfile *f, const yaml_node_t *v, hn_study_config *c) {
    hn_status st = expect(f, v, YAML_MAPPING_NODE, "objectives", "a mapping such as {accuracy: max, latency_s: min}");
    if (st) return st;
    FOR_PAIRS(f, v, p) {
        const yaml_node_t *k = ynode(f, p->key), *x = ynode(f, p->value);
        if (c->nobjectives == HN_STUDY_MAX_OBJECTIVES) return bad(f, k, "at most %s objectives%s", "4", "");
        hn_study_objective *o = &c->objectives[c->nobjectives++];
        if ((st = string(f, k, "objectives", o->metric, sizeof o->metric))) return st;
        o->line = yline(k);
        const char *dir = yscalar(x);
        if (!dir || (strcmp(dir, "max") && strcmp(dir, "min")))
            return bad(f, x, "objective '%s': expected max or min, got '%s'", o->metric, dir ? dir : "(not a scalar)");
        o->maximize = !strcmp(dir, "max");
    }
    return c->nobjectives ? HN_OK : bad(f, v, "field 'objectives': no objective given%s%s", "", "");
}

/* constraints: ["METRIC <= VALUE", ...] */
static hn_status read_constraints(const yfile *f, const yaml_node_t *v, hn_study_config *c) {
    hn_status st = expect(f, v, YAML_SEQUENCE_NODE, "constraints", "a list such as [peak_sram_bytes <= 320KB]");
    if (st) return st;
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        const yaml_node_t *x = ynode(f, *it);
        const char *s = yscalar(x);
        if (c->nconstraints == HN_STUDY_MAX_CONSTRAINTS) return bad(f, x, "at most %s constraints%s", "8", "");
        hn_study_constraint *k = &c->constraints[c->nconstraints++];
        char metric[64], op[3], value[64];
        const char *unit = NULL;
        if (!s || sscanf(s, "%63[a-z0-9_] %2[<=>] %63s", metric, op, value) != 3 || (strcmp(op, "<=") && strcmp(op, ">=")) ||
            !hn_parse_quantity_kind(value, &k->bound, &unit))
            return bad(f, x, "constraint '%s': expected METRIC <= VALUE or METRIC >= VALUE (e.g. flash_bytes <= 1MB)%s",
                       s ? s : "(not a scalar)", "");
        const char *want = hn_metric_kind(metric);
        if (unit && (!want || strcmp(unit, want))) { /* 'latency_s <= 1MB' would be a bound of 1,048,576 s */
            char msg[256];
            snprintf(msg, sizeof msg, "constraint '%s': a unit of %s on %s; %s", s, unit, metric,
                     !want ? "it takes a plain number"
                     : !strcmp(want, "bytes") ? "give bytes (B, KB, MB, GB)"
                     : !strcmp(want, "time") ? "give a time (s, ms, us, min, h)"
                     : !strcmp(want, "energy") ? "give an energy (J, mJ, uJ)" : "give a count (k, M, G) or a plain number");
            return bad(f, x, "%s%s", msg, "");
        }
        snprintf(k->metric, sizeof k->metric, "%s", metric);
        k->at_most = !strcmp(op, "<=");
        k->line = yline(x);
    }
    return HN_OK;
}

static hn_status read_budget(const yfile *f, const yaml_node_t *v, hn_study_config *c) {
    hn_status st = expect(f, v, YAML_MAPPING_NODE, "budget", "a mapping such as {trials: 40, time: 8min}");
    FOR_PAIRS(f, v, p) {
        if (st) break;
        const yaml_node_t *k = ynode(f, p->key), *x = ynode(f, p->value);
        const char *key = yscalar(k) ? yscalar(k) : "";
        long iv;
        if (!strcmp(key, "trials")) st = yint(f, x, key, 1, 10000000, &iv), c->trials = (int)iv;
        else if (!strcmp(key, "time")) st = quantity(f, x, key, 0, &c->time_s);
        else st = unknown_key(f, k, " in 'budget'", "trials, time");
    }
    return st;
}

static hn_status read_fidelity(const yfile *f, const yaml_node_t *v, hn_study_config *c) {
    hn_status st = expect(f, v, YAML_MAPPING_NODE, "fidelity", "a mapping such as {epochs: 1, train_fraction: 0.3}");
    FOR_PAIRS(f, v, p) {
        if (st) break;
        const yaml_node_t *k = ynode(f, p->key), *x = ynode(f, p->value);
        const char *key = yscalar(k) ? yscalar(k) : "";
        long iv;
        double d;
        if (!strcmp(key, "epochs")) st = ydouble(f, x, key, 1e-3, 10000, &c->epochs);
        else if (!strcmp(key, "train_fraction")) st = ydouble(f, x, key, 1e-6, 1, &c->train_fraction);
        else if (!strcmp(key, "batch")) st = yint(f, x, key, 1, 65536, &iv), c->batch = (int)iv;
        else if (!strcmp(key, "lr")) st = ydouble(f, x, key, 1e-9, 100, &d), c->lr = (float)d;
        else st = unknown_key(f, k, " in 'fidelity'", "epochs, train_fraction, batch, lr");
    }
    return st;
}

static hn_status read_final(const yfile *f, const yaml_node_t *v, hn_study_config *c) {
    hn_status st = expect(f, v, YAML_MAPPING_NODE, "final", "a mapping such as {epochs: 2, weights: inherited}");
    FOR_PAIRS(f, v, p) {
        if (st) break;
        const yaml_node_t *k = ynode(f, p->key), *x = ynode(f, p->value);
        const char *key = yscalar(k) ? yscalar(k) : "", *w = yscalar(x);
        long iv;
        double d;
        if (!strcmp(key, "epochs")) st = yint(f, x, key, 0, 10000, &iv), c->final_epochs = (int)iv;
        else if (!strcmp(key, "lr")) st = ydouble(f, x, key, 1e-9, 100, &d), c->final_lr = (float)d;
        else if (!strcmp(key, "weights")) {
            if (!w || (strcmp(w, "scratch") && strcmp(w, "inherited")))
                return bad(f, x, "final: 'weights' is scratch or inherited (from the supernet), not '%s'%s", w ? w : "(not a scalar)", "");
            c->final_inherit = !strcmp(w, "inherited"), c->final_line = yline(x);
        } else st = unknown_key(f, k, " in 'final'", "epochs, weights, lr");
    }
    return st;
}

/* a path in the study file, relative to the file's directory unless absolute or a name without '/' */
static void resolve(const char *file, const char *value, char *dst, size_t cap) {
    if (value[0] == '/' || !strchr(value, '/')) {
        snprintf(dst, cap, "%s", value);
        return;
    }
    char copy[512];
    snprintf(copy, sizeof copy, "%s", file);
    const char *dir = dirname(copy);
    if (strlen(dir) + strlen(value) + 2 > cap) { /* too long to join: keep it as written */
        snprintf(dst, cap, "%s", value);
        return;
    }
    memcpy(dst, dir, strlen(dir));
    dst[strlen(dir)] = '/';
    memcpy(dst + strlen(dir) + 1, value, strlen(value) + 1);
}

/* Appends a provider of type to the pipeline (options added by the caller). */
static hn_study_provider *add_provider(const yfile *f, const yaml_node_t *at, hn_study_config *c, const char *type,
                                       hn_status *st) {
    if (c->nproviders == HN_STUDY_MAX_PROVIDERS) {
        *st = bad(f, at, "at most %s providers in a study%s", "8", "");
        return NULL;
    }
    hn_study_provider *p = &c->providers[c->nproviders++];
    memset(p, 0, sizeof *p);
    snprintf(p->type, sizeof p->type, "%s", type);
    snprintf(p->options.file, sizeof p->options.file, "%s", f->path);
    p->options.line = yline(at);
    *st = HN_OK;
    return p;
}

/* A provider's mapping: its scalars become its options; key_type (if not NULL) is the key that names
 * the type ('provider'), shorthand keys (command, proxy) name it by their own name and stay options;
 * as the accuracy, {supernet: {OPTIONS}} names the supernet provider with the inner mapping's options. */
static hn_status read_provider(const yfile *f, const yaml_node_t *v, hn_study_config *c, bool as_accuracy) {
    if (v->type != YAML_MAPPING_NODE)
        return bad(f, v, "expected a mapping such as {provider: NAME, ...}%s%s", "", "");
    const char *type = NULL;
    const yaml_node_t *options = v;
    FOR_PAIRS(f, v, p) {
        const char *k = yscalar(ynode(f, p->key)), *x = yscalar(ynode(f, p->value));
        if (k && !strcmp(k, "provider")) type = x;
        else if (k && as_accuracy && !type && (!strcmp(k, "command") || !strcmp(k, "proxy"))) type = k;
        else if (k && as_accuracy && !type && !strcmp(k, "supernet")) type = k, options = ynode(f, p->value);
    }
    if (!type)
        return bad(f, v, "%s%s", as_accuracy ? "field 'accuracy': expected a table column, {command: CMD, ...}, {proxy: NAME}, "
                                               "{supernet: {epochs: N}} or {provider: NAME, ...}" : "an estimator needs its 'provider' (hwnas providers lists them)", "");
    if (options != v) { /* {supernet: {...}}: nothing beside it, and the inner part a mapping (or empty) */
        if (v->data.mapping.pairs.top - v->data.mapping.pairs.start != 1)
            return bad(f, v, "field 'accuracy': {supernet: {...}} takes its options inside (e.g. {supernet: {epochs: 3}})%s%s", "", "");
        if (options->type != YAML_MAPPING_NODE && !(yscalar(options) && !*yscalar(options)))
            return bad(f, options, "field 'supernet': expected a mapping of its options such as {epochs: 3}%s%s", "", "");
    }
    hn_status st;
    hn_study_provider *sp = add_provider(f, v, c, type, &st);
    if (!sp) return st;
    if (options->type == YAML_MAPPING_NODE)
        FOR_PAIRS(f, options, p) {
            const yaml_node_t *k = ynode(f, p->key), *x = ynode(f, p->value);
            if (!yscalar(k) || !yscalar(x)) return bad(f, k, "provider %s: options are plain 'key: value' pairs%s", type, "");
            if (!strcmp(yscalar(k), "provider")) continue;
            if ((st = hn_options_add(&sp->options, yscalar(k), yscalar(x), yline(x)))) return st;
        }
    if (as_accuracy && !strcmp(type, "proxy") && !hn_options_get(&sp->options, "as", NULL))
        return hn_options_add(&sp->options, "as", "accuracy", yline(v));
    return HN_OK;
}

/* estimators: [{provider: NAME, ...}, ...] */
static hn_status read_estimators(const yfile *f, const yaml_node_t *v, hn_study_config *c) {
    hn_status st = expect(f, v, YAML_SEQUENCE_NODE, "estimators", "a list such as [{provider: proxy, proxy: synflow}]");
    for (yaml_node_item_t *it = v->data.sequence.items.start; !st && it < v->data.sequence.items.top; it++)
        st = read_provider(f, ynode(f, *it), c, false);
    return st;
}

/* option key = value printed as text */
static hn_status option_number(hn_study_provider *p, const char *key, double value, int line) {
    char buf[64];
    snprintf(buf, sizeof buf, "%.17g", value);
    return hn_options_add(&p->options, key, buf, line);
}

/* The pipeline before the listed estimators: count, the device, and where accuracy comes from. */
static hn_status derive_providers(const yfile *f, const yaml_node_t *root, const yaml_node_t *accuracy_map,
                                  const yaml_node_t *estimators, hn_study_config *c) {
    hn_status st;
    if (!add_provider(f, root, c, "count", &st)) return st;
    if (c->device[0]) {
        hn_study_provider *p = add_provider(f, root, c, "device", &st);
        if (!p || (st = hn_options_add(&p->options, "profile", c->device, c->device_line))) return st;
        p->options.line = c->device_line;
    }
    if (accuracy_map) {
        if (c->table[0]) return bad(f, accuracy_map, "with a 'table', 'accuracy' names its column (e.g. accuracy: cifar10-val)%s%s", "", "");
        if ((st = read_provider(f, accuracy_map, c, true))) return st;
        hn_study_provider *p = &c->providers[c->nproviders - 1];
        if ((!strcmp(p->type, "proxy") || !strcmp(p->type, "supernet")) && !c->dataset[0])
            return bad(f, accuracy_map, "a %s on images: give the 'dataset'", !strcmp(p->type, "proxy") ? "proxy scores networks"
                       : "supernet trains and measures", "");
        if (!strcmp(p->type, "supernet") && !hn_options_get(&p->options, "validation", NULL) &&
            (st = option_number(p, "validation", c->validation, p->options.line)))
            return st; /* it measures on the images the study holds out */
    } else if (c->table[0]) {
        if (!c->accuracy_column[0])
            return bad(f, root, "with 'table', name the column that is the accuracy (e.g. accuracy: cifar10-val)%s%s", "", "");
        hn_study_provider *p = add_provider(f, root, c, "table", &st);
        if (!p || (st = hn_options_add(&p->options, "file", c->table, p->options.line)) ||
            (st = hn_options_add(&p->options, "column", c->accuracy_column, p->options.line)))
            return st;
    } else if (c->dataset[0]) {
        hn_study_provider *p = add_provider(f, root, c, "train", &st);
        int line = c->dataset_line;
        if (!p || (st = option_number(p, "epochs", c->epochs, line)) ||
            (st = option_number(p, "train_fraction", c->train_fraction, line)) ||
            (st = option_number(p, "batch", c->batch, line)) || (st = option_number(p, "lr", c->lr, line)) ||
            (st = option_number(p, "validation", c->validation, line)))
            return st;
        p->options.line = line;
        c->train_accuracy = true;
    } else {
        return bad(f, root, "give either 'dataset' (accuracy by training) or 'table' (a tabular benchmark), or an "
                   "accuracy provider such as accuracy: {command: ...}%s%s", "", "");
    }
    if (c->table[0] && c->dataset[0])
        return bad(f, root, "give either 'dataset' (accuracy by training) or 'table' (a tabular benchmark), not both%s%s", "", "");
    return estimators ? read_estimators(f, estimators, c) : HN_OK;
}

static hn_status read_root(const yfile *f, hn_study_config *c) {
    const yaml_node_t *root = yroot(f);
    if (root->type != YAML_MAPPING_NODE)
        return bad(f, root, "expected a mapping with space, dataset, objectives, ...%s%s", "", "");
    const yaml_node_t *objectives = NULL, *accuracy_map = NULL, *estimators = NULL;
    hn_status st = HN_OK;
    FOR_PAIRS(f, root, p) {
        const yaml_node_t *k = ynode(f, p->key), *v = ynode(f, p->value);
        const char *key = yscalar(k) ? yscalar(k) : "";
        char buf[512];
        long iv;
        if (!strcmp(key, "name")) {
            /* it names the study's directory (NAME-DATE-TIME) in the current one: no path, no hidden name */
            st = string(f, v, key, c->name, sizeof c->name);
            if (!st && (c->name[0] == '.' || strspn(c->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(c->name)))
                st = bad(f, v, "field 'name': '%s' names the study's directory, so it takes letters, digits, '.', '_' and '-' "
                         "(not first '.'); to place the study elsewhere, use 'hwnas search --out DIR'%s", c->name, "");
        } else if (!strcmp(key, "space")) st = read_space(f, v, c);
        else if (!strcmp(key, "numtypes")) {
            char ws[16], as[16];
            st = string(f, v, key, c->numtypes, sizeof c->numtypes);
            if (!st && (sscanf(c->numtypes, "%15[^/]/%15s", ws, as) != 2 || hn_numtype_from_name(ws) == HN_NUMTYPE_COUNT ||
                        hn_numtype_from_name(as) == HN_NUMTYPE_COUNT))
                st = bad(f, v, "field 'numtypes': expected WEIGHTS/ACTIVATIONS such as int8/int8, got '%s'%s", c->numtypes, "");
        } else if (!strcmp(key, "dataset")) st = string(f, v, key, c->dataset, sizeof c->dataset), c->dataset_line = yline(v);
        else if (!strcmp(key, "validation")) st = yint(f, v, key, 1, 10000000, &iv), c->validation = (int)iv;
        else if (!strcmp(key, "table")) {
            if (!(st = string(f, v, key, buf, sizeof buf))) resolve(f->path, buf, c->table, sizeof c->table);
        } else if (!strcmp(key, "accuracy")) {
            if (v->type == YAML_MAPPING_NODE) accuracy_map = v;
            else st = string(f, v, key, c->accuracy_column, sizeof c->accuracy_column);
        } else if (!strcmp(key, "estimators")) estimators = v;
        else if (!strcmp(key, "device")) {
            if (!(st = string(f, v, key, buf, sizeof buf))) resolve(f->path, buf, c->device, sizeof c->device);
            c->device_line = yline(v);
        } else if (!strcmp(key, "objectives")) st = read_objectives(f, v, c), objectives = v;
        else if (!strcmp(key, "constraints")) st = read_constraints(f, v, c);
        else if (!strcmp(key, "strategy")) st = read_strategy(f, v, c);
        else if (!strcmp(key, "budget")) st = read_budget(f, v, c);
        else if (!strcmp(key, "fidelity")) st = read_fidelity(f, v, c);
        else if (!strcmp(key, "final")) st = read_final(f, v, c);
        else if (!strcmp(key, "seed")) st = yint(f, v, key, 0, 0x7fffffffL, &iv), c->seed = (uint64_t)iv;
        else if (!strcmp(key, "threads")) st = yint(f, v, key, 0, 1024, &iv), c->threads = (int)iv;
        else st = unknown_key(f, k, "", top_keys);
        if (st) return st;
    }
    if (!c->space[0]) return bad(f, root, "missing the field 'space' (e.g. space: mbconv)%s%s", "", "");
    if (!objectives) return bad(f, root, "missing the field 'objectives' (e.g. objectives: {accuracy: max})%s%s", "", "");
    return derive_providers(f, root, accuracy_map, estimators, c);
}

hn_status hn_study_config_use_supernet(hn_study_config *c, const char *path) {
    hn_study_provider *p = NULL;
    for (int i = 0; i < c->nproviders && !p; i++)
        if (!strcmp(c->providers[i].type, "train") || !strcmp(c->providers[i].type, "supernet")) p = &c->providers[i];
    if (!p)
        return hn_error(HN_ERR_INVALID, "%s: --supernet replaces the accuracy a study trains for, but this study's accuracy "
                        "comes from %s", c->path, c->table[0] ? "a table" : "its 'accuracy' provider");
    if (strlen(path) >= sizeof c->supernet) return hn_error(HN_ERR_INVALID, "--supernet: the path is too long");
    const char *held = hn_options_get(&p->options, "validation", NULL);
    char validation[64];
    snprintf(validation, sizeof validation, "%s", held ? held : "10000");
    int line = p->options.line;
    snprintf(p->type, sizeof p->type, "supernet");
    p->options.n = 0;
    hn_status st = hn_options_add(&p->options, "path", path, line);
    if (!st) st = hn_options_add(&p->options, "validation", validation, line);
    snprintf(c->supernet, sizeof c->supernet, "%s", path);
    c->train_accuracy = false;
    return st;
}

hn_status hn_study_config_parse(const char *text, size_t len, const char *path, hn_study_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->path, sizeof cfg->path, "%s", path);
    snprintf(cfg->name, sizeof cfg->name, "study");
    snprintf(cfg->strategy, sizeof cfg->strategy, "rea");
    cfg->trials = 100, cfg->epochs = 1, cfg->train_fraction = 1, cfg->batch = 128, cfg->lr = 0.1f, cfg->final_epochs = 1;
    cfg->validation = 10000;
    yfile f;
    hn_status st = yfile_parse(&f, text, len, cfg->path);
    if (st) return st;
    st = read_root(&f, cfg);
    yfile_free(&f);
    return st;
}

enum { MAX_STUDY_FILE_BYTES = 16 << 20 };

hn_status study_read_text(const char *path, char **text, size_t *len) {
    *text = NULL, *len = 0;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return hn_error(HN_ERR_IO, "%s: cannot open the study file: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return hn_error(HN_ERR_INVALID, "%s: a directory, not a study file (to continue a study directory: 'hwnas search "
                        "--resume %s')", path, path);
    if (!S_ISREG(sb.st_mode)) return hn_error(HN_ERR_INVALID, "%s: not a regular file: a study file is a YAML text file", path);
    FILE *fp = fopen(path, "rb");
    if (!fp) return hn_error(HN_ERR_IO, "%s: cannot open the study file: %s", path, strerror(errno));
    if (sb.st_size > MAX_STUDY_FILE_BYTES) {
        fclose(fp);
        return hn_error(HN_ERR_INVALID, "%s: %lld bytes: larger than any study file (at most %d MB)", path,
                        (long long)sb.st_size, MAX_STUDY_FILE_BYTES >> 20);
    }
    *text = hn_alloc((size_t)sb.st_size + 1);
    if (!*text) {
        fclose(fp);
        return hn_error(HN_ERR_NOMEM, "%s", path);
    }
    *len = fread(*text, 1, (size_t)sb.st_size, fp);
    (*text)[*len] = 0;
    bool failed = ferror(fp);
    fclose(fp);
    if (failed) {
        hn_free(*text), *text = NULL;
        return hn_error(HN_ERR_IO, "%s: cannot read the study file", path);
    }
    return HN_OK;
}

hn_status hn_study_config_load(const char *path, hn_study_config *cfg) {
    char *text = NULL;
    size_t len = 0;
    hn_status st = study_read_text(path, &text, &len);
    if (!st) st = hn_study_config_parse(text, len, path, cfg);
    hn_free(text);
    return st;
}
