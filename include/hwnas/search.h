/* Search strategies behind one ask/tell interface.
 *
 * A strategy proposes genotypes (ask) and is told their objective values (tell), so evaluation can
 * happen anywhere: this thread, a worker process, another machine. Objectives are minimized: a
 * caller maximizing accuracy tells -accuracy. A trial that violates constraints is told with its
 * total violation (> 0); strategies prefer feasible trials and never call an infeasible one best.
 *
 * Determinism and resuming: a strategy's only randomness is its own generator, seeded at creation.
 * Its state is rebuilt by replaying the told trials in order -- for each, ask() (whose proposal is
 * discarded) then tell() with the recorded genotype and values -- which reproduces the original run
 * exactly as long as the trials were told in the order they were asked.
 *
 * Duplicates: a strategy does not propose a genotype it has already proposed while the space has
 * unseen ones (it redraws, up to a bound), except where its method re-evaluates on purpose.
 *
 * Fidelity: multi-fidelity strategies (hyperband, sh) ask for an evaluation at a fidelity in (0, 1]
 * -- a share of the full training budget (epochs, data), which the caller maps to its own units --
 * and may ask for the same genotype again at a higher fidelity. Every other strategy asks at 1.
 *
 * Example:
 *     hn_strategy *s;
 *     hn_strategy_new("rea", &hn_space_nb201, NULL, 1, 42, &s);
 *     for (int t = 0; t < 100; t++) {
 *         uint8_t g[HN_SPACE_MAX_DECISIONS]; double fidelity, loss;
 *         hn_strategy_ask(s, g, &fidelity);
 *         loss = -accuracy_of(g, fidelity);
 *         hn_strategy_tell(s, g, fidelity, &loss, 0);
 *     }
 *     hn_strategy_free(s);
 */
#ifndef HWNAS_SEARCH_H
#define HWNAS_SEARCH_H

#include "hwnas/space.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HN_MAX_OBJECTIVES 8

/* Hyper-parameters; a field left 0 takes the strategy's default (docs/search.md). */
typedef struct {
    int population;  /* rea: 20 (the aging population) */
    int sample;      /* rea: 10 (tournament size) */
    int mutations;   /* rea: 1 (decisions changed per child) */
    int restarts;    /* local: random samples a restart evaluates before climbing: 1 */
    int eta;         /* hyperband, sh: 3 (a rung keeps the best 1/eta and evaluates them eta times longer) */
    double min_fidelity; /* hyperband, sh: 1/9 (the cheapest rung's fidelity; rungs are 1, 1/eta, ...) */
} hn_strategy_options;

typedef struct hn_strategy hn_strategy;

/* Creates strategy name (hn_strategy_names) over space for nobj objectives. options may be
 * NULL (all defaults). The caller frees it with hn_strategy_free. Unknown names and options a
 * strategy cannot use are HN_ERR_INVALID. */
hn_status hn_strategy_new(const char *name, const hn_space *space, const hn_strategy_options *options, int nobj,
                          uint64_t seed, hn_strategy **out);
void hn_strategy_free(hn_strategy *s);

/* Writes the next genotype to propose to g (space->ndecisions bytes) and the fidelity to evaluate it
 * at to *fidelity (may be NULL for a strategy that is not multi-fidelity). */
hn_status hn_strategy_ask(hn_strategy *s, uint8_t *g, double *fidelity);
/* Reports the nobj objective values (minimized) of g evaluated at fidelity, and its constraint
 * violation (0: feasible). */
hn_status hn_strategy_tell(hn_strategy *s, const uint8_t *g, double fidelity, const double *values, double violation);
/* Whether s asks at fidelities below 1. */
bool hn_strategy_multi_fidelity(const hn_strategy *s);

/* ---- Pareto fronts (src/search/pareto.c); n points of m objectives, minimized, row-major ---- */

/* Non-dominated sorting with constraint-domination (Deb et al. 2002): a feasible point dominates an
 * infeasible one, of two infeasible ones the smaller violation dominates, and between feasible ones
 * Pareto dominance. violation (n, or NULL: all feasible). rank[i] = front of point i (0: the Pareto
 * front). Returns the number of fronts, or -1 if its scratch cannot be allocated. O(m n^2). */
int hn_pareto_rank(const double *points, const double *violation, int n, int m, int *rank);
/* Crowding distance of the k points idx[0..k) of one front into dist[0..k): the normalized perimeter
 * of the box between each point's neighbours, summed over objectives; infinite at the extremes. */
void hn_pareto_crowding(const double *points, int m, const int *idx, int k, double *dist);
/* The hypervolume the points dominate up to the reference point ref (m entries); exact for 2 or 3
 * objectives (HN_ERR_INVALID otherwise). Points not strictly better than ref in every objective add
 * nothing. */
hn_status hn_hypervolume(const double *points, int n, int m, const double *ref, double *hv);

/* The names of the strategies, NULL-terminated. */
const char *const *hn_strategy_names(void);
/* The same as one line for messages: "bo, hyperband, local, ...". */
const char *hn_strategy_known(void);

#ifdef __cplusplus
}
#endif
#endif
