/* Tabular benchmarks (include/hwnas/estimate.h): rows of metrics, found by genotype in an
 * open-addressing hash (the genotype is parsed once, at load). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hwnas/estimate.h"

enum { MAX_COLS = 64, NAME_MAX_LEN = 64 };

struct hn_table {
    const hn_space *space;
    int nmetrics, nrows, cap;
    char names[MAX_COLS][NAME_MAX_LEN];
    uint8_t *genos;   /* nrows x ndecisions */
    double *values;   /* nrows x nmetrics */
    int *slots;       /* hash: row index + 1, 0 empty */
    int slot_cap;
};

/* Splits a CSV line in place into at most MAX_COLS fields ("..." quotes, "" inside them); returns
 * how many, or -1 for an unterminated quote. */
static int split(char *line, char **fields) {
    int n = 0;
    char *p = line;
    line[strcspn(line, "\r\n")] = 0;
    while (n < MAX_COLS) {
        if (*p == '"') {
            char *w = ++p;
            fields[n++] = w;
            for (;;) {
                if (!*p) return -1;
                if (*p == '"' && p[1] == '"') *w++ = '"', p += 2;
                else if (*p == '"') break;
                else *w++ = *p++;
            }
            *w = 0;
            p++;
        } else {
            fields[n++] = p;
            p += strcspn(p, ",");
        }
        if (*p != ',') break;
        *p++ = 0;
    }
    return n;
}

/* the slot of g: its row's, or the empty one where it would go */
static int *slot_of(const hn_table *t, const uint8_t *g) {
    const int nd = t->space->ndecisions;
    for (uint64_t i = hn_hash(g, (size_t)nd) & (uint64_t)(t->slot_cap - 1);; i = (i + 1) & (uint64_t)(t->slot_cap - 1)) {
        int r = t->slots[i];
        if (!r || !memcmp(t->genos + (size_t)(r - 1) * nd, g, (size_t)nd)) return &t->slots[i];
    }
}

static hn_status grow(hn_table *t) {
    const int nd = t->space->ndecisions;
    int cap = t->cap ? 2 * t->cap : 1024;
    uint8_t *genos = hn_alloc((size_t)cap * (size_t)nd);
    double *values = hn_alloc(sizeof(double) * (size_t)cap * (size_t)(t->nmetrics ? t->nmetrics : 1));
    int *slots = hn_calloc(sizeof(int) * (size_t)cap * 2);
    if (!genos || !values || !slots) {
        hn_free(genos), hn_free(values), hn_free(slots);
        return HN_ERR_NOMEM;
    }
    if (t->nrows) {
        memcpy(genos, t->genos, (size_t)t->nrows * nd);
        memcpy(values, t->values, sizeof(double) * (size_t)t->nrows * t->nmetrics);
    }
    hn_free(t->genos), hn_free(t->values), hn_free(t->slots);
    t->genos = genos, t->values = values, t->slots = slots, t->cap = cap, t->slot_cap = 2 * cap;
    for (int r = 0; r < t->nrows; r++) *slot_of(t, t->genos + (size_t)r * nd) = r + 1;
    return HN_OK;
}

