/* Random search: uniform samples, without repeats while the space has unseen genotypes. The
 * baseline every other strategy must beat (Li & Talwalkar 2019; Yang et al. 2020). */
#include "strategy.h"

static void ask(hn_strategy *s, uint8_t *g, double *fidelity) {
    (void)fidelity;
    strategy_sample_new(s, g);
}

static void tell(hn_strategy *s, const uint8_t *g, double fidelity, const double *values, double violation) {
    (void)s, (void)g, (void)fidelity, (void)values, (void)violation;
}

const strategy_def strategy_random = {.name = "random", .ask = ask, .tell = tell};
