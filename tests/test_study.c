/* Studies end to end on small budgets: study-file errors name their line; a tabular study's front is
 * the non-dominated set of its trials; a study killed with SIGKILL mid-trial and resumed equals the
 * uninterrupted one; three workers share one study with no trial run twice; corrupt, half-written and
 * infeasible studies give clear errors; a supernet study stopped in its supernet's training resumes
 * from the last saved epoch, and another device's study reads its supernet without training. Study work runs in child processes (fork before any OpenMP
 * region in this process), which also gives the kill -9 a process to kill. */
#define _DEFAULT_SOURCE /* usleep, mkdtemp, setenv */
#include <dirent.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "hwnas/graph.h"
#include "hwnas/report.h"
#include "hwnas/study.h"
#include "hwnas/supernet.h"

static char tmp[256];
static const char *devices[] = {HWNAS_SOURCE_DIR "/devices", NULL};

/* an IDX image file of n random 28x28 images and a label file cycling 0..9 */
static void write_idx(const char *dir, const char *prefix, int n, unsigned seed) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, prefix);
    FILE *f = fopen(path, "wb");
    unsigned char head[16] = {0, 0, 8, 3, 0, 0, (unsigned char)(n >> 8), (unsigned char)n, 0, 0, 0, 28, 0, 0, 0, 28};
    fwrite(head, 1, 16, f);
    for (int i = 0; i < n * 784; i++) fputc((int)((seed = seed * 1103515245u + 12345u) >> 24), f);
    fclose(f);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, prefix);
    f = fopen(path, "wb");
    unsigned char lh[8] = {0, 0, 8, 1, 0, 0, (unsigned char)(n >> 8), (unsigned char)n};
    fwrite(lh, 1, 8, f);
    for (int i = 0; i < n; i++) fputc(i % 10, f);
    fclose(f);
}

/* A tiny training study (NB201 cells at width 4, one per stage, on 300 + 100 random images, Cortex-M7
 * metrics) with strategy s: small enough for the sanitizer build. */
static void tiny_study(const char *path, const char *strategy, int trials) {
    char text[2048];
    snprintf(text, sizeof text,
             "name: tiny\nspace: {name: nb201, width: 4, cells: 1}\nnumtypes: int8/int8\ndataset: idx:%s/data\nvalidation: 100\n"
             "device: cortex-m7\nobjectives:\n  accuracy: max\n  latency_s: min\nconstraints:\n"
             "  - peak_sram_bytes <= 320KB\n  - flash_bytes <= 1MB\nstrategy: %s\nbudget:\n  trials: %d\n"
             "fidelity:\n  epochs: 1\n  batch: 32\nfinal:\n  epochs: 1\nseed: 5\nthreads: 1\n",
             tmp, strategy, trials);
    write_text(path, text);
}

/* Runs fn(arg) in a child process; returns its pid. */
static pid_t spawn(void (*fn)(const char *), const char *arg) {
    pid_t pid = fork();
    if (pid == 0) {
        hn_set_threads(1);
        fn(arg);
        _exit(0);
    }
    return pid;
}

static int wait_for(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* as hwnas search does: work on the study, then the worker that finished it writes the report */
static hn_status work_and_report(hn_study *s) {
    hn_status st = hn_study_work(s, NULL, NULL, NULL);
    hn_study_snapshot snap;
    if (!st && !(st = hn_study_snapshot_take(s, &snap))) {
        if (snap.finished) st = hn_report_write(&snap);
        hn_study_snapshot_free(&snap);
    }
    return st;
}

/* child bodies: create a study from FILE into FILE.d and work on it; or join the study in DIR */
static void create_and_work(const char *file) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s.d", file);
    hn_study_config cfg;
    hn_study *s;
    if (hn_study_config_load(file, &cfg) || hn_study_create(dir, &cfg, devices, &s)) _exit(3);
    hn_status st = work_and_report(s);
    hn_study_close(s);
    if (st) fprintf(stderr, "create_and_work: %s\n", hn_last_error());
    _exit(st ? 4 : 0);
}

static void join_and_work(const char *dir) {
    hn_study *s;
    if (hn_study_open(dir, devices, &s)) {
        fprintf(stderr, "join: %s\n", hn_last_error());
        _exit(3);
    }
    hn_status st = work_and_report(s);
    hn_study_close(s);
    if (st) fprintf(stderr, "join_and_work: %s\n", hn_last_error());
    _exit(st ? 4 : 0);
}

/* one line per trial: id, genotype, fidelity, state, accuracy (bit-exact: threads 1, fixed seed) */
static char *trials_of(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/study.db", dir);
    sqlite3 *db;
    static char buf[4][1 << 16];
    static int which;
    char *out = buf[which++ % 4];
    out[0] = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db); /* a failed open still allocates a handle */
        return out;
    }
    sqlite3_stmt *q;
    sqlite3_prepare_v2(db,
                       "SELECT t.id, t.genotype, t.fidelity, t.state, (SELECT value FROM metrics m WHERE m.trial = t.id "
                       "AND m.name = 'accuracy') FROM trials t ORDER BY t.id",
                       -1, &q, NULL);
    while (sqlite3_step(q) == SQLITE_ROW)
        snprintf(out + strlen(out), (1 << 16) - strlen(out), "%d %s %.17g %s %.17g\n", sqlite3_column_int(q, 0),
                 sqlite3_column_text(q, 1), sqlite3_column_double(q, 2), sqlite3_column_text(q, 3), sqlite3_column_double(q, 4));
    sqlite3_finalize(q);
    sqlite3_close(db);
    return out;
}

