/* Provider "train": trains the candidate on the CPU engine at the trial's fidelity and measures its
 * accuracy on held-out training images. Expensive; never cached (a fidelity trains differently).
 * Options: epochs, train_fraction (a full evaluation trains epochs over train_fraction of the
 * training images; fidelity f trains f of that), batch, lr, validation (training images held out).
 * In a space with a quantization policy ("+quant") accuracy is the policy's (fake quantization,
 * calibrated on training images) and float_accuracy the float network's. A full-fidelity trial keeps
 * its weights (weights/trial-N.hntf in the study directory). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "providers.h"

typedef struct {
    double epochs, train_fraction, lr;
    int batch, validation;
} train_opts;

static const char *const names[] = {"accuracy", "float_accuracy", "train_seconds", NULL};
static const char *const float_names[] = {"accuracy", "train_seconds", NULL};

static hn_status create(hn_provider *p, const hn_options *o, const hn_provider_env *env) {
    train_opts *t = hn_calloc(sizeof *t);
    if (!t) return hn_error(HN_ERR_NOMEM, "train");
    p->state = t;
    double batch = 128, validation = 10000;
    hn_status st = hn_options_check(o, "epochs, train_fraction, batch, lr, validation");
    if (!st) st = hn_options_number(o, "epochs", 1e-3, 10000, 1, &t->epochs);
    if (!st) st = hn_options_number(o, "train_fraction", 1e-6, 1, 1, &t->train_fraction);
    if (!st) st = hn_options_number(o, "batch", 1, 65536, 128, &batch);
    if (!st) st = hn_options_number(o, "lr", 1e-9, 100, 0.1, &t->lr);
    if (!st) st = hn_options_number(o, "validation", 1, 1e7, 10000, &validation);
    if (st) return st;
    t->batch = (int)batch, t->validation = (int)validation;
    p->tier = HN_TIER_EXPENSIVE;
    p->metrics = env->space && env->space->base ? names : float_names;
    snprintf(p->description, sizeof p->description, "train %g epochs over %g of the images (batch %d, lr %g, %d held out)",
             t->epochs, t->train_fraction, t->batch, t->lr, t->validation);
    return HN_OK;
}

static void destroy(hn_provider *p) { hn_free(p->state); }

/* trains c on fit for tc and measures on val; metrics into m. fresh: from a new initialisation, else
 * from the weights c's graph holds */
static hn_status train(hn_candidate *c, hn_train_config *tc, bool fresh, hn_dataset *fit, hn_dataset *val, hn_metrics *m) {
    const char *arch = c->arch ? c->arch : "";
    tc->seed = c->seed ^ hn_hash(arch, strlen(arch)); /* the same genotype starts the same at every fidelity */
    tc->stop = c->stop;
    hn_status st = hn_candidate_params(c);
    if (st) return st;
    if (fresh) hn_graph_init_params(c->graph, tc->seed);
    hn_train_result r;
    if ((st = hn_train(c->graph, fit, val, tc, &r))) return st;
    if ((st = provider_measured(c, r.test_accuracy, fit, val, m))) return st;
    return hn_metrics_set(m, "train_seconds", r.train_seconds);
}

static hn_status evaluate(hn_provider *p, hn_candidate *c, hn_metrics *m) {
    const train_opts *t = p->state;
    hn_dataset *train_set, *test;
    hn_status st = hn_candidate_data(c, &train_set, &test);
    if (st) return st;
    hn_dataset fit, val;
    if ((st = provider_split(train_set, t->validation, &fit, &val))) return st;
    hn_train_config tc = hn_train_defaults();
    double images = c->fidelity * t->epochs * t->train_fraction * fit.n, per_epoch = t->train_fraction * fit.n;
    tc.epochs = images <= per_epoch ? 1 : (int)lround(images / per_epoch);
    tc.train_limit = (int64_t)llround(images <= per_epoch ? images : per_epoch);
    if (tc.train_limit < 1) tc.train_limit = 1;
    tc.batch = t->batch, tc.lr = (float)t->lr;
    if ((st = train(c, &tc, true, &fit, &val, m))) return st;
    if (c->fidelity >= 1 && c->dir && c->trial >= 0) { /* a full-fidelity candidate may be the chosen one */
        char path[1400];
        snprintf(c->weights, sizeof c->weights, "weights/trial-%d.hntf", c->trial);
        snprintf(path, sizeof path, "%s/%s", c->dir, c->weights);
        st = hn_graph_save_weights(c->graph, path);
    }
    return st;
}

hn_status provider_train_final(const hn_provider *p, hn_candidate *c, int epochs, float lr, bool fresh,
                               void (*progress)(void *, int, int, int64_t, int64_t, double, float), void *progress_user,
                               hn_metrics *m) {
    const train_opts *t = p->state;
    hn_dataset *train_set, *test;
    hn_status st = hn_candidate_data(c, &train_set, &test);
    if (st) return st;
    hn_train_config tc = hn_train_defaults();
    tc.epochs = epochs, tc.batch = t->batch, tc.lr = lr > 0 ? lr : (float)t->lr;
    tc.progress = progress, tc.progress_user = progress_user;
    return train(c, &tc, fresh, train_set, test, m);
}

const hn_provider_type hn_provider_train = {"train", "trains the candidate on the CPU engine at the trial's fidelity",
                                            create, evaluate, destroy, NULL, NULL, NULL};
