/* One study on the ranks of an MPI job (include/hwnas/study.h): rank 0 owns the store and the strategy
 * and runs the free and cheap providers itself; ranks 1.. run the expensive ones (training, external
 * commands) on the trials it sends and send the metrics back, so no rank but 0 needs the store's file
 * system. Messages are byte strings (see the put and get helpers below).
 *
 * A lost rank: Open MPI 4 has no ULFM (its fault-tolerant MPI arrived in 5.0), so a dead rank is
 * detected by silence. Every rank sends rank 0 a heartbeat each second from a thread of its own (its
 * main thread may be deep in a training), and rank 0 sends each rank one; a rank silent for
 * HWNAS_MPI_TIMEOUT seconds (default 30) is lost: its trial goes back to the queue and the study
 * finishes with the ranks left (or rank 0 alone). An evaluating rank that hears nothing from rank 0
 * that long exits. Open MPI's mpirun aborts the whole job when a rank dies unless started with
 * --enable-recovery (srun: --no-kill); an aborted job resumes with 'hwnas search --resume DIR'. */
#include "hwnas/study.h"

#include <stdlib.h>
#include <string.h>

#ifdef HWNAS_HAVE_MPI
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mpi.h>

#include "study_internal.h"

enum { TAG_STUDY = 1, TAG_ABORT, TAG_WORK, TAG_STOP, TAG_RESULT, TAG_BEAT };
#endif

int hn_mpi_launched_size(void) {
    /* Open MPI's mpirun, MPICH's Hydra / srun with PMI, srun's own step */
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && atoi(v) > 0) return atoi(v);
    }
    return 1;
}

#ifndef HWNAS_HAVE_MPI

bool hn_mpi_built(void) { return false; }

static hn_status no_mpi(void) {
    return hn_error(HN_ERR_INVALID, "this hwnas was built without MPI, yet started by mpirun or srun as %d processes: "
                    "install libopenmpi-dev (scripts/setup.sh does) and rebuild, or run it without mpirun",
                    hn_mpi_launched_size());
}
hn_status hn_mpi_init(int *rank, int *size) {
    *rank = 0, *size = 1;
    return no_mpi();
}
void hn_mpi_finalize(void) {}
hn_status hn_study_work_mpi(hn_study *s, void (*on_event)(void *, const hn_study_progress *), void *user, volatile int *stop) {
    (void)s, (void)on_event, (void)user, (void)stop;
    return no_mpi();
}
hn_status hn_study_serve_mpi(const char *const *device_dirs, int threads) {
    (void)device_dirs, (void)threads;
    return no_mpi();
}
void hn_study_mpi_abort(void) {}

#else

bool hn_mpi_built(void) { return true; }

static int world_rank, world_size;

hn_status hn_mpi_init(int *rank, int *size) {
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS)
        return hn_error(HN_ERR_IO, "MPI_Init_thread failed");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    *rank = world_rank, *size = world_size;
    if (provided < MPI_THREAD_MULTIPLE) /* the heartbeat thread sends while the main thread works */
        return hn_error(HN_ERR_INVALID, "this MPI library gives no MPI_THREAD_MULTIPLE (level %d), which hwnas's "
                        "heartbeats need", provided);
    return HN_OK;
}

/* After a rank was lost, Open MPI 4's MPI_Finalize waits for it forever (its closing fence counts every
 * rank): the ranks left then exit without it, which mpirun --enable-recovery accepts. */
static bool any_lost;

void hn_mpi_finalize(void) {
    if (!any_lost) MPI_Finalize();
}

static double wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void nap(void) { /* between polls: a blocking MPI receive would spin a core that ranks share */
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
}

static double timeout_s(void) {
    const char *v = getenv("HWNAS_MPI_TIMEOUT");
    double t = v ? atof(v) : 0;
    return t > 0 ? t : 30;
}

/* ---- messages: a growing byte string written in order and read back in order --------------------- */

