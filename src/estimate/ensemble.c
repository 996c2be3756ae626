/* Learned predictors (include/hwnas/estimate.h): an ensemble of small MLPs on one-hot genotype
 * encodings, as BANANAS (White et al., AAAI 2021) uses. Each member maps the one-hot encoding (sum of
 * the space's choices; only one input per decision is 1, so the first layer is a sum of rows) to
 * HIDDEN ReLU units to one output, and is trained with full-batch Adam on mean squared error. The
 * members differ only in their initialisation; their mean is the prediction, their spread its
 * uncertainty. */
#include <math.h>
#include <string.h>

#include "hwnas/estimate.h"

enum { MEMBERS = HN_ENSEMBLE_MEMBERS, HIDDEN = 32, EPOCHS = 100, REFIT_EPOCHS = 30 };

typedef struct {
    float *w1, *b1, *w2, b2; /* (D, HIDDEN), (HIDDEN), (HIDDEN) */
} mlp;

struct hn_ensemble {
    const hn_space *space;
    int D;                  /* one-hot width */
    int *offset;            /* per decision: its first one-hot index */
    mlp net[MEMBERS];
    bool fitted;            /* every member has been fitted once */
    float *adam;            /* Adam moments for one member: 2 x params */
    float *gw1;             /* first-layer gradient: D x HIDDEN */
    float *scratch;         /* per-sample hidden activations: cap x HIDDEN */
    int cap;
};

static size_t nparams(const hn_ensemble *e) { return (size_t)e->D * HIDDEN + 2 * HIDDEN + 1; }

hn_status hn_ensemble_new(const hn_space *space, hn_ensemble **out) {
    hn_ensemble *e = hn_calloc(sizeof *e);
    *out = NULL;
    if (!e) return hn_error_prefix(HN_ERR_NOMEM, "ensemble");
    e->space = space;
    const int nd = space->ndecisions;
    e->offset = hn_alloc(sizeof(int) * (size_t)nd);
    if (!e->offset) goto nomem;
    for (int d = 0; d < nd; d++) e->offset[d] = e->D, e->D += space->choices[d];
    for (int m = 0; m < MEMBERS; m++) {
        if (!(e->net[m].w1 = hn_alloc(sizeof(float) * nparams(e)))) goto nomem;
        e->net[m].b1 = e->net[m].w1 + (size_t)e->D * HIDDEN;
        e->net[m].w2 = e->net[m].b1 + HIDDEN;
    }
    e->adam = hn_alloc(sizeof(float) * 2 * nparams(e));
    e->gw1 = hn_calloc(sizeof(float) * (size_t)e->D * HIDDEN);
    if (!e->adam || !e->gw1) goto nomem;
    *out = e;
    return HN_OK;
nomem:
    hn_ensemble_free(e);
    return hn_error_prefix(HN_ERR_NOMEM, "ensemble");
}

void hn_ensemble_free(hn_ensemble *e) {
    if (!e) return;
    for (int m = 0; m < MEMBERS; m++) hn_free(e->net[m].w1);
    hn_free(e->offset), hn_free(e->adam), hn_free(e->gw1), hn_free(e->scratch);
    hn_free(e);
}

/* member m's output for genotype g; h (HIDDEN) receives the hidden activations */
static float forward(const hn_ensemble *e, const mlp *m, const uint8_t *g, float *h) {
    for (int j = 0; j < HIDDEN; j++) h[j] = m->b1[j];
    for (int d = 0; d < e->space->ndecisions; d++) {
        const float *row = m->w1 + (size_t)(e->offset[d] + g[d]) * HIDDEN;
        for (int j = 0; j < HIDDEN; j++) h[j] += row[j];
    }
    float y = m->b2;
    for (int j = 0; j < HIDDEN; j++) {
        h[j] = h[j] > 0 ? h[j] : 0;
        y += m->w2[j] * h[j];
    }
    return y;
}

