/* A study's worker (include/hwnas/study.h): catching up with the event log, claiming or asking trials,
 * evaluating them, telling the results, and -- in the last worker -- the final training and the
 * outputs. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <omp.h>

#include "hwnas/data.h"
#include "hwnas/study.h"
#include "../estimate/providers.h"
#include "study_internal.h"

/* ---- opening ------------------------------------------------------------------------------------ */

/* Whether some provider writes metric name. */
static bool metric_known(const hn_study *s, const char *name) {
    for (int i = 0; i < s->nproviders; i++)
        if (hn_provider_writes(&s->providers[i], name)) return true;
    return false;
}

/* "accuracy, params, macs, ..." */
static void metric_list(const hn_study *s, char *buf, size_t cap) {
    buf[0] = 0;
    for (int i = 0; i < s->nproviders; i++)
        for (int k = 0; s->providers[i].metrics[k]; k++)
            snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", buf[0] ? ", " : "", s->providers[i].metrics[k]);
}

/* The pipeline: each configured provider made from its options, sorted by tier (stable); then every
 * objective and constraint must name a metric some provider writes. */
static hn_status make_providers(hn_study *s, const char *const *device_dirs) {
    const hn_study_config *c = &s->cfg;
    hn_provider_env env = {s->space, s->dir, device_dirs, c->seed};
    hn_status st = HN_OK;
    for (int i = 0; !st && i < c->nproviders; i++)
        if (!(st = hn_provider_new(c->providers[i].type, &c->providers[i].options, &env, &s->providers[s->nproviders])))
            s->nproviders++;
    for (int i = 1; i < s->nproviders; i++) /* insertion sort by tier: the order within a tier is the file's */
        for (int j = i; j > 0 && s->providers[j].tier < s->providers[j - 1].tier; j--) {
            hn_provider t = s->providers[j];
            s->providers[j] = s->providers[j - 1], s->providers[j - 1] = t;
        }
    if (!st && c->dataset[0] && c->final_epochs > 0) { /* the final step trains with the fidelity's batch and lr */
        for (int i = 0; i < c->nproviders && !s->trainer.type; i++)
            if (!strcmp(c->providers[i].type, "train")) st = hn_provider_new("train", &c->providers[i].options, &env, &s->trainer);
        if (!st && !s->trainer.type) {
            hn_options o = {.line = c->dataset_line};
            snprintf(o.file, sizeof o.file, "%s", c->path);
            char v[2][64];
            snprintf(v[0], sizeof v[0], "%d", c->batch), snprintf(v[1], sizeof v[1], "%.9g", c->lr);
            if (!(st = hn_options_add(&o, "batch", v[0], o.line)) && !(st = hn_options_add(&o, "lr", v[1], o.line)))
                st = hn_provider_new("train", &o, &env, &s->trainer);
        }
        for (int i = 0; !st && c->final_inherit && i < s->nproviders && !s->giver; i++)
            if (s->providers[i].type->inherit) s->giver = &s->providers[i];
        if (!st && c->final_inherit && !s->giver)
            st = hn_error(HN_ERR_INVALID, "%s:%d: final: 'weights: inherited' fine-tunes the weights the accuracy provider "
                          "shares, and no provider of this study shares any: use accuracy: {supernet: {...}} or weights: "
                          "scratch", c->path, c->final_line);
    }
    char known[1024];
    metric_list(s, known, sizeof known);
    for (int i = 0; !st && i < c->nobjectives; i++)
        if (!metric_known(s, c->objectives[i].metric))
            st = hn_error(HN_ERR_INVALID, "%s:%d: objective '%s': unknown metric (this study's providers write: %s%s)", c->path,
                          c->objectives[i].line, c->objectives[i].metric, known,
                          c->device[0] ? "" : "; a device adds latency_s, energy_j, ...");
    for (int i = 0; !st && i < c->nconstraints; i++)
        if (!metric_known(s, c->constraints[i].metric))
            st = hn_error(HN_ERR_INVALID, "%s:%d: constraint on '%s': unknown metric (this study's providers write: %s%s)",
                          c->path, c->constraints[i].line, c->constraints[i].metric, known,
                          c->device[0] ? "" : "; hardware metrics need a 'device'");
    return st;
}

