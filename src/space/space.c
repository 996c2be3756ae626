/* The operations every search strategy needs, written once over the genotype vector. */
#include "hwnas/space.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "builder.h"

/* The registry: each architecture space, then each joined with each policy menu. The joined spaces
 * are built once, on first use, in static storage. */
/* every src/space/space_*.c, listed by the build (CMakeLists.txt: hwnas_registry) */
extern const hn_space *const hn_builtin_spaces[];
enum { MAX_BASES = 16 };
static int nbases;
static const hn_numtype every_type[HN_NUMTYPE_COUNT] = {HN_FP32,  HN_INT2,     HN_INT3,     HN_INT4,     HN_INT5,
                                                        HN_INT6,  HN_INT7,     HN_INT8,     HN_INT16,    HN_FP8_E4M3,
                                                        HN_FP8_E5M2, HN_FP6_E3M2, HN_FP4_E2M1};
static const hn_numtype mixed_types[] = {HN_INT4, HN_INT8, HN_FP8_E4M3};
static const struct {
    const char *suffix;
    const hn_numtype *menu;
    int n;
} menus[] = {{"quant", every_type, HN_NUMTYPE_COUNT}, {"mixed", mixed_types, 3}};
enum { NMENUS = sizeof menus / sizeof menus[0] };
typedef struct {
    hn_space space;
    int choices[HN_SPACE_MAX_DECISIONS];
    char name[48], description[256];
} joined_space;
static joined_space joined[NMENUS * MAX_BASES], with_array[(NMENUS + 1) * MAX_BASES];
static const hn_space *spaces[2 * (NMENUS + 1) * MAX_BASES + 1];
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;

static void registry_init(void) {
    while (hn_builtin_spaces[nbases] && nbases < MAX_BASES) spaces[nbases] = hn_builtin_spaces[nbases], nbases++;
    for (int k = 0; k < NMENUS; k++)
        for (int i = 0; i < nbases; i++) {
            int j = k * nbases + i;
            space_join_quant(hn_builtin_spaces[i], menus[k].suffix, menus[k].menu, menus[k].n, &joined[j].space, joined[j].choices,
                             joined[j].name, sizeof joined[j].name, joined[j].description, sizeof joined[j].description);
            spaces[nbases + j] = &joined[j].space;
        }
    const int networks = (NMENUS + 1) * nbases; /* each of the above, with the array it runs on */
    for (int i = 0; i < networks; i++) {
        joined_space *w = &with_array[i];
        space_join_systolic(spaces[i], &w->space, w->choices, w->name, sizeof w->name, w->description, sizeof w->description);
        spaces[networks + i] = &w->space;
    }
}

const hn_space *const *hn_space_list(void) {
    pthread_once(&registry_once, registry_init);
    return spaces;
}

const hn_space *hn_space_find(const char *name) {
    hn_space_list();
    for (int i = 0; spaces[i]; i++)
        if (strcmp(spaces[i]->name, name) == 0) return spaces[i];
    return NULL;
}

uint64_t hn_space_size(const hn_space *s) {
    uint64_t n = 1;
    for (int i = 0; i < s->ndecisions; i++) {
        if (n > UINT64_MAX / (uint64_t)s->choices[i]) return UINT64_MAX;
        n *= (uint64_t)s->choices[i];
    }
    return n;
}

double hn_space_log10_size(const hn_space *s) {
    double l = 0;
    for (int i = 0; i < s->ndecisions; i++) l += log10((double)s->choices[i]);
    return l;
}

void hn_space_sample(const hn_space *s, hn_rng *r, uint8_t *g) {
    for (int i = 0; i < s->ndecisions; i++) g[i] = (uint8_t)hn_rng_below(r, (uint32_t)s->choices[i]);
}

void hn_space_mutate(const hn_space *s, hn_rng *r, const uint8_t *parent, int k, uint8_t *child) {
    int idx[HN_SPACE_MAX_DECISIONS], n = 0;
    memcpy(child, parent, (size_t)s->ndecisions);
    for (int i = 0; i < s->ndecisions; i++)
        if (s->choices[i] > 1) idx[n++] = i;
    HN_ASSERT(k >= 0 && k <= n);
    for (int m = 0; m < k; m++) { /* a partial Fisher-Yates picks k distinct decisions */
        int j = m + (int)hn_rng_below(r, (uint32_t)(n - m));
        int t = idx[m];
        idx[m] = idx[j], idx[j] = t;
        int d = idx[m];
        /* another value: shift by 1..choices-1 */
        child[d] = (uint8_t)((parent[d] + 1 + hn_rng_below(r, (uint32_t)(s->choices[d] - 1))) % s->choices[d]);
    }
}

void hn_space_crossover(const hn_space *s, hn_rng *r, const uint8_t *a, const uint8_t *b, uint8_t *child) {
    for (int i = 0; i < s->ndecisions; i++) child[i] = hn_rng_below(r, 2) ? b[i] : a[i];
}

int hn_space_neighbours(const hn_space *s, const uint8_t *g, uint8_t *out) {
    int n = 0;
    for (int i = 0; i < s->ndecisions; i++)
        for (int v = 0; v < s->choices[i]; v++) {
            if (v == g[i]) continue;
            if (out) {
                memcpy(out + (size_t)n * s->ndecisions, g, (size_t)s->ndecisions);
                out[(size_t)n * s->ndecisions + i] = (uint8_t)v;
            }
            n++;
        }
    return n;
}

void hn_space_decode(const hn_space *s, uint64_t index, uint8_t *g) {
    for (int i = s->ndecisions - 1; i >= 0; i--) {
        g[i] = (uint8_t)(index % (uint64_t)s->choices[i]);
        index /= (uint64_t)s->choices[i];
    }
}
