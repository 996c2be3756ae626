/* Trials in the store: the event log that drives the strategy, claiming and asking trials, recording
 * results, the cache of cheap metrics, and reading the trials back. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "study_internal.h"

/* seconds since the epoch, for the trials' timestamps */
static double wall_clock(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* what a failed trial tells the strategy: worse than any infeasible one */
#define FAILED_VIOLATION 1e9

/* The (name, value) rows of query q into m; q is finalized. */
static hn_status read_metrics(hn_study *s, sqlite3_stmt *q, hn_metrics *m, const char *what) {
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) hn_metrics_set(m, (const char *)sqlite3_column_text(q, 0), sqlite3_column_double(q, 1));
    hn_status st = rc == SQLITE_DONE ? HN_OK : store_error(&s->db, what);
    sqlite3_finalize(q);
    return st;
}

hn_status study_cache_get(hn_study *s, const char *genotype, hn_metrics *m) {
    sqlite3_stmt *q;
    hn_status st = store_query(&s->db, &q, "SELECT name, value FROM cache WHERE genotype = %Q", genotype);
    return st ? st : read_metrics(s, q, m, "reading the metrics cache");
}

static hn_status load_metrics(hn_study *s, int id, hn_metrics *m) {
    sqlite3_stmt *q;
    m->n = 0;
    hn_status st = store_query(&s->db, &q, "SELECT name, value FROM metrics WHERE trial = %d", id);
    return st ? st : read_metrics(s, q, m, "reading a trial's metrics");
}

void study_objectives(const hn_study_config *c, const hn_metrics *m, double *values) {
    for (int k = 0; k < c->nobjectives; k++) {
        double v = 0; /* a pruned trial has no accuracy: the worst a maximized percentage can be */
        hn_metrics_get(m, c->objectives[k].metric, &v);
        values[k] = c->objectives[k].maximize ? -v : v;
    }
}

/* Applies the events after the cursor to the strategy, in their order: an ask must propose what the
 * store recorded (the strategy is deterministic), a tell reports the recorded result. */
static hn_status sync_strategy(hn_study *s) {
    sqlite3_stmt *q;
    hn_status st = store_query(&s->db, &q,
                               "SELECT e.seq, e.kind, e.trial, t.genotype, t.fidelity, t.state, t.violation FROM events e "
                               "LEFT JOIN trials t ON t.id = e.trial WHERE e.seq > %lld ORDER BY e.seq",
                               (long long)s->cursor);
    if (st) return st;
    int rc;
    while (!st && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        int id = sqlite3_column_int(q, 2);
        if (sqlite3_column_type(q, 3) == SQLITE_NULL) { /* no such trial */
            st = hn_error(HN_ERR_FORMAT, "%s: corrupt study store: event %lld names trial %d, which is not in table trials",
                          s->db.path, (long long)sqlite3_column_int64(q, 0), id);
            break;
        }
        const char *kind = (const char *)sqlite3_column_text(q, 1), *geno = (const char *)sqlite3_column_text(q, 3);
        double fidelity = sqlite3_column_double(q, 4);
        uint8_t g[HN_SPACE_MAX_DECISIONS];
        if (!strcmp(kind, "ask")) {
            double f;
            char mine[GENOTYPE_MAX];
            st = hn_strategy_ask(s->strategy, g, &f);
            s->space->format(s->space, g, mine, sizeof mine);
            if (!st && (strcmp(mine, geno) || fabs(f - fidelity) > 1e-12))
                st = hn_error(HN_ERR_FORMAT,
                              "%s: replaying trial %d, the strategy proposes %s at fidelity %g where the store has %s at "
                              "%g (was the study's strategy or hwnas changed since it started?)",
                              s->db.path, id, mine, f, geno, fidelity);
        } else {
            hn_metrics m;
            double values[HN_STUDY_MAX_OBJECTIVES];
            const char *state = (const char *)sqlite3_column_text(q, 5);
            double viol = !strcmp(state, "failed") ? FAILED_VIOLATION : sqlite3_column_double(q, 6);
            if (!(st = load_metrics(s, id, &m)) && !(st = s->space->parse(s->space, geno, g))) {
                study_objectives(&s->cfg, &m, values);
                st = hn_strategy_tell(s->strategy, g, fidelity, values, viol);
            }
            for (int i = 0; !st && !strcmp(state, "done") && i < s->nproviders; i++) /* the learners see it too */
                if (s->providers[i].type->learn) st = s->providers[i].type->learn(&s->providers[i], g, fidelity, &m);
        }
        s->cursor = sqlite3_column_int64(q, 0);
    }
    if (!st && rc != SQLITE_DONE) st = store_error(&s->db, "reading the event log");
    sqlite3_finalize(q);
    return st;
}

