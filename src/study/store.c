/* The study store in SQLite (see store.h for the schema and the locking rules). */
#include "store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { FORMAT_VERSION = 1, BUSY_TIMEOUT_MS = 600000 };

/* when each worker searched (wall clock, s): the study's time budget is the union of these intervals.
 * Added after version 1 first shipped: a store without it gets it when opened. */
#define WORKERS_TABLE "CREATE TABLE IF NOT EXISTS workers(id TEXT PRIMARY KEY, started REAL NOT NULL, seen REAL NOT NULL);"

static const char *const schema =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE trials(id INTEGER PRIMARY KEY, genotype TEXT NOT NULL, fidelity REAL NOT NULL,"
    " state TEXT NOT NULL CHECK(state IN ('queued','running','done','failed','pruned')),"
    " violation REAL, worker TEXT, started REAL, finished REAL, seconds REAL, error TEXT, weights TEXT);"
    "CREATE TABLE metrics(trial INTEGER NOT NULL REFERENCES trials(id), name TEXT NOT NULL, value REAL,"
    " PRIMARY KEY(trial, name));"
    "CREATE TABLE events(seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL CHECK(kind IN ('ask','tell')),"
    " trial INTEGER NOT NULL REFERENCES trials(id));"
    "CREATE TABLE cache(genotype TEXT NOT NULL, name TEXT NOT NULL, value REAL, PRIMARY KEY(genotype, name));"
    WORKERS_TABLE;

hn_status store_error(store *s, const char *what) {
    return hn_error(HN_ERR_IO, "%s: %s: %s", s->path, what, s->db ? sqlite3_errmsg(s->db) : "cannot open");
}

hn_status store_exec(store *s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *sql = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    if (!sql) return hn_error(HN_ERR_NOMEM, "%s: building a query", s->path);
    char *err = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &err);
    hn_status st = rc == SQLITE_OK ? HN_OK : hn_error(HN_ERR_IO, "%s: %s (in: %.200s)", s->path, err ? err : "error", sql);
    sqlite3_free(err);
    sqlite3_free(sql);
    return st;
}

hn_status store_query(store *s, sqlite3_stmt **out, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *sql = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    if (!sql) return hn_error(HN_ERR_NOMEM, "%s: building a query", s->path);
    int rc = sqlite3_prepare_v2(s->db, sql, -1, out, NULL);
    hn_status st = rc == SQLITE_OK ? HN_OK : hn_error(HN_ERR_IO, "%s: %s (in: %.200s)", s->path, sqlite3_errmsg(s->db), sql);
    sqlite3_free(sql);
    return st;
}

hn_status store_int(store *s, int64_t def, int64_t *out, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *sql = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    if (!sql) return hn_error(HN_ERR_NOMEM, "%s: building a query", s->path);
    sqlite3_stmt *q;
    hn_status st = HN_OK;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) {
        st = hn_error(HN_ERR_IO, "%s: %s (in: %.200s)", s->path, sqlite3_errmsg(s->db), sql);
    } else {
        int rc = sqlite3_step(q);
        if (rc == SQLITE_ROW) *out = sqlite3_column_type(q, 0) == SQLITE_NULL ? def : sqlite3_column_int64(q, 0);
        else if (rc == SQLITE_DONE) *out = def;
        else st = hn_error(HN_ERR_IO, "%s: %s (in: %.200s)", s->path, sqlite3_errmsg(s->db), sql);
        sqlite3_finalize(q);
    }
    sqlite3_free(sql);
    return st;
}

hn_status store_meta_get(store *s, const char *key, char **value) {
    *value = NULL;
    sqlite3_stmt *q;
    hn_status st = store_query(s, &q, "SELECT value FROM meta WHERE key = %Q", key);
    if (st) return st;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(q, 0);
        size_t n = strlen(v ? v : "");
        if (!(*value = hn_alloc(n + 1))) st = hn_error(HN_ERR_NOMEM, "%s: meta %s", s->path, key);
        else memcpy(*value, v ? v : "", n + 1);
    } else if (rc != SQLITE_DONE) {
        st = store_error(s, "reading the study's metadata");
    }
    sqlite3_finalize(q);
    return st;
}

hn_status store_meta_set(store *s, const char *key, const char *value) {
    return store_exec(s, "INSERT INTO meta(key, value) VALUES(%Q, %Q) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                      key, value);
}

hn_status store_begin(store *s) { return store_exec(s, "BEGIN IMMEDIATE"); }
hn_status store_commit(store *s) { return store_exec(s, "COMMIT"); }
void store_rollback(store *s) { sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL); }

/* A new store, atomically: the schema is written and committed under a temporary name (rollback
 * journal, so the file holds everything once committed), then linked to path, which fails if another
 * process created a store there meanwhile. A kill at any moment leaves either no store or a whole one
 * (at worst a stray path.new-PID). */