static int64_t count(const char *dir, const char *sql) {
    char path[512];
    snprintf(path, sizeof path, "%s/study.db", dir);
    sqlite3 *db;
    int64_t n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db); /* a failed open still allocates a handle */
        return -1;
    }
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

/* kill -9 mid-study, resume, compare with a study that was never interrupted */
static void resume_after_kill(void) {
    char a[512], b[512], bdir[600];
    snprintf(a, sizeof a, "%s/a.yaml", tmp);
    snprintf(b, sizeof b, "%s/b.yaml", tmp);
    tiny_study(a, "hyperband", 14);
    tiny_study(b, "hyperband", 14);
    snprintf(bdir, sizeof bdir, "%s.d", b);
    CHECK(wait_for(spawn(create_and_work, a)) == 0);
    pid_t victim = spawn(create_and_work, b);
    for (int i = 0; i < 400 && count(bdir, "SELECT count(*) FROM trials WHERE state != 'running'") < 4; i++) usleep(10000);
    usleep(30000); /* into the next trial's training */
    kill(victim, SIGKILL);
    CHECK(wait_for(victim) == 128 + SIGKILL);
    int64_t before = count(bdir, "SELECT count(*) FROM trials WHERE state != 'running'");
    CHECK_MSG(before >= 4 && before < 14, "killed after %lld finished trials", (long long)before);
    CHECK(wait_for(spawn(join_and_work, bdir)) == 0);
    char adir[600];
    snprintf(adir, sizeof adir, "%s.d", a);
    char *ta = trials_of(adir), *tb = trials_of(bdir);
    CHECK_MSG(strlen(ta) > 0 && !strcmp(ta, tb), "resumed study differs:\n%s---\n%s", ta, tb);
    CHECK(count(adir, "SELECT value FROM meta WHERE key = 'chosen_trial'") ==
          count(bdir, "SELECT value FROM meta WHERE key = 'chosen_trial'"));
    char path[700];
    /* the chosen network as a file, and its weights load into it */
    char wpath[700];
    hn_graph *net = NULL;
    snprintf(path, sizeof path, "%s/model.yaml", bdir);
    snprintf(wpath, sizeof wpath, "%s/model.hntf", bdir);
    CHECK_OK(hn_graph_load_yaml(path, &net));
    if (net) CHECK_OK(hn_graph_load_weights(net, wpath));
    hn_graph_free(net);
    snprintf(path, sizeof path, "%s/pareto.json", bdir);
    CHECK(access(path, R_OK) == 0);
}

/* three workers at once: the budget is met, every trial finished once, one ask and one tell each */
static void three_workers(void) {
    char file[512], dir[600];
    snprintf(file, sizeof file, "%s/w.yaml", tmp);
    tiny_study(file, "random", 18);
    snprintf(dir, sizeof dir, "%s.d", file);
    pid_t first = spawn(create_and_work, file);
    char db[700];
    snprintf(db, sizeof db, "%s/study.db", dir);
    for (int i = 0; i < 500 && count(dir, "SELECT count(*) FROM meta WHERE key = 'study_text'") < 1; i++) usleep(10000);
    pid_t second = spawn(join_and_work, dir), third = spawn(join_and_work, dir);
    CHECK(wait_for(first) == 0);
    CHECK(wait_for(second) == 0);
    CHECK(wait_for(third) == 0);
    CHECK(count(dir, "SELECT count(*) FROM trials") == 18);
    CHECK(count(dir, "SELECT count(*) FROM trials WHERE state IN ('done', 'pruned')") == 18);
    CHECK(count(dir, "SELECT count(*) FROM events WHERE kind = 'tell'") == 18);
    CHECK(count(dir, "SELECT count(*) FROM events WHERE kind = 'ask'") == 18);
    CHECK(count(dir, "SELECT count(DISTINCT genotype) FROM trials") == 18); /* random search never repeats */
    CHECK(count(dir, "SELECT count(*) FROM meta WHERE key = 'final' AND value = 'done'") == 1);
}

static void config_error(const char *name, const char *text, const char *want) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.yaml", tmp, name);
    write_text(path, text);
    hn_study_config cfg;
    CHECK_ERR(hn_study_config_load(path, &cfg), HN_ERR_INVALID, want);
}

/* a study file that reads but names a metric no provider of the study writes: refused at creation */
static void create_error(const char *name, const char *text, const char *want) {
    char path[512], dir[600];
    snprintf(path, sizeof path, "%s/%s.yaml", tmp, name);
    snprintf(dir, sizeof dir, "%s/%s.d", tmp, name);
    write_text(path, text);
    hn_study_config cfg;
    hn_study *s = NULL;
    CHECK_OK(hn_study_config_load(path, &cfg));
    CHECK_ERR(hn_study_create(dir, &cfg, devices, &s), HN_ERR_INVALID, want);
    CHECK(access(dir, F_OK) != 0); /* nothing created for a bad study */
}