hn_status hn_table_load(const char *path, const hn_space *space, hn_table **out) {
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f) return hn_error(HN_ERR_IO, "%s: cannot open table (does it exist?)", path);
    hn_table *t = hn_calloc(sizeof *t);
    size_t cap = 1 << 16;
    char *line = hn_alloc(cap), *fields[MAX_COLS], header[MAX_COLS][NAME_MAX_LEN];
    hn_status st = t && line ? HN_OK : HN_ERR_NOMEM;
    int ncols = 0, key = -1, metric_col[MAX_COLS], lineno = 1;
    uint8_t g[HN_SPACE_MAX_DECISIONS];
    if (!st && !fgets(line, (int)cap, f)) st = hn_error(HN_ERR_FORMAT, "%s: empty table (expected a header row)", path);
    if (!st) {
        t->space = space;
        ncols = split(line, fields);
        if (ncols < 2) st = hn_error(HN_ERR_FORMAT, "%s:1: expected a header of at least 2 columns", path);
        for (int c = 0; c < ncols && !st; c++) snprintf(header[c], NAME_MAX_LEN, "%s", fields[c]);
    }
    /* the key and metric columns are decided by the first data row, and every later row must agree */
    while (!st && fgets(line, (int)cap, f)) {
        lineno++;
        if (line[0] == '\n' || line[0] == 0) continue;
        int n = split(line, fields);
        if (n < 0) {
            st = hn_error(HN_ERR_FORMAT, "%s:%d: a quote is not closed", path, lineno);
            break;
        }
        if (n != ncols) {
            st = hn_error(HN_ERR_FORMAT, "%s:%d: %d fields, the header has %d", path, lineno, n, ncols);
            break;
        }
        if (key < 0) {
            for (int c = 0; c < ncols && key < 0; c++)
                if (space->parse(space, fields[c], g) == HN_OK) key = c;
            if (key < 0) {
                st = hn_error(HN_ERR_FORMAT, "%s:%d: no column holds a %s architecture string", path, lineno, space->name);
                break;
            }
            for (int c = 0; c < ncols; c++) {
                char *end;
                if (c == key) continue;
                strtod(fields[c], &end);
                if (*fields[c] && !*end) {
                    metric_col[t->nmetrics] = c;
                    snprintf(t->names[t->nmetrics++], NAME_MAX_LEN, "%s", header[c]);
                }
            }
        }
        if ((st = space->parse(space, fields[key], g))) {
            st = hn_error_prefix(st, "%s:%d: column '%s'", path, lineno, header[key]);
            break;
        }
        if (t->nrows == t->cap && (st = grow(t))) break;
        int *slot = slot_of(t, g);
        if (*slot) {
            st = hn_error(HN_ERR_FORMAT, "%s:%d: architecture '%s' is already in row %d", path, lineno, fields[key], *slot);
            break;
        }
        double *v = t->values + (size_t)t->nrows * t->nmetrics;
        for (int m = 0; m < t->nmetrics; m++) {
            char *end;
            errno = 0;
            v[m] = strtod(fields[metric_col[m]], &end);
            if (!*fields[metric_col[m]] || *end || errno || !isfinite(v[m])) { /* NaN or Inf: no study can store it */
                st = hn_error(HN_ERR_FORMAT, "%s:%d: column '%s': expected a finite number, got '%s'", path, lineno,
                              t->names[m], fields[metric_col[m]]);
                break;
            }
        }
        if (st) break;
        memcpy(t->genos + (size_t)t->nrows * space->ndecisions, g, (size_t)space->ndecisions);
        *slot = ++t->nrows;
    }
    if (!st && t->nrows == 0) st = hn_error(HN_ERR_FORMAT, "%s: no rows", path);
    fclose(f);
    hn_free(line);
    if (st) {
        hn_table_free(t);
        return st == HN_ERR_NOMEM ? hn_error_prefix(st, "%s", path) : st;
    }
    *out = t;
    return HN_OK;
}

void hn_table_free(hn_table *t) {
    if (!t) return;
    hn_free(t->genos);
    hn_free(t->values);
    hn_free(t->slots);
    hn_free(t);
}

int hn_table_metrics(const hn_table *t) { return t->nmetrics; }
const char *hn_table_metric_name(const hn_table *t, int i) { return t->names[i]; }
int hn_table_rows(const hn_table *t) { return t->nrows; }
const uint8_t *hn_table_genotype(const hn_table *t, int i) { return t->genos + (size_t)i * t->space->ndecisions; }

int hn_table_metric_index(const hn_table *t, const char *name) {
    for (int i = 0; i < t->nmetrics; i++)
        if (!strcmp(t->names[i], name)) return i;
    return -1;
}

const double *hn_table_lookup(const hn_table *t, const uint8_t *g) {
    int r = *slot_of(t, g);
    return r ? t->values + (size_t)(r - 1) * t->nmetrics : NULL;
}
