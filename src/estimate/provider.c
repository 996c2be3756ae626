/* The provider registry (include/hwnas/provider.h), metrics by name and providers' options. The
 * built-in types come from the table the build generates from src/estimate/provider_*.c
 * (CMakeLists.txt); hn_provider_register adds a program's own. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hwnas/provider.h"

/* generated: &hn_provider_NAME for every src/estimate/provider_NAME.c, NULL-terminated */
extern const hn_provider_type *const hn_builtin_providers[];

enum { MAX_REGISTERED = 32 };
static const hn_provider_type *registered[MAX_REGISTERED];
static int nregistered;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

const char *hn_tier_name(hn_tier t) {
    static const char *const names[] = {"free", "cheap", "expensive"};
    return t < HN_TIER_COUNT ? names[t] : "?";
}

const hn_provider_type *hn_provider_type_find(const char *name) {
    for (int i = 0; hn_builtin_providers[i]; i++)
        if (!strcmp(hn_builtin_providers[i]->name, name)) return hn_builtin_providers[i];
    const hn_provider_type *t = NULL;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < nregistered && !t; i++)
        if (!strcmp(registered[i]->name, name)) t = registered[i];
    pthread_mutex_unlock(&lock);
    return t;
}

hn_status hn_provider_register(const hn_provider_type *t) {
    if (!t || !t->name || !t->create || !t->evaluate) return hn_error(HN_ERR_INVALID, "a provider type needs a name, create and evaluate");
    if (hn_provider_type_find(t->name)) return hn_error(HN_ERR_INVALID, "provider '%s' is already registered", t->name);
    pthread_mutex_lock(&lock);
    hn_status st = nregistered < MAX_REGISTERED ? HN_OK : hn_error(HN_ERR_INVALID, "at most %d registered providers", MAX_REGISTERED);
    if (!st) registered[nregistered++] = t;
    pthread_mutex_unlock(&lock);
    return st;
}

int hn_provider_types(const hn_provider_type **out, int cap) {
    int n = 0;
    for (int i = 0; hn_builtin_providers[i]; i++, n++)
        if (n < cap) out[n] = hn_builtin_providers[i];
    pthread_mutex_lock(&lock);
    for (int i = 0; i < nregistered; i++, n++)
        if (n < cap) out[n] = registered[i];
    pthread_mutex_unlock(&lock);
    if (cap > 0) out[n < cap ? n : cap - 1] = NULL;
    return n;
}

hn_status hn_provider_new(const char *name, const hn_options *o, const hn_provider_env *env, hn_provider *p) {
    memset(p, 0, sizeof *p);
    const hn_provider_type *t = hn_provider_type_find(name);
    if (!t) {
        char known[512] = "";
        const hn_provider_type *all[64];
        int n = hn_provider_types(all, 64);
        for (int i = 0; i < n && i < 63; i++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "", all[i]->name);
        return hn_error(HN_ERR_INVALID, "%s:%d: unknown provider '%s' (known: %s)", o->file, o->line, name, known);
    }
    p->type = t;
    hn_status st = t->create(p, o, env);
    if (st) {
        hn_provider_free(p);
        return st;
    }
    if (!p->description[0]) snprintf(p->description, sizeof p->description, "%s", t->name);
    return HN_OK;
}

void hn_provider_free(hn_provider *p) {
    if (p->type && p->type->destroy) p->type->destroy(p);
    memset(p, 0, sizeof *p);
}

bool hn_provider_writes(const hn_provider *p, const char *name) {
    for (int i = 0; p->metrics && p->metrics[i]; i++)
        if (!strcmp(p->metrics[i], name)) return true;
    return false;
}

/* ---- metrics ------------------------------------------------------------------------------------ */

bool hn_metrics_get(const hn_metrics *m, const char *name, double *value) {
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->name[i], name)) return *value = m->value[i], true;
    return false;
}

hn_status hn_metrics_set(hn_metrics *m, const char *name, double value) {
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->name[i], name)) {
            m->value[i] = value;
            return HN_OK;
        }
    if (strlen(name) >= HN_METRIC_NAME) return hn_error(HN_ERR_INVALID, "metric name '%s' is longer than %d characters", name, HN_METRIC_NAME - 1);
    if (m->n == HN_METRICS_MAX) return hn_error(HN_ERR_INVALID, "metric '%s': a trial has at most %d metrics", name, HN_METRICS_MAX);
    memcpy(m->name[m->n], name, strlen(name) + 1);
    m->value[m->n++] = value;
    return HN_OK;
}

/* ---- options ------------------------------------------------------------------------------------ */

