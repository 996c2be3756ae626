/* hwnas search: runs a study -- from a study file to a Pareto front, the chosen model trained, and
 * the outputs -- or resumes one (several processes may work on one study at once). */
#define _DEFAULT_SOURCE /* realpath */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "hwnas/report.h"
#include "hwnas/study.h"

static const char *help =
    "Usage: hwnas search [STUDY.yaml] [--out DIR] [--supernet FILE] [--verbose] [--threads T]\n"
    "       hwnas search --resume DIR [--verbose] [--threads T]\n"
    "\n"
    "Searches the space of the study file for the networks that trade the objectives best under its\n"
    "constraints, trains the most accurate feasible one on all training images, and writes the study\n"
    "directory: study.db (every trial, durable), trials.csv, pareto.csv, pareto.json, model.yaml, model.hntf.\n"
    "Without a study file it runs the built-in default, examples/studies/default.yaml: MBConv networks on\n"
    "Fashion-MNIST for a Cortex-M7-class microcontroller (docs/studies.md describes every option).\n"
    "\n"
    "Options:\n"
    "  --out DIR       the study directory (default: NAME-YYYYmmdd-HHMMSS in the current directory)\n"
    "  --resume DIR    continue the study in DIR after an interruption (Ctrl-C, a crash, kill -9), or\n"
    "                  join it as one more worker: start the same command in several terminals\n"
    "  --supernet FILE read every candidate's accuracy from this trained supernet (a study's\n"
    "                  supernet.hnsn) instead of training: another device's front in seconds\n"
    "  --verbose       one line per finished trial\n"
    "  --threads T     threads per worker (default: the study's, else all cores)\n"
    "  --help          show this help\n";

static volatile int stop_flag;

static void on_sigint(int sig) {
    (void)sig;
    stop_flag = 1;
    signal(SIGINT, SIG_DFL); /* a second Ctrl-C ends the process at once */
}

typedef struct {
    bool tty, verbose;
    int width;
} view;

static void fmt_time(double s, char *buf, size_t cap) {
    if (!isfinite(s) || s < 0) snprintf(buf, cap, "--:--");
    else snprintf(buf, cap, "%02d:%02d", (int)s / 60, (int)s % 60);
}

static void on_event(void *user, const hn_study_progress *p) {
    view *v = user;
    char el[16], eta[16];
    fmt_time(p->elapsed_s, el, sizeof el);
    fmt_time(p->eta_s, eta, sizeof eta);
    bool ended = p->trial >= 0 && strcmp(p->state, "running");
    if (v->verbose && ended) {
        char acc[32] = "";
        if (!isnan(p->accuracy)) snprintf(acc, sizeof acc, "  accuracy %.2f %%", p->accuracy);
        fprintf(v->tty ? stderr : stdout, "%s%-7s trial %d  fidelity %.3g%s  %s\n", v->tty ? "\r\033[K" : "", p->state,
                p->trial, p->fidelity, acc, p->genotype);
        fflush(v->tty ? stderr : stdout);
    }
    if (!v->tty) return;
    if (!strcmp(p->phase, "search")) {
        int finished = p->done + p->failed + p->pruned;
        char best[32] = "-";
        if (!isnan(p->best_accuracy)) snprintf(best, sizeof best, "%.2f %%", p->best_accuracy);
        fprintf(stderr, "\r\033[Ksearch %d/%d trials (%d running, %d queued, %d pruned)  fidelity %.3g  best %s  front %d  %s  ETA %s",
                finished, p->budget, p->running, p->queued, p->pruned, p->trial >= 0 ? p->fidelity : 1, best, p->front, el,
                eta);
    } else if (p->steps) { /* final training, supernet training */
        fprintf(stderr, "\r\033[K%s: step %lld/%lld  %s  ETA %s", p->phase, (long long)p->step, (long long)p->steps, el, eta);
    } else {
        fprintf(stderr, "\r\033[K%s ...  %s", p->phase, el);
    }
    fflush(stderr);
}

/* a metric's value in the unit a person reads it in */
static void fmt_metric(const char *name, double v, char *buf, size_t cap) {
    size_t n = strlen(name);
    if (!strcmp(name, "accuracy")) snprintf(buf, cap, "%.2f %%", v);
    else if (n > 6 && !strcmp(name + n - 6, "_bytes")) snprintf(buf, cap, "%.1f KB", v / 1024);
    else if (!strcmp(name, "latency_s")) snprintf(buf, cap, "%.2f ms", v * 1e3);
    else if (!strcmp(name, "energy_j")) snprintf(buf, cap, "%.3f mJ", v * 1e3);
    else if (!strcmp(name, "macs") || !strcmp(name, "params")) snprintf(buf, cap, "%.2f M", v / 1e6);
    else snprintf(buf, cap, "%.4g", v);
}

