/* What every strategy file fills and shares (internal to src/search/). A strategy is a table of
 * functions over the common hn_strategy, which owns the generator, the options and the set of
 * genotypes already proposed. A strategy is one file, src/search/strategy_NAME.c, that defines
 * `const strategy_def strategy_NAME`: the build lists every such file (CMakeLists.txt). */
#ifndef HWNAS_SEARCH_STRATEGY_H
#define HWNAS_SEARCH_STRATEGY_H

#include "hwnas/search.h"

typedef struct {
    const char *name;
    size_t state_size;                                   /* zeroed state allocated for the strategy */
    hn_status (*init)(hn_strategy *s);                   /* may be NULL */
    bool multi_fidelity;                                 /* asks at fidelities below 1 */
    void (*ask)(hn_strategy *s, uint8_t *g, double *fidelity); /* fidelity: 1 unless multi_fidelity */
    void (*tell)(hn_strategy *s, const uint8_t *g, double fidelity, const double *values, double violation);
    void (*destroy)(hn_strategy *s);                     /* frees what init allocated; may be NULL */
} strategy_def;

struct hn_strategy {
    const strategy_def *def;
    const hn_space *space;
    hn_strategy_options opt;
    int nobj;
    hn_rng rng;
    uint64_t *seen;     /* open-addressing set of proposed genotypes' hashes (0: empty) */
    size_t seen_cap, seen_n;
    void *state;
};

/* Whether g was proposed before. */
bool strategy_seen(const hn_strategy *s, const uint8_t *g);
/* A uniformly sampled genotype not proposed before (or, after many tries, any). */
void strategy_sample_new(hn_strategy *s, uint8_t *g);
/* A child of parent with k decisions changed, not proposed before if a few tries find one. */
void strategy_mutate_new(hn_strategy *s, const uint8_t *parent, int k, uint8_t *child);
/* Single-objective order with constraints: a feasible trial beats an infeasible one, two infeasible
 * ones compare by violation, two feasible ones by value. */
static inline bool strategy_better(double va, double viola, double vb, double violb) {
    if ((viola > 0) != (violb > 0)) return viola <= 0;
    return viola > 0 ? viola < violb : va < vb;
}


#endif
