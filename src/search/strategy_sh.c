/* Successive halving (Jamieson & Talwalkar 2016): the largest bracket of halving.c, repeated. */
#include "halving.h"

static hn_status init(hn_strategy *s) { return halving_init(s, false); }

const strategy_def strategy_sh = {.name = "sh", .state_size = sizeof(halving), .multi_fidelity = true,
                                  .init = init, .ask = halving_ask, .tell = halving_tell, .destroy = halving_destroy};
