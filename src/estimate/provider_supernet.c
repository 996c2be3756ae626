/* Provider "supernet": accuracy with weights inherited from a supernet (include/hwnas/supernet.h),
 * trained once per study in its prepare step -- or read from a file -- and then read by every
 * candidate: its slice copied, its batch-norm statistics recalibrated on `calibration` training images,
 * its accuracy measured on the held-out `validation` images (which the supernet never trains on).
 * Cheap and cached; the trial's fidelity does not change it.
 *
 * Options: epochs (3), batch (64), lr (0.1), random (1), sandwich (false), distill (true),
 * train_fraction (1: the share of the training images each epoch goes over), calibration (500),
 * validation (the study's), seed (the study's), path (a trained supernet to read; no training).
 * Without path the supernet lives in the study directory as supernet.hnsn, saved after every epoch;
 * a worker that finds it there, fully trained, reads it; one that finds it part-trained trains on from
 * its last epoch; several workers take turns through a lock on supernet.lock, so it is trained once. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "hwnas/supernet.h"
#include "providers.h"

typedef struct {
    hn_supernet_train_config tc;
    double train_fraction;
    int calibration, validation;
    char path[1024];  /* the supernet's file */
    bool given;       /* path came from the options: read it, never train */
    const hn_space *space;
    const char *study_dir;
    hn_supernet *sn;  /* after prepare (owned) */
} supernet_state;

static const char *const names[] = {"accuracy", "float_accuracy", NULL};
static const char *const float_names[] = {"accuracy", NULL};

static hn_status create(hn_provider *p, const hn_options *o, const hn_provider_env *env) {
    supernet_state *t = hn_calloc(sizeof *t);
    if (!t) return hn_error(HN_ERR_NOMEM, "supernet");
    p->state = t;
    t->tc = hn_supernet_train_defaults();
    t->space = env->space, t->study_dir = env->study_dir;
    double epochs, batch, lr, random, calibration, validation, seed;
    char path[1024];
    hn_status st = hn_options_check(o, "epochs, batch, lr, random, sandwich, distill, train_fraction, calibration, "
                                       "validation, seed, path");
    if (!st) st = hn_options_number(o, "epochs", 0, 10000, t->tc.epochs, &epochs);
    if (!st) st = hn_options_number(o, "batch", 1, 65536, t->tc.batch, &batch);
    if (!st) st = hn_options_number(o, "lr", 1e-9, 100, t->tc.lr, &lr);
    if (!st) st = hn_options_number(o, "random", 0, 64, t->tc.random, &random);
    if (!st) st = hn_options_bool(o, "sandwich", t->tc.sandwich, &t->tc.sandwich);
    if (!st) st = hn_options_bool(o, "distill", t->tc.distill, &t->tc.distill);
    if (!st) st = hn_options_number(o, "train_fraction", 1e-6, 1, 1, &t->train_fraction);
    if (!st) st = hn_options_number(o, "calibration", 1, 1e6, 500, &calibration);
    if (!st) st = hn_options_number(o, "validation", 1, 1e7, 10000, &validation);
    if (!st) st = hn_options_number(o, "seed", 0, 4294967295.0, (double)(env->seed & 0xffffffffu), &seed);
    if (!st) st = hn_options_string(o, "path", "", path, sizeof path);
    if (st) return st;
    if (env->space && env->space->network)
        return hn_error(HN_ERR_INVALID, "%s:%d: provider supernet: space '%s' joins an accelerator, which a supernet does not "
                        "share (search '%s' with the supernet, then the array for the chosen network)", o->file, o->line,
                        env->space->name, env->space->network->name);
    const hn_space *arch = env->space && env->space->base ? env->space->base : env->space;
    if (arch && !arch->largest)
        return hn_error(HN_ERR_INVALID, "%s:%d: provider supernet: space '%s' has no supernet (weight sharing needs the "
                        "mbconv space, alone or joined with a policy)", o->file, o->line, env->space->name);
    if (!t->tc.sandwich && random < 1)
        return hn_error(HN_ERR_INVALID, "%s:%d: provider supernet: without the sandwich rule, random must be at least 1",
                        o->file, o->line);
    t->tc.epochs = (int)epochs, t->tc.batch = (int)batch, t->tc.lr = (float)lr, t->tc.random = (int)random;
    t->tc.seed = (uint64_t)seed;
    t->calibration = (int)calibration, t->validation = (int)validation;
    t->given = path[0] != 0;
    if (t->given && path[0] != '/') { /* relative to the study file */
        char file[sizeof o->file];
        snprintf(file, sizeof file, "%s", o->file);
        snprintf(t->path, sizeof t->path, "%.500s/%.500s", dirname(file), path);
    } else if (t->given) {
        snprintf(t->path, sizeof t->path, "%s", path);
    } else if (env->study_dir) {
        snprintf(t->path, sizeof t->path, "%s/supernet.hnsn", env->study_dir);
    }
    p->tier = HN_TIER_CHEAP, p->cache = true;
    p->metrics = env->space && env->space->base ? names : float_names;
    if (t->given)
        snprintf(p->description, sizeof p->description, "supernet %.160s (inherited weights, %d images recalibrate)", t->path,
                 t->calibration);
    else
        snprintf(p->description, sizeof p->description, "supernet trained %d epochs over %g of the images (%s, batch %d, "
                 "lr %g, %d held out)", t->tc.epochs, t->train_fraction, t->tc.sandwich ? (t->tc.distill ? "sandwich rule, "
                 "in-place distillation" : "sandwich rule") : "single path", t->tc.batch, t->tc.lr, t->validation);
    return HN_OK;
}