hn_status hn_options_add(hn_options *o, const char *key, const char *value, int line) {
    if (o->n == HN_OPTIONS_MAX) return hn_error(HN_ERR_INVALID, "%s:%d: at most %d options per provider", o->file, line, HN_OPTIONS_MAX);
    if (strlen(key) >= sizeof o->item[0].key || strlen(value) >= sizeof o->item[0].value)
        return hn_error(HN_ERR_INVALID, "%s:%d: option '%.40s': longer than %zu characters", o->file, line, key,
                        sizeof o->item[0].value - 1);
    snprintf(o->item[o->n].key, sizeof o->item[0].key, "%s", key);
    snprintf(o->item[o->n].value, sizeof o->item[0].value, "%s", value);
    o->item[o->n++].line = line;
    return HN_OK;
}

const char *hn_options_get(const hn_options *o, const char *key, int *line) {
    for (int i = 0; i < o->n; i++)
        if (!strcmp(o->item[i].key, key)) {
            if (line) *line = o->item[i].line;
            return o->item[i].value;
        }
    return NULL;
}

hn_status hn_options_check(const hn_options *o, const char *known) {
    for (int i = 0; i < o->n; i++) {
        const char *k = o->item[i].key, *at = known;
        size_t len = strlen(k);
        bool ok = false;
        while (!ok && (at = strstr(at, k)))
            ok = (at == known || at[-1] == ' ' || at[-1] == ',') && (at[len] == 0 || at[len] == ','), at += len;
        if (!ok)
            return hn_error(HN_ERR_INVALID, "%s:%d: unknown option '%s' (known: %s)", o->file, o->item[i].line, k,
                            known[0] ? known : "none");
    }
    return HN_OK;
}

hn_status hn_options_string(const hn_options *o, const char *key, const char *def, char *dst, size_t cap) {
    int line = o->line;
    const char *v = hn_options_get(o, key, &line);
    if (!v) v = def;
    if (strlen(v) >= cap) return hn_error(HN_ERR_INVALID, "%s:%d: option '%s': longer than %zu characters", o->file, line, key, cap - 1);
    memcpy(dst, v, strlen(v) + 1);
    return HN_OK;
}

hn_status hn_options_bool(const hn_options *o, const char *key, bool def, bool *out) {
    int line = o->line;
    const char *v = hn_options_get(o, key, &line);
    *out = def;
    if (!v) return HN_OK;
    if (!strcmp(v, "true") || !strcmp(v, "yes")) *out = true;
    else if (!strcmp(v, "false") || !strcmp(v, "no")) *out = false;
    else return hn_error(HN_ERR_INVALID, "%s:%d: option '%s': expected true or false, got '%s'", o->file, line, key, v);
    return HN_OK;
}

bool hn_parse_quantity_kind(const char *s, double *out, const char **kind) {
    static const struct {
        const char *unit;
        double scale;
        const char *kind;
    } units[] = {{"", 1, NULL},           {"B", 1, "bytes"},          {"KB", 1024, "bytes"},  {"MB", 1048576, "bytes"},
                 {"GB", 1073741824.0, "bytes"}, {"KiB", 1024, "bytes"}, {"MiB", 1048576, "bytes"}, {"s", 1, "time"},
                 {"ms", 1e-3, "time"},    {"us", 1e-6, "time"},       {"min", 60, "time"},    {"h", 3600, "time"},
                 {"J", 1, "energy"},      {"mJ", 1e-3, "energy"},     {"uJ", 1e-6, "energy"}, {"k", 1e3, "count"},
                 {"M", 1e6, "count"},     {"G", 1e9, "count"}};
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v)) return false;
    while (*end == ' ') end++;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(end, units[i].unit)) {
            *out = v * units[i].scale;
            if (kind) *kind = units[i].kind;
            return true;
        }
    return false;
}

bool hn_parse_quantity(const char *s, double *out) { return hn_parse_quantity_kind(s, out, NULL); }

const char *hn_metric_kind(const char *metric) {
    size_t n = strlen(metric);
    if (n > 6 && !strcmp(metric + n - 6, "_bytes")) return "bytes";
    if ((n > 2 && !strcmp(metric + n - 2, "_s")) || (n > 8 && !strcmp(metric + n - 8, "_seconds"))) return "time";
    if (n > 2 && !strcmp(metric + n - 2, "_j")) return "energy";
    if (!strcmp(metric, "params") || !strcmp(metric, "macs") || !strcmp(metric, "cycles")) return "count";
    return NULL;
}

hn_status hn_options_number(const hn_options *o, const char *key, double lo, double hi, double def, double *out) {
    int line = o->line;
    const char *v = hn_options_get(o, key, &line);
    if (!v) return *out = def, HN_OK;
    if (!hn_parse_quantity(v, out) || *out < lo || *out > hi)
        return hn_error(HN_ERR_INVALID, "%s:%d: option '%s': expected a number in [%g, %g] (units such as 8min or 320KB "
                        "allowed), got '%s'", o->file, line, key, lo, hi, v);
    return HN_OK;
}
