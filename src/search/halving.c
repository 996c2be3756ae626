/* The brackets of successive halving (Jamieson & Talwalkar 2016) and Hyperband (Li et al., JMLR 2018)
 * over a fidelity (src/search/halving.h); strategy_hyperband.c and strategy_sh.c are the two strategies.
 *
 * Fidelities are 1, 1/eta, 1/eta^2, ... down to min_fidelity: smax + 1 rungs with
 * smax = floor(log_eta(1 / min_fidelity)). A bracket s (0 <= s <= smax) starts
 * n = ceil((smax + 1) / (s + 1) * eta^s) random genotypes at fidelity eta^-s; when every genotype of a
 * rung has been told, the best floor(n / eta) (at least 1; feasible first, then the first objective)
 * go on to the next rung at eta times the fidelity, until fidelity 1. Hyperband cycles through the
 * brackets s = smax, smax - 1, ..., 0 (from many cheap evaluations to a few full ones); successive
 * halving ("sh") repeats bracket smax.
 *
 * Ask/tell: a rung can only be cut when all of it is told, so while the oldest open bracket waits, ask
 * proposes from the next one, opening a new bracket if none has work: with one evaluator the brackets
 * run in order, with several they overlap, and nobody idles. Tell matches the trial to the oldest
 * outstanding proposal of that genotype and fidelity; trials it never proposed are ignored. */
#include <math.h>
#include <string.h>

#include "halving.h"

static double fidelity_of(const hn_strategy *s, const bracket *b) {
    return pow((double)s->opt.eta, (double)(b->rung - b->s));
}

hn_status halving_init(hn_strategy *s, bool cycle) {
    halving *h = s->state;
    h->cycle = cycle;
    if (!s->opt.eta) s->opt.eta = 3;
    if (s->opt.min_fidelity == 0) s->opt.min_fidelity = 1.0 / 9;
    if (s->opt.eta < 2 || !(s->opt.min_fidelity > 0 && s->opt.min_fidelity <= 1))
        return hn_error(HN_ERR_INVALID, "%s: eta %d, min_fidelity %g (need eta >= 2, 0 < min_fidelity <= 1)", s->def->name,
                        s->opt.eta, s->opt.min_fidelity);
    h->smax = (int)floor(log(1 / s->opt.min_fidelity) / log(s->opt.eta) + 1e-9);
    h->next_s = h->smax;
    return HN_OK;
}

static void free_bracket(bracket *b) {
    hn_free(b->genos);
    hn_free(b->value);
}

void halving_destroy(hn_strategy *s) {
    halving *h = s->state;
    for (int i = 0; i < h->nopen; i++) free_bracket(&h->open[i]);
    hn_free(h->open);
}

/* (Re)allocates b's arrays for n genotypes; false when out of memory. */
static bool size_bracket(const hn_strategy *s, bracket *b, int n) {
    uint8_t *genos = hn_alloc((size_t)n * (size_t)s->space->ndecisions);
    double *value = hn_alloc(sizeof(double) * 2 * (size_t)n + sizeof(bool) * (size_t)n);
    if (!genos || !value) {
        hn_free(genos), hn_free(value);
        return false;
    }
    if (b->genos) memcpy(genos, b->genos, (size_t)n * (size_t)s->space->ndecisions); /* the promoted ones */
    free_bracket(b);
    b->genos = genos, b->value = value, b->violation = value + n, b->done = (bool *)(value + 2 * n);
    memset(b->done, 0, sizeof(bool) * (size_t)n);
    b->n = n, b->asked = b->told = 0;
    return true;
}

/* Opens the next bracket; NULL when out of memory. */
static bracket *open_bracket(hn_strategy *s) {
    halving *h = s->state;
    if (h->nopen == h->cap) {
        int cap = h->cap ? 2 * h->cap : 4;
        bracket *grown = hn_alloc(sizeof(bracket) * (size_t)cap);
        if (!grown) return NULL;
        if (h->nopen) memcpy(grown, h->open, sizeof(bracket) * (size_t)h->nopen);
        hn_free(h->open);
        h->open = grown, h->cap = cap;
    }
    bracket *b = &h->open[h->nopen];
    memset(b, 0, sizeof *b);
    b->s = h->next_s;
    if (h->cycle) h->next_s = h->next_s ? h->next_s - 1 : h->smax;
    int n = (int)ceil((double)(h->smax + 1) / (b->s + 1) * pow((double)s->opt.eta, (double)b->s) - 1e-9);
    if (!size_bracket(s, b, n)) return NULL;
    h->nopen++;
    return b;
}

void halving_ask(hn_strategy *s, uint8_t *g, double *fidelity) {
    halving *h = s->state;
    const int nd = s->space->ndecisions;
    bracket *b = NULL;
    for (int i = 0; i < h->nopen && !b; i++)
        if (h->open[i].asked < h->open[i].n) b = &h->open[i];
    if (!b) b = open_bracket(s);
    if (!b) { /* out of memory: a random full evaluation keeps the search going */
        strategy_sample_new(s, g);
        *fidelity = 1;
        return;
    }
    uint8_t *slot = b->genos + (size_t)b->asked * nd;
    if (b->rung == 0) strategy_sample_new(s, slot);
    memcpy(g, slot, (size_t)nd);
    b->asked++;
    *fidelity = fidelity_of(s, b);
}

/* After the last tell of a rung: the best n / eta move on (an insertion sort by strategy_better: rungs
 * are small), or the bracket closes. */
static void cut(hn_strategy *s, int which) {
    halving *h = s->state;
    bracket *b = &h->open[which];
    const int nd = s->space->ndecisions;
    if (b->rung < b->s) {
        for (int i = 1; i < b->n; i++)
            for (int j = i; j > 0 && strategy_better(b->value[j], b->violation[j], b->value[j - 1], b->violation[j - 1]); j--) {
                uint8_t t[HN_SPACE_MAX_DECISIONS];
                memcpy(t, b->genos + (size_t)j * nd, (size_t)nd);
                memcpy(b->genos + (size_t)j * nd, b->genos + (size_t)(j - 1) * nd, (size_t)nd);
                memcpy(b->genos + (size_t)(j - 1) * nd, t, (size_t)nd);
                double v = b->value[j], w = b->violation[j];
                b->value[j] = b->value[j - 1], b->violation[j] = b->violation[j - 1];
                b->value[j - 1] = v, b->violation[j - 1] = w;
            }
        int keep = b->n / s->opt.eta > 0 ? b->n / s->opt.eta : 1;
        if (size_bracket(s, b, keep)) {
            b->rung++;
            return;
        }
    }
    free_bracket(b); /* done (or out of memory: the bracket ends early) */
    memmove(b, b + 1, sizeof(bracket) * (size_t)(h->nopen - which - 1));
    h->nopen--;
}

void halving_tell(hn_strategy *s, const uint8_t *g, double fidelity, const double *values, double violation) {
    halving *h = s->state;
    const int nd = s->space->ndecisions;
    for (int i = 0; i < h->nopen; i++) {
        bracket *b = &h->open[i];
        if (fabs(fidelity_of(s, b) - fidelity) > 1e-9 * fidelity) continue;
        for (int k = 0; k < b->asked; k++)
            if (!b->done[k] && !memcmp(b->genos + (size_t)k * nd, g, (size_t)nd)) {
                b->done[k] = true;
                b->value[k] = values[0], b->violation[k] = violation;
                if (++b->told == b->n) cut(s, i);
                return;
            }
    }
}
