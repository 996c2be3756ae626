/* The strategy interface (include/hwnas/search.h): creation, ask/tell, the set of proposed genotypes. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "strategy.h"

/* every src/search/strategy_*.c, listed by the build (CMakeLists.txt: hwnas_registry) */
extern const strategy_def *const hn_builtin_strategies[];

enum { MAX_STRATEGIES = 32 };
static const char *names[MAX_STRATEGIES + 1];
static char known[512]; /* "bo, hyperband, ..." for messages */
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void names_init(void) {
    size_t len = 0;
    for (int i = 0; hn_builtin_strategies[i] && i < MAX_STRATEGIES; i++) {
        names[i] = hn_builtin_strategies[i]->name;
        len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "", names[i]);
        if (len >= sizeof known) len = sizeof known - 1;
    }
}

const char *const *hn_strategy_names(void) {
    pthread_once(&names_once, names_init);
    return names;
}

const char *hn_strategy_known(void) {
    pthread_once(&names_once, names_init);
    return known;
}

/* the decisions' hash; never 0 (the empty mark) */
static uint64_t hash_of(const hn_strategy *s, const uint8_t *g) {
    uint64_t h = hn_hash(g, (size_t)s->space->ndecisions);
    return h ? h : 1;
}

static size_t find(const hn_strategy *s, uint64_t h) {
    size_t i = (size_t)h & (s->seen_cap - 1);
    while (s->seen[i] && s->seen[i] != h) i = (i + 1) & (s->seen_cap - 1);
    return i;
}

bool strategy_seen(const hn_strategy *s, const uint8_t *g) {
    uint64_t h = hash_of(s, g);
    return s->seen[find(s, h)] == h;
}

/* adds g to the set; grows it at half load (a failed allocation only disables de-duplication) */
static void mark(hn_strategy *s, const uint8_t *g) {
    if (2 * (s->seen_n + 1) > s->seen_cap) {
        uint64_t *old = s->seen;
        size_t oldcap = s->seen_cap;
        uint64_t *grown = hn_calloc(sizeof(uint64_t) * oldcap * 2);
        if (!grown) return;
        s->seen = grown, s->seen_cap = oldcap * 2;
        for (size_t i = 0; i < oldcap; i++)
            if (old[i]) s->seen[find(s, old[i])] = old[i];
        hn_free(old);
    }
    uint64_t h = hash_of(s, g);
    size_t i = find(s, h);
    if (!s->seen[i]) s->seen[i] = h, s->seen_n++;
}

enum { TRIES = 64 };

void strategy_sample_new(hn_strategy *s, uint8_t *g) {
    for (int t = 0; t < TRIES; t++) {
        hn_space_sample(s->space, &s->rng, g);
        if (!strategy_seen(s, g)) return;
    }
}

void strategy_mutate_new(hn_strategy *s, const uint8_t *parent, int k, uint8_t *child) {
    for (int t = 0; t < TRIES; t++) {
        hn_space_mutate(s->space, &s->rng, parent, k, child);
        if (!strategy_seen(s, child)) return;
    }
}

hn_status hn_strategy_new(const char *name, const hn_space *space, const hn_strategy_options *options, int nobj,
                          uint64_t seed, hn_strategy **out) {
    *out = NULL;
    const strategy_def *def = NULL;
    for (int i = 0; hn_builtin_strategies[i]; i++)
        if (!strcmp(hn_builtin_strategies[i]->name, name)) def = hn_builtin_strategies[i];
    if (!def) return hn_error(HN_ERR_INVALID, "unknown strategy '%s' (known: %s)", name, hn_strategy_known());
    if (nobj < 1 || nobj > HN_MAX_OBJECTIVES)
        return hn_error(HN_ERR_INVALID, "%d objectives (1..%d)", nobj, HN_MAX_OBJECTIVES);
    hn_strategy *s = hn_calloc(sizeof *s);
    if (!s) return hn_error_prefix(HN_ERR_NOMEM, "strategy %s", name);
    s->def = def, s->space = space, s->nobj = nobj;
    if (options) s->opt = *options;
    hn_rng_seed(&s->rng, seed, 0x853c49e6748fea9bULL);
    s->seen_cap = 1024;
    s->seen = hn_calloc(sizeof(uint64_t) * s->seen_cap);
    s->state = def->state_size ? hn_calloc(def->state_size) : NULL;
    hn_status st = !s->seen || (def->state_size && !s->state) ? hn_error_prefix(HN_ERR_NOMEM, "strategy %s", name) : HN_OK;
    if (!st && def->init) st = def->init(s);
    if (st) {
        hn_strategy_free(s);
        return st;
    }
    *out = s;
    return HN_OK;
}

void hn_strategy_free(hn_strategy *s) {
    if (!s) return;
    if (s->def->destroy && (s->state || !s->def->state_size)) s->def->destroy(s); /* state NULL: its allocation failed */
    hn_free(s->state);
    hn_free(s->seen);
    hn_free(s);
}

bool hn_strategy_multi_fidelity(const hn_strategy *s) { return s->def->multi_fidelity; }

hn_status hn_strategy_ask(hn_strategy *s, uint8_t *g, double *fidelity) {
    if (!fidelity && s->def->multi_fidelity)
        return hn_error(HN_ERR_INVALID, "strategy %s asks at a fidelity: the caller must take it", s->def->name);
    double f = 1;
    s->def->ask(s, g, &f);
    if (fidelity) *fidelity = f;
    mark(s, g);
    return HN_OK;
}

hn_status hn_strategy_tell(hn_strategy *s, const uint8_t *g, double fidelity, const double *values, double violation) {
    if (!(fidelity > 0 && fidelity <= 1)) return hn_error(HN_ERR_INVALID, "told a fidelity of %g (0 < fidelity <= 1)", fidelity);
    for (int i = 0; i < s->space->ndecisions; i++)
        if (g[i] >= s->space->choices[i])
            return hn_error(HN_ERR_INVALID, "told a genotype whose decision %d is %d (0..%d)", i, g[i],
                            s->space->choices[i] - 1);
    s->def->tell(s, g, fidelity, values, violation);
    return HN_OK;
}
