/* What the files of src/study/ share: the study object, trials as the store holds
 * them, and the steps of a worker. Internal. */
#ifndef HWNAS_STUDY_INTERNAL_H
#define HWNAS_STUDY_INTERNAL_H

#include "hwnas/data.h"
#include "hwnas/provider.h"
#include "hwnas/study.h"
#include "store.h"

#define MAX_STUDY_RES 8
#define GENOTYPE_MAX HN_STUDY_GENOTYPE_MAX

typedef struct {
    int h, w;
    hn_dataset *train, *test;
} study_res;

/* What the progress line shows of the front (study_counts refreshes it every half second). */
typedef struct {
    int front;
    double best_accuracy, eta_s;
} study_summary;

struct hn_study {
    char dir[1024];
    hn_study_config cfg;
    store db;
    const hn_space *space;
    hn_candidate_spec spec;   /* what candidates are built for (input shape, classes, number types) */
    bool spec_known;          /* spec.space holds the dataset's shape (read once) */
    hn_provider providers[HN_STUDY_MAX_PROVIDERS]; /* the pipeline, sorted by tier */
    int nproviders;
    int evaluated[HN_STUDY_MAX_PROVIDERS];          /* candidates each one evaluated in this process */
    hn_provider trainer;      /* "train" from the fidelity options, for the final step (type NULL: none) */
    hn_provider *giver;       /* with final: weights: inherited, the provider whose weights it fine-tunes
                                 (one of providers), else NULL */
    hn_strategy *strategy;    /* driven only by the event log (study_sync) */
    int64_t cursor;           /* the last event applied to the strategy */
    int data_classes;
    study_res res[MAX_STUDY_RES]; /* the dataset at each resolution used so far */
    int nres;
    char worker[80];          /* this process's id in trials.worker (study_worker_id) */
    double started;           /* hn_now() when this process started working */
    double search_started;    /* wall clock when this worker first asked for a trial (0: not yet): its
                                 row in the store's workers table */
    int asked_here;           /* trials this process created */
    double final_started;     /* hn_now() when the final training started */
    study_summary summary;    /* the front as study_counts last read it */
    double summary_at;        /* hn_now() then (0: never) */
};

typedef struct {
    int id;
    char genotype[GENOTYPE_MAX];
    double fidelity;
} study_trial;

/* The whole of the text file path (a study file) into *text (hn_alloc'd, NUL-terminated; caller frees). */
hn_status study_read_text(const char *path, char **text, size_t *len);

/* The dataset's splits at resolution h x w (loaded and resized once per resolution; owned by s). */
hn_status study_data_at(hn_study *s, int h, int w, hn_dataset **train, hn_dataset **test);
/* The input shape and classes candidates are built for (the dataset's, read once; else the space's). */
hn_status study_spec(hn_study *s, const hn_candidate_spec **spec);
/* The candidate of genotype string arch (which must outlive it) for this study: graph, data, seed, dir. */
hn_status study_candidate(hn_study *s, const char *arch, hn_candidate *c);

/* The device of the study's device provider, or NULL. */
const hn_device *study_device(const hn_study *s);

/* The metrics cached for genotype (m->n stays 0 if none). */
hn_status study_cache_get(hn_study *s, const char *genotype, hn_metrics *m);

/* The next trial for this worker: a queued one (re-queued after a crash) or a new one from the
 * strategy while the budget lasts; *got false when there is nothing left to start. */
hn_status study_next(hn_study *s, volatile int *stop, study_trial *t, bool *got);
/* Records the result of trial t (metrics m, of which `cache` are also cached by genotype) and
 * appends its tell event. */
hn_status study_finish(hn_study *s, const study_trial *t, const char *state, const hn_metrics *m, const hn_metrics *cache,
                       double violation, double seconds, const char *error, const char *weights);
/* This process's worker id, "PID:TOKEN:BOOT:START": its pid, a random token, the machine's boot id and
 * the process's start time (clock ticks since boot, /proc/PID/stat) -- a pid alone is reused. */
void study_worker_id(char *buf, size_t cap);
/* Whether the worker with this id is this process or another one still running: the same boot, a live
 * process of that pid, and (where the id has one) the same start time. Ids of older stores ("PID:TOKEN")
 * are checked by pid alone. */
bool study_worker_alive(const hn_study *s, const char *worker);
/* How many live workers (this one included when it runs a trial) are running the study's trials. */
int study_running_workers(hn_study *s);
/* The study's search time so far (s): the union of the intervals its workers searched, from each
 * one's first ask to its last trial start or end recorded (this worker's to now); the time budget
 * counts it, across stops, resumes and workers. */