static void config_errors(void) {
    const char *head = "space: nb201\ntable: t.csv\naccuracy: val\nobjectives:\n  accuracy: max\n";
    char text[1024];
    config_error("unknown", "space: nb201\nbogus: 3\n", "unknown.yaml:2: unknown key 'bogus' (known: name, space");
    snprintf(text, sizeof text, "%sbudget:\n  trials: many\n", head);
    config_error("type", text, "type.yaml:7: field 'trials': expected an integer");
    create_error("metric", "space: nb201\naccuracy: {command: 'true'}\nobjectives:\n  accuracy: max\n  latency_s: min\n",
                 "metric.yaml:5: objective 'latency_s': unknown metric (this study's providers write: params, macs, accuracy; "
                 "a device adds latency_s");
    create_error("cons", "space: nb201\naccuracy: {command: 'true'}\nobjectives:\n  accuracy: max\nconstraints:\n"
                 "  - flash_bytes <= 1MB\n", "cons.yaml:6: constraint on 'flash_bytes': unknown metric");
    config_error("accmap", "space: nb201\naccuracy: {epochs: 3}\nobjectives:\n  accuracy: max\n",
                 "accmap.yaml:2: field 'accuracy': expected a table column, {command: CMD, ...}");
    create_error("nocmd", "space: nb201\naccuracy: {command: ''}\nobjectives:\n  accuracy: max\n",
                 "nocmd.yaml:2: provider command: give the 'command' to run");
    create_error("opt", "space: nb201\naccuracy:\n  command: 'true'\n  tiemout: 5\nobjectives:\n  accuracy: max\n",
                 "opt.yaml:4: unknown option 'tiemout' (known: command, timeout, metrics)");
    create_error("timeout", "space: nb201\naccuracy:\n  command: 'true'\n  timeout: soon\nobjectives:\n  accuracy: max\n",
                 "timeout.yaml:4: option 'timeout': expected a number in [0, 1e+09] (units such as 8min or 320KB allowed), got 'soon'");
    create_error("prov", "space: nb201\naccuracy: {command: 'true'}\nestimators:\n  - {provider: bogus}\nobjectives:\n"
                 "  accuracy: max\n", "prov.yaml:4: unknown provider 'bogus' (known: command, count, device, predictor, proxy, supernet, table, train)");
    config_error("est", "space: nb201\ntable: t.csv\naccuracy: val\nestimators:\n  - {proxy: synflow}\nobjectives:\n  accuracy: max\n",
                 "est.yaml:5: an estimator needs its 'provider'");
    config_error("proxydata", "space: nb201\naccuracy: {proxy: synflow}\nobjectives:\n  accuracy: max\n",
                 "proxydata.yaml:2: a proxy scores networks on images: give the 'dataset'");
    snprintf(text, sizeof text, "%sconstraints:\n  - params < lots\n", head);
    config_error("consfmt", text, "consfmt.yaml:7: constraint 'params < lots': expected METRIC <= VALUE");
    config_error("space", "space: nb999\n", "space.yaml:1: unknown space 'nb999'");
    snprintf(text, sizeof text, "%sstrategy: tpe\n", head);
    config_error("strategy", text, "strategy.yaml:6: unknown strategy 'tpe'");
    config_error("both", "space: nb201\nobjectives:\n  accuracy: max\n", "give either 'dataset'");
    snprintf(text, sizeof text, "%sfidelity:\n  epochs: -1\n", head);
    config_error("range", text, "range.yaml:7: field 'epochs': expected a number in [0.001, 10000], got '-1'");
    config_error("syntax", "space: [nb201\n", "syntax.yaml:2: YAML syntax error");
    config_error("empty", "", "empty.yaml: the file is empty");
}

/* A supernet study (single path, 4 steps an epoch over the 200 images not held out), and a second
 * one specialized from its supernet for another device. */
static void supernet_study(const char *path, const char *device, int trials, const char *final) {
    char text[2048];
    snprintf(text, sizeof text,
             "name: sn\nspace: mbconv\nnumtypes: int8/int8\ndataset: idx:%s/data\nvalidation: 100\ndevice: %s\n"
             "accuracy: {supernet: {epochs: 2, batch: 50, sandwich: false, random: 1, calibration: 50}}\n"
             "objectives:\n  accuracy: max\n  latency_s: min\nconstraints:\n  - peak_sram_bytes <= 320KB\n"
             "strategy: random\nbudget:\n  trials: %d\nfinal: %s\nseed: 3\nthreads: 1\n", tmp, device, trials, final);
    write_text(path, text);
}

static volatile int sn_stop;
static int64_t sn_first_step = -1;

static void sn_event(void *user, const hn_study_progress *p) {
    (void)user;
    if (strcmp(p->phase, "supernet training")) return;
    if (sn_first_step < 0) sn_first_step = p->step;
    if (p->step >= 6 && user) sn_stop = 1; /* in the second epoch */
}

/* child bodies: start the study in FILE.d and stop it in the supernet's second epoch; resume it */
static void sn_start_and_stop(const char *file) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s.d", file);
    hn_study_config cfg;
    hn_study *s;
    if (hn_study_config_load(file, &cfg) || hn_study_create(dir, &cfg, devices, &s)) _exit(3);
    hn_status st = hn_study_work(s, sn_event, (void *)1, &sn_stop);
    hn_study_close(s);
    _exit(st == HN_ERR_INTERRUPTED && strstr(hn_last_error(), "the last saved epoch is 1") ? 0 : 4);
}

static void sn_resume(const char *dir) {
    hn_study *s;
    if (hn_study_open(dir, devices, &s)) _exit(3);
    hn_status st = hn_study_work(s, sn_event, NULL, NULL);
    hn_study_close(s);
    if (st) fprintf(stderr, "sn_resume: %s\n", hn_last_error());
    if (sn_first_step != 5) fprintf(stderr, "sn_resume: the supernet's training went on at step %lld\n", (long long)sn_first_step);
    _exit(st ? 4 : sn_first_step == 5 ? 0 : 5); /* on from the saved epoch's end: step 5 of 8 */
}

