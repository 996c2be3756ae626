/* Device profiles (YAML files, devices/NAME.yaml; format in docs/hardware.md): reading them through
 * their model's table (src/hw/device_KIND.c) and the dispatch of a network's cost to the model. No
 * kind is known here: a new model is a new file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "models.h"

const char *const hw_class_names[HN_CLASS_COUNT] = {"int8", "int16", "fp8", "fp16", "fp32"};

hn_status hw_bad_key(const yfile *f, const yaml_node_t *k, const char *where, const char *known) {
    return hn_error(HN_ERR_INVALID, "%s:%d: unknown field '%s'%s (known: %s)", f->path, yline(k), yscalar(k), where,
                    known);
}

hn_status hw_expect_map(const yfile *f, const yaml_node_t *n, const char *field) {
    if (n->type == YAML_MAPPING_NODE) return HN_OK;
    return hn_error(HN_ERR_INVALID, "%s:%d: field '%s': expected a mapping such as {int8: 1.0}", f->path, yline(n),
                    field);
}

int hw_index_of(const char *s, const char *const *names, int n) {
    for (int i = 0; s && i < n; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

hn_status hw_read_int64(const yfile *f, const yaml_node_t *n, const char *field, int64_t *out) {
    double v;
    hn_status st = ydouble(f, n, field, 0, 1e15, &v);
    if (st == HN_OK) *out = (int64_t)v;
    return st;
}

static const hn_device_model *model_of(const char *kind) {
    for (int i = 0; kind && hn_builtin_device_models[i]; i++)
        if (!strcmp(hn_builtin_device_models[i]->kind, kind)) return hn_builtin_device_models[i];
    return NULL;
}

/* "systolic, mcu, roofline or host" */
static void kind_list(char *buf, size_t cap) {
    buf[0] = 0;
    for (int i = 0; hn_builtin_device_models[i]; i++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", i == 0 ? "" : hn_builtin_device_models[i + 1] ? ", " : " or ",
                 hn_builtin_device_models[i]->kind);
}

const char *const *hn_device_kinds(void) {
    static const char *names[16];
    for (int i = 0; i < 15 && hn_builtin_device_models[i]; i++) names[i] = hn_builtin_device_models[i]->kind;
    return names;
}

const char *hn_device_kind(const hn_device *d) { return d->model ? d->model->kind : "?"; }
bool hn_device_measured(const hn_device *d) { return d->model && d->model->measured; }

void *hn_device_params(hn_device *d, const char *kind) {
    return d->model && !strcmp(d->model->kind, kind) ? d->params : NULL;
}
const void *hn_device_params_const(const hn_device *d, const char *kind) {
    return d->model && !strcmp(d->model->kind, kind) ? d->params : NULL;
}

void hn_device_describe(const hn_device *d, FILE *f) {
    if (d->model) d->model->describe(d->params, f);
}

hn_status hn_device_init(hn_device *d, const char *kind, const char *name) {
    memset(d, 0, sizeof *d);
    d->model = model_of(kind);
    if (!d->model) {
        char kinds[128];
        kind_list(kinds, sizeof kinds);
        return hn_error(HN_ERR_INVALID, "unknown device kind '%s' (known: %s)", kind ? kind : "", kinds);
    }
    HN_ASSERT(d->model->params_size <= HN_DEVICE_PARAMS_MAX);
    snprintf(d->name, sizeof d->name, "%s", name ? name : kind);
    d->model->defaults(d->params);
    return HN_OK;
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
    bool known = false;
    hn_status st = d->model->read_field(d->params, f, k, v, &known);
    if (st || known) return st;
    char all[512];
    snprintf(all, sizeof all, "name, kind, description, %s", d->model->fields);
    return hw_bad_key(f, kn, "", all);
}

hn_status hn_device_load(const char *path, hn_device *d) {
    memset(d, 0, sizeof *d);
    yfile f;
    hn_status st = yfile_load(&f, path, "device profile");
    if (st) return st;
    yaml_node_t *root = yroot(&f);
    char kinds[128], name[64] = "";
    kind_list(kinds, sizeof kinds);
    if (root->type != YAML_MAPPING_NODE) {
        st = hn_error(HN_ERR_INVALID, "%s:%d: expected a mapping with name, kind and the model's fields", path,
                      yline(root));
        goto done;
    }
    const hn_device_model *model = NULL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; !st && p < root->data.mapping.pairs.top; p++) {
        const char *k = yscalar(ynode(&f, p->key));
        yaml_node_t *v = ynode(&f, p->value);
        if (k && !strcmp(k, "name")) {
            if (!yscalar(v) || !*yscalar(v) || strlen(yscalar(v)) >= sizeof name)
                st = hn_error(HN_ERR_INVALID, "%s:%d: field 'name': expected a short name", path, yline(v));
            else snprintf(name, sizeof name, "%s", yscalar(v));
        } else if (k && !strcmp(k, "kind") && !(model = model_of(yscalar(v))))
            st = hn_error(HN_ERR_INVALID, "%s:%d: field 'kind': expected %s, got '%s'", path, yline(v), kinds,
                          yscalar(v) ? yscalar(v) : "(not a scalar)");
    }
    if (!st && !model) st = hn_error(HN_ERR_INVALID, "%s: missing the field 'kind' (%s)", path, kinds);
    if (!st && !name[0]) st = hn_error(HN_ERR_INVALID, "%s: missing the field 'name'", path);
    if (!st) st = hn_device_init(d, model->kind, name);
    snprintf(d->path, sizeof d->path, "%s", path);
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; !st && p < root->data.mapping.pairs.top; p++)
        st = read_field(&f, d, ynode(&f, p->key), ynode(&f, p->value));
    const char *missing = st ? NULL : model->missing(d->params);
    if (missing) st = hn_error(HN_ERR_INVALID, "%s: a %s profile needs the field '%s'", path, model->kind, missing);
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
    if (!d->model) return hn_error(HN_ERR_INVALID, "device '%s' has no model (load it or hn_device_init it)", d->name);
    hn_status st = d->model->cost(d->params, g, total, layers);
    total->macs = hn_graph_macs(g);
    total->params = hn_graph_param_count(g);
    return st;
}

static const char *const metric_names[] = {"latency_s", "energy_j", "area_mm2", "edp",    "cycles", "peak_sram_bytes",
                                           "flash_bytes", "fits",   "macs",     "params", NULL};

const char *const *hn_hw_metric_names(void) { return metric_names; }

bool hn_hw_metric(const hn_hw_cost *c, const char *name, double *value) {
    const double v[] = {c->latency_s,          c->energy_j,        c->area_mm2,     c->energy_j * c->latency_s,
                        (double)c->cycles,     (double)c->peak_sram_bytes, (double)c->flash_bytes, c->fits ? 1 : 0,
                        (double)c->macs,       (double)c->params};
    int i = hw_index_of(name, metric_names, 10);
    if (i < 0 || isnan(v[i])) return false; /* energy_j and edp of a device that measures no energy */
    *value = v[i];
    return true;
}