/* The first 8 characters of this boot's id ("-" without /proc): a pid from another boot is dead. */
static void boot_id(char out[9]) {
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (!f || fscanf(f, "%8[0-9a-f]", out) != 1) strcpy(out, "-");
    if (f) fclose(f);
}

/* Process pid's state letter and start time (field 22 of /proc/PID/stat); false without /proc. */
static bool proc_stat(long pid, char *state, unsigned long long *start) {
    char path[64], stat[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = 0;
    const char *p = strrchr(stat, ')'); /* "pid (comm) S ppid ...": comm may hold spaces and parentheses */
    if (!p || p[1] != ' ') return false;
    *state = p[2];
    *start = 0;
    for (int field = 3; field <= 22; field++) { /* p ends at the space before field 22 */
        p = strchr(p + 1, ' ');
        if (!p) return false;
    }
    *start = strtoull(p + 1, NULL, 10);
    return true;
}

void study_worker_id(char *buf, size_t cap) {
    char boot[9], state;
    unsigned long long start = 0;
    boot_id(boot);
    proc_stat((long)getpid(), &state, &start);
    uint64_t token = hn_hash(&buf, sizeof buf) ^ (uint64_t)(hn_now() * 1e9);
    snprintf(buf, cap, "%ld:%08llx:%s:%llu", (long)getpid(), (unsigned long long)(token & 0xffffffffULL), boot, start);
}

bool study_worker_alive(const hn_study *s, const char *worker) {
    if (!worker) return false;
    if (!strcmp(worker, s->worker)) return true;
    long pid = 0;
    char boot[9] = "", mine[9];
    unsigned long long start = 0;
    int fields = sscanf(worker, "%ld:%*[0-9a-f]:%8[^:]:%llu", &pid, boot, &start);
    if (pid <= 0 || pid == (long)getpid()) return false; /* our pid, another token: a dead predecessor */
    boot_id(mine);
    if (fields == 3 && strcmp(boot, "-") && strcmp(mine, "-") && strcmp(boot, mine)) return false; /* before a reboot */
    if (kill((pid_t)pid, 0) != 0 && errno != EPERM) return false;
    char state;
    unsigned long long now_start;
    if (!proc_stat(pid, &state, &now_start)) return true; /* no /proc: trust kill() */
    if (state == 'Z' || state == 'X') return false;       /* killed, not yet reaped: a zombie still answers kill() */
    return fields < 3 || start == 0 || now_start == start; /* another start time: the pid was reused */
}

int study_running_workers(hn_study *s) {
    sqlite3_stmt *q;
    if (store_query(&s->db, &q, "SELECT DISTINCT worker FROM trials WHERE state = 'running'")) return 1;
    int n = 0;
    while (sqlite3_step(q) == SQLITE_ROW) n += study_worker_alive(s, (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    return n;
}

/* running trials whose worker died (killed, crashed) go back to the queue */
static hn_status requeue_orphans(hn_study *s) {
    sqlite3_stmt *q;
    hn_status st = store_query(&s->db, &q, "SELECT id, worker FROM trials WHERE state = 'running'");
    if (st) return st;
    int dead[256], n = 0;
    while (sqlite3_step(q) == SQLITE_ROW && n < 256)
        if (!study_worker_alive(s, (const char *)sqlite3_column_text(q, 1))) dead[n++] = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    for (int i = 0; i < n && !st; i++)
        st = store_exec(&s->db, "UPDATE trials SET state = 'queued', worker = NULL WHERE id = %d", dead[i]);
    return st;
}

/* Records that this worker is searching now (its interval in the workers table grows to now). */
static hn_status worker_seen(hn_study *s) {
    double now = wall_clock();
    if (!s->search_started) s->search_started = now;
    return store_exec(&s->db,
                      "INSERT INTO workers(id, started, seen) VALUES(%Q, %.17g, %.17g) ON CONFLICT(id) DO UPDATE SET seen = "
                      "excluded.seen",
                      s->worker, s->search_started, now);
}

static int by_start(const void *a, const void *b) {
    const double *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

hn_status study_elapsed(hn_study *s, double *elapsed) {
    *elapsed = 0;
    int64_t n = 0;
    hn_status st = store_int(&s->db, 0, &n, "SELECT count(*) FROM workers");
    if (st || n == 0) return st;
    double *iv = hn_alloc(sizeof(double) * 2 * (size_t)n), now = wall_clock();
    if (!iv) return hn_error(HN_ERR_NOMEM, "reading %lld workers", (long long)n);
    sqlite3_stmt *q;
    int k = 0;
    if (!(st = store_query(&s->db, &q, "SELECT id, started, seen FROM workers"))) {
        while (k < n && sqlite3_step(q) == SQLITE_ROW) {
            iv[2 * k] = sqlite3_column_double(q, 1);
            iv[2 * k + 1] = strcmp((const char *)sqlite3_column_text(q, 0), s->worker) ? sqlite3_column_double(q, 2) : now;
            k++;
        }
        sqlite3_finalize(q);
    }
    qsort(iv, (size_t)k, 2 * sizeof(double), by_start);
    double end = -INFINITY;
    for (int i = 0; i < k; i++) { /* the union's length: each interval adds what lies beyond the last end */
        double a = iv[2 * i] > end ? iv[2 * i] : end, b = iv[2 * i + 1];
        if (b > a) *elapsed += b - a;
        if (b > end) end = b;
    }
    hn_free(iv);
    return st;
}

static hn_status claim_or_ask(hn_study *s, volatile int *stop, study_trial *t, bool *got) {
    hn_status st = sync_strategy(s);
    if (!st) st = requeue_orphans(s);
    if (!st) st = worker_seen(s);
    if (st) return st;
    sqlite3_stmt *q;
    if ((st = store_query(&s->db, &q, "SELECT id, genotype, fidelity FROM trials WHERE state = 'queued' ORDER BY id LIMIT 1")))
        return st;
    *got = sqlite3_step(q) == SQLITE_ROW;
    if (*got) {
        t->id = sqlite3_column_int(q, 0);
        snprintf(t->genotype, sizeof t->genotype, "%s", (const char *)sqlite3_column_text(q, 1));
        t->fidelity = sqlite3_column_double(q, 2);
    }
    sqlite3_finalize(q);
    if (*got)
        return store_exec(&s->db, "UPDATE trials SET state = 'running', worker = %Q, started = %.17g WHERE id = %d",
                          s->worker, wall_clock(), t->id);
    int64_t made, finished;
    if ((st = store_int(&s->db, 0, &made, "SELECT count(*) FROM trials")) ||
        (st = store_int(&s->db, 0, &finished, "SELECT count(*) FROM meta WHERE key = 'final' AND value = 'done'")))
        return st;
    if (finished) return HN_OK; /* the chosen network is trained: the search is over */
    double elapsed = 0;
    if (s->cfg.time_s > 0 && (st = study_elapsed(s, &elapsed))) return st;
    bool time_left = s->cfg.time_s <= 0 || elapsed < s->cfg.time_s;
    if (made >= s->cfg.trials || !time_left || (stop && *stop)) return HN_OK;
    uint8_t g[HN_SPACE_MAX_DECISIONS];
    if ((st = hn_strategy_ask(s->strategy, g, &t->fidelity))) return st;
    s->space->format(s->space, g, t->genotype, sizeof t->genotype);
    if ((st = store_exec(&s->db,
                         "INSERT INTO trials(genotype, fidelity, state, worker, started) VALUES(%Q, %.17g, 'running', %Q, %.17g)",
                         t->genotype, t->fidelity, s->worker, wall_clock())))
        return st;
    t->id = (int)sqlite3_last_insert_rowid(s->db.db);
    if ((st = store_exec(&s->db, "INSERT INTO events(kind, trial) VALUES('ask', %d)", t->id))) return st;
    s->cursor = sqlite3_last_insert_rowid(s->db.db); /* our ask was that event */
    s->asked_here++;
    *got = true;
    return HN_OK;
}

hn_status study_next(hn_study *s, volatile int *stop, study_trial *t, bool *got) {
    *got = false;
    hn_status st = store_begin(&s->db);
    if (st) return st;
    st = claim_or_ask(s, stop, t, got);
    if (!st) st = store_commit(&s->db);
    else store_rollback(&s->db);
    if (st) *got = false;
    return st;
}

hn_status study_finish(hn_study *s, const study_trial *t, const char *state, const hn_metrics *m, const hn_metrics *cache,
                       double violation, double seconds, const char *error, const char *weights) {
    hn_status st = store_begin(&s->db);
    if (st) return st;
    st = store_exec(&s->db,
                    "UPDATE trials SET state = %Q, violation = %.17g, worker = NULL, finished = %.17g, seconds = %.17g, "
                    "error = %Q, weights = %Q WHERE id = %d AND state = 'running' AND worker = %Q",
                    state, violation, wall_clock(), seconds, error[0] ? error : NULL, weights[0] ? weights : NULL, t->id,
                    s->worker);
    if (!st && sqlite3_changes(s->db.db) == 0) { /* taken from us (we seemed dead): its owner reports it, once */
        store_rollback(&s->db);
        return HN_OK;
    }
    for (int i = 0; i < m->n && !st; i++)
        st = store_exec(&s->db, "INSERT OR REPLACE INTO metrics(trial, name, value) VALUES(%d, %Q, %.17g)", t->id,
                        m->name[i], m->value[i]);
    for (int i = 0; i < cache->n && !st; i++)
        st = store_exec(&s->db, "INSERT OR IGNORE INTO cache(genotype, name, value) VALUES(%Q, %Q, %.17g)", t->genotype,
                        cache->name[i], cache->value[i]);
    if (!st) st = store_exec(&s->db, "INSERT INTO events(kind, trial) VALUES('tell', %d)", t->id);
    if (!st) st = worker_seen(s);
    if (!st) st = store_commit(&s->db);
    else store_rollback(&s->db);
    return st;
}

void study_requeue(hn_study *s, int id) {
    store_exec(&s->db, "UPDATE trials SET state = 'queued', worker = NULL WHERE id = %d AND state = 'running'", id);
}

hn_status study_requeue_after(hn_study *s, int id) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", hn_last_error());
    study_requeue(s, id);
    return hn_error(HN_ERR_NOMEM, "%s, during trial %d, which is back in the queue; resume with 'hwnas search --resume %s'",
                    msg, id, s->dir);
}

/* the row of trial id in t (whose ids ascend), or -1 */
static int row_of(const study_table *t, int id) {
    int lo = 0, hi = t->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (t->trial[mid].id == id) return mid;
        if (t->trial[mid].id < id) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

hn_status study_trials_load(hn_study *s, study_table *t) {
    memset(t, 0, sizeof *t);
    /* one read transaction (unless the caller holds one): the count and both queries see the same
     * trials, however many another worker adds meanwhile */
    bool own = sqlite3_get_autocommit(s->db.db);
    hn_status st = own ? store_exec(&s->db, "BEGIN") : HN_OK;
    int64_t n = 0;
    if (!st) st = store_int(&s->db, 0, &n, "SELECT count(*) FROM trials");
    if (!st && !(t->trial = hn_alloc(sizeof *t->trial * (size_t)(n ? n : 1))))
        st = hn_error(HN_ERR_NOMEM, "reading %lld trials", (long long)n);
    sqlite3_stmt *q;
    if (!st && !(st = store_query(&s->db, &q, "SELECT id, state, genotype, fidelity, violation, seconds, error FROM trials ORDER BY id"))) {
        while (t->n < n && sqlite3_step(q) == SQLITE_ROW) {
            hn_study_trial *r = &t->trial[t->n++];
            memset(r, 0, sizeof *r);
            const char *e = (const char *)sqlite3_column_text(q, 6);
            r->id = sqlite3_column_int(q, 0);
            snprintf(r->state, sizeof r->state, "%s", (const char *)sqlite3_column_text(q, 1));
            snprintf(r->genotype, sizeof r->genotype, "%s", (const char *)sqlite3_column_text(q, 2));
            r->fidelity = sqlite3_column_double(q, 3);
            r->violation = sqlite3_column_double(q, 4);
            r->seconds = sqlite3_column_double(q, 5);
            snprintf(r->error, sizeof r->error, "%s", e ? e : "");
        }
        sqlite3_finalize(q);
    }
    if (!st && !(st = store_query(&s->db, &q, "SELECT trial, name, value FROM metrics ORDER BY trial"))) {
        while (sqlite3_step(q) == SQLITE_ROW) {
            int id = sqlite3_column_int(q, 0), i = row_of(t, id);
            if (i < 0) { /* the reads share one snapshot, so only a damaged store gets here */
                st = hn_error(HN_ERR_FORMAT, "%s: corrupt study store: a metric of trial %d, which is not in table trials",
                              s->db.path, id);
                break;
            }
            hn_metrics_set(&t->trial[i].metrics, (const char *)sqlite3_column_text(q, 1), sqlite3_column_double(q, 2));
        }
        sqlite3_finalize(q);
    }
    if (own) store_exec(&s->db, "COMMIT");
    if (st) study_trials_free(t);
    return st;
}

void study_trials_free(study_table *t) {
    hn_free(t->trial);
    memset(t, 0, sizeof *t);
}

int study_front(const hn_study_config *c, const study_table *t, int *idx) {
    double top = 0;
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->trial[i].state, "done") && t->trial[i].fidelity > top) top = t->trial[i].fidelity;
    int m = c->nobjectives, k = 0;
    double *pts = hn_alloc(sizeof(double) * (size_t)(t->n ? t->n : 1) * m);
    int *cand = hn_alloc(sizeof(int) * (size_t)(t->n ? t->n : 1) * 2), *rank = cand ? cand + t->n : NULL;
    if (!pts || !cand) {
        hn_free(pts), hn_free(cand);
        return 0;
    }
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->trial[i].state, "done") && t->trial[i].violation <= 0 && t->trial[i].fidelity == top) {
            study_objectives(c, &t->trial[i].metrics, pts + (size_t)k * m);
            cand[k++] = i;
        }
    int n = 0;
    if (k && hn_pareto_rank(pts, NULL, k, m, rank) >= 0)
        for (int j = 0; j < k; j++)
            if (rank[j] == 0) idx[n++] = cand[j];
    /* in order of the first objective, best first */
    for (int a = 1; a < n; a++)
        for (int b = a; b > 0; b--) {
            double va = 0, vb = 0;
            hn_metrics_get(&t->trial[idx[b]].metrics, c->objectives[0].metric, &va);
            hn_metrics_get(&t->trial[idx[b - 1]].metrics, c->objectives[0].metric, &vb);
            if (c->objectives[0].maximize ? va > vb : va < vb) {
                int x = idx[b];
                idx[b] = idx[b - 1], idx[b - 1] = x;
            }
        }
    hn_free(pts), hn_free(cand);
    return n;
}

