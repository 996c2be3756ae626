/* Studies: a search described by a study file (YAML), run by one or several worker processes over a
 * durable store (SQLite), from the first trial to the trained model.
 *
 * A study file names a space, a dataset, a target device, objectives and constraints over metric
 * names, a strategy, a budget, a fidelity schedule and the final training (docs/studies.md).
 *
 * The store holds the config, every trial (genotype string, state, fidelity, metrics, timings, error
 * text, weights file) and an event log: every ask and every tell of the strategy, in one global order.
 * A worker rebuilds the strategy by replaying that log, and appends to it only inside a write
 * transaction after catching up, so all workers drive identical strategies, a killed worker's trials
 * are re-queued, and a resumed serial study makes exactly the trials of an uninterrupted one.
 *
 * Example:
 *     hn_study_config cfg;
 *     hn_study_config_load("examples/studies/nb201-table.yaml", &cfg);
 *     hn_study *s;
 *     const char *dirs[] = {"devices", NULL};
 *     hn_study_create("out/nb201", &cfg, dirs, &s);   // or hn_study_open("out/nb201", dirs, &s) to resume
 *     hn_study_work(s, NULL, NULL, NULL);             // search, final training
 *     hn_study_snapshot snap;                         // then the outputs: a report reads a snapshot
 *     hn_study_snapshot_take(s, &snap);
 *     hn_report_write(&snap);                         // include/hwnas/report.h
 *     hn_study_snapshot_free(&snap);
 *     hn_study_close(s);
 */
#ifndef HWNAS_STUDY_H
#define HWNAS_STUDY_H

#include <stdio.h>

#include "hwnas/hw.h"
#include "hwnas/provider.h"
#include "hwnas/search.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HN_STUDY_MAX_OBJECTIVES 4
#define HN_STUDY_MAX_CONSTRAINTS 8
#define HN_STUDY_MAX_PROVIDERS 8

typedef struct {
    char metric[64];
    bool maximize;
    int line;     /* in the study file, for messages */
} hn_study_objective;

typedef struct {
    char metric[64];
    bool at_most; /* metric <= bound (else >=) */
    double bound;
    int line;     /* in the study file, for messages */
} hn_study_constraint;

/* One stage of the evaluation pipeline: a provider type and its options (include/hwnas/provider.h). */
typedef struct {
    char type[32];
    hn_options options;
} hn_study_provider;

typedef struct {
    char path[512];          /* the study file it was read from */
    char name[128];
    /* what is searched */
    char space[64];          /* a space name (hwnas space list) */
    hn_space_config space_cfg;
    char numtypes[32];       /* "W/A" types every layer gets for the hardware metrics ("" : fp32) */
    /* how accuracy is estimated: by training on dataset, looked up in table, by a zero-cost proxy or
     * by the user's command (accuracy: {proxy: NAME} / {command: CMD}) */
    char dataset[512];       /* hn_dataset_load spec ("": none) */
    int dataset_line;
    char table[512];         /* a tabular benchmark (hn_table_load); then accuracy_column names the metric */
    char accuracy_column[64];
    int validation;          /* training images held out to measure a candidate's accuracy */
    /* where it runs */
    char device[512];        /* a profile name or file; "" : none (counting metrics only) */
    int device_line;
    hn_study_objective objectives[HN_STUDY_MAX_OBJECTIVES];
    int nobjectives;
    hn_study_constraint constraints[HN_STUDY_MAX_CONSTRAINTS];
    int nconstraints;
    /* the evaluation pipeline, from the fields above and 'estimators': count, the device, the accuracy's
     * provider, then the listed ones; the study runs them by tier (free, cheap, expensive) */
    hn_study_provider providers[HN_STUDY_MAX_PROVIDERS];
    int nproviders;
    bool train_accuracy;     /* accuracy comes from the "train" provider */
    /* how it searches */
    char strategy[32];
    hn_strategy_options strategy_options;
    int trials;              /* budget: evaluations (at any fidelity) */
    double time_s;           /* budget: seconds of search per process run (0: no limit) */
    /* the fidelity a full evaluation trains with; a strategy's fidelity f trains f of it */
    double epochs;           /* epochs over train_fraction of the training images (may be < 1) */
    double train_fraction;
    int batch;
    float lr;
    /* the chosen model: the most accurate feasible trial of the front, retrained on all training images */
    int final_epochs;        /* 0: no final training */
    bool final_inherit;      /* start it from the weights the accuracy provider gives (a supernet's
                                slice: fine-tuning) instead of a fresh initialisation */
    int final_line;          /* the line of final's 'weights' */
    float final_lr;          /* 0: the fidelity's lr */
    uint64_t seed;
    int threads;             /* per worker; 0: this machine's cores, split among the study's running workers */
    char supernet[1024];     /* set by hn_study_config_use_supernet ("": the file's own accuracy) */
} hn_study_config;