static void sn_specialize(const char *file) {
    char dir[512], sn[600];
    snprintf(dir, sizeof dir, "%s.d", file);
    snprintf(sn, sizeof sn, "%s/a-sn.yaml.d/supernet.hnsn", tmp);
    hn_study_config cfg;
    hn_study *s;
    if (hn_study_config_load(file, &cfg) || hn_study_config_use_supernet(&cfg, sn) || hn_study_create(dir, &cfg, devices, &s))
        _exit(3);
    hn_status st = hn_study_work(s, sn_event, NULL, NULL);
    hn_study_close(s);
    _exit(st ? 4 : sn_first_step < 0 ? 0 : 5); /* no training */
}

/* final: weights: inherited starts the chosen network's training from its slice of the supernet: at
 * a learning rate of 1e-9 its saved weights are that slice (scratch would start elsewhere). */
static void finetune_from_supernet(const char *a) {
    char c[512], cdir[700], path[600];
    snprintf(c, sizeof c, "%s/c-sn.yaml", tmp);
    snprintf(cdir, sizeof cdir, "%s.d", c);
    supernet_study(c, "cortex-m7", 3, "{epochs: 1, weights: inherited, lr: 1e-9}");
    CHECK(wait_for(spawn(sn_specialize, c)) == 0);
    hn_study *s = NULL;
    hn_study_snapshot snap;
    CHECK_OK(hn_study_open(cdir, devices, &s));
    CHECK_OK(hn_study_snapshot_take(s, &snap));
    CHECK(snap.finished && snap.final_inherited && snap.chosen >= 0);
    const hn_space *sp = hn_space_find("mbconv");
    hn_space_config shape = {{1, 28, 28}, 10, 0, 0};
    uint8_t geno[HN_SPACE_MAX_DECISIONS];
    hn_graph *mine = NULL, *slice = NULL;
    hn_supernet *sn = NULL;
    snprintf(path, sizeof path, "%s.d/supernet.hnsn", a);
    CHECK_OK(sp->parse(sp, snap.trials[snap.chosen].genotype, geno));
    CHECK_OK(sp->to_graph(sp, geno, &shape, &mine));
    CHECK_OK(sp->to_graph(sp, geno, &shape, &slice));
    CHECK_OK(hn_graph_finalize(mine));
    CHECK_OK(hn_graph_finalize(slice));
    snprintf(cdir + strlen(cdir), sizeof cdir - strlen(cdir), "/model.hntf");
    CHECK_OK(hn_graph_load_weights(mine, cdir));
    CHECK_OK(hn_supernet_load(path, sp, &shape, &sn));
    CHECK_OK(hn_supernet_extract(sn, slice));
    double worst = 0;
    for (size_t i = 0; mine && slice && i < mine->nparams; i++) worst = fmax(worst, fabs(mine->params[i] - slice->params[i]));
    CHECK(mine && mine->nparams > 0 && worst < 1e-6);
    hn_supernet_free(sn);
    hn_graph_free(mine), hn_graph_free(slice);
    hn_study_snapshot_free(&snap);
    hn_study_close(s);
    create_error("ftscratch", "space: mbconv\ndataset: fashion-mnist\naccuracy: {proxy: synflow}\nobjectives:\n  accuracy: max\n"
                 "final: {epochs: 1, weights: inherited}\n", "ftscratch.yaml:6: final: 'weights: inherited' fine-tunes the "
                 "weights the accuracy provider shares, and no provider of this study shares any");
    config_error("ftword", "space: mbconv\ndataset: fashion-mnist\nobjectives:\n  accuracy: max\nfinal: {weights: pretrained}\n",
                 "ftword.yaml:5: final: 'weights' is scratch or inherited (from the supernet), not 'pretrained'");
}

