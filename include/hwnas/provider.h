/* The evaluation pipeline: everything that turns a candidate network into named metrics is a
 * provider -- counting, a device model, the tabular benchmark, a zero-cost proxy, training, a learned
 * predictor, or the user's own training command. A study runs its providers by cost tier (free, then
 * cheap, then expensive) and prunes a candidate on its constraints between tiers, so a candidate that
 * breaks a hardware constraint is never trained.
 *
 * A provider type is a table of functions; an instance is made from its own options (the YAML
 * mapping of its entry in a study file, docs/studies.md). The built-in types live one per file in
 * src/estimate/provider_*.c and are found by the build (CMake lists the files); a program adds its own
 * with hn_provider_register. Example, a provider of one metric:
 *
 *     static hn_status width_create(hn_provider *p, const hn_options *o, const hn_provider_env *env) {
 *         (void)env;
 *         static const char *const names[] = {"output_width", NULL};
 *         p->tier = HN_TIER_FREE, p->cache = true, p->metrics = names;
 *         return hn_options_check(o, "");               // no options: any key is an error naming its line
 *     }
 *     static hn_status width_evaluate(hn_provider *p, hn_candidate *c, hn_metrics *m) {
 *         (void)p;
 *         hn_metrics_set(m, "output_width", c->graph->nodes[c->graph->nnodes - 1].shape.c);
 *         return HN_OK;
 *     }
 *     static const hn_provider_type width = {"width", "the output's channels", width_create, width_evaluate};
 *     hn_provider_register(&width);   // then a study file says: estimators: [{provider: width}]
 */
#ifndef HWNAS_PROVIDER_H
#define HWNAS_PROVIDER_H

#include "hwnas/data.h"
#include "hwnas/space.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- metrics ------------------------------------------------------------------------------------ */

#define HN_METRICS_MAX 32
#define HN_METRIC_NAME 32

/* Named values: what providers write and objectives, constraints and the store read. */
typedef struct {
    int n;
    char name[HN_METRICS_MAX][HN_METRIC_NAME];
    double value[HN_METRICS_MAX];
} hn_metrics;

/* The value of name in m (false if m has none). */
bool hn_metrics_get(const hn_metrics *m, const char *name, double *value);
/* Sets name to value (replacing an earlier value); a name past HN_METRICS_MAX or longer than
 * HN_METRIC_NAME - 1 is HN_ERR_INVALID. */
hn_status hn_metrics_set(hn_metrics *m, const char *name, double value);

/* ---- options: a provider's entry in a study file ---------------------------------------------- */

#define HN_OPTIONS_MAX 16

/* The scalars of a provider's mapping, with their lines, for the provider's own parser. */
typedef struct {
    char file[512]; /* the study file */
    int line;       /* where the entry starts */
    int n;
    struct {
        char key[48];
        char value[1024];
        int line;
    } item[HN_OPTIONS_MAX];
} hn_options;

/* Adds key: value (HN_ERR_INVALID naming the line when there is no room or the value is too long). */
hn_status hn_options_add(hn_options *o, const char *key, const char *value, int line);
/* The value of key, or NULL; *line (may be NULL) gets its line. */
const char *hn_options_get(const hn_options *o, const char *key, int *line);
/* Every key must be one of known (comma-separated); else HN_ERR_INVALID naming file:line and known. */
hn_status hn_options_check(const hn_options *o, const char *known);
/* key as text (def if absent); too long is an error naming the line. */
hn_status hn_options_string(const hn_options *o, const char *key, const char *def, char *dst, size_t cap);
/* key as a number with an optional unit (320KB, 50ms, 8min, 2M: see docs/studies.md) in [lo, hi];
 * def if absent. A bad value is HN_ERR_INVALID naming the file, line, key and value. */
hn_status hn_options_number(const hn_options *o, const char *key, double lo, double hi, double def, double *out);
/* key as true/false (also yes/no); def if absent; anything else is HN_ERR_INVALID naming the line. */
hn_status hn_options_bool(const hn_options *o, const char *key, bool def, bool *out);
/* The quantity parser options and study files share: "320KB" = 327680, "50ms" = 0.05. */
bool hn_parse_quantity(const char *s, double *out);
/* The same, and *kind the unit's kind: "bytes" (B, KB, MB, GB, KiB, MiB), "time" (s, ms, us, min, h),
 * "energy" (J, mJ, uJ), "count" (k, M, G), or NULL for a plain number. */
bool hn_parse_quantity_kind(const char *s, double *out, const char **kind);
/* The kind of unit a metric is measured in, by hwnas's naming (..._bytes, ..._s or ..._seconds, ..._j;
 * params, macs, cycles: counts), or NULL where units do not apply (accuracy, area_mm2, edp, fits, a
 * user's metric). */
const char *hn_metric_kind(const char *metric);

/* ---- candidates --------------------------------------------------------------------------------- */

/* Loads the dataset's splits at resolution h x w (owned by the loader; the study caches them). */
typedef hn_status (*hn_data_fn)(void *user, int h, int w, hn_dataset **train, hn_dataset **test);

/* One trial's network, built once and read by every provider. */
typedef struct {
    const hn_space *space;
    uint8_t genotype[HN_SPACE_MAX_DECISIONS];
    const char *arch;      /* its string form (owned by the caller) */
    hn_graph *graph;       /* built for the study's input shape, classes and number types; owned by
                              the candidate (a caller that keeps the graph takes this pointer instead
                              of calling hn_candidate_free). Unfinalized until hn_candidate_params */
    double fidelity;       /* in (0, 1]: the share of a full evaluation a strategy asked for */
    int trial;             /* the study's trial id (-1 outside a study) */
    uint64_t seed;         /* the study's seed */
    const char *dir;       /* the study directory (files a provider keeps go below it), or NULL */
    volatile int *stop;    /* polled by long evaluations; may be NULL */
    char weights[256];     /* set by a provider that saved trained weights: their path below dir */
    hn_data_fn data;       /* NULL: no dataset */
    void *data_user;
} hn_candidate;