/* What a study needs besides its store: space, providers, strategy, the candidates' spec. */
static hn_status setup(hn_study *s, const char *const *device_dirs) {
    const hn_study_config *c = &s->cfg;
    s->space = hn_space_find(c->space);
    if (!s->space) return hn_error(HN_ERR_INVALID, "%s: unknown space '%s'", c->path, c->space);
    s->spec.space = c->space_cfg;
    if (c->numtypes[0]) {
        char w[16], a[16];
        sscanf(c->numtypes, "%15[^/]/%15s", w, a);
        s->spec.numtypes = true;
        s->spec.wtype = hn_numtype_from_name(w), s->spec.atype = hn_numtype_from_name(a);
    }
    study_worker_id(s->worker, sizeof s->worker);
    hn_status st = hn_strategy_new(c->strategy, s->space, &c->strategy_options, c->nobjectives, c->seed, &s->strategy);
    if (st) return hn_error_prefix(st, "%s", c->path);
    return make_providers(s, device_dirs); /* datasets load on first use: a worker that only writes outputs never needs them */
}

static hn_study *new_study(const char *dir) {
    hn_study *s = hn_calloc(sizeof *s);
    if (s) snprintf(s->dir, sizeof s->dir, "%s", dir);
    return s;
}

hn_status hn_study_create(const char *dir, const hn_study_config *cfg, const char *const *device_dirs, hn_study **out) {
    *out = NULL;
    char path[1200], *text = NULL;
    size_t len = 0;
    hn_study *s = new_study(dir);
    if (!s) return hn_error(HN_ERR_NOMEM, "study");
    s->cfg = *cfg;
    const hn_candidate_spec *spec;
    /* everything that can be wrong with the study file first: nothing is created for a bad one */
    hn_status st = study_read_text(cfg->path, &text, &len);
    if (!st) st = setup(s, device_dirs);
    if (!st) st = study_spec(s, &spec); /* reads the dataset's shape: a missing dataset fails here */
    if (!st && (st = hn_make_dirs(dir))) st = hn_error_prefix(st, "the study directory");
    snprintf(path, sizeof path, "%s/weights", dir);
    if (!st && mkdir(path, 0777) && errno != EEXIST) st = hn_error(HN_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/study.db", dir);
    /* the study file goes into the store's creating transaction: a store never lacks it */
    const char *meta[] = {"study_file", cfg->path, "study_text", text, cfg->supernet[0] ? "supernet" : NULL, cfg->supernet, NULL};
    if (!st) st = store_open(&s->db, path, true, meta);
    hn_free(text);
    if (st) {
        hn_study_close(s);
        return st;
    }
    *out = s;
    return HN_OK;
}

hn_status hn_study_open(const char *dir, const char *const *device_dirs, hn_study **out) {
    *out = NULL;
    char path[1200];
    snprintf(path, sizeof path, "%s/study.db", dir);
    hn_study *s = new_study(dir);
    if (!s) return hn_error(HN_ERR_NOMEM, "study");
    char *file = NULL, *text = NULL;
    hn_status st = store_open(&s->db, path, false, NULL);
    if (!st) st = store_meta_get(&s->db, "study_file", &file);
    if (!st) st = store_meta_get(&s->db, "study_text", &text);
    if (!st && (!file || !text)) st = hn_error(HN_ERR_FORMAT, "%s: the store has no study file (a half-created study?)", path);
    if (!st) st = hn_study_config_parse(text, strlen(text), file, &s->cfg);
    char *supernet = NULL; /* created with --supernet: the same accuracy on resuming */
    if (!st) st = store_meta_get(&s->db, "supernet", &supernet);
    if (!st && supernet) st = hn_study_config_use_supernet(&s->cfg, supernet);
    if (!st) st = setup(s, device_dirs);
    hn_free(supernet);
    hn_free(file);
    hn_free(text);
    if (st) {
        hn_study_close(s);
        return st;
    }
    *out = s;
    return HN_OK;
}

hn_status study_evaluator_new(const char *path, const char *text, const char *dir, const char *supernet,
                              const char *const *device_dirs, hn_study **out) {
    *out = NULL;
    hn_study *s = new_study(dir);
    if (!s) return hn_error(HN_ERR_NOMEM, "study");
    hn_status st = hn_study_config_parse(text, strlen(text), path, &s->cfg);
    if (!st && supernet[0]) st = hn_study_config_use_supernet(&s->cfg, supernet);
    if (!st) st = setup(s, device_dirs);
    if (st) {
        hn_study_close(s);
        return st;
    }
    *out = s;
    return HN_OK;
}

int study_first_expensive(const hn_study *s) {
    int i = 0;
    while (i < s->nproviders && s->providers[i].tier != HN_TIER_EXPENSIVE) i++;
    return i;
}

hn_status hn_study_close(hn_study *s) {
    if (!s) return HN_OK;
    store_close(&s->db);
    hn_strategy_free(s->strategy);
    for (int i = 0; i < s->nproviders; i++) hn_provider_free(&s->providers[i]);
    hn_provider_free(&s->trainer);
    for (int i = 0; i < s->nres; i++) hn_dataset_free(s->res[i].train), hn_dataset_free(s->res[i].test);
    hn_free(s);
    return HN_OK;
}

const hn_study_config *hn_study_get_config(const hn_study *s) { return &s->cfg; }

void hn_study_set_threads(hn_study *s, int n) { s->cfg.threads = n > 0 ? n : 0; }

/* The threads for this worker's next trial. Workers on one machine are separate processes with an
 * OpenMP pool each, and OpenMP's threads spin while they wait: two pools of all the cores on the same
 * cores slow each other down far below one pool's throughput. Without a fixed count, each worker
 * takes its share of the cores among the study's workers running trials now (itself included),
 * re-counted before every trial, so a worker that joins or leaves changes the split at the next
 * trials of the others. */
static void share_cores(hn_study *s) {
    int threads = s->cfg.threads;
    if (threads <= 0) {
        int workers = study_running_workers(s);
        threads = omp_get_num_procs() / (workers > 0 ? workers : 1);
        if (threads < 1) threads = 1;
    }
    if (threads != hn_get_threads()) hn_set_threads(threads);
}
const char *hn_study_dir(const hn_study *s) { return s->dir; }
int hn_study_providers(const hn_study *s) { return s->nproviders; }
const hn_provider *hn_study_provider_at(const hn_study *s, int i, int *evaluated) {
    if (evaluated) *evaluated = s->evaluated[i];
    return &s->providers[i];
}

/* ---- data ---------------------------------------------------------------------------------------- */

/* The dataset's splits at resolution h x w (loaded and resized once per resolution). */
hn_status study_data_at(hn_study *s, int h, int w, hn_dataset **train, hn_dataset **test) {
    for (int i = 0; i < s->nres; i++)
        if (s->res[i].h == h && s->res[i].w == w) return *train = s->res[i].train, *test = s->res[i].test, HN_OK;
    if (s->nres == MAX_STUDY_RES) { /* drop the oldest resolution */
        hn_dataset_free(s->res[0].train), hn_dataset_free(s->res[0].test);
        memmove(s->res, s->res + 1, sizeof s->res[0] * (MAX_STUDY_RES - 1));
        s->nres--;
    }
    study_res *r = &s->res[s->nres];
    memset(r, 0, sizeof *r);
    hn_status st = hn_dataset_load(s->cfg.dataset, &r->train, &r->test);
    if (!st && (r->train->h != h || r->train->w != w) && !(st = hn_dataset_resize(r->train, h, w)))
        st = hn_dataset_resize(r->test, h, w);
    if (st) {
        hn_dataset_free(r->train), hn_dataset_free(r->test);
        return hn_error_prefix(st, "%s:%d: dataset '%s'", s->cfg.path, s->cfg.dataset_line, s->cfg.dataset);
    }
    r->h = h, r->w = w;
    s->nres++;
    *train = r->train, *test = r->test;
    return HN_OK;
}

static hn_status data_at(void *user, int h, int w, hn_dataset **train, hn_dataset **test) {
    return study_data_at(user, h, w, train, test);
}

/* The dataset's shape and classes (read from its first split once), or with no dataset the space's. */
hn_status study_spec(hn_study *s, const hn_candidate_spec **spec) {
    *spec = &s->spec;
    if (s->spec_known || !s->cfg.dataset[0]) return HN_OK;
    hn_dataset *train, *test;
    hn_status st = hn_dataset_load(s->cfg.dataset, &train, &test);
    if (st) return hn_error_prefix(st, "%s:%d: dataset '%s'", s->cfg.path, s->cfg.dataset_line, s->cfg.dataset);
    s->spec.space.input = (hn_shape){train->c, train->h, train->w};
    s->spec.space.classes = train->classes;
    if (s->cfg.train_accuracy && s->cfg.validation >= train->n)
        st = hn_error(HN_ERR_INVALID, "%s: validation %d leaves no training images (the dataset has %d)", s->cfg.path,
                      s->cfg.validation, train->n);
    hn_dataset_free(train), hn_dataset_free(test);
    s->spec_known = !st;
    return st;
}

hn_status study_candidate(hn_study *s, const char *arch, hn_candidate *c) {
    const hn_candidate_spec *spec;
    hn_status st = study_spec(s, &spec);
    if (!st) st = hn_candidate_build(s->space, arch, spec, c);
    if (st) return st;
    c->seed = s->cfg.seed;
    c->dir = s->dir;
    if (s->cfg.dataset[0]) c->data = data_at, c->data_user = s;
    return HN_OK;
}

const hn_device *study_device(const hn_study *s) {
    for (int i = 0; i < s->nproviders; i++)
        if (provider_device_of(&s->providers[i])) return provider_device_of(&s->providers[i]);
    return NULL;
}

/* ---- evaluation ----------------------------------------------------------------------------------- */

/* Constraint violation of the metrics known so far (a metric not yet measured counts as met): the
 * sum of relative excesses. */
double study_violation(const hn_study_config *c, const hn_metrics *m) {
    double v = 0;
    for (int i = 0; i < c->nconstraints; i++) {
        const hn_study_constraint *k = &c->constraints[i];
        double x;
        if (!hn_metrics_get(m, k->metric, &x)) continue;
        double excess = k->at_most ? x - k->bound : k->bound - x;
        if (excess > 0) v += excess / (fabs(k->bound) > 0 ? fabs(k->bound) : 1);
    }
    return v;
}

/* Whether every metric p writes is in cached; if so copies them into m. */
static bool from_cache(const hn_provider *p, const hn_metrics *cached, hn_metrics *m) {
    double v;
    for (int k = 0; p->metrics[k]; k++)
        if (!hn_metrics_get(cached, p->metrics[k], &v)) return false;
    for (int k = 0; p->metrics[k]; k++) hn_metrics_get(cached, p->metrics[k], &v), hn_metrics_set(m, p->metrics[k], v);
    return true;
}

hn_status study_evaluate(hn_study *s, const study_trial *t, const hn_metrics *cached, volatile int *stop, int from, int to,
                         hn_metrics *m, hn_metrics *fresh, char *state, char *weights, size_t wcap) {
    hn_candidate c;
    weights[0] = 0;
    hn_status st = study_candidate(s, t->genotype, &c);
    if (st) return st;
    c.fidelity = t->fidelity, c.trial = t->id, c.stop = stop;
    strcpy(state, "done");
    for (int i = from; !st && i < to; i++) {
        hn_provider *p = &s->providers[i];
        if (!(p->cache && from_cache(p, cached, m))) {
            hn_metrics out = *m;
            if ((st = p->type->evaluate(p, &c, &out))) {
                hn_error_prefix(st, "%s", p->description);
                break;
            }
            s->evaluated[i]++;
            for (int k = 0; !st && p->cache && p->metrics[k]; k++) {
                double v;
                if (hn_metrics_get(&out, p->metrics[k], &v)) st = hn_metrics_set(fresh, p->metrics[k], v);
            }
            *m = out;
        }
        bool tier_ends = i + 1 == s->nproviders || s->providers[i + 1].tier != p->tier;
        if (!st && tier_ends && i + 1 < s->nproviders && study_violation(&s->cfg, m) > 0) {
            strcpy(state, "pruned");
            break;
        }
    }
    if (!st && c.weights[0]) snprintf(weights, wcap, "%s", c.weights);
    hn_candidate_free(&c);
    return st;
}

/* ---- the work loop --------------------------------------------------------------------------------- */

void study_report(hn_study *s, void (*on_event)(void *, const hn_study_progress *), void *user, hn_study_progress *p) {
    if (!on_event) return;
    if (study_elapsed(s, &p->elapsed_s)) p->elapsed_s = hn_now() - s->started; /* the study's search time */
    study_counts(s, p);
    on_event(user, p);
}

typedef struct {
    hn_study *s;
    void (*on_event)(void *, const hn_study_progress *);
    void *user;
    double started;
} prepare_progress;

static void on_prepare(void *user, const char *phase, int64_t step, int64_t steps) {
    prepare_progress *pp = user;
    double now = hn_now();
    hn_study_progress p = {.trial = -1, .accuracy = NAN, .phase = phase, .step = step, .steps = steps};
    p.eta_s = step ? (now - pp->started) / (double)step * (double)(steps - step) : NAN;
    study_report(pp->s, pp->on_event, pp->user, &p);
}

hn_status study_prepare(hn_study *s, void (*on_event)(void *, const hn_study_progress *), void *user, volatile int *stop) {
    const hn_candidate_spec *spec;
    hn_status st = HN_OK;
    for (int i = 0; !st && i < s->nproviders; i++) {
        if (!s->providers[i].type->prepare) continue;
        prepare_progress pp = {s, on_event, user, hn_now()};
        if ((st = study_spec(s, &spec))) break;
        hn_provider_prepare ctx = {spec->space, s->cfg.dataset[0] ? data_at : NULL, s, stop, on_prepare, &pp};
        st = s->providers[i].type->prepare(&s->providers[i], &ctx);
    }
    if (st == HN_ERR_INTERRUPTED) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", hn_last_error());
        return hn_error(HN_ERR_INTERRUPTED, "%s; resume with 'hwnas search --resume %s'", msg, s->dir);
    }
    return st;
}

