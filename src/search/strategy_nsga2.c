/* NSGA-II (Deb et al., IEEE TEC 2002) over ask/tell, generation by generation: the first `population`
 * trials told form the parents; each generation proposes `population` children (binary tournaments on
 * rank, then crowding; uniform crossover; each decision mutated with probability 1/decisions, and a
 * repeat of an earlier proposal mutated again); once they are all told, parents and children are
 * sorted into fronts with constraint-domination and the next parents fill front by front, the last
 * front by crowding distance. */
#include <math.h>
#include <string.h>

#include "strategy.h"

typedef struct {
    int N, m, nd;
    uint8_t *genos;      /* 2N x nd: parents [0, N), then the children told so far */
    double *values;      /* 2N x m */
    double *violation;   /* 2N */
    int *rank;           /* 2N */
    double *crowd;       /* 2N */
    int nparents, nchildren;
    uint8_t *pending;    /* N x nd: the generation's children still to propose */
    int npending, next;
    int *idx;            /* 2N scratch */
    double *dist;        /* 2N scratch */
    uint8_t *stage_genos; /* N x nd: the survivors while they move */
    double *stage_values, *stage_violation; /* N x m, N */
} nsga2;

static hn_status init(hn_strategy *s) {
    nsga2 *a = s->state;
    if (!s->opt.population) s->opt.population = 20;
    if (s->opt.population < 4) return hn_error(HN_ERR_INVALID, "nsga2: population %d (>= 4)", s->opt.population);
    a->N = s->opt.population, a->m = s->nobj, a->nd = s->space->ndecisions;
    size_t n2 = 2 * (size_t)a->N;
    a->genos = hn_alloc(n2 * (size_t)a->nd);
    a->values = hn_alloc(sizeof(double) * n2 * (size_t)a->m);
    a->violation = hn_alloc(sizeof(double) * n2);
    /* zeroed: if a ranking cannot get its scratch, selection sees ties rather than garbage */
    a->rank = hn_calloc(sizeof(int) * n2);
    a->crowd = hn_calloc(sizeof(double) * n2);
    a->pending = hn_alloc((size_t)a->N * (size_t)a->nd);
    a->idx = hn_alloc(sizeof(int) * n2);
    a->dist = hn_alloc(sizeof(double) * n2);
    a->stage_genos = hn_alloc((size_t)a->N * (size_t)a->nd);
    a->stage_values = hn_alloc(sizeof(double) * (size_t)a->N * (size_t)(a->m + 1));
    if (!a->genos || !a->values || !a->violation || !a->rank || !a->crowd || !a->pending || !a->idx || !a->dist ||
        !a->stage_genos || !a->stage_values)
        return hn_error_prefix(HN_ERR_NOMEM, "nsga2 population of %d", a->N);
    a->stage_violation = a->stage_values + (size_t)a->N * a->m;
    return HN_OK;
}

static void destroy(hn_strategy *s) {
    nsga2 *a = s->state;
    hn_free(a->genos), hn_free(a->values), hn_free(a->violation), hn_free(a->rank), hn_free(a->crowd);
    hn_free(a->pending), hn_free(a->idx), hn_free(a->dist), hn_free(a->stage_genos), hn_free(a->stage_values);
}

/* ranks and crowding distances of the first n members */
static bool rank_members(nsga2 *a, int n) {
    int nf = hn_pareto_rank(a->values, a->violation, n, a->m, a->rank);
    if (nf < 0) return false;
    for (int f = 0; f < nf; f++) {
        int k = 0;
        for (int i = 0; i < n; i++)
            if (a->rank[i] == f) a->idx[k++] = i;
        hn_pareto_crowding(a->values, a->m, a->idx, k, a->dist);
        for (int j = 0; j < k; j++) a->crowd[a->idx[j]] = a->dist[j];
    }
    return true;
}

