/* Predictor-based Bayesian optimisation in the style of BANANAS (White et al., AAAI 2021): an ensemble
 * of small MLPs, each trained from its own initialisation on all told trials, predicts the objective
 * from a one-hot encoding of the genotype; the ensemble's mean and spread give an independent
 * Thompson sample per candidate; candidates are mutations (one or two decisions) of the best trials
 * so far. Proposals come in batches: after INIT random trials, the ensemble is retrained and the best-
 * scoring unseen candidates are proposed, BATCH of them or a fifth of the trials so far if more (at most
 * MAX_BATCH): retraining, the expensive part, gets rarer as the data grows.
 *
 * The MLPs: one-hot input (sum of choices; only one input per decision is 1, so the first layer is a
 * sum of rows) -> HIDDEN ReLU units -> 1, trained with Adam on the standardized objective (an
 * infeasible trial counts as the worst value seen), full batch: EPOCHS epochs from a random
 * initialisation the first time, REFIT_EPOCHS more from the previous fit at each retraining. */
#include <math.h>
#include <string.h>

#include "strategy.h"

enum { ENSEMBLE = 5, HIDDEN = 32, EPOCHS = 100, REFIT_EPOCHS = 30, CANDIDATES = 100, TOP = 10, INIT = 20, BATCH = 10, MAX_BATCH = 64 };

typedef struct {
    float *w1, *b1, *w2, b2; /* (D, HIDDEN), (HIDDEN), (HIDDEN) */
} mlp;

typedef struct {
    int D;                  /* one-hot width */
    int *offset;            /* per decision: first one-hot index */
    mlp net[ENSEMBLE];
    float *adam;            /* Adam moments for one net: 2 x params */
    float *gw1;             /* first-layer gradient: D x HIDDEN */
    int n, cap;             /* told trials */
    uint8_t *genos;         /* cap x nd */
    double *value, *viol;   /* cap */
    uint8_t *pending;       /* MAX_BATCH x nd */
    int npending, next;
    bool trained;           /* the ensemble has been fitted once */
    float *scratch;         /* per-sample hidden activations for training: cap x HIDDEN */
} bo;

static size_t nparams(const bo *b) { return (size_t)b->D * HIDDEN + 2 * HIDDEN + 1; }

static hn_status init(hn_strategy *s) {
    bo *b = s->state;
    const int nd = s->space->ndecisions;
    b->offset = hn_alloc(sizeof(int) * (size_t)nd);
    if (!b->offset) return hn_error_prefix(HN_ERR_NOMEM, "bo");
    for (int d = 0; d < nd; d++) b->offset[d] = b->D, b->D += s->space->choices[d];
    for (int e = 0; e < ENSEMBLE; e++) {
        b->net[e].w1 = hn_alloc(sizeof(float) * nparams(b));
        if (!b->net[e].w1) return hn_error_prefix(HN_ERR_NOMEM, "bo ensemble");
        b->net[e].b1 = b->net[e].w1 + (size_t)b->D * HIDDEN;
        b->net[e].w2 = b->net[e].b1 + HIDDEN;
    }
    b->adam = hn_alloc(sizeof(float) * 2 * nparams(b));
    b->gw1 = hn_calloc(sizeof(float) * (size_t)b->D * HIDDEN);
    b->pending = hn_alloc((size_t)MAX_BATCH * (size_t)nd);
    if (!b->adam || !b->gw1 || !b->pending) return hn_error_prefix(HN_ERR_NOMEM, "bo");
    return HN_OK;
}

static void destroy(hn_strategy *s) {
    bo *b = s->state;
    for (int e = 0; e < ENSEMBLE; e++) hn_free(b->net[e].w1);
    hn_free(b->offset), hn_free(b->adam), hn_free(b->gw1), hn_free(b->pending), hn_free(b->genos), hn_free(b->value),
        hn_free(b->scratch);
}

/* forward pass of net on genotype g; h (HIDDEN) receives the hidden activations */
static float forward(const hn_strategy *s, const bo *b, const mlp *m, const uint8_t *g, float *h) {
    for (int j = 0; j < HIDDEN; j++) h[j] = m->b1[j];
    for (int d = 0; d < s->space->ndecisions; d++) {
        const float *row = m->w1 + (size_t)(b->offset[d] + g[d]) * HIDDEN;
        for (int j = 0; j < HIDDEN; j++) h[j] += row[j];
    }
    float y = m->b2;
    for (int j = 0; j < HIDDEN; j++) {
        h[j] = h[j] > 0 ? h[j] : 0;
        y += m->w2[j] * h[j];
    }
    return y;
}

/* trains net e on targets t (standardized) with full-batch Adam: the first time from a random
 * initialisation for EPOCHS epochs, later from where it was for REFIT_EPOCHS (the data only grew) */
