/* Provider "predictor": a learned predictor (hn_ensemble: an ensemble of MLPs on one-hot genotypes, as
 * BANANAS uses) fitted on the study's own finished trials, which predicts a metric of a candidate
 * before anything expensive is spent on it. Cheap (a forward pass; a refit when the study has finished
 * trials it has not seen), never cached (it learns as the study goes).
 *
 * Options: metric (what it learns and predicts; default accuracy), goal (max or min: which way is
 * better; default max), warmup (trials it must have learned before it predicts; default 10), fidelity
 * (it learns trials run at this fidelity or above; default 1: full evaluations only).
 *
 * It writes predicted_M (the ensemble's mean), predicted_M_sd (its spread) and predicted_M_quantile: the
 * share of the trials it learned from whose measured M the prediction beats (ties count half). Until
 * warmup trials are learned it predicts nothing and the quantile is 1 (no evidence to hold anything back).
 * A constraint on the quantile makes it decide which candidates get trained:
 *     estimators: [{provider: predictor}]
 *     constraints: [predicted_accuracy_quantile >= 0.5]     # train only what should beat half the trained
 *
 * The fit is a function of the trials learned alone (a cold fit seeded by the study's seed and their
 * count), so every worker, and a resumed study, predicts the same for the same history. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hwnas/estimate.h"
#include "hwnas/provider.h"

typedef struct {
    const hn_space *space;
    uint64_t seed;
    char metric[HN_METRIC_NAME];
    bool maximize;
    int warmup;
    double fidelity;
    char names[3][HN_METRIC_NAME];
    const char *name_list[4];
    hn_ensemble *model;
    int n, cap, fitted_n;   /* trials learned; the count the model was fitted on (0: none) */
    uint8_t *genos;         /* cap x ndecisions */
    double *value;          /* cap: the measured metric */
    double mean, sd;        /* of value[0..fitted_n): the targets' standardization */
} predictor;

static void destroy(hn_provider *p) {
    predictor *s = p->state;
    if (!s) return;
    hn_ensemble_free(s->model);
    hn_free(s->genos), hn_free(s->value), hn_free(s);
}

static hn_status create(hn_provider *p, const hn_options *o, const hn_provider_env *env) {
    predictor *s = hn_calloc(sizeof *s);
    if (!s) return hn_error(HN_ERR_NOMEM, "predictor");
    p->state = s;
    s->space = env->space, s->seed = env->seed;
    char goal[8];
    double warmup;
    int line = o->line;
    hn_options_get(o, "goal", &line);
    hn_status st = hn_options_check(o, "metric, goal, warmup, fidelity");
    if (!st) st = hn_options_string(o, "metric", "accuracy", s->metric, sizeof s->metric);
    if (!st) st = hn_options_string(o, "goal", "max", goal, sizeof goal);
    if (!st) st = hn_options_number(o, "warmup", 2, 1e6, 10, &warmup);
    if (!st) st = hn_options_number(o, "fidelity", 0, 1, 1, &s->fidelity);
    if (!st && strcmp(goal, "max") && strcmp(goal, "min"))
        st = hn_error(HN_ERR_INVALID, "%s:%d: predictor goal '%s': expected max or min", o->file, line, goal);
    if (!st && strlen(s->metric) + strlen("predicted__quantile") >= HN_METRIC_NAME)
        st = hn_error(HN_ERR_INVALID, "%s:%d: predictor metric '%s' is too long (at most %d characters)", o->file, o->line,
                      s->metric, (int)(HN_METRIC_NAME - 1 - strlen("predicted__quantile")));
    if (!st) st = hn_ensemble_new(env->space, &s->model);
    if (st) return st;
    s->maximize = !strcmp(goal, "max");
    s->warmup = (int)warmup;
    /* the length was checked above; the results are tested so that the compiler knows it too */
    if (snprintf(s->names[0], HN_METRIC_NAME, "predicted_%s", s->metric) >= HN_METRIC_NAME ||
        snprintf(s->names[1], HN_METRIC_NAME, "predicted_%s_sd", s->metric) >= HN_METRIC_NAME ||
        snprintf(s->names[2], HN_METRIC_NAME, "predicted_%s_quantile", s->metric) >= HN_METRIC_NAME)
        return hn_error(HN_ERR_INTERNAL, "predictor metric '%s': names truncated", s->metric);
    for (int i = 0; i < 3; i++) s->name_list[i] = s->names[i];
    p->tier = HN_TIER_CHEAP, p->cache = false, p->metrics = s->name_list;
    snprintf(p->description, sizeof p->description,
             "predictor of %s (%d MLPs on one-hot genotypes, fitted on the study's trials at fidelity >= %g; predicts after %d)",
             s->metric, HN_ENSEMBLE_MEMBERS, s->fidelity, s->warmup);
    return HN_OK;
}

