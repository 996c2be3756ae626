/* Provider "proxy": a zero-cost proxy (src/estimate/proxy.c) of the freshly initialised candidate on
 * one mini-batch of training images -- a score that ranks networks without training them. Cheap,
 * cached (initialisation and batch are fixed by the seed). Options: proxy (synflow, snip, grad_norm,
 * jacob_cov, naswot, params, macs), batch (images; default 64), as (the metric it is written under;
 * default the proxy's name -- 'accuracy: {proxy: synflow}' writes it as accuracy, so a study ranks by
 * it and trains only the chosen network). */
#include <stdio.h>
#include <string.h>

#include "hwnas/estimate.h"
#include "hwnas/provider.h"

typedef struct {
    hn_proxy proxy;
    int batch;
    char as[HN_METRIC_NAME];
    const char *names[2];
} proxy_state;

static void destroy(hn_provider *p) { hn_free(p->state); }

static hn_status create(hn_provider *p, const hn_options *o, const hn_provider_env *env) {
    (void)env;
    proxy_state *s = hn_calloc(sizeof *s);
    if (!s) return hn_error(HN_ERR_NOMEM, "proxy");
    p->state = s;
    char name[32];
    double batch;
    int line = o->line;
    hn_options_get(o, "proxy", &line);
    hn_status st = hn_options_check(o, "proxy, batch, as");
    if (!st) st = hn_options_string(o, "proxy", "", name, sizeof name);
    if (!st) st = hn_options_number(o, "batch", 2, 512, 64, &batch);
    if (!st && (s->proxy = hn_proxy_from_name(name)) == HN_PROXY_COUNT)
        st = hn_error(HN_ERR_INVALID, "%s:%d: unknown proxy '%s' (known: synflow, snip, grad_norm, jacob_cov, naswot, params, macs)",
                      o->file, line, name);
    if (!st) st = hn_options_string(o, "as", name, s->as, sizeof s->as);
    if (st) return st;
    s->batch = (int)batch;
    s->names[0] = s->as;
    p->tier = HN_TIER_CHEAP, p->cache = true, p->metrics = s->names;
    snprintf(p->description, sizeof p->description, "proxy %s on %d training images%s%s", name, s->batch,
             strcmp(s->as, name) ? " as " : "", strcmp(s->as, name) ? s->as : "");
    return HN_OK;
}

static hn_status evaluate(hn_provider *p, hn_candidate *c, hn_metrics *m) {
    const proxy_state *s = p->state;
    hn_dataset *train, *test;
    hn_status st = hn_candidate_data(c, &train, &test);
    if (!st) st = hn_candidate_params(c);
    if (st) return st;
    int n = s->batch < train->n ? s->batch : train->n;
    if (n < 2) return hn_error(HN_ERR_INVALID, "proxy: the dataset has fewer than 2 images");
    size_t per = (size_t)train->c * train->h * train->w;
    float *x = hn_alloc(sizeof(float) * per * (size_t)n);
    int32_t *y = hn_alloc(sizeof(int32_t) * (size_t)n), *idx = hn_alloc(sizeof(int32_t) * (size_t)n);
    double out[HN_PROXY_COUNT];
    if (!x || !y || !idx) st = hn_error(HN_ERR_NOMEM, "proxy batch");
    if (!st) {
        for (int i = 0; i < n; i++) idx[i] = i;
        hn_dataset_batch(train, idx, n, NULL, NULL, x, y);
        const char *arch = c->arch ? c->arch : "";
        hn_graph_init_params(c->graph, c->seed ^ hn_hash(arch, strlen(arch)));
        st = hn_proxies(c->graph, x, y, n, out);
    }
    if (!st && out[s->proxy] != out[s->proxy]) /* NaN: undefined here (e.g. an output that ignores its input) */
        st = hn_error(HN_ERR_INVALID, "proxy %s is undefined for this network", hn_proxy_name(s->proxy));
    if (!st) st = hn_metrics_set(m, s->as, out[s->proxy]);
    hn_free(x), hn_free(y), hn_free(idx);
    return st;
}

const hn_provider_type hn_provider_proxy = {"proxy", "a zero-cost proxy's score of the untrained network (proxy: NAME)",
                                            create, evaluate, destroy, NULL, NULL, NULL};