hn_status study_elapsed(hn_study *s, double *elapsed);
/* Puts a trial this worker was running back in the queue. */
void study_requeue(hn_study *s, int id);
/* The same after an out-of-memory error during the trial: returns that error, saying so. */
hn_status study_requeue_after(hn_study *s, int id);
/* Fills p's counts (done, running, queued, failed, pruned, budget, best accuracy, front size). */
void study_counts(hn_study *s, hn_study_progress *p);

/* The objective values (minimized) of a finished trial's metrics. */
void study_objectives(const hn_study_config *c, const hn_metrics *m, double *values);
/* All trials as the store holds them, in id order (hn_alloc'd; free with study_trials_free). */
typedef struct {
    int n;
    hn_study_trial *trial;
} study_table;
hn_status study_trials_load(hn_study *s, study_table *t);
void study_trials_free(study_table *t);
/* The trials of the front: done, feasible, at the highest fidelity any done trial reached, not
 * dominated in the objectives. Writes their indices into t to idx (n entries) and returns how many. */
int study_front(const hn_study_config *c, const study_table *t, int *idx);

/* Constraint violation of the metrics known so far (a metric not yet measured counts as met): the
 * sum of relative excesses. */
double study_violation(const hn_study_config *c, const hn_metrics *m);
/* Evaluates trial t with providers [from, to) (sorted by tier: free, cheap, expensive) into m (which
 * holds what earlier providers measured) and its state ("done" or "pruned"): after each tier a
 * candidate that breaks a constraint is pruned, so it never reaches the next. Metrics of caching
 * providers come from cached when an earlier trial of the genotype computed them; fresh ones go to
 * *fresh for the store's cache; weights gets the file a provider saved, if any. */
hn_status study_evaluate(hn_study *s, const study_trial *t, const hn_metrics *cached, volatile int *stop, int from, int to,
                         hn_metrics *m, hn_metrics *fresh, char *state, char *weights, size_t wcap);
/* One trial's evaluation in a worker: its metrics, the fresh ones for the cache, the cached ones, its
 * state ("done", "pruned", "failed"), the error of a failed one, a weights file, when it started. */
typedef struct {
    hn_metrics m, fresh, cached;
    char state[16], weights[256], error[1024];
    double t0;
} trial_run;
/* Reports trial t running, reads its cached metrics and evaluates it with providers [0, to) into r (a
 * candidate's error makes it "failed"). An interruption or an out-of-memory puts it back in the queue
 * and is returned, as is a store error. */
hn_status study_begin_trial(hn_study *s, const study_trial *t, volatile int *stop, int to,
                            void (*on_event)(void *, const hn_study_progress *), void *user, trial_run *r);
/* Records r as trial t's result (study_finish) and reports it. */
hn_status study_record_trial(hn_study *s, const study_trial *t, const trial_run *r,
                             void (*on_event)(void *, const hn_study_progress *), void *user);
/* The index of the first expensive provider (nproviders if none): MPI ranks evaluate from there. */
int study_first_expensive(const hn_study *s);
/* Fills p's counts and calls on_event (if any) with it. */
void study_report(hn_study *s, void (*on_event)(void *, const hn_study_progress *), void *user, hn_study_progress *p);
/* Each provider's prepare step (a supernet's training), before the search and its time budget. */
hn_status study_prepare(hn_study *s, void (*on_event)(void *, const hn_study_progress *), void *user, volatile int *stop);
/* After the search: the worker that claims it trains the chosen model (the others return). */
hn_status study_end(hn_study *s, void (*on_event)(void *, const hn_study_progress *), void *user, volatile int *stop);
/* A study without a store, for an MPI rank that only evaluates: the study file's text (path names it
 * and anchors its relative paths), the study directory (where a trainer writes weights) and the
 * supernet given with --supernet ("" if none). */
hn_status study_evaluator_new(const char *path, const char *text, const char *dir, const char *supernet,
                              const char *const *device_dirs, hn_study **out);

/* Whether this worker is the one to train the chosen model and write the outputs (the others leave),
 * and whether that was done already (*finished). */
hn_status study_claim_final(hn_study *s, bool *mine, bool *finished);
/* Retrains the chosen model on every training image and measures it on the test split. */
hn_status study_final(hn_study *s, volatile int *stop, void (*on_event)(void *, const hn_study_progress *), void *user);

#endif