/* The front's size, its best accuracy and the ETA: these read every trial, so a progress line that
 * asks after each of thousands of fast trials gets them at most every FRONT_REFRESH_S (2,000 tabular
 * trials: 53 s when read each time). */
#define FRONT_REFRESH_S 0.5

static void front_summary(hn_study *s, const hn_study_progress *p, study_summary *out) {
    out->front = 0, out->best_accuracy = NAN, out->eta_s = NAN;
    study_table t;
    if (study_trials_load(s, &t)) return;
    int *idx = hn_alloc(sizeof(int) * (size_t)(t.n ? t.n : 1));
    if (idx) {
        out->front = study_front(&s->cfg, &t, idx);
        for (int i = 0; i < out->front; i++) {
            double a;
            if (hn_metrics_get(&t.trial[idx[i]].metrics, "accuracy", &a) && !(a <= out->best_accuracy)) out->best_accuracy = a;
        }
    }
    /* ETA: the trials left at the mean time of those finished, shared by the workers running */
    double total = 0;
    int finished = 0;
    for (int i = 0; i < t.n; i++)
        if (strcmp(t.trial[i].state, "running") && strcmp(t.trial[i].state, "queued")) total += t.trial[i].seconds, finished++;
    int left = s->cfg.trials - finished, workers = p->running > 0 ? p->running : 1;
    out->eta_s = finished ? total / finished * left / workers : NAN;
    hn_free(idx);
    study_trials_free(&t);
}