/* Reads a study file; relative paths in it (a table, a device file) are taken relative to the file.
 * Every mistake is HN_ERR_INVALID naming the file, line and field: unknown keys, wrong types, values
 * out of range, unknown spaces, strategies, devices and metrics. */
hn_status hn_study_config_load(const char *path, hn_study_config *cfg);
/* The same from text already in memory (the store keeps the study file's text); path names it. */
hn_status hn_study_config_parse(const char *text, size_t len, const char *path, hn_study_config *cfg);
/* Specialization without training (hwnas search --supernet FILE): the accuracy the study would train
 * for (its "train" or "supernet" provider) is read from the trained supernet at path instead, with
 * the study's held-out images. A study whose accuracy comes from elsewhere (a table, a proxy, a
 * command) is HN_ERR_INVALID naming it. A study created so remembers it when resumed. */
hn_status hn_study_config_use_supernet(hn_study_config *cfg, const char *path);
typedef struct hn_study hn_study;

/* Creates a study directory (it must not hold a study yet) for the config read from cfg->path: the
 * store, its config text, and the subdirectory for weights. Device profiles named in the config are
 * looked up in device_dirs (NULL-terminated; see hn_device_find). Free with hn_study_close. */
hn_status hn_study_create(const char *dir, const hn_study_config *cfg, const char *const *device_dirs, hn_study **out);
/* Opens an existing study to resume it or to join it as another worker. A missing, half-written or
 * corrupt store is HN_ERR_IO / HN_ERR_FORMAT naming the file. */
hn_status hn_study_open(const char *dir, const char *const *device_dirs, hn_study **out);
hn_status hn_study_close(hn_study *s);
const hn_study_config *hn_study_get_config(const hn_study *s);
/* Threads per trial for this worker from now on (the CLI's --threads): n > 0 fixed, 0 the split. */
void hn_study_set_threads(hn_study *s, int n);
/* The study's providers in the order they run (by tier), and how many candidates each evaluated in
 * this process (not counting answers from the cache). i in [0, hn_study_providers(s)). */
int hn_study_providers(const hn_study *s);
const hn_provider *hn_study_provider_at(const hn_study *s, int i, int *evaluated);
/* The study's directory. */
const char *hn_study_dir(const hn_study *s);

/* What a worker reports while it works (the library never prints). */
typedef struct {
    int done, running, queued, failed, pruned, budget;
    int trial;               /* the trial just finished (or started), -1 if none */
    const char *genotype;    /* its string */
    double fidelity;
    const char *state;       /* "running", "done", "failed", "pruned" */
    double accuracy;         /* its accuracy, or NaN */
    double best_accuracy;    /* best accuracy so far at full fidelity, NaN if none */
    int front;               /* size of the current Pareto front */
    double elapsed_s, eta_s; /* the study's search time (every worker, across resumes; the time budget
                                counts it); eta NaN if unknown */
    const char *phase;       /* "supernet training" (before the search), "search", "final training" */
    int64_t step, steps;     /* supernet and final training: SGD steps done and in all */
} hn_study_progress;

/* Works on the study until its budget is spent and every trial is finished, then (in the one worker
 * that gets there first) trains the chosen model. on_event (may be NULL) is called when a trial starts
 * or ends; *stop (may be NULL) is polled between trials and inside training: set it (e.g. from a signal
 * handler) to stop cleanly -- running trials go back to the queue. The outputs (tables, plot, report)
 * are a report's: hn_study_snapshot_take, then hn_report_write (include/hwnas/report.h). */
hn_status hn_study_work(hn_study *s, void (*on_event)(void *user, const hn_study_progress *p), void *user,
                        volatile int *stop);

/* ---- MPI: one study on the ranks of an MPI job (mpirun -np N, srun) ------------------------------- */

/* How many processes mpirun or srun started this one among, from its environment (1: none did). */
int hn_mpi_launched_size(void);
/* Whether this hwnas was built with MPI (Open MPI's libopenmpi-dev at build time). */
bool hn_mpi_built(void);
/* MPI_Init (with MPI_THREAD_MULTIPLE) and this process's rank and the job's size; a build without MPI
 * says so (HN_ERR_INVALID). */