/* trains member m on the n genotypes and targets t for `epochs` epochs of full-batch Adam */
static void train(hn_ensemble *e, mlp *m, const uint8_t *genos, const float *t, int n, int epochs) {
    const size_t P = nparams(e);
    const int nd = e->space->ndecisions;
    memset(e->adam, 0, sizeof(float) * 2 * P);
    float *mom = e->adam, *vel = e->adam + P, gw2[HIDDEN], gb1[HIDDEN];
    const float lr = 0.01f, b1 = 0.9f, b2 = 0.999f;
    /* the first layer's gradient only touches the rows of the chosen values (the one-hot inputs that
     * are 1); Adam then updates every weight, the others with a zero gradient (and zeroes gw1 again) */
    float *gw1 = e->gw1;
    for (int ep = 1; ep <= epochs; ep++) {
        float gb2 = 0;
        memset(gw2, 0, sizeof gw2), memset(gb1, 0, sizeof gb1);
        for (int i = 0; i < n; i++) {
            const uint8_t *g = genos + (size_t)i * nd;
            float *h = e->scratch + (size_t)i * HIDDEN;
            float err = 2 * (forward(e, m, g, h) - t[i]) / (float)n; /* d mean squared error */
            gb2 += err;
            for (int j = 0; j < HIDDEN; j++) {
                gw2[j] += err * h[j];
                float gh = h[j] > 0 ? err * m->w2[j] : 0;
                gb1[j] += gh;
                for (int d = 0; d < nd; d++) gw1[(size_t)(e->offset[d] + g[d]) * HIDDEN + j] += gh;
            }
        }
        const float c1 = 1 - powf(b1, (float)ep), c2 = 1 - powf(b2, (float)ep);
#define ADAM(param, grad, k)                                                                                         \
    do {                                                                                                            \
        mom[k] = b1 * mom[k] + (1 - b1) * (grad);                                                                   \
        vel[k] = b2 * vel[k] + (1 - b2) * (grad) * (grad);                                                          \
        (param) -= lr * (mom[k] / c1) / (sqrtf(vel[k] / c2) + 1e-8f);                                               \
    } while (0)
        for (size_t k = 0; k < (size_t)e->D * HIDDEN; k++) {
            ADAM(m->w1[k], gw1[k], k);
            gw1[k] = 0;
        }
        size_t o = (size_t)e->D * HIDDEN;
        for (int j = 0; j < HIDDEN; j++) ADAM(m->b1[j], gb1[j], o + j);
        for (int j = 0; j < HIDDEN; j++) ADAM(m->w2[j], gw2[j], o + HIDDEN + j);
        ADAM(m->b2, gb2, o + 2 * HIDDEN);
#undef ADAM
    }
}

hn_status hn_ensemble_fit(hn_ensemble *e, const uint8_t *genos, const float *targets, int n, bool cold, hn_rng *rng) {
    if (n < 1) return hn_error(HN_ERR_INVALID, "ensemble: nothing to fit");
    if (n > e->cap) {
        hn_free(e->scratch);
        e->cap = 0;
        if (!(e->scratch = hn_alloc(sizeof(float) * (size_t)n * HIDDEN))) return hn_error_prefix(HN_ERR_NOMEM, "ensemble");
        e->cap = n;
    }
    cold |= !e->fitted;
    for (int k = 0; k < MEMBERS; k++) {
        mlp *m = &e->net[k];
        if (cold) {
            const float bound1 = 1.0f / sqrtf((float)e->space->ndecisions), bound2 = 1.0f / sqrtf((float)HIDDEN);
            for (size_t i = 0; i < (size_t)e->D * HIDDEN; i++) m->w1[i] = bound1 * (2 * hn_rng_uniform(rng) - 1);
            for (int j = 0; j < HIDDEN; j++) m->b1[j] = 0, m->w2[j] = bound2 * (2 * hn_rng_uniform(rng) - 1);
            m->b2 = 0;
        }
        train(e, m, genos, targets, n, cold ? EPOCHS : REFIT_EPOCHS);
    }
    e->fitted = true;
    return HN_OK;
}

void hn_ensemble_predict(const hn_ensemble *e, const uint8_t *g, double *mean, double *spread) {
    float h[HIDDEN];
    double mu = 0, m2 = 0;
    for (int k = 0; k < MEMBERS; k++) {
        double y = forward(e, &e->net[k], g, h);
        mu += y / MEMBERS, m2 += y * y / MEMBERS;
    }
    *mean = mu;
    *spread = sqrt(fmax(m2 - mu * mu, 0));
}
