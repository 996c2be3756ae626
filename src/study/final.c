/* The end of a study: one worker -- the one that finds nothing left to run -- chooses the model (the
 * most accurate feasible trial of the front), retrains it on every training image for the final
 * epochs -- from scratch, or with final: weights: inherited from the weights a supernet gave it --
 * measures it on the test split and saves it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../estimate/providers.h"
#include "study_internal.h"

hn_status study_claim_final(hn_study *s, bool *mine, bool *finished) {
    *mine = *finished = false;
    hn_status st = store_begin(&s->db);
    if (st) return st;
    int64_t busy = 0;
    char *final = NULL;
    st = store_int(&s->db, 0, &busy, "SELECT count(*) FROM trials WHERE state IN ('queued', 'running')");
    if (!st && !busy) st = store_meta_get(&s->db, "final", &final);
    *finished = final && !strcmp(final, "done");
    if (!st && !busy && (!final || (strcmp(final, "done") && strcmp(final, s->worker)))) {
        /* unclaimed, or claimed by a worker that died: take it */
        if (!study_worker_alive(s, final)) {
            st = store_meta_set(&s->db, "final", s->worker);
            *mine = !st;
        }
    }
    hn_free(final);
    if (!st) st = store_commit(&s->db);
    else store_rollback(&s->db);
    return st;
}

/* No trial met the constraints: name each constraint that no trial met, with the closest value seen. */
static hn_status infeasible(const hn_study *s, const study_table *t) {
    const hn_study_config *c = &s->cfg;
    char msg[2048] = "";
    for (int k = 0; k < c->nconstraints; k++) {
        const hn_study_constraint *q = &c->constraints[k];
        double closest = NAN;
        bool met = false;
        for (int i = 0; i < t->n; i++) {
            double v;
            if (!hn_metrics_get(&t->trial[i].metrics, q->metric, &v)) continue;
            met |= q->at_most ? v <= q->bound : v >= q->bound;
            if (isnan(closest) || (q->at_most ? v < closest : v > closest)) closest = v;
        }
        if (!met && !isnan(closest))
            snprintf(msg + strlen(msg), sizeof msg - strlen(msg), "%s%s:%d: constraint %s %s %g was met by none of the %d trials (the closest: %g)",
                     msg[0] ? "; " : "", c->path, q->line, q->metric, q->at_most ? "<=" : ">=", q->bound, t->n, closest);
    }
    return hn_error(HN_ERR_INVALID, "%s", msg[0] ? msg : "no trial finished feasible (see trials.csv for their errors)");
}

typedef struct {
    hn_study *s;
    void (*on_event)(void *, const hn_study_progress *);
    void *user;
    double last;
} final_progress;

static void on_step(void *user, int epoch, int epochs, int64_t step, int64_t steps, double ips, float loss) {
    (void)epoch, (void)epochs, (void)ips, (void)loss;
    final_progress *f = user;
    double now = hn_now();
    if (!f->on_event || (now - f->last < 0.5 && step < steps)) return;
    f->last = now;
    hn_study_progress p = {.trial = -1, .accuracy = NAN, .best_accuracy = NAN, .phase = "final training",
                           .elapsed_s = now - f->s->started, .step = step, .steps = steps};
    p.eta_s = step ? (now - f->s->final_started) / (double)step * (double)(steps - step) : NAN;
    f->on_event(f->user, &p);
}