hn_status study_begin_trial(hn_study *s, const study_trial *t, volatile int *stop, int to,
                            void (*on_event)(void *, const hn_study_progress *), void *user, trial_run *r) {
    hn_study_progress p = {.trial = t->id, .genotype = t->genotype, .fidelity = t->fidelity, .state = "running",
                           .accuracy = NAN, .phase = "search"};
    study_report(s, on_event, user, &p);
    memset(r, 0, sizeof *r);
    strcpy(r->state, "failed");
    r->t0 = hn_now();
    hn_status st = study_cache_get(s, t->genotype, &r->cached);
    if (st) { /* the store failed, not the trial */
        study_requeue(s, t->id);
        return st;
    }
    hn_status e = study_evaluate(s, t, &r->cached, stop, 0, to, &r->m, &r->fresh, r->state, r->weights, sizeof r->weights);
    if (e == HN_ERR_INTERRUPTED) { /* back to the queue: the next worker runs it from the start */
        study_requeue(s, t->id);
        return hn_error(HN_ERR_INTERRUPTED, "stopped during trial %d, which is back in the queue; resume with "
                        "'hwnas search --resume %s'", t->id, s->dir);
    }
    if (e == HN_ERR_NOMEM) return study_requeue_after(s, t->id); /* the machine's failure, not the candidate's */
    if (e) {
        snprintf(r->error, sizeof r->error, "%s", hn_last_error());
        strcpy(r->state, "failed");
    }
    return HN_OK;
}