/* parents + children -> the next N parents, in place */
static void select_next(nsga2 *a) {
    const int n = a->N + a->nchildren;
    if (!rank_members(a, n)) { /* out of memory: keep the parents */
        a->nchildren = 0;
        return;
    }
    /* order the indices by (rank, -crowding) with an insertion sort: n <= 2N is small */
    for (int i = 0; i < n; i++) a->idx[i] = i;
    for (int i = 1; i < n; i++) {
        int v = a->idx[i], j = i - 1;
        while (j >= 0 && (a->rank[a->idx[j]] > a->rank[v] ||
                          (a->rank[a->idx[j]] == a->rank[v] && a->crowd[a->idx[j]] < a->crowd[v]))) {
            a->idx[j + 1] = a->idx[j];
            j--;
        }
        a->idx[j + 1] = v;
    }
    /* the survivors go through the staging area, then back to the parents' half */
    for (int r = 0; r < a->N; r++) {
        int from = a->idx[r];
        memcpy(a->stage_genos + (size_t)r * a->nd, a->genos + (size_t)from * a->nd, (size_t)a->nd);
        memcpy(a->stage_values + (size_t)r * a->m, a->values + (size_t)from * a->m, sizeof(double) * (size_t)a->m);
        a->stage_violation[r] = a->violation[from];
    }
    memcpy(a->genos, a->stage_genos, (size_t)a->N * a->nd);
    memcpy(a->values, a->stage_values, sizeof(double) * (size_t)a->N * a->m);
    memcpy(a->violation, a->stage_violation, sizeof(double) * (size_t)a->N);
    a->nchildren = 0;
    rank_members(a, a->N);
}

static int tournament(hn_strategy *s, nsga2 *a) {
    int i = (int)hn_rng_below(&s->rng, (uint32_t)a->nparents), j = (int)hn_rng_below(&s->rng, (uint32_t)a->nparents);
    if (a->rank[i] != a->rank[j]) return a->rank[i] < a->rank[j] ? i : j;
    return a->crowd[i] >= a->crowd[j] ? i : j;
}

static void new_generation(hn_strategy *s, nsga2 *a) {
    for (int c = 0; c < a->N; c++) {
        uint8_t *child = a->pending + (size_t)c * a->nd;
        int p1 = tournament(s, a), p2 = tournament(s, a);
        hn_space_crossover(s->space, &s->rng, a->genos + (size_t)p1 * a->nd, a->genos + (size_t)p2 * a->nd, child);
        for (int d = 0; d < a->nd; d++) {
            int k = s->space->choices[d];
            if (k > 1 && hn_rng_uniform(&s->rng) < 1.0f / (float)a->nd)
                child[d] = (uint8_t)((child[d] + 1 + hn_rng_below(&s->rng, (uint32_t)(k - 1))) % k);
        }
        /* a repeat of an earlier proposal or of a sibling is mutated again (a few tries) */
        for (int t = 0; t < 16; t++) {
            bool twin = strategy_seen(s, child);
            for (int o = 0; o < c && !twin; o++) twin = !memcmp(child, a->pending + (size_t)o * a->nd, (size_t)a->nd);
            if (!twin) break;
            uint8_t parent[HN_SPACE_MAX_DECISIONS];
            memcpy(parent, child, (size_t)a->nd);
            hn_space_mutate(s->space, &s->rng, parent, 1, child);
        }
    }
    a->npending = a->N, a->next = 0;
}

static void ask(hn_strategy *s, uint8_t *g, double *fidelity) {
    (void)fidelity;
    nsga2 *a = s->state;
    if (a->nparents < a->N) {
        strategy_sample_new(s, g);
        return;
    }
    if (a->next >= a->npending) new_generation(s, a);
    memcpy(g, a->pending + (size_t)a->next++ * a->nd, (size_t)a->nd);
}

static void tell(hn_strategy *s, const uint8_t *g, double fidelity, const double *values, double violation) {
    (void)fidelity;
    nsga2 *a = s->state;
    int slot = a->nparents < a->N ? a->nparents++ : a->N + a->nchildren++;
    memcpy(a->genos + (size_t)slot * a->nd, g, (size_t)a->nd);
    memcpy(a->values + (size_t)slot * a->m, values, sizeof(double) * (size_t)a->m);
    a->violation[slot] = violation;
    if (slot == a->N - 1 && a->nchildren == 0) rank_members(a, a->N); /* the first parents are complete */
    if (a->nchildren == a->N) select_next(a);
}

const strategy_def strategy_nsga2 = {
    .name = "nsga2", .state_size = sizeof(nsga2), .init = init, .ask = ask, .tell = tell, .destroy = destroy};