typedef struct {
    char *p;
    size_t n, cap, at; /* bytes written; capacity; the read position */
    bool bad;          /* a read past the end (a malformed message) */
} msg;

static void put(msg *m, const void *v, size_t n) {
    if (m->n + n > m->cap) {
        size_t cap = m->cap ? m->cap : 1024;
        while (cap < m->n + n) cap *= 2;
        char *p = realloc(m->p, cap);
        if (!p) {
            m->bad = true;
            return;
        }
        m->p = p, m->cap = cap;
    }
    memcpy(m->p + m->n, v, n);
    m->n += n;
}
static void put_f64(msg *m, double v) { put(m, &v, sizeof v); }
static void put_i32(msg *m, int v) { put(m, &v, sizeof v); }
static void put_str(msg *m, const char *s) {
    int n = (int)strlen(s);
    put_i32(m, n), put(m, s, (size_t)n);
}
static void put_metrics(msg *m, const hn_metrics *x) {
    put_i32(m, x->n);
    for (int i = 0; i < x->n; i++) put_str(m, x->name[i]), put_f64(m, x->value[i]);
}

static void get(msg *m, void *v, size_t n) {
    if (m->bad || m->at + n > m->n) {
        m->bad = true;
        memset(v, 0, n);
        return;
    }
    memcpy(v, m->p + m->at, n);
    m->at += n;
}
static double get_f64(msg *m) {
    double v;
    get(m, &v, sizeof v);
    return v;
}
static int get_i32(msg *m) {
    int v;
    get(m, &v, sizeof v);
    return v;
}
static void get_str(msg *m, char *s, size_t cap) {
    int n = get_i32(m);
    if (n < 0 || (size_t)n >= cap) {
        m->bad = true, n = 0;
    }
    get(m, s, (size_t)n);
    s[n] = 0;
}
/* a string of any length, hn_alloc'd (caller frees) */
static char *get_text(msg *m) {
    int n = get_i32(m);
    char *s = n >= 0 && !m->bad ? hn_alloc((size_t)n + 1) : NULL;
    if (!s) {
        m->bad = true;
        return NULL;
    }
    get(m, s, (size_t)n);
    s[n] = 0;
    return s;
}
static void get_metrics(msg *m, hn_metrics *x) {
    int n = get_i32(m);
    x->n = 0;
    for (int i = 0; i < n && !m->bad; i++) {
        char name[HN_METRIC_NAME];
        get_str(m, name, sizeof name);
        double v = get_f64(m);
        if (!m->bad && hn_metrics_set(x, name, v)) m->bad = true;
    }
}

/* The next message with this tag from src (MPI_ANY_SOURCE, MPI_ANY_TAG allowed) if one waits: into m
 * (its bytes replace m's), its source and tag; false if none. */
static bool take(msg *m, int src, int tag, int *from, int *got_tag) {
    int flag = 0;
    MPI_Status status;
    if (MPI_Iprobe(src, tag, MPI_COMM_WORLD, &flag, &status) != MPI_SUCCESS || !flag) return false;
    int n = 0;
    MPI_Get_count(&status, MPI_BYTE, &n);
    m->n = m->at = 0, m->bad = false;
    if ((size_t)n > m->cap) {
        char *p = realloc(m->p, (size_t)n);
        if (!p) m->bad = true;
        else m->p = p, m->cap = (size_t)n;
    }
    MPI_Recv(m->bad ? NULL : m->p, m->bad ? 0 : n, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD,
             MPI_STATUS_IGNORE);
    m->n = m->bad ? 0 : (size_t)n;
    if (from) *from = status.MPI_SOURCE;
    if (got_tag) *got_tag = status.MPI_TAG;
    return true;
}

/* a heartbeat, sent without waiting (a dead peer never receives it; the request is let go) */
static void beat(int to) {
    MPI_Request r;
    if (MPI_Isend(NULL, 0, MPI_BYTE, to, TAG_BEAT, MPI_COMM_WORLD, &r) == MPI_SUCCESS) MPI_Request_free(&r);
}

