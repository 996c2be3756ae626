/* Successive-halving brackets over a fidelity (src/search/halving.c), shared by the hyperband and sh
 * strategies (strategy_hyperband.c, strategy_sh.c): their state, and the functions of their
 * strategy_def. Internal to src/search/. */
#ifndef HWNAS_SEARCH_HALVING_H
#define HWNAS_SEARCH_HALVING_H

#include "strategy.h"

typedef struct {
    int s, rung;     /* bracket and its current rung (0 .. s) */
    int n;           /* genotypes in the current rung */
    int asked, told;
    uint8_t *genos;  /* n x ndecisions */
    double *value, *violation;
    bool *done;      /* told, per genotype */
} bracket;

typedef struct {
    bool cycle;       /* hyperband (true) or successive halving */
    int smax, next_s;
    bracket *open;    /* brackets in order of opening */
    int nopen, cap;
} halving;

/* Starts with eta (default 3) and min_fidelity (default 1/9) from s->opt; cycle: Hyperband's cycle
 * through the brackets, else successive halving's repeated largest bracket. */
hn_status halving_init(hn_strategy *s, bool cycle);
void halving_ask(hn_strategy *s, uint8_t *g, double *fidelity);
void halving_tell(hn_strategy *s, const uint8_t *g, double fidelity, const double *values, double violation);
void halving_destroy(hn_strategy *s);

#endif
