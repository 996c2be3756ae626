/* Accuracy estimators: tabular benchmarks -- a CSV table keyed by a space's string form
 * (NAS-Bench-201's, or any user table with the same layout) that answers a genotype's metrics at once --,
 * zero-cost proxies, scores of an untrained network from one mini-batch (src/estimate/proxy.c), and
 * learned predictors, fitted on trials already measured (src/estimate/ensemble.c). */
#ifndef HWNAS_ESTIMATE_H
#define HWNAS_ESTIMATE_H

#include "hwnas/space.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hn_table hn_table;

/* Reads a CSV table with a header row. The key is the first column whose values are architecture
 * strings of space (quoted fields may hold commas); every other column whose values are all numbers
 * is a metric, named by its header. Errors name the file, line and column. Free with hn_table_free. */
hn_status hn_table_load(const char *path, const hn_space *space, hn_table **out);
void hn_table_free(hn_table *t);

/* Metric columns: how many, and the name of metric i. */
int hn_table_metrics(const hn_table *t);
const char *hn_table_metric_name(const hn_table *t, int i);
/* The index of the metric named name, or -1. */
int hn_table_metric_index(const hn_table *t, const char *name);
/* Rows in the table, and the genotype of row i (owned by the table). */
int hn_table_rows(const hn_table *t);
const uint8_t *hn_table_genotype(const hn_table *t, int i);

/* The metric values of genotype g (hn_table_metrics of them, owned by the table), or NULL if the
 * table has no row for it. */
const double *hn_table_lookup(const hn_table *t, const uint8_t *g);

/* ---- zero-cost proxies (src/estimate/proxy.c; definitions in docs/search.md) ---- */

typedef enum {
    HN_PROXY_SYNFLOW,
    HN_PROXY_SNIP,
    HN_PROXY_GRAD_NORM,
    HN_PROXY_JACOB_COV,
    HN_PROXY_NASWOT,
    HN_PROXY_PARAMS, /* baselines: counted, not computed */
    HN_PROXY_MACS,
    HN_PROXY_COUNT
} hn_proxy;

/* "synflow", "snip", "grad_norm", "jacob_cov", "naswot", "params", "macs". */
const char *hn_proxy_name(hn_proxy p);
/* The proxy named name, or HN_PROXY_COUNT. */
hn_proxy hn_proxy_from_name(const char *name);

/* Every proxy of g (finalized, with the weights to score -- normally a fresh initialisation) on the
 * mini-batch x (n, C, H, W; normalised as for training) with labels y, into out. Larger is better for
 * all of them except params and macs, which are plain counts. A proxy that is undefined for g (e.g.
 * jacob_cov of a network whose output ignores its input) is NaN. g's parameters and statistics are
 * left as they were. n in [2, 512]. */
hn_status hn_proxies(hn_graph *g, const float *x, const int32_t *y, int n, double out[HN_PROXY_COUNT]);

/* ---- learned predictors (src/estimate/ensemble.c) ---- */

/* An ensemble of HN_ENSEMBLE_MEMBERS small MLPs (one-hot genotype -> 32 ReLU units -> 1; BANANAS, White
 * et al. 2021): each member is trained with full-batch Adam from its own initialisation on the same
 * data; their mean is the prediction and their spread its uncertainty. */
#define HN_ENSEMBLE_MEMBERS 5
typedef struct hn_ensemble hn_ensemble;
hn_status hn_ensemble_new(const hn_space *space, hn_ensemble **out);
/* Fits every member on n genotypes (n x space->ndecisions) and their targets (standardized by the
 * caller): cold (and always the first time) from an initialisation drawn from rng for 100 epochs, else
 * from the previous fit for 30 more (the data having only grown). */
hn_status hn_ensemble_fit(hn_ensemble *e, const uint8_t *genos, const float *targets, int n, bool cold, hn_rng *rng);
/* The members' mean and spread (standard deviation) for genotype g. */
void hn_ensemble_predict(const hn_ensemble *e, const uint8_t *g, double *mean, double *spread);
void hn_ensemble_free(hn_ensemble *e);

#ifdef __cplusplus
}
#endif
#endif