/* ---- rank 0 --------------------------------------------------------------------------------------- */

typedef struct {
    enum { IDLE, BUSY, LOST } state;
    double heard;       /* when a message last came from it (monotonic s) */
    study_trial trial;  /* BUSY: the trial it evaluates */
    double t0;          /* when rank 0 started the trial */
    msg out;            /* the message in flight to it (kept until sent) */
    MPI_Request sending;
} rank_slot;

void hn_study_mpi_abort(void) {
    for (int r = 1; r < world_size; r++) MPI_Send(NULL, 0, MPI_BYTE, r, TAG_ABORT, MPI_COMM_WORLD);
}

static void send_to(rank_slot *slot, int r, int tag) {
    if (slot->sending != MPI_REQUEST_NULL) MPI_Wait(&slot->sending, MPI_STATUS_IGNORE);
    MPI_Isend(slot->out.p, (int)slot->out.n, MPI_BYTE, r, tag, MPI_COMM_WORLD, &slot->sending);
}

/* The study to every rank: its file's path and text, its directory, the supernet of --supernet. */
static hn_status send_study(hn_study *s, rank_slot *ranks) {
    char *file = NULL, *text = NULL;
    hn_status st = store_meta_get(&s->db, "study_file", &file);
    if (!st) st = store_meta_get(&s->db, "study_text", &text);
    if (!st && (!file || !text)) st = hn_error(HN_ERR_FORMAT, "%s: the store has no study file", s->db.path);
    for (int r = 1; !st && r < world_size; r++) {
        msg *m = &ranks[r].out;
        m->n = 0;
        put_str(m, file), put_str(m, text), put_str(m, s->dir), put_str(m, s->cfg.supernet);
        if (m->bad) st = hn_error(HN_ERR_NOMEM, "a message to rank %d", r);
        else send_to(&ranks[r], r, TAG_STUDY);
    }
    hn_free(file), hn_free(text);
    return st;
}

/* A result from rank r: recorded if r still holds that trial (a rank given up as lost may answer late:
 * its trial went back to the queue and is someone else's now). */
static hn_status on_result(hn_study *s, rank_slot *slot, msg *m, void (*on_event)(void *, const hn_study_progress *),
                           void *user) {
    trial_run run = {.t0 = slot->t0}; /* its time: rank 0's tiers, the messages and the rank's evaluation */
    int id = get_i32(m);
    get_str(m, run.state, sizeof run.state);
    get_str(m, run.error, sizeof run.error), get_str(m, run.weights, sizeof run.weights);
    get_metrics(m, &run.m), get_metrics(m, &run.fresh);
    if (m->bad) return hn_error(HN_ERR_FORMAT, "a malformed result message (trial %d)", id);
    if (slot->state != BUSY || slot->trial.id != id) return HN_OK;
    slot->state = IDLE;
    return study_record_trial(s, &slot->trial, &run, on_event, user);
}

/* Gives rank r (or, with r = 0, rank 0 itself: no rank left) its next trial: rank 0 runs the free and
 * cheap providers, and a trial they prune or fail, or one with nothing expensive to run, is finished
 * here. *none: nothing to start now. */