hn_status study_record_trial(hn_study *s, const study_trial *t, const trial_run *r,
                             void (*on_event)(void *, const hn_study_progress *), void *user) {
    hn_status st = study_finish(s, t, r->state, &r->m, &r->fresh, study_violation(&s->cfg, &r->m), hn_now() - r->t0,
                                r->error, r->weights);
    if (st) return st;
    hn_study_progress p = {.trial = t->id, .genotype = t->genotype, .fidelity = t->fidelity, .state = r->state,
                           .accuracy = NAN, .phase = "search"};
    hn_metrics_get(&r->m, "accuracy", &p.accuracy);
    study_report(s, on_event, user, &p);
    return HN_OK;
}

hn_status hn_study_work(hn_study *s, void (*on_event)(void *, const hn_study_progress *), void *user,
                        volatile int *stop) {
    s->started = hn_now();
    hn_status st = study_prepare(s, on_event, user, stop);
    if (st) return st;
    s->started = hn_now(); /* the time budget is the search's */
    for (;;) {
        if (stop && *stop) return hn_error(HN_ERR_INTERRUPTED, "stopped; resume with 'hwnas search --resume %s'", s->dir);
        study_trial t;
        bool got;
        if ((st = study_next(s, stop, &t, &got))) return st;
        if (!got) break;
        share_cores(s);
        trial_run r;
        if ((st = study_begin_trial(s, &t, stop, s->nproviders, on_event, user, &r))) return st;
        if ((st = study_record_trial(s, &t, &r, on_event, user))) return st;
    }
    return study_end(s, on_event, user, stop);
}

hn_status study_end(hn_study *s, void (*on_event)(void *, const hn_study_progress *), void *user, volatile int *stop) {
    bool mine, finished;
    hn_status st = study_claim_final(s, &mine, &finished);
    if (st) return st;
    if (finished || !mine) return HN_OK; /* done already, or another worker trains the chosen model */
    share_cores(s); /* the others have finished their trials: the final training has the machine */
    hn_study_progress p = {.trial = -1, .accuracy = NAN, .phase = "final training"};
    study_report(s, on_event, user, &p);
    return study_final(s, stop, on_event, user);
}