/* The front and the chosen model as a table. */
/* This worker found nothing left to run, yet the study is not finished: other live workers hold its
 * last trials (or its final training) and will write the outputs -- say so rather than exit silently. */
static void unfinished(const hn_study_snapshot *t) {
    int running = 0;
    for (int i = 0; i < t->ntrials; i++) running += !strcmp(t->trials[i].state, "running");
    fflush(stdout); /* after the summary */
    if (running)
        fprintf(stderr,
                "hwnas: this worker has nothing left to run; %d trial%s still running in other live workers, and the "
                "last of them will train the chosen model and write the outputs (see 'hwnas study show %s')\n",
                running, running == 1 ? " is" : "s are", t->dir);
    else
        fprintf(stderr, "hwnas: this worker has nothing left to run; another live worker is training the chosen model "
                        "and will write the outputs (see 'hwnas study show %s')\n", t->dir);
}

static void summary(const hn_study_snapshot *t) {
    const hn_study_config *c = t->config;
    const char *cols[HN_STUDY_MAX_OBJECTIVES + HN_STUDY_MAX_CONSTRAINTS + 1];
    int nc = 0;
    cols[nc++] = "accuracy";
    for (int i = 0; i < c->nobjectives; i++) cols[nc++] = c->objectives[i].metric;
    for (int i = 0; i < c->nconstraints; i++) cols[nc++] = c->constraints[i].metric;
    for (int i = 1; i < nc; i++) /* each column once */
        for (int j = 0; j < i; j++)
            if (!strcmp(cols[i], cols[j])) {
                memmove(&cols[i], &cols[i + 1], sizeof cols[0] * (size_t)(nc - i - 1));
                nc--, i--;
                break;
            }
    printf("\nPareto front: %d network%s\n%6s", t->nfront, t->nfront == 1 ? "" : "s", "trial");
    for (int k = 0; k < nc; k++) printf(" %16s", cols[k]);
    printf("  genotype\n");
    for (int i = 0; i < t->nfront; i++) {
        const hn_study_trial *x = &t->trials[t->front[i]];
        printf("%6d", x->id);
        for (int k = 0; k < nc; k++) {
            char v[32] = "-";
            double m;
            if (hn_metrics_get(&x->metrics, cols[k], &m)) fmt_metric(cols[k], m, v, sizeof v);
            printf(" %16s", v);
        }
        printf("  %s\n", x->genotype);
    }
    if (t->chosen < 0) return;
    printf("\nchosen: trial %d", t->trials[t->chosen].id);
    if (!isnan(t->final_test_accuracy)) {
        bool policy = !isnan(t->final_float_test_accuracy); /* a policy space: the accuracy is quantized */
        printf(", %.2f %% test accuracy%s after %d epoch%s %son all training images", t->final_test_accuracy,
               policy ? " quantized by its policy" : "", t->final_epochs, t->final_epochs == 1 ? "" : "s",
               t->final_inherited ? "of fine-tuning the supernet's weights " : "");
        if (policy) printf(" (float: %.2f %%)", t->final_float_test_accuracy);
        printf("\nnetwork %s/%s, weights %s/%s", t->dir, t->final_graph, t->dir, t->final_weights);
    }
    printf("\n");
}

/* The study to work on: resumed from its directory, or created from its file (else the built-in default). */
static hn_status open_or_create(const char *resume, const char *file, const char *out, const char *supernet, hn_study **s) {
    hn_status st;
    if (resume) {
        st = hn_study_open(resume, cli_data_dirs("devices"), s);
    } else {
        char def[1200];
        if (!file) { /* the built-in default */
            const char *const *dirs = cli_data_dirs("examples/studies");
            for (int i = 0; dirs[i] && !file; i++) {
                snprintf(def, sizeof def, "%s/default.yaml", dirs[i]);
                if (access(def, R_OK) == 0) file = def;
            }
            if (!file) return hn_error(HN_ERR_IO, "examples/studies/default.yaml not found (is hwnas installed?)");
        }
        hn_study_config cfg;
        if ((st = hn_study_config_load(file, &cfg))) return st;
        if (supernet) {
            char full[PATH_MAX];
            if (!realpath(supernet, full))
                return hn_error(HN_ERR_IO, "--supernet %s: cannot open: %s", supernet, strerror(errno));
            if ((st = hn_study_config_use_supernet(&cfg, full))) return st;
        }
        char dir[1024];
        if (!out) {
            char stamp[32];
            time_t now = time(NULL);
            strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
            snprintf(dir, sizeof dir, "%s-%s", cfg.name, stamp);
            out = dir;
        }
        st = hn_study_create(out, &cfg, cli_data_dirs("devices"), s);
        if (!st) fprintf(stderr, "study %s (%s) in %s\n", cfg.name, file, out);
    }
    return st;
}

