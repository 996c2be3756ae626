/* Local search (White et al., "Local search is state of the art for NAS benchmarks", 2020) with best
 * improvement: from the current genotype, evaluate all its neighbours (one decision away, in random
 * order, skipping ones already evaluated); move to the best if it beats the current one, else
 * restart. A (re)start evaluates `restarts` random genotypes and climbs from the best of them. */
#include <string.h>

#include "strategy.h"

typedef struct {
    bool climbing;
    int started;          /* random samples told in the current start */
    uint8_t *cur, *best;  /* ndecisions each: the current genotype; the best neighbour or start sample */
    double cur_value, cur_viol, best_value, best_viol;
    bool have_best;
    uint8_t *nb;          /* the current genotype's neighbours, shuffled (count x ndecisions) */
    int count, next, proposed, told;
} local;

static hn_status init(hn_strategy *s) {
    local *l = s->state;
    if (!s->opt.restarts) s->opt.restarts = 1;
    if (s->opt.restarts < 1) return hn_error(HN_ERR_INVALID, "local: restarts %d (>= 1)", s->opt.restarts);
    int nd = s->space->ndecisions, count = 0;
    for (int i = 0; i < nd; i++) count += s->space->choices[i] - 1;
    l->cur = hn_alloc((size_t)nd * 2);
    l->nb = hn_alloc((size_t)count * (size_t)nd);
    if (!l->cur || !l->nb) return hn_error_prefix(HN_ERR_NOMEM, "local search over %d neighbours", count);
    l->best = l->cur + nd;
    return HN_OK;
}

static void destroy(hn_strategy *s) {
    local *l = s->state;
    hn_free(l->cur);
    hn_free(l->nb);
}

/* climb from l->best: it becomes the current genotype, and its neighbours the next proposals */
static void climb_from_best(hn_strategy *s, local *l) {
    const int nd = s->space->ndecisions;
    memcpy(l->cur, l->best, (size_t)nd);
    l->cur_value = l->best_value, l->cur_viol = l->best_viol;
    l->count = hn_space_neighbours(s->space, l->cur, l->nb);
    uint8_t tmp[HN_SPACE_MAX_DECISIONS];
    for (int i = l->count - 1; i > 0; i--) { /* Fisher-Yates */
        int j = (int)hn_rng_below(&s->rng, (uint32_t)(i + 1));
        memcpy(tmp, l->nb + (size_t)i * nd, (size_t)nd);
        memcpy(l->nb + (size_t)i * nd, l->nb + (size_t)j * nd, (size_t)nd);
        memcpy(l->nb + (size_t)j * nd, tmp, (size_t)nd);
    }
    l->next = l->proposed = l->told = 0;
    l->have_best = false;
    l->climbing = true;
}

/* all proposed neighbours are told: move to the best if it improves, else restart */
static void step(hn_strategy *s, local *l) {
    if (l->have_best && strategy_better(l->best_value, l->best_viol, l->cur_value, l->cur_viol)) {
        climb_from_best(s, l);
    } else {
        l->climbing = false;
        l->started = 0;
        l->have_best = false;
    }
}

static void ask(hn_strategy *s, uint8_t *g, double *fidelity) {
    (void)fidelity;
    local *l = s->state;
    const int nd = s->space->ndecisions;
    while (l->climbing) {
        while (l->next < l->count && strategy_seen(s, l->nb + (size_t)l->next * nd)) l->next++;
        if (l->next < l->count) {
            memcpy(g, l->nb + (size_t)l->next++ * nd, (size_t)nd);
            l->proposed++;
            return;
        }
        if (l->told < l->proposed) break; /* waiting for tells: propose something random meanwhile */
        step(s, l);
    }
    strategy_sample_new(s, g);
}

static void tell(hn_strategy *s, const uint8_t *g, double fidelity, const double *values, double violation) {
    (void)fidelity;
    local *l = s->state;
    const int nd = s->space->ndecisions;
    if (l->climbing) {
        /* only the current neighbours count (one decision from cur) */
        int diff = 0;
        for (int i = 0; i < nd; i++) diff += g[i] != l->cur[i];
        if (diff != 1) return;
        l->told++;
    } else {
        l->started++;
    }
    if (!l->have_best || strategy_better(values[0], violation, l->best_value, l->best_viol)) {
        memcpy(l->best, g, (size_t)nd);
        l->best_value = values[0], l->best_viol = violation, l->have_best = true;
    }
    if (!l->climbing && l->started >= s->opt.restarts) climb_from_best(s, l);
    else if (l->climbing && l->next >= l->count && l->told == l->proposed) step(s, l);
}

const strategy_def strategy_local = {
    .name = "local", .state_size = sizeof(local), .init = init, .ask = ask, .tell = tell, .destroy = destroy};
