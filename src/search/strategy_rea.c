/* Regularized evolution (Real et al., AAAI 2019): an aging population of the `population` most
 * recently told trials. A proposal samples `sample` members uniformly (with replacement), takes the
 * best (feasible first, then by the first objective) and mutates `mutations` of its decisions; until
 * the population is full, proposals are random. Telling appends the trial and the oldest dies. */
#include <string.h>

#include "strategy.h"

typedef struct {
    uint8_t *genos;  /* population x ndecisions, a ring in age order */
    double *value, *violation;
    int n, head;     /* members, index of the oldest */
} rea;

static hn_status init(hn_strategy *s) {
    rea *r = s->state;
    if (!s->opt.population) s->opt.population = 20;
    if (!s->opt.sample) s->opt.sample = 10;
    if (!s->opt.mutations) s->opt.mutations = 1;
    if (s->opt.population < 2 || s->opt.sample < 1 || s->opt.sample > s->opt.population || s->opt.mutations < 1)
        return hn_error(HN_ERR_INVALID, "rea: population %d, sample %d, mutations %d (need population >= 2, 1 <= sample <= population, mutations >= 1)",
                        s->opt.population, s->opt.sample, s->opt.mutations);
    int movable = 0;
    for (int i = 0; i < s->space->ndecisions; i++) movable += s->space->choices[i] > 1;
    if (s->opt.mutations > movable) s->opt.mutations = movable;
    r->genos = hn_alloc((size_t)s->opt.population * (size_t)s->space->ndecisions);
    r->value = hn_alloc(sizeof(double) * 2 * (size_t)s->opt.population);
    if (!r->genos || !r->value) return hn_error_prefix(HN_ERR_NOMEM, "rea population of %d", s->opt.population);
    r->violation = r->value + s->opt.population;
    return HN_OK;
}

static void destroy(hn_strategy *s) {
    rea *r = s->state;
    hn_free(r->genos);
    hn_free(r->value);
}

static void ask(hn_strategy *s, uint8_t *g, double *fidelity) {
    (void)fidelity;
    rea *r = s->state;
    if (r->n < s->opt.population) {
        strategy_sample_new(s, g);
        return;
    }
    int best = -1;
    for (int k = 0; k < s->opt.sample; k++) {
        int i = (int)hn_rng_below(&s->rng, (uint32_t)r->n);
        if (best < 0 || strategy_better(r->value[i], r->violation[i], r->value[best], r->violation[best])) best = i;
    }
    strategy_mutate_new(s, r->genos + (size_t)best * s->space->ndecisions, s->opt.mutations, g);
}

static void tell(hn_strategy *s, const uint8_t *g, double fidelity, const double *values, double violation) {
    (void)fidelity;
    rea *r = s->state;
    int slot;
    if (r->n < s->opt.population) {
        slot = r->n++;
    } else { /* the oldest dies */
        slot = r->head;
        r->head = (r->head + 1) % s->opt.population;
    }
    memcpy(r->genos + (size_t)slot * s->space->ndecisions, g, (size_t)s->space->ndecisions);
    r->value[slot] = values[0];
    r->violation[slot] = violation;
}

const strategy_def strategy_rea = {
    .name = "rea", .state_size = sizeof(rea), .init = init, .ask = ask, .tell = tell, .destroy = destroy};
