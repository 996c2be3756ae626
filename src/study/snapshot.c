/* Snapshots (include/hwnas/study.h): the study as a report reads it -- its trials, front, chosen model,
 * the final training's figures from the store's meta table, and the chosen network's costs layer by
 * layer (rebuilt as the study built it, on the study's device). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "study_internal.h"

/* the meta value of key into buf ("" if absent) */
static hn_status meta_text(hn_study *s, const char *key, char *buf, size_t cap) {
    char *v = NULL;
    hn_status st = store_meta_get(&s->db, key, &v);
    snprintf(buf, cap, "%s", v ? v : "");
    hn_free(v);
    return st;
}

static double meta_number(hn_study *s, const char *key) {
    char v[64];
    return !meta_text(s, key, v, sizeof v) && v[0] ? atof(v) : NAN;
}

static void chosen_cost(hn_study *s, const char *genotype, hn_study_chosen_cost *out) {
    hn_candidate c;
    if (study_candidate(s, genotype, &c)) {
        snprintf(out->error, sizeof out->error, "the network could not be rebuilt: %s", hn_last_error());
        hn_candidate_free(&c);
        return;
    }
    const hn_graph *g = c.graph;
    out->device = study_device(s);
    out->layers = hn_alloc(sizeof(hn_layer_cost) * (size_t)g->nnodes);
    out->hw_layers = out->device ? hn_alloc(sizeof(hn_hw_cost) * (size_t)g->nnodes) : NULL;
    if (!out->layers || (out->device && !out->hw_layers) || hn_count(g, &out->total, out->layers) ||
        (out->device && hn_device_cost(out->device, g, &out->hw_total, out->hw_layers))) {
        snprintf(out->error, sizeof out->error, "the per-layer costs could not be computed: %s", hn_last_error());
        hn_free(out->layers), hn_free(out->hw_layers);
        out->layers = NULL, out->hw_layers = NULL, out->device = NULL;
        hn_candidate_free(&c);
        return;
    }
    out->graph = c.graph; /* the snapshot owns it now */
}

hn_status hn_study_snapshot_take(hn_study *s, hn_study_snapshot *out) {
    memset(out, 0, sizeof *out);
    out->config = &s->cfg;
    out->chosen = -1;
    snprintf(out->dir, sizeof out->dir, "%s", s->dir);
    study_table t;
    hn_status st = study_trials_load(s, &t);
    if (st) return st;
    out->ntrials = t.n, out->trials = t.trial; /* the snapshot owns them now */
    char v[64];
    if (!(out->front = hn_alloc(sizeof(int) * (size_t)(t.n ? t.n : 1)))) st = hn_error(HN_ERR_NOMEM, "snapshot");
    if (!st) out->nfront = study_front(&s->cfg, &t, out->front);
    if (!st) st = store_meta_get(&s->db, "study_text", &out->study_text);
    if (!st && !(st = meta_text(s, "chosen_trial", v, sizeof v)) && v[0])
        for (int i = 0; i < t.n; i++)
            if (t.trial[i].id == atoi(v)) out->chosen = i;
    if (!st && !(st = meta_text(s, "final", v, sizeof v))) out->finished = !strcmp(v, "done");
    if (!st) st = meta_text(s, "final_graph", out->final_graph, sizeof out->final_graph);
    if (!st) st = meta_text(s, "final_weights", out->final_weights, sizeof out->final_weights);
    if (!st && !(st = meta_text(s, "final_start", v, sizeof v))) out->final_inherited = !strcmp(v, "inherited");
    if (st) {
        hn_study_snapshot_free(out);
        return st;
    }
    out->final_test_accuracy = meta_number(s, "final_test_accuracy");
    out->final_float_test_accuracy = meta_number(s, "final_float_test_accuracy");
    out->final_train_seconds = meta_number(s, "final_train_seconds");
    double e = meta_number(s, "final_epochs");
    out->final_epochs = isnan(e) ? 0 : (int)e;
    if (out->chosen >= 0) chosen_cost(s, t.trial[out->chosen].genotype, &out->chosen_cost);
    return HN_OK;
}

void hn_study_snapshot_free(hn_study_snapshot *snap) {
    hn_free(snap->trials), hn_free(snap->front), hn_free(snap->study_text);
    hn_free(snap->chosen_cost.layers), hn_free(snap->chosen_cost.hw_layers);
    hn_graph_free(snap->chosen_cost.graph);
    memset(snap, 0, sizeof *snap);
    snap->chosen = -1;
}