static void destroy(hn_provider *p) {
    supernet_state *t = p->state;
    if (t) hn_supernet_free(t->sn);
    hn_free(t);
}

static void on_step(void *user, int epoch, int epochs, int64_t step, int64_t steps, float loss) {
    (void)epoch, (void)epochs, (void)loss;
    const hn_provider_prepare *ctx = user;
    if (ctx->progress) ctx->progress(ctx->progress_user, "supernet training", step, steps);
}

/* Trains (or goes on training) the study's supernet under the lock, so that one worker trains it. */
static hn_status train_here(supernet_state *t, const hn_provider_prepare *ctx) {
    char lock[1100];
    snprintf(lock, sizeof lock, "%s/supernet.lock", t->study_dir);
    int fd = open(lock, O_RDWR | O_CREAT, 0666);
    if (fd < 0) return hn_error(HN_ERR_IO, "%s: cannot open: %s", lock, strerror(errno));
    if (flock(fd, LOCK_EX)) {
        close(fd);
        return hn_error(HN_ERR_IO, "%s: cannot lock: %s", lock, strerror(errno));
    }
    hn_status st = access(t->path, F_OK) == 0 ? hn_supernet_load(t->path, t->space, &ctx->shape, &t->sn)
                                               : hn_supernet_new(t->space, &ctx->shape, t->tc.seed, &t->sn);
    if (!st && hn_supernet_epochs_done(t->sn) < t->tc.epochs) {
        hn_dataset *train, *test;
        hn_graph *g = hn_supernet_graph(t->sn);
        st = ctx->data(ctx->data_user, g->nodes[0].shape.h, g->nodes[0].shape.w, &train, &test);
        hn_supernet_train_config tc = t->tc;
        tc.holdout = t->validation;
        tc.train_limit = !st ? (int64_t)llround(t->train_fraction * (train->n - t->validation)) : 0;
        if (tc.train_limit < 1) tc.train_limit = 1;
        tc.checkpoint = t->path, tc.stop = ctx->stop, tc.progress = on_step, tc.progress_user = (void *)ctx;
        if (!st) st = hn_supernet_train(t->sn, ctx->data, ctx->data_user, &tc);
    }
    flock(fd, LOCK_UN);
    close(fd);
    if (st) { /* a part-trained supernet is never measured: the next prepare goes on from its file */
        hn_supernet_free(t->sn);
        t->sn = NULL;
    }
    return st;
}

static hn_status prepare(hn_provider *p, const hn_provider_prepare *ctx) {
    supernet_state *t = p->state;
    if (t->sn) return HN_OK;
    if (!ctx->data) return hn_error(HN_ERR_INVALID, "%s: a supernet trains and measures on images: give the 'dataset'", p->description);
    hn_status st = t->given || !t->study_dir ? hn_supernet_load(t->path, t->space, &ctx->shape, &t->sn) : train_here(t, ctx);
    return st ? hn_error_prefix(st, "%s", p->description) : HN_OK;
}

static hn_status inherit(hn_provider *p, hn_candidate *c) {
    supernet_state *t = p->state;
    if (!t->sn) return hn_error(HN_ERR_INVALID, "the supernet provider works only after its prepare step (inside a study)");
    hn_status st = hn_candidate_params(c);
    return st ? st : hn_supernet_extract(t->sn, c->graph);
}

static hn_status evaluate(hn_provider *p, hn_candidate *c, hn_metrics *m) {
    supernet_state *t = p->state;
    hn_dataset *train_set, *test, fit, val;
    double acc, ips;
    hn_status st = hn_candidate_data(c, &train_set, &test);
    if (!st) st = provider_split(train_set, t->validation, &fit, &val);
    if (!st) st = inherit(p, c);
    if (!st) st = hn_graph_recalibrate(c->graph, &fit, t->calibration, 100);
    if (!st) st = hn_evaluate(c->graph, &val, 500, &acc, &ips);
    if (!st) st = provider_measured(c, acc, &fit, &val, m);
    return st;
}

const hn_provider_type hn_provider_supernet = {"supernet", "accuracy with weights inherited from a supernet trained once",
                                               create, evaluate, destroy, NULL, prepare, inherit};