int cmd_search(int argc, char **argv) {
    enum { O_OUT = 256, O_RESUME, O_SUPERNET, O_VERBOSE, O_THREADS, O_HELP };
    static const struct option opts[] = {{"out", required_argument, 0, O_OUT},   {"resume", required_argument, 0, O_RESUME},
                                         {"supernet", required_argument, 0, O_SUPERNET},
                                         {"verbose", no_argument, 0, O_VERBOSE}, {"threads", required_argument, 0, O_THREADS},
                                         {"help", no_argument, 0, O_HELP},       {0, 0, 0, 0}};
    const char *out = NULL, *resume = NULL, *supernet = NULL;
    long threads = -1;
    view v = {.tty = isatty(2)};
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_OUT: out = optarg; break;
        case O_RESUME: resume = optarg; break;
        case O_SUPERNET: supernet = optarg; break;
        case O_VERBOSE: v.verbose = true; break;
        case O_THREADS: if (!cli_int("search", "--threads", optarg, 1, 1024, &threads)) return 2; break;
        case O_HELP: fputs(help, stdout); return 0;
        default: return cli_usage_error("search", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind + 1 < argc) return cli_usage_error("search", "unexpected argument '%s'", argv[optind + 1]);
    const char *file = optind < argc ? argv[optind] : NULL;
    if (resume && (file || out || supernet))
        return cli_usage_error("search", "--resume DIR continues a study: give no study file, --out or --supernet");

    int rank = 0, size = 1;
    const bool mpi = hn_mpi_launched_size() > 1; /* started by mpirun or srun: one study on all ranks */
    if (mpi) {
        hn_status st = hn_mpi_init(&rank, &size);
        if (st) return cli_fail(st);
        if (rank != 0) { /* an evaluating rank: rank 0 sends the study and the trials */
            st = hn_study_serve_mpi(cli_data_dirs("devices"), threads > 0 ? (int)threads : 0);
            hn_mpi_finalize();
            return st ? cli_fail(st) : 0;
        }
    }
    hn_study *s = NULL;
    hn_status st = open_or_create(resume, file, out, supernet, &s);
    if (st && mpi) hn_study_mpi_abort(), hn_mpi_finalize();
    if (st) return cli_fail(st);
    const hn_study_config *cfg = hn_study_get_config(s);
    if (threads > 0) hn_study_set_threads(s, (int)threads);
    hn_set_threads(cfg->threads); /* the preparation (a supernet's training) has the machine; trials share it */
    if (resume) fprintf(stderr, "resuming study %s in %s\n", cfg->name, resume);
    signal(SIGINT, on_sigint);
    if (mpi) fprintf(stderr, "%d MPI ranks: rank 0 owns the store, %d evaluate\n", size, size - 1);
    st = mpi ? hn_study_work_mpi(s, on_event, &v, &stop_flag) : hn_study_work(s, on_event, &v, &stop_flag);
    signal(SIGINT, SIG_DFL);
    if (v.tty) fputs("\r\033[K", stderr);
    hn_study_snapshot snap;
    if (!st && !(st = hn_study_snapshot_take(s, &snap))) {
        if (snap.finished) st = hn_report_write(&snap); /* the worker that finished it, or a finished study resumed */
        if (!st) {
            summary(&snap);
            printf("\nstudy directory: %s\n", snap.dir);
            if (!snap.finished) unfinished(&snap);
        }
        hn_study_snapshot_free(&snap);
    }
    hn_study_close(s);
    if (mpi) hn_mpi_finalize();
    if (st == HN_ERR_INTERRUPTED) {
        fprintf(stderr, "hwnas: %s\n", hn_last_error());
        return 130;
    }
    return st ? cli_fail(st) : 0;
}
