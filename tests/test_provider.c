/* The evaluation pipeline: a provider registered by this file alone is used by a study; tiers prune
 * before the expensive provider (counted); the command provider with a fake trainer that succeeds,
 * exits non-zero, runs past its timeout, prints garbage, prints no required metric and floods its
 * output -- each trial recorded as it should be, the study finishing; providers' option errors name
 * their line; the registry refuses a second type of the same name; the predictor, fitted on the study's
 * own trials, decides which candidates get the expensive tier. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "hwnas/estimate.h"
#include "hwnas/provider.h"
#include "hwnas/study.h"

static char tmp[256];
static const char *devices[] = {HWNAS_SOURCE_DIR "/devices", NULL};

/* the first column of the first row of sql on dir's store, as a string (static buffer; "" if none) */
static const char *query(const char *dir, const char *sql) {
    static char out[4096];
    char path[700];
    snprintf(path, sizeof path, "%s/study.db", dir);
    sqlite3 *db;
    sqlite3_stmt *q;
    out[0] = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK) {
        if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
            snprintf(out, sizeof out, "%s", (const char *)sqlite3_column_text(q, 0));
        sqlite3_finalize(q);
    }
    sqlite3_close(db);
    return out;
}

/* ---- a provider of this file's own: "probe", expensive, accuracy = scale / (1 + MACs / 1e6) -------- */

static int probe_calls;

static hn_status probe_create(hn_provider *p, const hn_options *o, const hn_provider_env *env) {
    static const char *const names[] = {"accuracy", "probe_macs", NULL};
    double *scale = hn_alloc(sizeof *scale);
    if (!scale) return hn_error(HN_ERR_NOMEM, "probe");
    p->state = scale;
    hn_status st = hn_options_check(o, "scale");
    if (!st) st = hn_options_number(o, "scale", 0, 10, 1, scale);
    if (!st && !env->space) st = hn_error(HN_ERR_INVALID, "probe: no space");
    p->tier = HN_TIER_EXPENSIVE, p->metrics = names;
    snprintf(p->description, sizeof p->description, "probe x%g", *scale);
    return st;
}

static hn_status probe_evaluate(hn_provider *p, hn_candidate *c, hn_metrics *m) {
    probe_calls++;
    double macs = (double)hn_graph_macs(c->graph), have;
    /* a provider reads what earlier tiers wrote: count ran first */
    if (!hn_metrics_get(m, "macs", &have) || have != macs) return hn_error(HN_ERR_INVALID, "probe: count did not run first");
    hn_status st = hn_metrics_set(m, "accuracy", *(double *)p->state / (1 + macs / 1e6));
    return st ? st : hn_metrics_set(m, "probe_macs", macs);
}

static void probe_destroy(hn_provider *p) { hn_free(p->state); }

static const hn_provider_type probe = {"probe", "a test provider", probe_create, probe_evaluate, probe_destroy, NULL, NULL, NULL};

static hn_status run_study(const char *name, const char *text, char *dir, size_t cap, hn_study **out) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s.yaml", tmp, name);
    snprintf(dir, cap, "%s/%s.d", tmp, name);
    write_text(path, text);
    hn_study_config cfg;
    hn_status st = hn_study_config_load(path, &cfg);
    if (!st) st = hn_study_create(dir, &cfg, devices, out);
    if (!st) st = hn_study_work(*out, NULL, NULL, NULL);
    return st;
}

