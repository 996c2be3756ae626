/* Provider "command": the user's own trainer. Runs a shell command per candidate and reads the
 * metrics it prints as one JSON object on its last line of standard output -- how a user with a GPU
 * and PyTorch trains where they like while hwnas searches, costs and stores. Expensive, never cached.
 *
 * Options: command (placeholders below), timeout (seconds or 10min; default none), metrics (the
 * names the JSON must hold, comma-separated; default accuracy). Placeholders, each replaced by a
 * shell-quoted value: {arch} the genotype string, {net} a network file hwnas writes for it
 * (docs/network-files.md), {fidelity} in (0, 1], {seed}, {trial}, {dir} a scratch directory of the
 * trial's own, {here} the study file's directory (for scripts that live beside it). A command that exits non-zero, is killed, runs past its timeout or prints no JSON
 * object fails the trial with its standard error's tail; the study goes on. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hwnas/core.h"
#include "hwnas/provider.h"

enum { MAX_NAMES = 16, OUT_KEEP = 65536, ERR_KEEP = 2048 };

typedef struct {
    char command[1024];
    char here[512];   /* the study file's directory */
    double timeout_s; /* 0: none */
    char buf[MAX_NAMES][HN_METRIC_NAME];
    const char *names[MAX_NAMES + 1];
} command_state;

static void destroy(hn_provider *p) { hn_free(p->state); }

static hn_status create(hn_provider *p, const hn_options *o, const hn_provider_env *env) {
    (void)env;
    command_state *s = hn_calloc(sizeof *s);
    if (!s) return hn_error(HN_ERR_NOMEM, "command");
    p->state = s;
    char list[512];
    int line = o->line;
    hn_options_get(o, "metrics", &line);
    hn_status st = hn_options_check(o, "command, timeout, metrics");
    if (!st) st = hn_options_string(o, "command", "", s->command, sizeof s->command);
    if (!st) st = hn_options_number(o, "timeout", 0, 1e9, 0, &s->timeout_s);
    if (!st) st = hn_options_string(o, "metrics", "accuracy", list, sizeof list);
    if (!st && !s->command[0])
        st = hn_error(HN_ERR_INVALID, "%s:%d: provider command: give the 'command' to run (e.g. python3 train.py --arch {arch})",
                      o->file, o->line);
    if (st) return st;
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(list, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        if (n == MAX_NAMES || strlen(t) >= HN_METRIC_NAME)
            return hn_error(HN_ERR_INVALID, "%s:%d: option 'metrics': at most %d names of at most %d characters", o->file,
                            line, MAX_NAMES, HN_METRIC_NAME - 1);
        snprintf(s->buf[n], HN_METRIC_NAME, "%s", t);
        s->names[n] = s->buf[n];
        n++;
    }
    if (!n) return hn_error(HN_ERR_INVALID, "%s:%d: option 'metrics': name at least one metric", o->file, line);
    char file[512];
    snprintf(file, sizeof file, "%s", o->file);
    snprintf(s->here, sizeof s->here, "%s", dirname(file));
    p->tier = HN_TIER_EXPENSIVE, p->metrics = s->names;
    snprintf(p->description, sizeof p->description, "command: %.200s", s->command);
    return HN_OK;
}

/* appends v to dst (cap bytes) in single quotes, for /bin/sh */
static bool append_quoted(char *dst, size_t cap, const char *v) {
    size_t n = strlen(dst);
    if (n + 2 >= cap) return false;
    dst[n++] = '\'';
    for (; *v; v++) {
        const char *piece = *v == '\'' ? "'\\''" : NULL;
        size_t len = piece ? 4 : 1;
        if (n + len + 2 >= cap) return false;
        if (piece) memcpy(dst + n, piece, 4);
        else dst[n] = *v;
        n += len;
    }
    dst[n++] = '\'';
    dst[n] = 0;
    return true;
}

