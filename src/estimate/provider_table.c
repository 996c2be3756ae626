/* Provider "table": a tabular benchmark (hn_table_load: NAS-Bench-201's CSV or a user's) answers a
 * genotype's accuracy at once. Cheap (a lookup, after the free tier's pruning), cached. Options: file (the CSV), column (the metric that is the
 * accuracy), as (the metric name it is written under; default accuracy). */
#include <stdio.h>
#include <string.h>

#include "hwnas/estimate.h"
#include "hwnas/provider.h"

typedef struct {
    hn_table *table;
    int column;
    char file[512], as[HN_METRIC_NAME];
    const char *names[2];
} table_state;

static void destroy(hn_provider *p) {
    table_state *t = p->state;
    if (t) hn_table_free(t->table);
    hn_free(t);
}

static hn_status create(hn_provider *p, const hn_options *o, const hn_provider_env *env) {
    table_state *t = hn_calloc(sizeof *t);
    if (!t) return hn_error(HN_ERR_NOMEM, "table");
    p->state = t;
    char column[64];
    int line = o->line;
    hn_options_get(o, "column", &line);
    hn_status st = hn_options_check(o, "file, column, as");
    if (!st) st = hn_options_string(o, "file", "", t->file, sizeof t->file);
    if (!st) st = hn_options_string(o, "column", "", column, sizeof column);
    if (!st) st = hn_options_string(o, "as", "accuracy", t->as, sizeof t->as);
    if (!st && (!t->file[0] || !column[0]))
        st = hn_error(HN_ERR_INVALID, "%s:%d: provider table: give its 'file' and the 'column' that is the accuracy", o->file, o->line);
    /* an accelerator-joined space's accuracy is its network's: the table's rows are network strings, and
     * a genotype's network decisions come first, so the lookup reads that prefix */
    const hn_space *net = env->space && env->space->network ? env->space->network : env->space;
    if (!st) st = hn_table_load(t->file, net, &t->table);
    if (!st && (t->column = hn_table_metric_index(t->table, column)) < 0)
        st = hn_error(HN_ERR_INVALID, "%s:%d: the table %s has no metric column '%s'", o->file, line, t->file, column);
    if (st) return st; /* hn_provider_new frees the state */
    t->names[0] = t->as;
    p->tier = HN_TIER_CHEAP, p->cache = true, p->metrics = t->names; /* after the free tier's pruning */
    snprintf(p->description, sizeof p->description, "table %.180s, column %.60s", t->file, column);
    return HN_OK;
}

static hn_status evaluate(hn_provider *p, hn_candidate *c, hn_metrics *m) {
    table_state *t = p->state;
    const double *row = hn_table_lookup(t->table, c->genotype);
    if (!row) return hn_error(HN_ERR_INVALID, "%s: the table has no row for %s", t->file, c->arch ? c->arch : "this genotype");
    return hn_metrics_set(m, t->as, row[t->column]);
}

const hn_provider_type hn_provider_table = {"table", "accuracy looked up in a tabular benchmark (file:, column:)",
                                            create, evaluate, destroy, NULL, NULL, NULL};
