/* Provider "count": parameters and multiply-accumulates of the candidate's graph (hn_count's exact
 * counts; free, cached by genotype). Every study runs it. */
#include "hwnas/provider.h"

static const char *const names[] = {"params", "macs", NULL};

static hn_status create(hn_provider *p, const hn_options *o, const hn_provider_env *env) {
    (void)env;
    p->tier = HN_TIER_FREE, p->cache = true, p->metrics = names;
    return hn_options_check(o, "");
}

static hn_status evaluate(hn_provider *p, hn_candidate *c, hn_metrics *m) {
    (void)p;
    hn_status st = hn_metrics_set(m, "params", (double)hn_graph_param_count(c->graph));
    return st ? st : hn_metrics_set(m, "macs", (double)hn_graph_macs(c->graph));
}

const hn_provider_type hn_provider_count = {"count", "parameters and MACs, counted exactly", create, evaluate, NULL, NULL, NULL, NULL};