/* The probe in a study: pruned trials (params over the bound, known after the free tier) never reach it. */
static void registered_and_pruned(void) {
    CHECK_OK(hn_provider_register(&probe));
    CHECK_ERR(hn_provider_register(&probe), HN_ERR_INVALID, "provider 'probe' is already registered");
    CHECK(hn_provider_type_find("probe") == &probe);
    char dir[700];
    hn_study *s = NULL;
    probe_calls = 0;
    CHECK_OK(run_study("probe",
                       "space: nb201\naccuracy: {provider: probe, scale: 2}\nobjectives:\n  accuracy: max\n  params: min\n"
                       "constraints:\n  - params <= 400k\nstrategy: random\nbudget: {trials: 40}\nseed: 3\n",
                       dir, sizeof dir, &s));
    int done = atoi(query(dir, "SELECT count(*) FROM trials WHERE state = 'done'"));
    int pruned = atoi(query(dir, "SELECT count(*) FROM trials WHERE state = 'pruned'"));
    CHECK_MSG(done + pruned == 40 && pruned > 0 && done > 0, "%d done, %d pruned", done, pruned);
    CHECK_MSG(probe_calls == done, "the probe ran %d times for %d unpruned trials", probe_calls, done);
    CHECK(atoi(query(dir, "SELECT count(*) FROM trials t JOIN metrics m ON m.trial = t.id AND m.name = 'accuracy' "
                          "WHERE t.state = 'pruned'")) == 0);
    CHECK(atoi(query(dir, "SELECT count(*) FROM trials t JOIN metrics m ON m.trial = t.id AND m.name = 'params' "
                          "WHERE t.state = 'pruned' AND m.value > 400000")) == pruned);
    /* the value it wrote, for one trial: 2 / (1 + MACs / 1e6) */
    double macs = atof(query(dir, "SELECT m.value FROM metrics m JOIN trials t ON t.id = m.trial WHERE t.state = 'done' "
                                  "AND m.name = 'macs' ORDER BY t.id LIMIT 1"));
    double acc = atof(query(dir, "SELECT m.value FROM metrics m JOIN trials t ON t.id = m.trial WHERE t.state = 'done' "
                                 "AND m.name = 'accuracy' ORDER BY t.id LIMIT 1"));
    CHECK_MSG(fabs(acc - 2 / (1 + macs / 1e6)) < 1e-12, "accuracy %g for %g MACs", acc, macs);
    /* the pipeline: count (free) first, the probe (expensive) last, with its count of evaluations */
    int n = hn_study_providers(s), evaluated = -1;
    CHECK(n == 2);
    CHECK(!strcmp(hn_study_provider_at(s, 0, NULL)->type->name, "count"));
    const hn_provider *p = hn_study_provider_at(s, n - 1, &evaluated);
    CHECK(p->type == &probe && !strcmp(p->description, "probe x2") && evaluated == done);
    hn_study_close(s);
    /* its options are its own: an unknown one names the line */
    s = NULL;
    CHECK_ERR(run_study("probebad", "space: nb201\naccuracy:\n  provider: probe\n  scael: 2\nobjectives:\n  accuracy: max\n",
                        dir, sizeof dir, &s), HN_ERR_INVALID, "probebad.yaml:4: unknown option 'scael' (known: scale)");
    hn_study_close(s);
}

/* ---- "oracle": expensive, NAS-Bench-201's validation accuracy from its table, calls counted ----- */

static int oracle_calls;
static hn_table *nb201;
static int nb201_column;

static hn_status oracle_create(hn_provider *p, const hn_options *o, const hn_provider_env *env) {
    static const char *const names[] = {"accuracy", NULL};
    (void)env;
    p->tier = HN_TIER_EXPENSIVE, p->metrics = names;
    snprintf(p->description, sizeof p->description, "oracle");
    return hn_options_check(o, "");
}

static hn_status oracle_evaluate(hn_provider *p, hn_candidate *c, hn_metrics *m) {
    (void)p;
    oracle_calls++;
    return hn_metrics_set(m, "accuracy", hn_table_lookup(nb201, c->genotype)[nb201_column]);
}

static const hn_provider_type oracle = {"oracle", "a test provider", oracle_create, oracle_evaluate, NULL, NULL, NULL, NULL};

/* stops the study once `at` trials have finished */
static void stop_at(void *user, const hn_study_progress *p) {
    volatile int *stop = user;
    if (p->done + p->pruned + p->failed >= stop[1]) stop[0] = 1;
}

