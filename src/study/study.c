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

#include "hwnas/data.h"
#include "hwnas/estimate.h"
#include "hwnas/quant.h"
#include "hwnas/study.h"
#include "hwnas/train.h"
#include "study_internal.h"

/* ---- opening ------------------------------------------------------------------------------------ */

/* What a study needs besides its store: space, device, strategy, the estimator's data. */
static hn_status setup(hn_study *s, const char *const *device_dirs) {
    const hn_study_config *c = &s->cfg;
    s->space = hn_space_find(c->space);
    if (!s->space) return hn_error(HN_ERR_INVALID, "%s: unknown space '%s'", c->path, c->space);
    if (c->device[0]) {
        char path[1024];
        hn_status st = hn_device_find(c->device, device_dirs, path, sizeof path);
        if (!st) st = hn_device_load(path, &s->device);
        if (st) return hn_error_prefix(st, "%s:%d: device", c->path, c->device_line);
        s->has_device = true;
    }
    if (c->numtypes[0]) {
        char w[16], a[16];
        sscanf(c->numtypes, "%15[^/]/%15s", w, a);
        s->wtype = hn_numtype_from_name(w), s->atype = hn_numtype_from_name(a);
    }
    /* "PID:TOKEN": the token tells this process from a dead one that had the same pid */
    snprintf(s->worker, sizeof s->worker, "%ld:%08llx", (long)getpid(),
             (unsigned long long)(hn_hash(&s, sizeof s) ^ (uint64_t)(hn_now() * 1e9)) & 0xffffffffULL);
    hn_status st = hn_strategy_new(c->strategy, s->space, &c->strategy_options, c->nobjectives, c->seed, &s->strategy);
    if (st) return hn_error_prefix(st, "%s", c->path);
    if (c->table[0]) return hn_table_load(c->table, s->space, &s->table);
    return HN_OK; /* datasets load on first use: a worker that only writes outputs never needs them */
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
    hn_space_config sc;
    /* everything that can be wrong with the study file first: nothing is created for a bad one */
    hn_status st = study_read_text(cfg->path, &text, &len);
    if (!st) st = setup(s, device_dirs);
    if (!st) st = study_space_config(s, &sc); /* reads the dataset's shape: a missing dataset fails here */
    if (!st && mkdir(dir, 0777) && errno != EEXIST)
        st = hn_error(HN_ERR_IO, "%s: cannot create the study directory: %s", dir, strerror(errno));
    snprintf(path, sizeof path, "%s/weights", dir);
    if (!st && mkdir(path, 0777) && errno != EEXIST) st = hn_error(HN_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/study.db", dir);
    if (!st) st = store_open(&s->db, path, true);
    if (!st && !(st = store_begin(&s->db))) {
        st = store_meta_set(&s->db, "study_file", cfg->path);
        if (!st) st = store_meta_set(&s->db, "study_text", text);
        if (!st) st = store_commit(&s->db);
        else store_rollback(&s->db);
    }
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
    hn_status st = store_open(&s->db, path, false);
    if (!st) st = store_meta_get(&s->db, "study_file", &file);
    if (!st) st = store_meta_get(&s->db, "study_text", &text);
    if (!st && (!file || !text)) st = hn_error(HN_ERR_FORMAT, "%s: the store has no study file (a half-created study?)", path);
    if (!st) st = hn_study_config_parse(text, strlen(text), file, &s->cfg);
    if (!st) st = setup(s, device_dirs);
    hn_free(file);
    hn_free(text);
    if (st) {
        hn_study_close(s);
        return st;
    }
    *out = s;
    return HN_OK;
}

hn_status hn_study_close(hn_study *s) {
    if (!s) return HN_OK;
    store_close(&s->db);
    hn_strategy_free(s->strategy);
    hn_table_free(s->table);
    for (int i = 0; i < s->nres; i++) hn_dataset_free(s->res[i].train), hn_dataset_free(s->res[i].test);
    hn_free(s);
    return HN_OK;
}

const hn_study_config *hn_study_get_config(const hn_study *s) { return &s->cfg; }
const char *hn_study_dir(const hn_study *s) { return s->dir; }

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

/* The input shape and classes networks are built for: the dataset's (read from its first split) or,
 * with a table, the space's defaults. */
hn_status study_space_config(hn_study *s, hn_space_config *sc) {
    *sc = s->cfg.space_cfg;
    if (s->table) return HN_OK;
    if (!s->data_shape.c) {
        hn_dataset *train, *test;
        hn_status st = hn_dataset_load(s->cfg.dataset, &train, &test);
        if (st) return hn_error_prefix(st, "%s:%d: dataset '%s'", s->cfg.path, s->cfg.dataset_line, s->cfg.dataset);
        s->data_shape = (hn_shape){train->c, train->h, train->w};
        s->data_classes = train->classes;
        if (s->cfg.validation >= train->n)
            st = hn_error(HN_ERR_INVALID, "%s: validation %d leaves no training images (the dataset has %d)", s->cfg.path,
                          s->cfg.validation, train->n);
        hn_dataset_free(train), hn_dataset_free(test);
        if (st) return st;
    }
    sc->input = s->data_shape;
    sc->classes = s->data_classes;
    return HN_OK;
}

/* g's network, with the study's number types unless the space sets them itself */
hn_status study_graph(hn_study *s, const uint8_t *g, hn_graph **net) {
    hn_space_config sc;
    hn_status st = study_space_config(s, &sc);
    if (!st) st = s->space->to_graph(s->space, g, &sc, net);
    if (!st && s->cfg.numtypes[0] && !s->space->base) {
        hn_graph_set_numtypes(*net, s->wtype, s->atype);
        hn_graph_propagate_numtypes(*net);
    }
    return st;
}

/* ---- evaluation ----------------------------------------------------------------------------------- */

/* Trains net at fidelity f on the first (n - validation) training images and measures accuracy on the
 * last `validation`. In a space with a quantization policy ("+quant"), the accuracy is that of the
 * policy (fake quantization, calibrated on the training images) and *float_accuracy the float
 * network's; elsewhere the two are the same. */
static hn_status train_at(hn_study *s, hn_graph *net, const char *arch, double f, volatile int *stop, double *accuracy,
                          double *float_accuracy, double *seconds) {
    hn_dataset *train, *test;
    hn_shape in = net->nodes[0].shape;
    hn_status st = study_data_at(s, in.h, in.w, &train, &test);
    if (st) return st;
    hn_dataset fit = *train, val = *train; /* views: the same images, never freed */
    fit.n = train->n - s->cfg.validation;
    val.n = s->cfg.validation;
    val.images = train->images + (size_t)fit.n * train->c * train->h * train->w;
    val.labels = train->labels + fit.n;
    hn_train_config tc = hn_train_defaults();
    double images = f * s->cfg.epochs * s->cfg.train_fraction * fit.n, per_epoch = s->cfg.train_fraction * fit.n;
    tc.epochs = images <= per_epoch ? 1 : (int)lround(images / per_epoch);
    tc.train_limit = (int64_t)llround(images <= per_epoch ? images : per_epoch);
    if (tc.train_limit < 1) tc.train_limit = 1;
    tc.batch = s->cfg.batch, tc.lr = s->cfg.lr;
    tc.seed = s->cfg.seed ^ hn_hash(arch, strlen(arch)); /* the same genotype starts the same at every fidelity */
    tc.stop = stop;
    hn_graph_init_params(net, tc.seed);
    hn_train_result r;
    st = hn_train(net, &fit, &val, &tc, &r);
    if (!st) *accuracy = *float_accuracy = r.test_accuracy, *seconds = r.train_seconds;
    if (!st && s->space->base) st = hn_fake_quant_evaluate(net, &fit, STUDY_CALIBRATION, &val, accuracy);
    return st;
}

/* Constraint violation of the metrics known so far (a metric not yet measured counts as met): the
 * sum of relative excesses. */
static double violation(const hn_study_config *c, const study_metrics *m) {
    double v = 0;
    for (int i = 0; i < c->nconstraints; i++) {
        const hn_study_constraint *k = &c->constraints[i];
        double x;
        if (!study_metric(m, k->metric, &x)) continue;
        double excess = k->at_most ? x - k->bound : k->bound - x;
        if (excess > 0) v += excess / (fabs(k->bound) > 0 ? fabs(k->bound) : 1);
    }
    return v;
}

/* Evaluates trial (its genotype string, fidelity) into m and its state: counting and the device first
 * (cached by genotype); a trial that breaks a constraint there is pruned before any training. */
static hn_status evaluate(hn_study *s, const study_trial *t, volatile int *stop, study_metrics *m, char *state,
                          char *weights, size_t wcap) {
    uint8_t g[HN_SPACE_MAX_DECISIONS];
    hn_graph *net = NULL;
    hn_status st = s->space->parse(s->space, t->genotype, g);
    if (!st) st = study_graph(s, g, &net);
    if (st) return st;
    m->n = 0;
    weights[0] = 0;
    if (!(st = study_cache_get(s, t->genotype, m)) && m->n == 0) { /* not cached: count and cost */
        study_metric_set(m, "params", (double)hn_graph_param_count(net));
        study_metric_set(m, "macs", (double)hn_graph_macs(net));
        if (s->has_device) {
            hn_hw_cost c;
            if (!(st = hn_device_cost(&s->device, net, &c, NULL)))
                for (const char *const *name = hn_hw_metric_names(); *name; name++) {
                    double v;
                    hn_hw_metric(&c, *name, &v);
                    study_metric_set(m, *name, v);
                }
        }
        m->fresh = true;
    }
    if (!st && violation(&s->cfg, m) > 0) {
        strcpy(state, "pruned");
    } else if (!st && s->table) {
        const double *row = hn_table_lookup(s->table, g);
        if (!row) st = hn_error(HN_ERR_INVALID, "%s: the table has no row for %s", s->cfg.table, t->genotype);
        else study_metric_set(m, "accuracy", row[hn_table_metric_index(s->table, s->cfg.accuracy_column)]);
        strcpy(state, "done");
    } else if (!st) {
        double acc, facc, secs;
        if (!(st = hn_graph_finalize(net)) && !(st = train_at(s, net, t->genotype, t->fidelity, stop, &acc, &facc, &secs))) {
            study_metric_set(m, "accuracy", acc);
            if (s->space->base) study_metric_set(m, "float_accuracy", facc);
            study_metric_set(m, "train_seconds", secs);
            strcpy(state, "done");
            if (t->fidelity >= 1) { /* a full-fidelity candidate may be the chosen one: keep its weights */
                snprintf(weights, wcap, "weights/trial-%d.hntf", t->id);
                char path[1400];
                snprintf(path, sizeof path, "%s/%s", s->dir, weights);
                st = hn_graph_save_weights(net, path);
            }
        }
    }
    hn_graph_free(net);
    return st;
}

/* ---- the work loop --------------------------------------------------------------------------------- */

static void report(hn_study *s, void (*on_event)(void *, const hn_study_progress *), void *user, hn_study_progress *p) {
    if (!on_event) return;
    p->elapsed_s = hn_now() - s->started;
    study_counts(s, p);
    on_event(user, p);
}

hn_status hn_study_work(hn_study *s, void (*on_event)(void *, const hn_study_progress *), void *user,
                        volatile int *stop) {
    s->started = hn_now();
    hn_status st = HN_OK;
    for (;;) {
        if (stop && *stop) return hn_error(HN_ERR_INTERRUPTED, "stopped; resume with 'hwnas search --resume %s'", s->dir);
        study_trial t;
        bool got;
        if ((st = study_next(s, stop, &t, &got))) return st;
        if (!got) break;
        hn_study_progress p = {.trial = t.id, .genotype = t.genotype, .fidelity = t.fidelity, .state = "running",
                               .accuracy = NAN, .phase = "search"};
        report(s, on_event, user, &p);
        study_metrics m = {0};
        char state[16] = "failed", weights[256] = "", error[1024] = "";
        double t0 = hn_now();
        hn_status e = evaluate(s, &t, stop, &m, state, weights, sizeof weights);
        if (e == HN_ERR_INTERRUPTED) { /* back to the queue: the next worker runs it from the start */
            study_requeue(s, t.id);
            return hn_error(HN_ERR_INTERRUPTED, "stopped during trial %d, which is back in the queue; resume with "
                            "'hwnas search --resume %s'", t.id, s->dir);
        }
        if (e) {
            snprintf(error, sizeof error, "%s", hn_last_error());
            strcpy(state, "failed");
        }
        if ((st = study_finish(s, &t, state, &m, violation(&s->cfg, &m), hn_now() - t0, error, weights))) return st;
        p.state = state;
        study_metric(&m, "accuracy", &p.accuracy);
        report(s, on_event, user, &p);
    }
    bool mine, finished;
    if ((st = study_claim_final(s, &mine, &finished))) return st;
    if (finished) return study_write_outputs(s); /* a finished study resumed: its outputs afresh */
    if (!mine) return HN_OK;
    hn_study_progress p = {.trial = -1, .accuracy = NAN, .phase = "final training"};
    report(s, on_event, user, &p);
    if ((st = study_final(s, stop, on_event, user))) return st;
    p.phase = "outputs";
    report(s, on_event, user, &p);
    return study_write_outputs(s);
}