static void train(hn_strategy *s, bo *b, int e, const float *t, bool first) {
    mlp *m = &b->net[e];
    const size_t P = nparams(b);
    if (first) {
        const float bound1 = 1.0f / sqrtf((float)s->space->ndecisions), bound2 = 1.0f / sqrtf((float)HIDDEN);
        for (size_t i = 0; i < (size_t)b->D * HIDDEN; i++) m->w1[i] = bound1 * (2 * hn_rng_uniform(&s->rng) - 1);
        for (int j = 0; j < HIDDEN; j++) m->b1[j] = 0, m->w2[j] = bound2 * (2 * hn_rng_uniform(&s->rng) - 1);
        m->b2 = 0;
    }
    memset(b->adam, 0, sizeof(float) * 2 * P);
    float *mom = b->adam, *vel = b->adam + P, gw2[HIDDEN], gb1[HIDDEN];
    const float lr = 0.01f, b1 = 0.9f, b2 = 0.999f;
    const int nd = s->space->ndecisions;
    /* the first layer's gradient only touches the rows of the chosen values (the one-hot inputs that
     * are 1); Adam then updates every weight, the others with a zero gradient (and zeroes gw1 again) */
    float *gw1 = b->gw1;
    for (int ep = 1; ep <= (first ? EPOCHS : REFIT_EPOCHS); ep++) {
        float gb2 = 0;
        memset(gw2, 0, sizeof gw2), memset(gb1, 0, sizeof gb1);
        for (int i = 0; i < b->n; i++) {
            const uint8_t *g = b->genos + (size_t)i * nd;
            float *h = b->scratch + (size_t)i * HIDDEN;
            float err = 2 * (forward(s, b, m, g, h) - t[i]) / (float)b->n; /* d mean squared error */
            gb2 += err;
            for (int j = 0; j < HIDDEN; j++) {
                gw2[j] += err * h[j];
                float gh = h[j] > 0 ? err * m->w2[j] : 0;
                gb1[j] += gh;
                for (int d = 0; d < nd; d++) gw1[(size_t)(b->offset[d] + g[d]) * HIDDEN + j] += gh;
            }
        }
        const float c1 = 1 - powf(b1, (float)ep), c2 = 1 - powf(b2, (float)ep);
#define ADAM(param, grad, k)                                                                                         \
    do {                                                                                                            \
        mom[k] = b1 * mom[k] + (1 - b1) * (grad);                                                                   \
        vel[k] = b2 * vel[k] + (1 - b2) * (grad) * (grad);                                                          \
        (param) -= lr * (mom[k] / c1) / (sqrtf(vel[k] / c2) + 1e-8f);                                               \
    } while (0)
        for (size_t k = 0; k < (size_t)b->D * HIDDEN; k++) {
            ADAM(m->w1[k], gw1[k], k);
            gw1[k] = 0;
        }
        size_t o = (size_t)b->D * HIDDEN;
        for (int j = 0; j < HIDDEN; j++) ADAM(m->b1[j], gb1[j], o + j);
        for (int j = 0; j < HIDDEN; j++) ADAM(m->w2[j], gw2[j], o + HIDDEN + j);
        ADAM(m->b2, gb2, o + 2 * HIDDEN);
#undef ADAM
    }
}

static void propose_batch(hn_strategy *s, bo *b) {
    const int nd = s->space->ndecisions, batch = b->n / 5 > MAX_BATCH ? MAX_BATCH : b->n / 5 > BATCH ? b->n / 5 : BATCH;
    /* targets: standardized values, infeasible trials at the worst feasible value */
    float *t = hn_alloc(sizeof(float) * (size_t)b->n);
    b->scratch = b->scratch ? b->scratch : hn_alloc(sizeof(float) * (size_t)b->cap * HIDDEN);
    uint8_t *cand = hn_alloc((size_t)CANDIDATES * (size_t)nd);
    double *score = hn_alloc(sizeof(double) * CANDIDATES);
    int *top = hn_alloc(sizeof(int) * (size_t)b->n);
    if (!t || !b->scratch || !cand || !score || !top) { /* out of memory: random proposals */
        for (int k = 0; k < batch; k++) strategy_sample_new(s, b->pending + (size_t)k * nd);
        b->npending = batch, b->next = 0;
        hn_free(t), hn_free(cand), hn_free(score), hn_free(top);
        return;
    }
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
    for (int e = 0; e < ENSEMBLE; e++) train(s, b, e, t, !b->trained);
    b->trained = true;
    /* the best trials (feasible first) by an insertion sort of indices */
    for (int i = 0; i < b->n; i++) {
        int j = i - 1;
        while (j >= 0 && strategy_better(b->value[i], b->viol[i], b->value[top[j]], b->viol[top[j]])) top[j + 1] = top[j], j--;
        top[j + 1] = i;
    }
    int ntop = b->n < TOP ? b->n : TOP;
    float h[HIDDEN];
    for (int c = 0; c < CANDIDATES; c++) {
        uint8_t *g = cand + (size_t)c * nd;
        const uint8_t *parent = b->genos + (size_t)top[c % ntop] * nd;
        int k = nd > 1 && hn_rng_below(&s->rng, 2) ? 2 : 1; /* one or two decisions */
        strategy_mutate_new(s, parent, k, g);
        double mu = 0, m2 = 0;
        for (int e = 0; e < ENSEMBLE; e++) {
            double y = forward(s, b, &b->net[e], g, h);
            mu += y / ENSEMBLE, m2 += y * y / ENSEMBLE;
        }
        double spread = sqrt(fmax(m2 - mu * mu, 0));
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
        hn_free(b->genos), hn_free(b->value), hn_free(b->scratch);
        b->genos = genos, b->value = value, b->viol = value + cap, b->cap = cap, b->scratch = NULL;
    }
    memcpy(b->genos + (size_t)b->n * nd, g, (size_t)nd);
    b->value[b->n] = values[0];
    b->viol[b->n] = violation;
    b->n++;
}

const strategy_def strategy_bo = {
    .name = "bo", .state_size = sizeof(bo), .init = init, .ask = ask, .tell = tell, .destroy = destroy};