static void supernet_studies(void) {
    char a[512], adir[600], b[512], bdir[600], path[700];
    snprintf(a, sizeof a, "%s/a-sn.yaml", tmp);
    snprintf(adir, sizeof adir, "%s.d", a);
    supernet_study(a, "cortex-m7", 6, "{epochs: 0}");
    CHECK(wait_for(spawn(sn_start_and_stop, a)) == 0);
    snprintf(path, sizeof path, "%s/supernet.hnsn", adir);
    hn_supernet *sn = NULL;
    hn_space_config shape = {{1, 28, 28}, 10, 0, 0};
    CHECK_OK(hn_supernet_load(path, hn_space_find("mbconv"), &shape, &sn));
    CHECK(sn && hn_supernet_epochs_done(sn) == 1 && hn_supernet_epochs_planned(sn) == 2);
    hn_supernet_free(sn);
    CHECK(count(adir, "SELECT count(*) FROM trials") == 0); /* the search starts after the supernet */
    CHECK(wait_for(spawn(sn_resume, adir)) == 0);
    CHECK(count(adir, "SELECT count(*) FROM trials WHERE state IN ('done', 'pruned')") == 6);
    CHECK(count(adir, "SELECT count(*) FROM metrics WHERE name = 'accuracy' AND value >= 0 AND value <= 100") ==
          count(adir, "SELECT count(*) FROM trials WHERE state = 'done'"));
    /* another device from the trained supernet: no training, and a resumed one still reads it */
    snprintf(b, sizeof b, "%s/b-sn.yaml", tmp);
    snprintf(bdir, sizeof bdir, "%s.d", b);
    supernet_study(b, "cortex-m4", 5, "{epochs: 0}");
    CHECK(wait_for(spawn(sn_specialize, b)) == 0);
    CHECK(count(bdir, "SELECT count(*) FROM trials WHERE state IN ('done', 'pruned')") == 5);
    snprintf(path, sizeof path, "%s/supernet.hnsn", bdir);
    CHECK(access(path, F_OK) != 0);
    hn_study *s = NULL;
    CHECK_OK(hn_study_open(bdir, devices, &s));
    bool reads = false;
    for (int i = 0; s && i < hn_study_providers(s); i++)
        reads |= strstr(hn_study_provider_at(s, i, NULL)->description, "a-sn.yaml.d/supernet.hnsn") != NULL;
    CHECK(reads);
    hn_study_close(s);
    finetune_from_supernet(a);
    /* mistakes */
    hn_study_config cfg;
    snprintf(path, sizeof path, "%s/t.yaml", tmp);
    write_text(path, "space: nb201\ntable: t.csv\naccuracy: val\nobjectives:\n  accuracy: max\n");
    CHECK_OK(hn_study_config_load(path, &cfg));
    CHECK_ERR(hn_study_config_use_supernet(&cfg, "x.hnsn"), HN_ERR_INVALID, "t.yaml: --supernet replaces the accuracy a study "
              "trains for, but this study's accuracy comes from a table");
    config_error("snmap", "space: mbconv\ndataset: fashion-mnist\naccuracy: {supernet: 3}\nobjectives:\n  accuracy: max\n",
                 "snmap.yaml:3: field 'supernet': expected a mapping of its options");
    config_error("snmore", "space: mbconv\ndataset: fashion-mnist\naccuracy: {supernet: {}, epochs: 2}\nobjectives:\n  accuracy: max\n",
                 "snmore.yaml:3: field 'accuracy': {supernet: {...}} takes its options inside");
    config_error("sndata", "space: mbconv\naccuracy: {supernet: {epochs: 1}}\nobjectives:\n  accuracy: max\n",
                 "sndata.yaml:2: a supernet trains and measures on images: give the 'dataset'");
    create_error("snspace", "space: nb201\ndataset: fashion-mnist\naccuracy: {supernet: {epochs: 1}}\nobjectives:\n  accuracy: max\n",
                 "snspace.yaml:3: provider supernet: space 'nb201' has no supernet");
    create_error("snopt", "space: mbconv\ndataset: fashion-mnist\naccuracy:\n  supernet:\n    epochs: 1\n    sandwich: maybe\n"
                 "objectives:\n  accuracy: max\n", "snopt.yaml:6: option 'sandwich': expected true or false, got 'maybe'");
}