static hn_status learn(hn_provider *p, const uint8_t *genotype, double fidelity, const hn_metrics *m) {
    predictor *s = p->state;
    double v;
    if (fidelity < s->fidelity || !hn_metrics_get(m, s->metric, &v) || !isfinite(v)) return HN_OK;
    const int nd = s->space->ndecisions;
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 64;
        uint8_t *genos = hn_alloc((size_t)cap * (size_t)nd);
        double *value = hn_alloc(sizeof(double) * (size_t)cap);
        if (!genos || !value) {
            hn_free(genos), hn_free(value);
            return hn_error(HN_ERR_NOMEM, "predictor: learning trial %d", s->n + 1);
        }
        if (s->n) memcpy(genos, s->genos, (size_t)s->n * nd), memcpy(value, s->value, sizeof(double) * (size_t)s->n);
        hn_free(s->genos), hn_free(s->value);
        s->genos = genos, s->value = value, s->cap = cap;
    }
    memcpy(s->genos + (size_t)s->n * nd, genotype, (size_t)nd);
    s->value[s->n++] = v;
    return HN_OK;
}

/* a cold fit on everything learned, seeded by the study's seed and the count */
static hn_status fit(predictor *s) {
    double mean = 0, var = 0;
    for (int i = 0; i < s->n; i++) mean += s->value[i] / s->n;
    for (int i = 0; i < s->n; i++) var += (s->value[i] - mean) * (s->value[i] - mean) / s->n;
    s->mean = mean, s->sd = var > 0 ? sqrt(var) : 1;
    float *t = hn_alloc(sizeof(float) * (size_t)s->n);
    if (!t) return hn_error(HN_ERR_NOMEM, "predictor targets");
    for (int i = 0; i < s->n; i++) t[i] = (float)((s->value[i] - s->mean) / s->sd);
    hn_rng rng;
    hn_rng_seed(&rng, s->seed, 0x9e3779b97f4a7c15ull ^ (uint64_t)s->n);
    hn_status st = hn_ensemble_fit(s->model, s->genos, t, s->n, true, &rng);
    hn_free(t);
    if (!st) s->fitted_n = s->n;
    return st;
}

static hn_status evaluate(hn_provider *p, hn_candidate *c, hn_metrics *m) {
    predictor *s = p->state;
    if (s->n < s->warmup) return hn_metrics_set(m, s->names[2], 1);
    hn_status st = s->fitted_n == s->n ? HN_OK : fit(s);
    if (st) return st;
    double mu, spread;
    hn_ensemble_predict(s->model, c->genotype, &mu, &spread);
    double pred = s->mean + s->sd * mu, beaten = 0;
    for (int i = 0; i < s->n; i++) beaten += s->value[i] == pred ? 0.5 : (s->maximize ? s->value[i] < pred : s->value[i] > pred);
    st = hn_metrics_set(m, s->names[0], pred);
    if (!st) st = hn_metrics_set(m, s->names[1], s->sd * spread);
    if (!st) st = hn_metrics_set(m, s->names[2], beaten / s->n);
    return st;
}

const hn_provider_type hn_provider_predictor = {
    "predictor", "a metric predicted by an MLP ensemble fitted on the study's own trials (metric:, warmup:)",
    create, evaluate, destroy, learn, NULL, NULL};