void study_counts(hn_study *s, hn_study_progress *p) {
    static const char *const states[] = {"done", "running", "queued", "failed", "pruned"};
    int *dst[] = {&p->done, &p->running, &p->queued, &p->failed, &p->pruned};
    for (int i = 0; i < 5; i++) {
        int64_t v = 0;
        store_int(&s->db, 0, &v, "SELECT count(*) FROM trials WHERE state = %Q", states[i]);
        *dst[i] = (int)v;
    }
    p->budget = s->cfg.trials;
    double now = hn_now();
    bool last = p->done + p->failed + p->pruned >= s->cfg.trials; /* the final line is exact */
    if (last || !(now - s->summary_at < FRONT_REFRESH_S)) {
        front_summary(s, p, &s->summary);
        s->summary_at = now;
    }
    p->front = s->summary.front, p->best_accuracy = s->summary.best_accuracy, p->eta_s = s->summary.eta_s;
    if (s->cfg.time_s > 0 && p->elapsed_s + (isnan(p->eta_s) ? 0 : p->eta_s) > s->cfg.time_s)
        p->eta_s = s->cfg.time_s - p->elapsed_s > 0 ? s->cfg.time_s - p->elapsed_s : 0;
}

hn_status hn_study_trial_genotype(hn_study *s, int id, char *buf, size_t cap) {
    sqlite3_stmt *q;
    hn_status st = store_query(&s->db, &q, "SELECT genotype FROM trials WHERE id = %d", id);
    if (st) return st;
    if (sqlite3_step(q) == SQLITE_ROW) snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(q, 0));
    else st = hn_error(HN_ERR_INVALID, "%s: no trial %d (see 'hwnas study show %s')", s->dir, id, s->dir);
    sqlite3_finalize(q);
    return st;
}