static hn_status assign(hn_study *s, rank_slot *ranks, int r, volatile int *stop, int expensive,
                        void (*on_event)(void *, const hn_study_progress *), void *user, bool *none) {
    study_trial t;
    bool got;
    hn_status st = study_next(s, stop, &t, &got);
    *none = !got;
    if (st || !got) return st;
    bool local = r == 0 || expensive == s->nproviders;
    trial_run run;
    if ((st = study_begin_trial(s, &t, stop, local ? s->nproviders : expensive, on_event, user, &run))) return st;
    if (local || strcmp(run.state, "done")) return study_record_trial(s, &t, &run, on_event, user); /* finished here */
    /* the cheap tiers' fresh metrics are cached with the expensive ones' when the rank answers */
    rank_slot *slot = &ranks[r];
    slot->state = BUSY, slot->trial = t, slot->t0 = run.t0;
    msg *o = &slot->out;
    o->n = 0;
    put_i32(o, t.id), put_f64(o, t.fidelity), put_str(o, t.genotype), put_metrics(o, &run.m), put_metrics(o, &run.cached);
    put_metrics(o, &run.fresh);
    if (o->bad) {
        study_requeue(s, t.id);
        return hn_error(HN_ERR_NOMEM, "a message to rank %d", r);
    }
    send_to(slot, r, TAG_WORK);
    return HN_OK;
}

hn_status hn_study_work_mpi(hn_study *s, void (*on_event)(void *, const hn_study_progress *), void *user, volatile int *stop) {
    s->started = hn_now();
    hn_status st = study_prepare(s, on_event, user, stop);
    rank_slot *ranks = st ? NULL : hn_calloc(sizeof *ranks * (size_t)world_size);
    if (!st && !ranks) st = hn_error(HN_ERR_NOMEM, "%d ranks", world_size);
    if (st) {
        hn_study_mpi_abort();
        return st;
    }
    for (int r = 0; r < world_size; r++) ranks[r].sending = MPI_REQUEST_NULL, ranks[r].heard = wall();
    ranks[0].state = LOST; /* rank 0 evaluates only when no other rank is left */
    s->started = hn_now();
    st = send_study(s, ranks);
    const int expensive = study_first_expensive(s);
    const double limit = timeout_s();
    double last_beat = 0;
    bool exhausted = false; /* study_next had nothing: wait for the busy ranks */
    msg in = {0};
    double owner_s = 0, run_started = wall(); /* rank 0's own work: asks, tells, the cheap tiers */
    int told = 0;                              /* results the other ranks sent */
    int64_t tells_before = 0, tells = 0;       /* the store's tell events: this run's are the trials it finished */
    if (!st) st = store_int(&s->db, 0, &tells_before, "SELECT count(*) FROM events WHERE kind = 'tell'");
    while (!st) {
        if (stop && *stop) {
            st = hn_error(HN_ERR_INTERRUPTED, "stopped; the trials in flight are back in the queue; resume with "
                          "'hwnas search --resume %s'", s->dir);
            break;
        }
        bool idle = true;
        int from, tag;
        while (!st && take(&in, MPI_ANY_SOURCE, MPI_ANY_TAG, &from, &tag)) {
            idle = false;
            if (from <= 0 || from >= world_size || ranks[from].state == LOST) continue;
            ranks[from].heard = wall();
            if (tag == TAG_RESULT) {
                double t0 = wall();
                st = on_result(s, &ranks[from], &in, on_event, user), exhausted = false;
                owner_s += wall() - t0, told++;
            }
        }
        double now = wall();
        int alive = 0, busy = 0;
        for (int r = 1; !st && r < world_size; r++) {
            rank_slot *k = &ranks[r];
            if (k->state != LOST && now - k->heard > limit) {
                hn_log(HN_LOG_WARN, "rank %d is lost (silent for %.0f s)%s", r, now - k->heard,
                       k->state == BUSY ? "; its trial goes back to the queue" : "");
                if (k->state == BUSY) study_requeue(s, k->trial.id);
                k->state = LOST, exhausted = false;
            }
            alive += k->state != LOST, busy += k->state == BUSY;
        }
        if (!st && now - last_beat >= 1) {
            for (int r = 1; r < world_size; r++)
                if (ranks[r].state != LOST) beat(r);
            last_beat = now;
        }
        for (int r = alive ? 1 : 0; !st && !exhausted && r < (alive ? world_size : 1); r++)
            if (ranks[r].state == IDLE || (!alive && r == 0)) {
                bool none;
                double t0 = wall();
                st = assign(s, ranks, r, stop, expensive, on_event, user, &none);
                owner_s += wall() - t0;
                exhausted = none, idle = false;
                if (!none && ranks[r].state == BUSY) busy++;
            }
        if (!st && exhausted && busy == 0) break; /* the search is over */
        if (idle) nap();
    }
    for (int r = 1; r < world_size; r++) any_lost |= ranks[r].state == LOST;
    unsigned char lost = any_lost; /* the stop message says whether to skip MPI_Finalize */
    for (int r = 1; r < world_size; r++) { /* stop every rank; hand back what they held */
        if (ranks[r].state == BUSY) study_requeue(s, ranks[r].trial.id);
        if (ranks[r].state == LOST) continue;
        if (ranks[r].sending != MPI_REQUEST_NULL) MPI_Wait(&ranks[r].sending, MPI_STATUS_IGNORE);
        MPI_Send(&lost, 1, MPI_BYTE, r, TAG_STOP, MPI_COMM_WORLD);
    }
    store_int(&s->db, 0, &tells, "SELECT count(*) FROM events WHERE kind = 'tell'");
    int64_t trials = tells - tells_before;
    if (trials > 0)
        fprintf(stderr, "rank 0: %.1f s of its own work in %.1f s (%.1f ms per trial: the store, the strategy, the "
                "cheap tiers); %d results from the other ranks\n", owner_s, wall() - run_started,
                1e3 * owner_s / (double)(trials > 0 ? trials : 1), told);
    for (int r = 0; r < world_size; r++) free(ranks[r].out.p);
    free(in.p);
    hn_free(ranks);
    return st ? st : study_end(s, on_event, user, stop);
}