static hn_status make_dir(const char *path) {
    if (mkdir(path, 0777) && errno != EEXIST) return hn_error(HN_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    return HN_OK;
}

/* The command line with its placeholders replaced; writes the network file if {net} is used. */
static hn_status expand(const command_state *s, hn_candidate *c, const char *dir, char *out, size_t cap) {
    out[0] = 0;
    char value[1200];
    for (const char *p = s->command; *p;) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        size_t len = close ? (size_t)(close - p - 1) : 0;
        const char *key = p + 1;
        bool known = true;
        if (!close) known = false;
        else if (len == 4 && !strncmp(key, "arch", 4)) snprintf(value, sizeof value, "%s", c->arch ? c->arch : "");
        else if (len == 8 && !strncmp(key, "fidelity", 8)) snprintf(value, sizeof value, "%.17g", c->fidelity);
        else if (len == 4 && !strncmp(key, "seed", 4))
            snprintf(value, sizeof value, "%llu", (unsigned long long)(c->seed ^ hn_hash(c->arch ? c->arch : "", c->arch ? strlen(c->arch) : 0)));
        else if (len == 5 && !strncmp(key, "trial", 5)) snprintf(value, sizeof value, "%d", c->trial);
        else if (len == 3 && !strncmp(key, "dir", 3)) snprintf(value, sizeof value, "%s", dir);
        else if (len == 4 && !strncmp(key, "here", 4)) snprintf(value, sizeof value, "%s", s->here);
        else if (len == 3 && !strncmp(key, "net", 3)) {
            snprintf(value, sizeof value, "%s/net.yaml", dir);
            hn_status st = hn_graph_save_yaml(c->graph, c->arch ? c->arch : "candidate", value);
            if (st) return st;
        } else known = false;
        if (!known) { /* a brace that is no placeholder stays as written */
            size_t n = strlen(out);
            if (n + 2 >= cap) return hn_error(HN_ERR_INVALID, "the command is too long once expanded");
            out[n] = *p++, out[n + 1] = 0;
            continue;
        }
        if (!append_quoted(out, cap, value)) return hn_error(HN_ERR_INVALID, "the command is too long once expanded");
        p = close + 1;
    }
    return HN_OK;
}

/* keeps the last keep bytes of a stream in buf (of keep + 1 bytes), NUL-terminated */
static void keep_tail(char *buf, size_t *len, size_t keep, const char *data, size_t n) {
    if (n > keep) data += n - keep, n = keep;
    if (*len + n > keep) { /* drop the oldest bytes */
        size_t drop = *len + n - keep;
        memmove(buf, buf + drop, *len - drop);
        *len -= drop;
    }
    memcpy(buf + *len, data, n);
    *len += n;
    buf[*len] = 0;
}

/* the tail of stderr, one line, for the trial's error text */
static const char *tail_of(char *err) {
    size_t n = strlen(err);
    while (n && (err[n - 1] == '\n' || err[n - 1] == ' ')) err[--n] = 0;
    for (char *q = err; *q; q++)
        if (*q == '\n') *q = ' ';
    return n > 400 ? err + n - 400 : err;
}

/* Runs line under /bin/sh in its own process group; the tails of its output into out/err. */
static hn_status run(const command_state *s, const char *line, volatile int *stop, char *out, char *err, int *status) {
    int po[2], pe[2];
    if (pipe(po)) return hn_error(HN_ERR_IO, "pipe: %s", strerror(errno));
    if (pipe(pe)) {
        close(po[0]), close(po[1]);
        return hn_error(HN_ERR_IO, "pipe: %s", strerror(errno));
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
        return hn_error(HN_ERR_IO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        setpgid(0, 0); /* its own group: a timeout kills the whole pipeline */
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(po[1], 1), dup2(pe[1], 2);
        close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
        execl("/bin/sh", "sh", "-c", line, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid);
    close(po[1]), close(pe[1]);
    size_t olen = 0, elen = 0;
    out[0] = err[0] = 0;
    double t0 = hn_now();
    bool timed_out = false, stopped = false;
    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    char chunk[8192];
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        if (poll(fds, 2, 100) < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
            } else if (i == 0) keep_tail(out, &olen, OUT_KEEP, chunk, (size_t)n);
            else keep_tail(err, &elen, ERR_KEEP, chunk, (size_t)n);
        }
        if (!timed_out && !stopped && s->timeout_s > 0 && hn_now() - t0 > s->timeout_s) timed_out = true, kill(-pid, SIGKILL);
        if (!timed_out && !stopped && stop && *stop) stopped = true, kill(-pid, SIGKILL);
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0) close(fds[i].fd);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR) {}
    if (stopped) return hn_error(HN_ERR_INTERRUPTED, "stopped");
    if (timed_out) return hn_error(HN_ERR_INVALID, "the command ran past its timeout of %gs and was killed: %s", s->timeout_s, tail_of(err));
    return HN_OK;
}

