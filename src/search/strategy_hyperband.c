/* Hyperband (Li et al., JMLR 2018): successive-halving brackets (halving.c) cycled from many cheap
 * evaluations (bracket smax) to a few full ones (bracket 0). */
#include "halving.h"

static hn_status init(hn_strategy *s) { return halving_init(s, true); }

const strategy_def strategy_hyperband = {.name = "hyperband", .state_size = sizeof(halving), .multi_fidelity = true,
                                         .init = init, .ask = halving_ask, .tell = halving_tell, .destroy = halving_destroy};
