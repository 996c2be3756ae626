/* Search spaces. A genotype is a fixed-length vector of small choices: decision i takes a value in
 * [0, choices[i]). Every space fills the same table (name, decisions, string form, graph builder),
 * and the operations every strategy needs -- sampling, mutation, crossover, neighbours, enumeration
 * -- are written once, here, over that vector.
 *
 * Spaces: "nb201" (NAS-Bench-201 cells; src/space/space_nb201.c), "mbconv" (MobileNetV2-style macro space;
 * src/space/space_mbconv.c), "hybrid" (MBConv stages, then transformer blocks; src/space/space_hybrid.c). */
#ifndef HWNAS_SPACE_H
#define HWNAS_SPACE_H

#include "hwnas/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HN_SPACE_MAX_DECISIONS 256

/* What a network built from a genotype looks like around the searched part. */
typedef struct {
    hn_shape input; /* e.g. 3x32x32 (CIFAR) or 1x28x28 (Fashion-MNIST) */
    int classes;
    int width;      /* nb201: C, the first stage's channels (default 16) */
    int cells;      /* nb201: N, cells per stage (default 5) */
} hn_space_config;

typedef struct hn_space {
    const char *name;
    const char *description;
    int ndecisions;
    const int *choices; /* ndecisions entries, each >= 1 */
    /* Writes the string form of g into buf (cap bytes); returns the length it needs. */
    size_t (*format)(const struct hn_space *s, const uint8_t *g, char *buf, size_t cap);
    /* Parses a string form into g; errors name the position and what was expected. */
    hn_status (*parse)(const struct hn_space *s, const char *str, uint8_t *g);
    /* Builds the network of g, not yet finalized: shapes, parameter and MAC counts are known, and
     * hn_graph_finalize allocates the parameters when the network is to be run (counting many
     * genotypes needs no parameter memory). The caller frees *out with hn_graph_free. */
    hn_status (*to_graph)(const struct hn_space *s, const uint8_t *g, const hn_space_config *cfg, hn_graph **out);
    hn_space_config defaults;
    /* Quantization-policy slots: the layers with weights that a policy sets, numbered by their
     * position in the largest network of the space (so a slot keeps its meaning when the architecture
     * changes); to_graph writes each layer's slot to hn_node.qslot. */
    int nqslots;
    /* A short description of slot i ("stem conv", "stage 2 block 1 expand") into buf. */
    void (*qslot_name)(const struct hn_space *s, int slot, char *buf, size_t cap);
    /* Weight sharing (supernet.h): the string forms of the largest and the smallest network, where
     * every network of the space is the largest one's first channels, kernel centres and blocks; and
     * the decision that is the input resolution (-1: none). largest NULL: the space has no supernet. */
    const char *largest, *smallest;
    int resolution_decision;
    const struct hn_space *base; /* a joined space ("NAME+quant"): its architecture space; else NULL */
    const hn_numtype *menu;      /* a joined space: the number types a slot's decisions choose from */
    /* an accelerator-joined space ("NAME+systolic", src/space/systolic_join.c): the network space
     * whose decisions come first (base and menu are its own); else NULL */
    const struct hn_space *network;
} hn_space;

/* The space named name ("nb201", "mbconv", "hybrid", or any joined with a quantization policy over every
 * number type, "NAME+quant", or over int4, int8 and fp8-e4m3, "NAME+mixed"; any of these joined with
 * the systolic array it runs on, "NAME+systolic", e.g. "mbconv+quant+systolic"), or NULL. Spaces are
 * static: never freed. */
const hn_space *hn_space_find(const char *name);
/* All spaces, NULL-terminated. */
const hn_space *const *hn_space_list(void);

/* Number of genotypes (product of the choices); saturates at UINT64_MAX. */
uint64_t hn_space_size(const hn_space *s);
/* log10 of the number of genotypes, for spaces too large for hn_space_size. */
double hn_space_log10_size(const hn_space *s);

/* Uniform sample. */
void hn_space_sample(const hn_space *s, hn_rng *r, uint8_t *g);
/* Changes exactly k distinct decisions (k <= decisions with more than one choice) to other values. */
void hn_space_mutate(const hn_space *s, hn_rng *r, const uint8_t *parent, int k, uint8_t *child);
/* Uniform crossover: each decision from a or b with probability 1/2. */
void hn_space_crossover(const hn_space *s, hn_rng *r, const uint8_t *a, const uint8_t *b, uint8_t *child);
/* All genotypes one decision away from g, written to out (count x ndecisions); returns how many,
 * which is sum(choices[i] - 1). out may be NULL to ask the count. */
int hn_space_neighbours(const hn_space *s, const uint8_t *g, uint8_t *out);
/* The index-th genotype in mixed-radix order (decision 0 varies slowest); index < hn_space_size. */
void hn_space_decode(const hn_space *s, uint64_t index, uint8_t *g);

extern const hn_space hn_space_nb201;
extern const hn_space hn_space_mbconv;
extern const hn_space hn_space_hybrid;

#ifdef __cplusplus
}
#endif
#endif
