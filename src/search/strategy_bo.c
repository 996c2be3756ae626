/* Predictor-based Bayesian optimisation in the style of BANANAS (White et al., AAAI 2021): an ensemble
 * of small MLPs (hn_ensemble, src/estimate/ensemble.c), each trained from its own initialisation on all
 * told trials, predicts the objective from a one-hot encoding of the genotype; the ensemble's mean and
 * spread give an independent Thompson sample per candidate; candidates are mutations (one or two
 * decisions) of the best trials so far. Proposals come in batches: after INIT random trials, the
 * ensemble is retrained and the best-scoring unseen candidates are proposed, BATCH of them or a fifth of
 * the trials so far if more (at most MAX_BATCH): retraining, the expensive part, gets rarer as the data
 * grows. The targets are the standardized objective (an infeasible trial counts as the worst value
 * seen); the first fit is cold, later ones continue from the previous fit. */
#include <math.h>
#include <string.h>

#include "hwnas/estimate.h"
#include "strategy.h"

enum { CANDIDATES = 100, TOP = 10, INIT = 20, BATCH = 10, MAX_BATCH = 64 };

typedef struct {
    hn_ensemble *model;
    int n, cap;             /* told trials */
    uint8_t *genos;         /* cap x nd */
    double *value, *viol;   /* cap */
    uint8_t *pending;       /* MAX_BATCH x nd */
    int npending, next;
} bo;

static hn_status init(hn_strategy *s) {
    bo *b = s->state;
    hn_status st = hn_ensemble_new(s->space, &b->model);
    if (st) return hn_error_prefix(st, "bo");
    b->pending = hn_alloc((size_t)MAX_BATCH * (size_t)s->space->ndecisions);
    if (!b->pending) return hn_error_prefix(HN_ERR_NOMEM, "bo");
    return HN_OK;
}

static void destroy(hn_strategy *s) {
    bo *b = s->state;
    hn_ensemble_free(b->model);
    hn_free(b->pending), hn_free(b->genos), hn_free(b->value);
}

static void propose_batch(hn_strategy *s, bo *b) {
    const int nd = s->space->ndecisions, batch = b->n / 5 > MAX_BATCH ? MAX_BATCH : b->n / 5 > BATCH ? b->n / 5 : BATCH;
    /* targets: standardized values, infeasible trials at the worst feasible value */
    float *t = hn_alloc(sizeof(float) * (size_t)b->n);
    uint8_t *cand = hn_alloc((size_t)CANDIDATES * (size_t)nd);
    double *score = hn_alloc(sizeof(double) * CANDIDATES);
    int *top = hn_alloc(sizeof(int) * (size_t)b->n);
    bool fitted = false;
    if (t && cand && score && top) {
        double worst = -INFINITY, mean = 0, var = 0;
        for (int i = 0; i < b->n; i++)
            if (b->viol[i] <= 0 && b->value[i] > worst) worst = b->value[i];
        for (int i = 0; i < b->n; i++) mean += (b->viol[i] > 0 ? worst : b->value[i]) / b->n;
        for (int i = 0; i < b->n; i++) {
            double v = (b->viol[i] > 0 ? worst : b->value[i]) - mean;
            var += v * v / b->n;
        }
        double sd = var > 0 ? sqrt(var) : 1;
        for (int i = 0; i < b->n; i++) t[i] = (float)(((b->viol[i] > 0 ? worst : b->value[i]) - mean) / sd);
        fitted = hn_ensemble_fit(b->model, b->genos, t, b->n, false, &s->rng) == HN_OK;
    }
    if (!fitted) { /* out of memory: random proposals */
        for (int k = 0; k < batch; k++) strategy_sample_new(s, b->pending + (size_t)k * nd);
        b->npending = batch, b->next = 0;
        hn_free(t), hn_free(cand), hn_free(score), hn_free(top);
        return;
    }
    /* the best trials (feasible first) by an insertion sort of indices */
    for (int i = 0; i < b->n; i++) {
        int j = i - 1;
        while (j >= 0 && strategy_better(b->value[i], b->viol[i], b->value[top[j]], b->viol[top[j]])) top[j + 1] = top[j], j--;
        top[j + 1] = i;
    }
    int ntop = b->n < TOP ? b->n : TOP;
    for (int c = 0; c < CANDIDATES; c++) {
        uint8_t *g = cand + (size_t)c * nd;
        const uint8_t *parent = b->genos + (size_t)top[c % ntop] * nd;
        int k = nd > 1 && hn_rng_below(&s->rng, 2) ? 2 : 1; /* one or two decisions */
        strategy_mutate_new(s, parent, k, g);
        double mu, spread;
        hn_ensemble_predict(b->model, g, &mu, &spread);
        score[c] = mu + spread * hn_rng_normal(&s->rng); /* independent Thompson sample (minimized) */
        if (strategy_seen(s, g)) score[c] = INFINITY;
    }
    /* the batch lowest-scoring distinct candidates */
    b->npending = 0;
    for (int k = 0; k < batch; k++) {
        int best = -1;
        for (int c = 0; c < CANDIDATES; c++)
            if (score[c] < INFINITY && (best < 0 || score[c] < score[best])) best = c;
        uint8_t *dst = b->pending + (size_t)b->npending * nd;
        if (best < 0) {
            strategy_sample_new(s, dst);
        } else {
            memcpy(dst, cand + (size_t)best * nd, (size_t)nd);
            for (int c = 0; c < CANDIDATES; c++) /* twins of the chosen one are out too */
                if (!memcmp(cand + (size_t)c * nd, dst, (size_t)nd)) score[c] = INFINITY;
        }
        b->npending++;
    }
    b->next = 0;
    hn_free(t), hn_free(cand), hn_free(score), hn_free(top);
}

static void ask(hn_strategy *s, uint8_t *g, double *fidelity) {
    (void)fidelity;
    bo *b = s->state;
    if (b->n < INIT) {
        strategy_sample_new(s, g);
        return;
    }
    while (b->next < b->npending && strategy_seen(s, b->pending + (size_t)b->next * s->space->ndecisions)) b->next++;
    if (b->next >= b->npending) propose_batch(s, b);
    memcpy(g, b->pending + (size_t)b->next++ * s->space->ndecisions, (size_t)s->space->ndecisions);
}

static void tell(hn_strategy *s, const uint8_t *g, double fidelity, const double *values, double violation) {
    (void)fidelity;
    bo *b = s->state;
    const int nd = s->space->ndecisions;
    if (b->n == b->cap) {
        int cap = b->cap ? 2 * b->cap : 64;
        uint8_t *genos = hn_alloc((size_t)cap * (size_t)nd);
        double *value = hn_alloc(sizeof(double) * 2 * (size_t)cap);
        if (!genos || !value) { /* out of memory: this trial is not learned from */
            hn_free(genos), hn_free(value);
            return;
        }
        if (b->n) memcpy(genos, b->genos, (size_t)b->n * nd), memcpy(value, b->value, sizeof(double) * (size_t)b->n),
            memcpy(value + cap, b->viol, sizeof(double) * (size_t)b->n);
        hn_free(b->genos), hn_free(b->value);
        b->genos = genos, b->value = value, b->viol = value + cap, b->cap = cap;
    }
    memcpy(b->genos + (size_t)b->n * nd, g, (size_t)nd);
    b->value[b->n] = values[0];
    b->viol[b->n] = violation;
    b->n++;
}

const strategy_def strategy_bo = {
    .name = "bo", .state_size = sizeof(bo), .init = init, .ask = ask, .tell = tell, .destroy = destroy};