/* a missing dataset (with the apt-get hint), an unknown device, and a constraint nothing meets */
static void study_errors(void) {
    char path[700], dir[600], text[1024];
    snprintf(path, sizeof path, "%s/fm.yaml", tmp);
    write_text(path, "space: mbconv\n\ndataset: fashion-mnist\nobjectives:\n  accuracy: max\n");
    setenv("HWNAS_FASHION_MNIST", "/nonexistent", 1);
    hn_study_config cfg;
    hn_study *s = NULL;
    CHECK_OK(hn_study_config_load(path, &cfg));
    snprintf(dir, sizeof dir, "%s/fm.d", tmp);
    CHECK_ERR(hn_study_create(dir, &cfg, devices, &s), HN_ERR_IO,
              "fm.yaml:3: dataset 'fashion-mnist': Fashion-MNIST is missing (install it with: apt-get install dataset-fashion-mnist)");
    CHECK(access(dir, F_OK) != 0); /* nothing created for a bad study */
    unsetenv("HWNAS_FASHION_MNIST");
    snprintf(path, sizeof path, "%s/dev.yaml", tmp);
    snprintf(text, sizeof text, "space: mbconv\ndataset: idx:%s/data\ndevice: nosuchboard\nobjectives:\n  latency_s: min\n", tmp);
    write_text(path, text);
    CHECK_OK(hn_study_config_load(path, &cfg));
    CHECK_ERR(hn_study_create(dir, &cfg, devices, &s), HN_ERR_INVALID, "dev.yaml:3: device");
    /* nb201 on its table with params <= 10: every trial pruned, the error names the constraint's line */
    snprintf(path, sizeof path, "%s/never.yaml", tmp);
    snprintf(text, sizeof text,
             "space: nb201\ntable: %s/../shared/reference/nb201/nb201-cifar10-12epoch.csv\naccuracy: cifar10-val\n"
             "objectives:\n  accuracy: max\nconstraints:\n  - params <= 10\nbudget:\n  trials: 5\n",
             HWNAS_SOURCE_DIR);
    write_text(path, text);
    snprintf(dir, sizeof dir, "%s/never.d", tmp);
    CHECK_OK(hn_study_config_load(path, &cfg));
    CHECK_OK(hn_study_create(dir, &cfg, devices, &s));
    if (s) CHECK_ERR(hn_study_work(s, NULL, NULL, NULL), HN_ERR_INVALID, "never.yaml:7: constraint params <= 10 was met by none of the 5 trials");
    hn_study_close(s);
    /* the same directory again is refused; a corrupt store and a directory without one are named */
    CHECK_ERR(hn_study_create(dir, &cfg, devices, &s), HN_ERR_INVALID, "a study already lives here");
    /* a trial row deleted by hand (foreign keys off): the store is corrupt, said when opened (it crashed
     * 'study show' once, reading a metric into a trial that was not there) */
    snprintf(path, sizeof path, "%s/study.db", dir);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK &&
          sqlite3_exec(db, "PRAGMA foreign_keys=OFF; DELETE FROM trials WHERE id = 2", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK_ERR(hn_study_open(dir, devices, &s), HN_ERR_FORMAT, "corrupt study store: table events names trial 2, which is not in table trials");
    snprintf(dir, sizeof dir, "%s/corrupt.d", tmp);
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/study.db", dir);
    write_text(path, "this is not a database, just text that is long enough to be read as a header........");
    CHECK_ERR(hn_study_open(dir, devices, &s), HN_ERR_IO, "corrupt.d/study.db");
    snprintf(dir, sizeof dir, "%s/data", tmp);
    CHECK_ERR(hn_study_open(dir, devices, &s), HN_ERR_IO, "no study store here");
}

static void table_study(const char *path, int trials, const char *extra) {
    char text[1024];
    snprintf(text, sizeof text,
             "space: nb201\ntable: %s/../shared/reference/nb201/nb201-cifar10-12epoch.csv\naccuracy: cifar10-val\n"
             "objectives:\n  accuracy: max\n  macs: min\nstrategy: rea\nbudget:\n  trials: %d\n%s",
             HWNAS_SOURCE_DIR, trials, extra);
    write_text(path, text);
}

/* The time budget is the study's: a study that already searched 3 s of its 4 s (a worker of an
 * earlier run, in the workers table) searches about 1 s more, not 4; 'study show' counts it all. */
static void time_budget(void) {
    char path[1000], dir[1100], sql[256];
    snprintf(path, sizeof path, "%s/time.yaml", tmp);
    table_study(path, 10000000, "  time: 4s\n");
    snprintf(dir, sizeof dir, "%s.d", path);
    hn_study_config cfg;
    hn_study *s = NULL;
    CHECK_OK(hn_study_config_load(path, &cfg));
    CHECK_OK(hn_study_create(dir, &cfg, devices, &s));
    if (!s) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double now = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    snprintf(dir, sizeof dir, "%s.d/study.db", path);
    sqlite3 *db = NULL;
    snprintf(sql, sizeof sql, "INSERT INTO workers(id, started, seen) VALUES('1:0:-:0', %.17g, %.17g)", now - 100, now - 97);
    CHECK(sqlite3_open(dir, &db) == SQLITE_OK && sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    double t0 = hn_now();
    CHECK_OK(hn_study_work(s, NULL, NULL, NULL));
    double took = hn_now() - t0;
    hn_study_status ss;
    CHECK_OK(hn_study_get_status(s, &ss));
    CHECK_MSG(took > 0.9 && took < 3, "searched %.2f s of the 1 s left", took);
    CHECK_MSG(ss.counts.elapsed_s >= 4 && ss.counts.elapsed_s < 6, "the study's search time: %.2f s", ss.counts.elapsed_s);
    hn_study_close(s);
}

/* Every trial finished once: asked once, told once, none left running or queued, none failed by the
 * machine (an out-of-memory or a full disk is never a trial's result). */
static void check_whole(const char *dir, int trials, const char *what) {
    int64_t n = count(dir, "SELECT count(*) FROM trials"), finished = count(dir, "SELECT count(*) FROM trials WHERE state IN ('done', 'pruned')"),
            asked = count(dir, "SELECT count(DISTINCT trial) FROM events WHERE kind = 'ask'"),
            tells = count(dir, "SELECT count(*) FROM events WHERE kind = 'tell'"),
            told = count(dir, "SELECT count(DISTINCT trial) FROM events WHERE kind = 'tell'");
    CHECK_MSG(n == trials && finished == trials && asked == trials && tells == trials && told == trials,
              "%s: %lld trials, %lld finished, %lld asked, %lld tells of %lld trials (want %d each)", what, (long long)n,
              (long long)finished, (long long)asked, (long long)tells, (long long)told, trials);
}


/* Every allocation of working on a study (a tabular one, then one that trains) fails in turn: a clean
 * out-of-memory error, the trial back in the queue, the store intact; resumed, the study finishes with
 * every trial once. */
static void alloc_failures_study(const char *name, void (*make)(const char *path), int trials, long stride) {
    char file[512], dir[600];
    snprintf(file, sizeof file, "%s/%s.yaml", tmp, name);
    make(file);
    snprintf(dir, sizeof dir, "%s.d", file);
    hn_study_config cfg;
    hn_study *s = NULL;
    CHECK_OK(hn_study_config_load(file, &cfg));
    CHECK_OK(hn_study_create(dir, &cfg, devices, &s));
    hn_study_close(s);
    int failures = 0, bad = 0;
    hn_status st = HN_ERR_NOMEM;
    for (long k = 1; st != HN_OK && k < 200000; k += k < 400 ? 1 : stride) {
        hn_alloc_fail_after(k);
        st = hn_study_open(dir, devices, &s);
        if (!st) st = work_and_report(s);
        hn_alloc_fail_after(0);
        hn_study_close(s), s = NULL;
        if (st && st != HN_ERR_NOMEM) {
            if (bad++ < 3) CHECK_MSG(0, "%s: allocation %ld failed: %s (%s)", name, k, hn_status_str(st), hn_last_error());
        }
        failures += st != HN_OK;
        CHECK(count(dir, "SELECT count(*) FROM trials WHERE state = 'failed'") == 0);
    }
    CHECK_MSG(st == HN_OK && failures > 20, "%s: %d allocations failed cleanly, then it finished: %s", name, failures,
              hn_status_str(st));
    check_whole(dir, trials, name);
}

static void make_table_study(const char *path) { table_study(path, 12, ""); }
static void make_train_study(const char *path) { tiny_study(path, "random", 2); }

/* A full disk while a study writes (the file size limit at a few KB past the store, so SQLite's WAL
 * writes fail): a clear error, and resumed without the limit the study loses nothing. */
static void full_disk(void) {
    char file[512], dir[600], wal[700];
    snprintf(file, sizeof file, "%s/disk.yaml", tmp);
    table_study(file, 300, "");
    snprintf(dir, sizeof dir, "%s.d", file);
    hn_study_config cfg;
    hn_study *s = NULL;
    CHECK_OK(hn_study_config_load(file, &cfg));
    CHECK_OK(hn_study_create(dir, &cfg, devices, &s));
    hn_study_close(s);
    snprintf(wal, sizeof wal, "%s/study.db-wal", dir);
    unlink(wal);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN); /* the write fails with EFBIG instead of killing the process */
        struct rlimit lim = {96 * 1024, 96 * 1024};
        setrlimit(RLIMIT_FSIZE, &lim);
        hn_status st = hn_study_open(dir, devices, &s);
        if (!st) st = work_and_report(s);
        hn_study_close(s);
        const char *e = hn_last_error();
        _exit(st == HN_ERR_IO && (strstr(e, "disk") || strstr(e, "full") || strstr(e, "I/O")) ? 0 : st ? 5 : 6);
    }
    int rc = wait_for(pid);
    CHECK_MSG(rc == 0, "a full disk: the worker exited %d (0: a clear I/O error; 5: another error; 6: no error)", rc);
    int64_t before = count(dir, "SELECT count(*) FROM trials WHERE state = 'done'");
    CHECK_MSG(before > 0 && before < 300, "%lld trials done before the disk filled", (long long)before);
    CHECK_OK(hn_study_open(dir, devices, &s));
    if (s) CHECK_OK(work_and_report(s));
    hn_study_close(s);
    check_whole(dir, 300, "resumed after a full disk");
}