/* What a candidate is built for. */
typedef struct {
    hn_space_config space;   /* input shape, classes, width, cells */
    bool numtypes;           /* give every layer wtype/atype (spaces with a policy set their own) */
    hn_numtype wtype, atype;
} hn_candidate_spec;

/* Builds the candidate of genotype string arch (parsed by space; a bad string is HN_ERR_INVALID naming
 * the position). c->arch points at arch, which must outlive c. Free with hn_candidate_free. */
hn_status hn_candidate_build(const hn_space *space, const char *arch, const hn_candidate_spec *spec, hn_candidate *c);
/* The same from a genotype vector (c->arch stays NULL unless the caller sets it). */
hn_status hn_candidate_build_genotype(const hn_space *space, const uint8_t *g, const hn_candidate_spec *spec,
                                      hn_candidate *c);
/* Finalizes the graph (allocates its parameters) if not done yet. */
hn_status hn_candidate_params(hn_candidate *c);
/* The dataset's splits at the graph's input resolution (HN_ERR_INVALID if the candidate has none). */
hn_status hn_candidate_data(hn_candidate *c, hn_dataset **train, hn_dataset **test);
void hn_candidate_free(hn_candidate *c);

/* ---- providers ----------------------------------------------------------------------------------- */

/* What a provider costs per candidate; a study runs the tiers in this order. */
typedef enum { HN_TIER_FREE, HN_TIER_CHEAP, HN_TIER_EXPENSIVE, HN_TIER_COUNT } hn_tier;
const char *hn_tier_name(hn_tier t); /* "free", "cheap", "expensive" */

/* The study a provider is made for. */
typedef struct {
    const hn_space *space;
    const char *study_dir;            /* NULL when only checking a study file */
    const char *const *device_dirs;   /* where device profiles are looked up (hn_device_find) */
    uint64_t seed;
} hn_provider_env;

typedef struct hn_provider hn_provider;

/* What a provider's prepare step gets from the study. */
typedef struct hn_provider_prepare {
    hn_space_config shape;  /* the input channels and classes candidates are built for */
    hn_data_fn data;        /* the dataset at any resolution (NULL: the study has none) */
    void *data_user;
    volatile int *stop;     /* polled by long work: stop with HN_ERR_INTERRUPTED */
    /* reports long work: what it does ("supernet training") and its steps (may be NULL) */
    void (*progress)(void *user, const char *phase, int64_t step, int64_t steps);
    void *progress_user;
} hn_provider_prepare;

typedef struct hn_provider_type {
    const char *name;    /* as study files name it: {provider: NAME, ...} */
    const char *summary; /* one line for 'hwnas providers' */
    /* Reads o into p (state, tier, metrics, description); errors name o->file and the line. */
    hn_status (*create)(hn_provider *p, const hn_options *o, const hn_provider_env *env);
    /* Writes the candidate's metrics into m. A provider may read metrics earlier tiers wrote. */
    hn_status (*evaluate)(hn_provider *p, hn_candidate *c, hn_metrics *m);
    /* Frees p->state (NULL: nothing to free). */
    void (*destroy)(hn_provider *p);
    /* Learns from a trial (NULL: not a learner). Called for every trial the study finished as done
     * (not pruned or failed), at the fidelity it ran at, in the study's event order and in every worker
     * -- so all workers' learners agree, and a resumed study's learner knows what it knew before. */
    hn_status (*learn)(hn_provider *p, const uint8_t *genotype, double fidelity, const hn_metrics *m);
    /* Work done once per study process before the first trial and outside its time budget (NULL:
     * none), e.g. training a supernet every later evaluation reads. */
    hn_status (*prepare)(hn_provider *p, const struct hn_provider_prepare *ctx);
    /* Weight sharing (NULL: the provider has no weights to give): sets the parameters and batch-norm
     * state of c's graph to the ones the provider measured c with (a supernet's slice), so that a
     * final training fine-tunes them instead of starting from a fresh initialisation. After prepare. */
    hn_status (*inherit)(hn_provider *p, hn_candidate *c);
} hn_provider_type;

struct hn_provider {
    const hn_provider_type *type;
    void *state;                 /* the type's own */
    hn_tier tier;
    bool cache;                  /* its metrics depend on the genotype alone: the store caches them */
    const char *const *metrics;  /* the names it writes, NULL-terminated (owned by the type or state) */
    char description[256];       /* e.g. "device cortex-m7 (mcu, devices/cortex-m7.yaml)" */
};

/* The type named name: the built-ins and those registered, or NULL. */
const hn_provider_type *hn_provider_type_find(const char *name);
/* Adds a type (t must outlive every use; a name already taken is HN_ERR_INVALID). Thread-safe. */
hn_status hn_provider_register(const hn_provider_type *t);
/* All types, NULL-terminated, in a buffer of cap entries; returns how many there are. */
int hn_provider_types(const hn_provider_type **out, int cap);

/* Makes a provider of type name from options (an unknown name is HN_ERR_INVALID naming o's line and
 * the known types). Free with hn_provider_free. */
hn_status hn_provider_new(const char *name, const hn_options *o, const hn_provider_env *env, hn_provider *p);
void hn_provider_free(hn_provider *p);
/* Whether p writes the metric name. */
bool hn_provider_writes(const hn_provider *p, const char *name);

#ifdef __cplusplus
}
#endif
#endif