/* ---- ranks 1.. ------------------------------------------------------------------------------------- */

typedef struct {
    volatile int done;
    double limit; /* HWNAS_MPI_TIMEOUT, read before the thread starts (getenv races the main thread's setenv) */
    double heard; /* when rank 0 last spoke (monotonic s), written by the main thread too */
    pthread_mutex_t lock;
    char dir[1024];
} pulse;

/* Every second: a heartbeat to rank 0, and rank 0's heartbeats taken; rank 0 silent too long: exit. */
static void *heartbeat(void *arg) {
    pulse *p = arg;
    const double limit = p->limit;
    msg in = {0};
    while (!p->done) {
        beat(0);
        pthread_mutex_lock(&p->lock);
        while (take(&in, 0, TAG_BEAT, NULL, NULL)) p->heard = wall();
        double quiet = wall() - p->heard;
        pthread_mutex_unlock(&p->lock);
        if (quiet > limit) {
            fprintf(stderr, "hwnas: rank %d: rank 0 (the study's owner) has been silent for %.0f s: exiting; resume the "
                            "study with 'hwnas search --resume %s'\n", world_rank, quiet, p->dir);
            _exit(3);
        }
        for (int i = 0; i < 10 && !p->done; i++) {
            struct timespec ts = {0, 100000000};
            nanosleep(&ts, NULL);
        }
    }
    free(in.p);
    return NULL;
}

/* Waits for rank 0's study (TAG_STUDY) or its failure (TAG_ABORT): no time limit, as rank 0 may be
 * training a supernet first. */
static hn_status receive_study(msg *in, const char *const *device_dirs, hn_study **s) {
    int tag;
    while (!take(in, 0, TAG_STUDY, NULL, &tag) && !take(in, 0, TAG_ABORT, NULL, &tag)) nap();
    if (tag == TAG_ABORT) return hn_error(HN_ERR_INVALID, "rank %d: rank 0 could not start the study", world_rank);
    char *file = get_text(in), *text = get_text(in), dir[1024], supernet[1024];
    get_str(in, dir, sizeof dir), get_str(in, supernet, sizeof supernet);
    hn_status st = in->bad ? hn_error(HN_ERR_FORMAT, "rank %d: a malformed study message", world_rank) : HN_OK;
    if (!st) { /* a rank on another machine writes its trials' weights under the same path */
        char weights[1100];
        snprintf(weights, sizeof weights, "%s/weights", dir);
        if ((mkdir(dir, 0777) && errno != EEXIST) || (mkdir(weights, 0777) && errno != EEXIST))
            st = hn_error(HN_ERR_IO, "rank %d: cannot create %s: %s", world_rank, weights, strerror(errno));
    }
    if (!st) st = study_evaluator_new(file, text, dir, supernet, device_dirs, s);
    hn_free(file), hn_free(text);
    return st;
}