static hn_status evaluate(hn_provider *p, hn_candidate *c, hn_metrics *m) {
    const command_state *s = p->state;
    char dir[1100], line[4096];
    hn_status st = HN_OK;
    if (c->dir) {
        snprintf(dir, sizeof dir, "%s/scratch", c->dir);
        if (!(st = make_dir(dir))) {
            snprintf(dir, sizeof dir, "%s/scratch/trial-%d", c->dir, c->trial);
            st = make_dir(dir);
        }
    } else {
        snprintf(dir, sizeof dir, "/tmp/hwnas-command.XXXXXX");
        if (!mkdtemp(dir)) st = hn_error(HN_ERR_IO, "%s: cannot create: %s", dir, strerror(errno));
    }
    if (!st) st = expand(s, c, dir, line, sizeof line);
    if (st) return st;
    char *out = hn_alloc(OUT_KEEP + 1), *err = hn_alloc(ERR_KEEP + 1);
    int status = 0;
    if (!out || !err) st = hn_error(HN_ERR_NOMEM, "command output");
    if (!st) st = run(s, line, c->stop, out, err, &status);
    if (!st && (WIFSIGNALED(status) || WEXITSTATUS(status))) {
        char what[64];
        if (WIFSIGNALED(status)) snprintf(what, sizeof what, "was killed by signal %d", WTERMSIG(status));
        else snprintf(what, sizeof what, "exited with status %d%s", WEXITSTATUS(status),
                      WEXITSTATUS(status) == 127 ? " (command not found?)" : "");
        st = hn_error(HN_ERR_INVALID, "the command %s: %s", what, err[0] ? tail_of(err) : "(nothing on stderr)");
    }
    if (!st) { /* the last non-empty line of stdout: one JSON object */
        size_t n = strlen(out);
        while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ')) out[--n] = 0;
        char *last = strrchr(out, '\n');
        last = last ? last + 1 : out;
        json_error_t je;
        json_t *obj = json_loads(last, 0, &je);
        if (!json_is_object(obj))
            st = hn_error(HN_ERR_FORMAT, "the command printed no JSON object on its last line (got '%.80s')%s%s", last,
                          err[0] ? "; its stderr: " : "", tail_of(err));
        const char *key;
        json_t *v;
        json_object_foreach(st ? NULL : obj, key, v) {
            if (st) break;
            if (json_is_number(v)) st = hn_metrics_set(m, key, json_number_value(v));
            else if (json_is_boolean(v)) st = hn_metrics_set(m, key, json_is_true(v));
        }
        for (int i = 0; !st && s->names[i]; i++) {
            double x;
            if (!hn_metrics_get(m, s->names[i], &x) || !isfinite(x))
                st = hn_error(HN_ERR_FORMAT, "the command's JSON has no finite number '%s' (got: %.200s)", s->names[i], last);
        }
        json_decref(obj);
    }
    hn_free(out), hn_free(err);
    return st;
}

const hn_provider_type hn_provider_command = {"command", "the user's own trainer: a command that prints metrics as JSON",
                                              create, evaluate, destroy, NULL, NULL, NULL};