/* every trial's genotype, state and metrics, one line each */
static char *trials_text(const char *dir) {
    static char out[1 << 20];
    char path[700];
    snprintf(path, sizeof path, "%s/study.db", dir);
    sqlite3 *db;
    sqlite3_stmt *q;
    size_t n = 0;
    out[0] = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT t.id, t.genotype, t.state, m.name, m.value FROM trials t JOIN metrics m ON m.trial = t.id "
                               "ORDER BY t.id, m.name", -1, &q, NULL) == SQLITE_OK) {
        while (sqlite3_step(q) == SQLITE_ROW && n + 512 < sizeof out)
            n += (size_t)snprintf(out + n, sizeof out - n, "%d %s %s %s %.17g\n", sqlite3_column_int(q, 0),
                                  (const char *)sqlite3_column_text(q, 1), (const char *)sqlite3_column_text(q, 2),
                                  (const char *)sqlite3_column_text(q, 3), sqlite3_column_double(q, 4));
        sqlite3_finalize(q);
    }
    sqlite3_close(db);
    return out;
}

/* The predictor, fitted on the study's own trials, decides which candidates the expensive tier gets:
 * it learns in event order, predicts the true (table) accuracy of candidates it never saw, holds back
 * the worse ones, and a study stopped and resumed makes exactly the trials of an uninterrupted one. */
static void predictor_gates(void) {
    const hn_space *sp = hn_space_find("nb201");
    CHECK_OK(hn_table_load(HWNAS_SOURCE_DIR "/../shared/reference/nb201/nb201-cifar10-12epoch.csv", sp, &nb201));
    if (!nb201) return;
    nb201_column = hn_table_metric_index(nb201, "cifar10-val");
    CHECK_OK(hn_provider_register(&oracle));
    const char *text = "space: nb201\naccuracy: {provider: oracle}\nestimators:\n  - {provider: predictor, warmup: 20}\n"
                       "objectives:\n  accuracy: max\nconstraints:\n  - predicted_accuracy_quantile >= 0.5\n"
                       "strategy: random\nbudget: {trials: 150}\nseed: 5\n";
    char dir[700], rdir[700];
    hn_study *s = NULL;
    oracle_calls = 0;
    CHECK_OK(run_study("predictor", text, dir, sizeof dir, &s));
    hn_study_close(s);
    int done = atoi(query(dir, "SELECT count(*) FROM trials WHERE state = 'done'"));
    int pruned = atoi(query(dir, "SELECT count(*) FROM trials WHERE state = 'pruned'"));
    CHECK_MSG(done + pruned == 150 && pruned > 30 && oracle_calls == done, "%d done, %d pruned, %d oracle calls", done,
              pruned, oracle_calls);
    CHECK(atoi(query(dir, "SELECT count(*) FROM trials WHERE id <= 20 AND state = 'done'")) == 20); /* warmup */
    /* its predictions against the truth, on every trial after the warmup (it had not seen them) */
    double pred[150], truth[150], kept = 0, held = 0;
    int n = 0, nkept = 0, nheld = 0;
    for (int id = 21; id <= 150; id++) {
        char sql[300];
        snprintf(sql, sizeof sql, "SELECT value FROM metrics WHERE trial = %d AND name = 'predicted_accuracy'", id);
        const char *v = query(dir, sql); /* query's buffer: read before the next query */
        if (!v[0]) continue;
        pred[n] = atof(v);
        snprintf(sql, sizeof sql, "SELECT genotype FROM trials WHERE id = %d", id);
        uint8_t g[HN_SPACE_MAX_DECISIONS];
        if (sp->parse(sp, query(dir, sql), g)) continue;
        truth[n] = hn_table_lookup(nb201, g)[nb201_column];
        snprintf(sql, sizeof sql, "SELECT state FROM trials WHERE id = %d", id);
        if (!strcmp(query(dir, sql), "done")) kept += truth[n], nkept++;
        else held += truth[n], nheld++;
        n++;
    }
    double rho = hn_spearman(pred, truth, n);
    CHECK_MSG(n == 130 && rho > 0.4, "Spearman %.3f between predicted and true accuracy over %d trials", rho, n);
    CHECK_MSG(nkept && nheld && kept / nkept > held / nheld + 3, "trained: mean true accuracy %.2f %%, held back: %.2f %%",
              kept / nkept, held / nheld);
    /* stopped after 70 trials and resumed: the same trials (it relearns the first 70 from the store) */
    snprintf(rdir, sizeof rdir, "%s/predictor-resumed.d", tmp);
    char path[700];
    snprintf(path, sizeof path, "%s/predictor.yaml", tmp);
    hn_study_config cfg;
    volatile int stop[2] = {0, 70};
    CHECK_OK(hn_study_config_load(path, &cfg));
    CHECK_OK(hn_study_create(rdir, &cfg, devices, &s));
    if (s) CHECK(hn_study_work(s, stop_at, (void *)stop, stop) == HN_ERR_INTERRUPTED);
    hn_study_close(s);
    s = NULL;
    CHECK(atoi(query(rdir, "SELECT count(*) FROM trials WHERE state IN ('done', 'pruned')")) < 150);
    CHECK_OK(hn_study_open(rdir, devices, &s));
    if (s) CHECK_OK(hn_study_work(s, NULL, NULL, NULL));
    hn_study_close(s);
    CHECK_MSG(!strcmp(trials_text(dir), trials_text(rdir)), "the resumed study differs from the uninterrupted one");
    hn_table_free(nb201);
}