hn_status study_final(hn_study *s, volatile int *stop, void (*on_event)(void *, const hn_study_progress *), void *user) {
    study_table t;
    hn_status st = study_trials_load(s, &t);
    if (st) return st;
    int *idx = hn_alloc(sizeof(int) * (size_t)(t.n ? t.n : 1));
    if (!idx) {
        study_trials_free(&t);
        return hn_error(HN_ERR_NOMEM, "final");
    }
    int n = study_front(&s->cfg, &t, idx), best = -1;
    double best_acc = -INFINITY;
    for (int i = 0; i < n; i++) {
        double a = -INFINITY;
        hn_metrics_get(&t.trial[idx[i]].metrics, "accuracy", &a);
        if (a > best_acc) best_acc = a, best = idx[i];
    }
    hn_candidate c = {0};
    char value[64], genotype[GENOTYPE_MAX];
    if (best < 0) {
        st = infeasible(s, &t);
        goto done;
    }
    snprintf(genotype, sizeof genotype, "%s", t.trial[best].genotype);
    snprintf(value, sizeof value, "%d", t.trial[best].id);
    if ((st = store_meta_set(&s->db, "chosen_trial", value))) goto done;
    /* the chosen network's graph, as a network file that hwnas train/export read */
    char path[1200], name[96];
    snprintf(path, sizeof path, "%s/model.yaml", s->dir);
    snprintf(name, sizeof name, "%s-trial-%d", s->space->name, t.trial[best].id);
    if ((st = study_candidate(s, genotype, &c)) || (st = hn_graph_save_yaml(c.graph, name, path)) ||
        (st = store_meta_set(&s->db, "final_graph", "model.yaml")))
        goto done;
    if (s->trainer.type) { /* the training provider, on every training image, measured on the test split */
        final_progress fp = {s, on_event, user, 0};
        hn_metrics m = {0};
        double acc, facc, secs;
        c.stop = stop;
        s->final_started = hn_now();
        snprintf(path, sizeof path, "%s/model.hntf", s->dir);
        if (s->giver && (st = s->giver->type->inherit(s->giver, &c))) goto done;
        if ((st = provider_train_final(&s->trainer, &c, s->cfg.final_epochs, s->cfg.final_lr, !s->giver, on_step, &fp, &m)) ||
            (st = hn_graph_save_weights(c.graph, path)))
            goto done;
        hn_metrics_get(&m, "accuracy", &acc), hn_metrics_get(&m, "train_seconds", &secs);
        if (hn_metrics_get(&m, "float_accuracy", &facc)) { /* a policy's: the float network's beside it */
            snprintf(value, sizeof value, "%.4f", facc);
            if ((st = store_meta_set(&s->db, "final_float_test_accuracy", value))) goto done;
        }
        snprintf(value, sizeof value, "%.4f", acc);
        if ((st = store_meta_set(&s->db, "final_test_accuracy", value))) goto done;
        snprintf(value, sizeof value, "%.1f", secs);
        if ((st = store_meta_set(&s->db, "final_train_seconds", value))) goto done;
        snprintf(value, sizeof value, "%d", s->cfg.final_epochs);
        if ((st = store_meta_set(&s->db, "final_epochs", value)) || (st = store_meta_set(&s->db, "final_weights", "model.hntf")) ||
            (st = store_meta_set(&s->db, "final_start", s->giver ? "inherited" : "scratch")))
            goto done;
    }
    st = store_meta_set(&s->db, "final", "done");
done:
    hn_candidate_free(&c);
    hn_free(idx);
    study_trials_free(&t);
    return st;
}

hn_status hn_study_get_status(hn_study *s, hn_study_status *out) {
    memset(out, 0, sizeof *out);
    hn_status st = study_elapsed(s, &out->counts.elapsed_s);
    if (st) return st;
    study_counts(s, &out->counts);
    out->counts.trial = -1;
    out->chosen_trial = -1;
    out->final_test_accuracy = NAN;
    char *v = NULL;
    st = store_meta_get(&s->db, "final", &v);
    out->finished = !st && v && !strcmp(v, "done");
    hn_free(v);
    if (!st && !(st = store_meta_get(&s->db, "chosen_trial", &v)) && v) out->chosen_trial = atoi(v);
    hn_free(v);
    if (!st && !(st = store_meta_get(&s->db, "final_test_accuracy", &v)) && v) out->final_test_accuracy = atof(v);
    hn_free(v);
    return st;
}