/* The threads for this rank's trials: --threads, else the study's, else its share of the node's cores
 * among the node's ranks. */
static void node_share(const hn_study *s, int fixed) {
    int threads = fixed > 0 ? fixed : s->cfg.threads;
    if (threads <= 0) {
        const char *v = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
        int local = v && atoi(v) > 0 ? atoi(v) : 1;
        threads = hn_get_threads() / local > 0 ? hn_get_threads() / local : 1;
    }
    hn_set_threads(threads);
}

hn_status hn_study_serve_mpi(const char *const *device_dirs, int threads) {
    msg in = {0}, out = {0};
    hn_study *s = NULL;
    hn_status st = receive_study(&in, device_dirs, &s);
    pulse p = {.heard = wall(), .limit = timeout_s()};
    pthread_t thread;
    bool started = false;
    if (!st) {
        node_share(s, threads);
        pthread_mutex_init(&p.lock, NULL);
        snprintf(p.dir, sizeof p.dir, "%s", s->dir);
        started = pthread_create(&thread, NULL, heartbeat, &p) == 0;
    }
    const int expensive = s ? study_first_expensive(s) : 0;
    for (int tag = 0; !st && tag != TAG_STOP;) {
        if (!take(&in, 0, TAG_WORK, NULL, &tag) && !take(&in, 0, TAG_STOP, NULL, &tag)) {
            nap();
            continue;
        }
        pthread_mutex_lock(&p.lock);
        p.heard = wall();
        pthread_mutex_unlock(&p.lock);
        if (tag == TAG_STOP) {
            unsigned char lost = 0;
            get(&in, &lost, 1);
            any_lost = lost;
            break;
        }
        study_trial t;
        hn_metrics m = {0}, cached = {0}, fresh = {0};
        t.id = get_i32(&in), t.fidelity = get_f64(&in);
        get_str(&in, t.genotype, sizeof t.genotype);
        get_metrics(&in, &m), get_metrics(&in, &cached), get_metrics(&in, &fresh);
        if (in.bad) {
            st = hn_error(HN_ERR_FORMAT, "rank %d: a malformed work message", world_rank);
            break;
        }
        char state[16] = "failed", weights[256] = "", error[1024] = "";
        hn_status e = study_evaluate(s, &t, &cached, NULL, expensive, s->nproviders, &m, &fresh, state, weights, sizeof weights);
        if (e == HN_ERR_NOMEM) { /* not the candidate's failure: this rank leaves, and rank 0 re-queues the trial */
            st = e;
            break;
        }
        if (e) snprintf(error, sizeof error, "%s", hn_last_error()), strcpy(state, "failed");
        out.n = 0;
        put_i32(&out, t.id), put_str(&out, state), put_str(&out, error);
        put_str(&out, weights), put_metrics(&out, &m), put_metrics(&out, &fresh);
        if (out.bad) st = hn_error(HN_ERR_NOMEM, "rank %d: the result of trial %d", world_rank, t.id);
        else MPI_Send(out.p, (int)out.n, MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD);
    }
    if (started) {
        p.done = 1;
        pthread_join(thread, NULL);
    }
    if (s) pthread_mutex_destroy(&p.lock);
    hn_study_close(s);
    free(in.p), free(out.p);
    return st;
}

#endif
