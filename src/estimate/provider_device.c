/* Provider "device": a network's cost on a device profile (devices/NAME.yaml; the models of
 * src/hw/device_*.c): latency_s, energy_j, area_mm2, edp, cycles, peak_sram_bytes, flash_bytes, fits. The analytical
 * models are free; measuring on the host is cheap. Cached by genotype. Options: profile (a name or
 * a path). */
#include <stdio.h>

#include "providers.h"

static const char *const names[] = {"latency_s",       "energy_j",    "area_mm2", "edp", "cycles",
                                    "peak_sram_bytes", "flash_bytes", "fits",     NULL};
/* a measured device (the host's clock) gives no energy */
static const char *const measured_names[] = {"latency_s", "area_mm2", "cycles", "peak_sram_bytes", "flash_bytes", "fits", NULL};

static hn_status create(hn_provider *p, const hn_options *o, const hn_provider_env *env) {
    char name[512], path[1024];
    int line = o->line;
    hn_options_get(o, "profile", &line);
    hn_status st = hn_options_check(o, "profile");
    if (!st) st = hn_options_string(o, "profile", "", name, sizeof name);
    if (!st && !name[0]) st = hn_error(HN_ERR_INVALID, "%s:%d: provider device: give its 'profile' (e.g. cortex-m7)", o->file, o->line);
    hn_device *d = st ? NULL : hn_calloc(sizeof *d);
    if (!st && !d) st = hn_error(HN_ERR_NOMEM, "device");
    if (!st) st = hn_device_find(name, env->device_dirs, path, sizeof path);
    if (!st) st = hn_device_load(path, d);
    if (st) {
        hn_free(d);
        return hn_error_prefix(st, "%s:%d: device", o->file, line);
    }
    p->state = d, p->cache = true, p->metrics = hn_device_measured(d) ? measured_names : names;
    p->tier = hn_device_measured(d) ? HN_TIER_CHEAP : HN_TIER_FREE;
    snprintf(p->description, sizeof p->description, "device %s (%s, %.160s)", d->name, hn_device_kind(d), d->path);
    return HN_OK;
}

static hn_status evaluate(hn_provider *p, hn_candidate *c, hn_metrics *m) {
    hn_hw_cost cost;
    hn_status st = hn_device_cost(p->state, c->graph, &cost, NULL);
    for (int i = 0; !st && p->metrics[i]; i++) {
        double v;
        if (hn_hw_metric(&cost, p->metrics[i], &v)) st = hn_metrics_set(m, p->metrics[i], v);
    }
    return st;
}

static void destroy(hn_provider *p) { hn_free(p->state); }

extern const hn_provider_type hn_provider_device;

const hn_device *provider_device_of(const hn_provider *p) { return p->type == &hn_provider_device ? p->state : NULL; }

const hn_provider_type hn_provider_device = {"device", "a device model's latency, energy and memory (profile: NAME)",
                                             create, evaluate, destroy, NULL, NULL, NULL};
