/* Accuracy estimators. So far: tabular benchmarks -- a CSV table keyed by a space's string form
 * (NAS-Bench-201's, or any user table with the same layout) that answers a genotype's metrics at once. */
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

#ifdef __cplusplus
}
#endif
#endif