static hn_status create_store(const char *path, const char *const *meta) {
    store t;
    memset(&t, 0, sizeof t);
    if (snprintf(t.path, sizeof t.path, "%s.new-%ld", path, (long)getpid()) >= (int)sizeof t.path)
        return hn_error(HN_ERR_INVALID, "%s: the study directory's path is too long", path);
    const char *tmp = t.path;
    unlink(tmp);
    if (sqlite3_open_v2(tmp, &t.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        hn_status st = store_error(&t, "cannot create the study store");
        store_close(&t);
        return st;
    }
    char version[16];
    snprintf(version, sizeof version, "%d", FORMAT_VERSION);
    hn_status st = store_exec(&t, "PRAGMA journal_mode=DELETE");
    if (!st && !(st = store_begin(&t))) {
        st = store_exec(&t, "%s", schema);
        if (!st) st = store_meta_set(&t, "format", "hwnas study");
        if (!st) st = store_meta_set(&t, "version", version);
        for (int i = 0; meta && meta[i] && !st; i += 2) st = store_meta_set(&t, meta[i], meta[i + 1]);
        if (!st) st = store_commit(&t);
        else store_rollback(&t);
    }
    store_close(&t);
    if (!st && link(tmp, path) != 0)
        st = errno == EEXIST ? hn_error(HN_ERR_INVALID, "%s: a study already lives here (resume it with 'hwnas search --resume DIR')", path)
                             : hn_error(HN_ERR_IO, "%s: cannot create the study store: %s", path, strerror(errno));
    unlink(tmp);
    return st;
}

/* A store without one of its tables, or whose rows name trials that are not there (a row deleted by
 * hand, a damaged file), is corrupt: the event log could not be replayed, nor the trials read or
 * recorded, so it is refused when opened. */
static hn_status check_references(store *s) {
    static const char *const tables[] = {"meta", "trials", "metrics", "events", "cache"};
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
        int64_t n = 0;
        hn_status st = store_int(s, 0, &n, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = %Q", tables[i]);
        if (st) return st;
        if (!n)
            return hn_error(HN_ERR_FORMAT, "%s: corrupt study store: its table %s is missing (restore a backup, or start "
                            "the study again)", s->path, tables[i]);
    }
    sqlite3_stmt *q;
    hn_status st = store_query(s, &q, "PRAGMA foreign_key_check");
    if (st) return st;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        sqlite3_stmt *v;
        long long trial = -1;
        const char *table = (const char *)sqlite3_column_text(q, 0);
        if (!store_query(s, &v, "SELECT trial FROM \"%w\" WHERE rowid = %lld", table, sqlite3_column_int64(q, 1))) {
            if (sqlite3_step(v) == SQLITE_ROW) trial = sqlite3_column_int64(v, 0);
            sqlite3_finalize(v);
        }
        st = hn_error(HN_ERR_FORMAT, "%s: corrupt study store: table %s names trial %lld, which is not in table trials "
                      "(restore a backup, or start the study again)", s->path, table, trial);
    } else if (rc != SQLITE_DONE) {
        st = store_error(s, "checking the study store");
    }
    sqlite3_finalize(q);
    return st;
}

hn_status store_open(store *s, const char *path, bool create, const char *const *meta) {
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", path);
    if (!create && access(path, F_OK) != 0)
        return hn_error(HN_ERR_IO, "%s: no study store here (is this a study directory? 'hwnas search' creates one)", path);
    if (create && access(path, F_OK) == 0)
        return hn_error(HN_ERR_INVALID, "%s: a study already lives here (resume it with 'hwnas search --resume DIR')", path);
    if (create) {
        hn_status st = create_store(path, meta);
        if (st) return st;
    }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        hn_status st = store_error(s, "cannot open the study store");
        store_close(s);
        return st;
    }
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    hn_status st = store_exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON");
    if (!st) { /* check what it is */
        char *format = NULL, *version = NULL;
        hn_status q = store_meta_get(s, "format", &format);
        if (q == HN_ERR_NOMEM) st = q;
        else if (q || !format || strcmp(format, "hwnas study"))
            st = hn_error(HN_ERR_FORMAT, "%s: not an hwnas study store (or a corrupt one)", path);
        else if (!(st = store_meta_get(s, "version", &version)) && (!version || atoi(version) != FORMAT_VERSION))
            st = hn_error(HN_ERR_FORMAT, "%s: study store version %s, this hwnas reads version %d", path,
                          version ? version : "?", FORMAT_VERSION);
        hn_free(format);
        hn_free(version);
    }
    if (!st) st = check_references(s);
    if (!st) st = store_exec(s, "%s", WORKERS_TABLE); /* only once it is known to be a study store */
    if (st) store_close(s);
    return st;
}

void store_close(store *s) {
    if (s->db) sqlite3_close(s->db);
    s->db = NULL;
}