/* The command provider with a fake trainer whose behaviour depends on the trial. */
static void command_trainer(void) {
    char script[600], text[2048], dir[700];
    snprintf(script, sizeof script, "%s/trainer.sh", tmp);
    write_text(script,
               "# usage: trainer.sh TRIAL ARCH NET DIR FIDELITY\n"
               "test -s \"$3\" && test -d \"$4\" || { echo \"no network file $3 or no directory $4\" >&2; exit 9; }\n"
               "case \"$1\" in\n"
               "  1) echo 'epoch 1: loss 2.30'; echo '{\"accuracy\": 0.625, \"loss\": 1.5, \"converged\": true}';;\n"
               "  2) echo 'CUDA out of memory' >&2; exit 3;;\n"
               "  3) echo 'training...' >&2; sleep 30;;\n"
               "  4) echo 'not json at all';;\n"
               "  5) head -c 3000000 /dev/zero | tr '\\000' x; echo; echo '{\"accuracy\": 0.75}';;\n"
               "  6) echo '{\"acc\": 1}';;\n"
               "  *) echo \"{\\\"accuracy\\\": $5}\";;\n"
               "esac\n");
    snprintf(text, sizeof text,
             "space: nb201\naccuracy:\n  command: sh %s {trial} {arch} {net} {dir} {fidelity}\n  timeout: 1.5s\n"
             "objectives:\n  accuracy: max\nstrategy: random\nbudget: {trials: 8}\nseed: 1\n", script);
    hn_study *s = NULL;
    double t0 = hn_now();
    CHECK_OK(run_study("command", text, dir, sizeof dir, &s));
    CHECK_MSG(hn_now() - t0 < 20, "the timed-out trainer was not killed (%.1f s)", hn_now() - t0);
    hn_study_close(s);
    CHECK(!strcmp(query(dir, "SELECT state FROM trials WHERE id = 1"), "done"));
    CHECK(atof(query(dir, "SELECT value FROM metrics WHERE trial = 1 AND name = 'accuracy'")) == 0.625);
    CHECK(atof(query(dir, "SELECT value FROM metrics WHERE trial = 1 AND name = 'loss'")) == 1.5);
    CHECK(atof(query(dir, "SELECT value FROM metrics WHERE trial = 1 AND name = 'converged'")) == 1);
    static const struct {
        int trial;
        const char *error;
    } failed[] = {{2, "the command exited with status 3: CUDA out of memory"},
                  {3, "ran past its timeout of 1.5s and was killed: training..."},
                  {4, "printed no JSON object on its last line (got 'not json at all')"},
                  {6, "the command's JSON has no finite number 'accuracy'"}};
    for (size_t i = 0; i < sizeof failed / sizeof failed[0]; i++) {
        char sql[200];
        snprintf(sql, sizeof sql, "SELECT state || ': ' || error FROM trials WHERE id = %d", failed[i].trial);
        const char *got = query(dir, sql);
        CHECK_MSG(!strncmp(got, "failed: ", 8) && strstr(got, failed[i].error), "trial %d: '%s' (want '%s')",
                  failed[i].trial, got, failed[i].error);
    }
    CHECK(!strcmp(query(dir, "SELECT state FROM trials WHERE id = 5"), "done"));
    CHECK(atof(query(dir, "SELECT value FROM metrics WHERE trial = 5 AND name = 'accuracy'")) == 0.75);
    CHECK(atof(query(dir, "SELECT value FROM metrics WHERE trial = 7 AND name = 'accuracy'")) == 1); /* {fidelity} */
    CHECK(atoi(query(dir, "SELECT count(*) FROM trials WHERE state = 'done'")) == 4);
    CHECK(atoi(query(dir, "SELECT count(*) FROM events WHERE kind = 'tell'")) == 8); /* every trial told */
    CHECK(!strcmp(query(dir, "SELECT value FROM meta WHERE key = 'final'"), "done"));
    /* the network file it was given is the candidate's, and reads back */
    char net[800];
    snprintf(net, sizeof net, "%s/scratch/trial-1/net.yaml", dir);
    hn_graph *g = NULL;
    CHECK_OK(hn_graph_load_yaml(net, &g));
    CHECK(g && g->nnodes > 10);
    hn_graph_free(g);
}