/* nb201 on its table: the front is exactly the non-dominated set of the full-fidelity feasible trials */
static void table_front(void) {
    char path[1000], dir[1100], text[1024], csv[1200];
    snprintf(path, sizeof path, "%s/t.yaml", tmp);
    snprintf(text, sizeof text,
             "name: t\nspace: nb201\ntable: %s/../shared/reference/nb201/nb201-cifar10-12epoch.csv\naccuracy: cifar10-val\n"
             "objectives:\n  accuracy: max\n  macs: min\nconstraints:\n  - params <= 1M\nstrategy: nsga2\nbudget:\n  trials: 80\n",
             HWNAS_SOURCE_DIR);
    write_text(path, text);
    snprintf(dir, sizeof dir, "%s.d", path);
    CHECK(wait_for(spawn(create_and_work, path)) == 0);
    /* a trial is on the front iff it is feasible and no feasible trial is at least as good in both
     * objectives and better in one */
    int64_t front = count(dir, "SELECT count(*) FROM trials a JOIN metrics aa ON aa.trial = a.id AND aa.name = 'accuracy' "
                               "JOIN metrics am ON am.trial = a.id AND am.name = 'macs' WHERE a.state = 'done' AND a.violation = 0 "
                               "AND NOT EXISTS (SELECT 1 FROM trials b JOIN metrics ba ON ba.trial = b.id AND ba.name = 'accuracy' "
                               "JOIN metrics bm ON bm.trial = b.id AND bm.name = 'macs' WHERE b.state = 'done' AND b.violation = 0 "
                               "AND ba.value >= aa.value AND bm.value <= am.value AND (ba.value > aa.value OR bm.value < am.value))");
    snprintf(csv, sizeof csv, "%s/pareto.csv", dir);
    FILE *f = fopen(csv, "r");
    int lines = 0;
    char line[4096];
    while (f && fgets(line, sizeof line, f)) lines++;
    if (f) fclose(f);
    CHECK_MSG(front > 0 && lines - 1 == front, "pareto.csv has %d rows, the store's front %lld", lines - 1, (long long)front);
    CHECK(count(dir, "SELECT count(*) FROM trials") == 80);
    CHECK(count(dir, "SELECT count(*) FROM trials WHERE state = 'pruned'") > 0); /* params <= 1M prunes some */
    /* the snapshot a report reads: the same front, the chosen trial the store names, its layers */
    hn_study *s = NULL;
    hn_study_snapshot snap;
    CHECK_OK(hn_study_open(dir, devices, &s));
    if (s && !hn_study_snapshot_take(s, &snap)) {
        CHECK(snap.ntrials == 80 && snap.nfront == front && snap.finished);
        CHECK(snap.chosen >= 0 && snap.trials[snap.chosen].id == count(dir, "SELECT value FROM meta WHERE key = 'chosen_trial'"));
        for (int i = 0; i < snap.nfront; i++) CHECK(!strcmp(snap.trials[snap.front[i]].state, "done"));
        const hn_study_chosen_cost *cc = &snap.chosen_cost;
        CHECK_MSG(cc->graph && cc->layers && !cc->device, "chosen cost: %s", cc->error);
        double params = 0;
        if (cc->graph && snap.chosen >= 0) hn_metrics_get(&snap.trials[snap.chosen].metrics, "params", &params);
        CHECK(cc->graph && cc->total.params == (int64_t)params);
        hn_study_snapshot_free(&snap);
    }
    if (s) hn_study_close(s);
    /* the report renames each file into place: no temporary file is left */
    DIR *d = opendir(dir);
    struct dirent *e;
    int hidden = 0;
    while (d && (e = readdir(d)))
        if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) hidden++;
    if (d) closedir(d);
    CHECK(d && hidden == 0);
}