hn_status hn_mpi_init(int *rank, int *size);
void hn_mpi_finalize(void);
/* Rank 0, with the study created or opened as for hn_study_work: sends the study to the other ranks,
 * then works on it as hn_study_work does, rank 0 running the free and cheap providers and the other
 * ranks the expensive ones. A rank silent for HWNAS_MPI_TIMEOUT seconds (default 30) is lost and its
 * trial re-queued; the study finishes with the ranks left. */
hn_status hn_study_work_mpi(hn_study *s, void (*on_event)(void *user, const hn_study_progress *p), void *user,
                            volatile int *stop);
/* Ranks 1..: receive rank 0's study (no store: no shared file system needed), evaluate the trials it
 * sends until it says stop, with threads threads (0: the study's, else a share of the node's cores). */
hn_status hn_study_serve_mpi(const char *const *device_dirs, int threads);
/* Rank 0 could not start the study: tells the other ranks to exit. */
void hn_study_mpi_abort(void);

/* Where a study stands: its trials by state, the front's size and best accuracy, and the chosen model. */
typedef struct {
    hn_study_progress counts;   /* done, running, queued, failed, pruned, budget, best_accuracy, front */
    bool finished;              /* the final training and the outputs are done */
    int chosen_trial;           /* -1 until chosen */
    double final_test_accuracy; /* NaN until trained */
} hn_study_status;
hn_status hn_study_get_status(hn_study *s, hn_study_status *out);

/* The genotype string of trial id into buf (HN_ERR_INVALID naming the study if there is no such trial). */
hn_status hn_study_trial_genotype(hn_study *s, int id, char *buf, size_t cap);

/* ---- snapshots: what a report or an export reads ------------------------------------------------- */

#define HN_STUDY_GENOTYPE_MAX 4096

/* One trial as the store holds it. */
typedef struct {
    int id;
    char state[16];          /* "queued", "running", "done", "failed" or "pruned" */
    char genotype[HN_STUDY_GENOTYPE_MAX];
    double fidelity;
    double violation;        /* how far its metrics break the constraints (0: feasible) */
    double seconds;          /* its evaluation's wall time */
    hn_metrics metrics;
    char error[512];         /* a failed trial's error (its start), else "" */
} hn_study_trial;

/* The chosen network's cost, layer by layer (graph NULL: none chosen yet, or error says why not). */
typedef struct {
    hn_graph *graph;         /* as the study built it (owned) */
    hn_cost total;
    hn_layer_cost *layers;   /* graph->nnodes entries (owned) */
    const hn_device *device; /* the study's device (valid while the study is open), or NULL: no hw_ */
    hn_hw_cost hw_total;
    hn_hw_cost *hw_layers;   /* graph->nnodes entries (owned), or NULL */
    char error[512];
} hn_study_chosen_cost;

/* A study at one moment: every trial, the front, the chosen model and its final training. Reports
 * and exports read only this (src/report/, include/hwnas/report.h). */
typedef struct {
    const hn_study_config *config; /* the study's (valid while the study is open) */
    char dir[1024];
    char *study_text;        /* the study file's text, as the study was created (owned) */
    int ntrials;
    hn_study_trial *trials;  /* in id order (owned) */
    int nfront;
    int *front;              /* indices into trials: done, feasible, at the highest fidelity any done
                                trial reached, not dominated in the objectives; best first in the
                                first objective (owned) */
    int chosen;              /* index into trials of the chosen model, or -1 */
    bool finished;           /* the final training is done */
    /* the final training (NaN, 0 or "" until done, or if the study trains nothing) */
    double final_test_accuracy;
    double final_float_test_accuracy; /* a policy space's network without its number types */
    double final_train_seconds;
    int final_epochs;
    bool final_inherited;    /* fine-tuned from a supernet's weights, not trained from scratch */
    char final_graph[64], final_weights[64]; /* file names in dir */
    hn_study_chosen_cost chosen_cost;
} hn_study_snapshot;

/* Reads the study as it stands into *out (free with hn_study_snapshot_free). Several workers may be
 * writing meanwhile: the trials are read in one transaction. */
hn_status hn_study_snapshot_take(hn_study *s, hn_study_snapshot *out);
void hn_study_snapshot_free(hn_study_snapshot *snap);

#ifdef __cplusplus
}
#endif
#endif