/* A provider made directly: the candidate built once, options with units, a missing proxy's error. */
static void direct(void) {
    const hn_space *sp = hn_space_find("nb201");
    hn_options o = {.line = 7};
    snprintf(o.file, sizeof o.file, "x.yaml");
    hn_provider_env env = {sp, NULL, devices, 0};
    hn_provider p;
    CHECK_OK(hn_options_add(&o, "profile", "cortex-m7", 8));
    CHECK_OK(hn_provider_new("device", &o, &env, &p));
    CHECK(p.tier == HN_TIER_FREE && p.cache && hn_provider_writes(&p, "peak_sram_bytes") && !hn_provider_writes(&p, "accuracy"));
    hn_candidate_spec spec = {.space = sp->defaults};
    hn_candidate c;
    const char *arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|";
    CHECK_OK(hn_candidate_build(sp, arch, &spec, &c));
    hn_metrics m = {0};
    double v;
    CHECK_OK(p.type->evaluate(&p, &c, &m));
    CHECK(hn_metrics_get(&m, "latency_s", &v) && v > 0 && hn_metrics_get(&m, "fits", &v));
    CHECK(!c.graph->finalized); /* costing needs no parameters */
    hn_candidate_free(&c);
    hn_provider_free(&p);
    CHECK_ERR(hn_candidate_build(sp, "|bogus~0|", &spec, &c), HN_ERR_INVALID, "");
    hn_options q = {.line = 3};
    snprintf(q.file, sizeof q.file, "y.yaml");
    CHECK_OK(hn_options_add(&q, "proxy", "synflw", 4));
    CHECK_ERR(hn_provider_new("proxy", &q, &env, &p), HN_ERR_INVALID, "y.yaml:4: unknown proxy 'synflw'");
    CHECK_ERR(hn_provider_new("nosuch", &q, &env, &p), HN_ERR_INVALID, "y.yaml:3: unknown provider 'nosuch'");
    hn_options big = {0};
    for (int i = 0; i < HN_OPTIONS_MAX; i++) CHECK_OK(hn_options_add(&big, "k", "v", i));
    CHECK_ERR(hn_options_add(&big, "k", "v", 99), HN_ERR_INVALID, ":99: at most 16 options");
    hn_metrics full = {0};
    char name[32];
    for (int i = 0; i < HN_METRICS_MAX; i++) {
        snprintf(name, sizeof name, "m%d", i);
        CHECK_OK(hn_metrics_set(&full, name, i));
    }
    CHECK_ERR(hn_metrics_set(&full, "one_more", 1), HN_ERR_INVALID, "at most 32 metrics");
    CHECK_OK(hn_metrics_set(&full, "m3", 7)); /* replacing needs no room */
    CHECK(hn_metrics_get(&full, "m3", &v) && v == 7);
}

int main(void) {
    snprintf(tmp, sizeof tmp, "/tmp/hwnas-test-provider-XXXXXX");
    if (!mkdtemp(tmp)) return 1;
    direct();
    registered_and_pruned();
    command_trainer();
    predictor_gates();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (!check_fail && system(cmd)) fprintf(stderr, "could not remove %s\n", tmp);
    return check_report();
}