/* The study of file created in FILE.d (dir), and another live process beside it (*other, a child that
 * only sleeps; the caller kills it) for trials to name as their worker. */
static hn_study *create_beside_sleeper(const char *file, char *dir, size_t cap, pid_t *other) {
    snprintf(dir, cap, "%s.d", file);
    hn_study_config cfg;
    hn_study *s = NULL;
    CHECK_OK(hn_study_config_load(file, &cfg));
    CHECK_OK(hn_study_create(dir, &cfg, devices, &s));
    if (!s) return NULL;
    *other = fork();
    if (*other == 0) {
        pause();
        _exit(0);
    }
    return s;
}

/* Without a fixed thread count a worker takes its share of the cores among the study's running
 * workers: here another live process (a child that only sleeps) holds a running trial. With a fixed
 * count (fixed > 0, as --threads sets it) the worker keeps it whatever the others. */
static int split_threads_seen = -1;
static void split_event(void *user, const hn_study_progress *p) {
    (void)user;
    if (p->trial >= 0 && p->state && !strcmp(p->state, "running")) split_threads_seen = hn_get_threads();
}

static void cores_split(const char *name, int fixed) {
    char file[512], dir[600], text[2048], path[700], sql[256];
    snprintf(file, sizeof file, "%s/%s.yaml", tmp, name);
    tiny_study(file, "random", 3);
    FILE *f = fopen(file, "r");
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    char *t = strstr(text, "threads: 1");
    HN_ASSERT(t);
    t[9] = '0'; /* threads: 0, the split */
    write_text(file, text);
    pid_t other;
    hn_study *s = create_beside_sleeper(file, dir, sizeof dir, &other);
    if (!s) return;
    snprintf(path, sizeof path, "%s/study.db", dir);
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    snprintf(sql, sizeof sql, "INSERT INTO trials(genotype, fidelity, state, worker, started) VALUES('%s', 1, 'running', '%ld:00000000', 0)",
             "other", (long)other);
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    hn_set_threads(0);
    const int all = hn_get_threads(), want = fixed > 0 ? fixed : (all / 2 > 0 ? all / 2 : 1);
    if (fixed > 0) hn_study_set_threads(s, fixed);
    split_threads_seen = -1;
    CHECK_OK(hn_study_work(s, split_event, NULL, NULL));
    CHECK_MSG(split_threads_seen == want, "%s: threads in a trial %d, want %d (%d cores, two workers)", name,
              split_threads_seen, want, all);
    kill(other, SIGKILL);
    wait_for(other);
    hn_study_close(s);
    hn_set_threads(1);
}

/* Field 22 of /proc/PID/stat, the process's start time in clock ticks since boot (0 without /proc). */
static unsigned long long start_ticks(long pid) {
    char path[64], stat[1024] = "";
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    stat[fread(stat, 1, sizeof stat - 1, f)] = 0;
    fclose(f);
    unsigned long long v = 0;
    const char *p = strrchr(stat, ')');
    if (p) sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &v);
    return v;
}

/* A running trial whose worker's pid now belongs to another process (same pid, another start time) is
 * re-queued and run; one whose worker is that live process keeps running (it once stayed running for
 * good, and --resume did nothing). */
static void pid_reused(void) {
    char file[512], dir[600], path[700], sql[1024], boot[64] = "-";
    const char *g = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|";
    snprintf(file, sizeof file, "%s/reuse.yaml", tmp);
    tiny_study(file, "random", 3);
    pid_t other;
    hn_study *s = create_beside_sleeper(file, dir, sizeof dir, &other);
    if (!s) return;
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (f && fscanf(f, "%8s", boot) != 1) strcpy(boot, "-");
    if (f) fclose(f);
    unsigned long long start = start_ticks(other);
    CHECK(start > 0);
    snprintf(path, sizeof path, "%s/study.db", dir);
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    snprintf(sql, sizeof sql,
             "INSERT INTO trials(id, genotype, fidelity, state, worker, started) VALUES(1, '%s', 1, 'running', '%ld:0:%s:%llu', 0);"
             "INSERT INTO trials(id, genotype, fidelity, state, worker, started) VALUES(2, '%s', 1, 'running', '%ld:0:%s:%llu', 0);",
             g, (long)other, boot, start, g, (long)other, boot, start + 1);
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK_OK(hn_study_work(s, NULL, NULL, NULL));
    hn_study_close(s);
    CHECK(count(dir, "SELECT count(*) FROM trials WHERE id = 1 AND state = 'running'") == 1);
    CHECK(count(dir, "SELECT count(*) FROM trials WHERE id = 2 AND state <> 'running'") == 1);
    kill(other, SIGKILL);
    wait_for(other);
}

int main(void) {
    snprintf(tmp, sizeof tmp, "/tmp/hwnas-test-study-XXXXXX");
    if (!mkdtemp(tmp)) return 1;
    char data[512];
    snprintf(data, sizeof data, "%s/data", tmp);
    mkdir(data, 0777);
    write_idx(data, "train", 300, 1);
    write_idx(data, "t10k", 100, 2);
    config_errors();
    table_front();
    resume_after_kill();
    three_workers();
    pid_reused();
    time_budget();
    full_disk();
    alloc_failures_study("oom-table", make_table_study, 12, 1);
    alloc_failures_study("oom-train", make_train_study, 2, 97);
    cores_split("split", 0);
    cores_split("fixed", 2); /* on 2 cores: the count the split would halve */
    study_errors();
    supernet_studies();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (!check_fail && system(cmd)) fprintf(stderr, "could not remove %s\n", tmp);
    return check_report();
}
