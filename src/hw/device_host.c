/* Device model "host": the network measured on this machine with the engine (src/hw/host.c); its
 * profile fields. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models.h"

static void defaults(void *params) { *(hn_host *)params = (hn_host){0, 3, 15, ""}; }

static hn_status read_field(void *params, const yfile *f, const char *k, const yaml_node_t *v, bool *known) {
    hn_host *h = params;
    long iv;
    hn_status st;
    *known = true;
    if (!strcmp(k, "threads") || !strcmp(k, "warmup") || !strcmp(k, "runs")) {
        if ((st = yint(f, v, k, !strcmp(k, "runs"), 1000, &iv))) return st;
        *(!strcmp(k, "threads") ? &h->threads : !strcmp(k, "warmup") ? &h->warmup : &h->runs) = (int)iv;
        return HN_OK;
    }
    if (!strcmp(k, "lut")) {
        if (!yscalar(v)) return hn_error(HN_ERR_INVALID, "%s:%d: field 'lut': expected a path", f->path, yline(v));
        snprintf(h->lut_path, sizeof h->lut_path, "%s", yscalar(v));
        return HN_OK;
    }
    *known = false;
    return HN_OK;
}

static const char *missing(const void *params) {
    (void)params;
    return NULL;
}

/* a wall clock measures no energy: NaN, which hn_hw_metric reports as no energy_j at all */
static hn_status cost(const void *params, const hn_graph *g, hn_hw_cost *total, hn_hw_cost *layers) {
    hn_status st = host_graph_cost(params, g, total, layers);
    total->energy_j = NAN;
    for (int i = 0; layers && i < g->nnodes; i++) layers[i].energy_j = NAN;
    return st;
}

static void describe(const void *params, FILE *f) {
    const hn_host *h = params;
    fprintf(f, "threads     %d\nmeasure     %d warm-up passes, median of %d\nlookup      %s\n", h->threads, h->warmup,
            h->runs, h->lut_path[0] ? h->lut_path : "(in memory)");
}

const hn_device_model hn_device_model_host = {"host", "threads, warmup, runs, lut", true, sizeof(hn_host),
                                              defaults, read_field, missing, cost, describe};
