/* The study store: one SQLite database (study.db, WAL mode) per study directory. Internal to
 * src/study/.
 *
 * Tables:
 *   meta(key, value)            format version, the study file's path and text, the final model
 *   trials(id, genotype, fidelity, state, violation, worker, started, finished, seconds, error, weights)
 *                               state: queued, running, done, failed, pruned
 *   metrics(trial, name, value) every metric of a trial
 *   events(seq, kind, trial)    the strategy's asks and tells in their one global order
 *   cache(genotype, name, value) cheap metrics (counting, hardware models) by genotype
 *
 * Every write happens inside store_begin/store_commit, an IMMEDIATE transaction: it takes the write
 * lock up front, so two workers never deadlock upgrading a read lock (the "database is locked" of
 * optuna #820), and waits for it (busy timeout) rather than failing. */
#ifndef HWNAS_STUDY_STORE_H
#define HWNAS_STUDY_STORE_H

#include <sqlite3.h>
#include <stdbool.h>

#include "hwnas/core.h"

typedef struct {
    sqlite3 *db;
    char path[1024];
} store;

/* Opens (create: creates; the file must not exist yet) the store at path. A new store appears whole
 * or not at all (written under a temporary name, then linked), with meta (NULL-terminated key, value
 * pairs; may be NULL) among its metadata. */
hn_status store_open(store *s, const char *path, bool create, const char *const *meta);
void store_close(store *s);

hn_status store_begin(store *s);
hn_status store_commit(store *s);
void store_rollback(store *s);

/* Runs sql with printf-style arguments (values are quoted with %Q / %q, sqlite3_mprintf's). */
hn_status store_exec(store *s, const char *fmt, ...);
/* Prepares sql (printf-style as above); the caller steps and finalizes it. */
hn_status store_query(store *s, sqlite3_stmt **out, const char *fmt, ...);
/* The first column of the first row of sql as an integer (def if there is no row). */
hn_status store_int(store *s, int64_t def, int64_t *out, const char *fmt, ...);

/* meta: value of key into buf ("" if absent), or set it */
hn_status store_meta_get(store *s, const char *key, char **value); /* *value: hn_alloc'd, caller frees; NULL if absent */
hn_status store_meta_set(store *s, const char *key, const char *value);

/* An SQLite failure as an hn_status naming the store and what was being done. */
hn_status store_error(store *s, const char *what);

#endif
