/* CLI helpers: error reporting, option parsing, the progress bar. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli.h"
#include "hwnas/data.h"
#include "hwnas/provider.h"
#include "hwnas/quant.h"
#include "hwnas/space.h"
#include "hwnas/study.h"

int cli_fail(hn_status st) {
    const char *msg = hn_last_error();
    fprintf(stderr, "hwnas: error: %s\n", msg[0] ? msg : hn_status_str(st));
    return hn_status_exit_code(st);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "hwnas %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'hwnas %s --help'.\n", cmd);
    va_end(ap);
    return 2;
}

bool cli_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == 0 || *end || errno || v < lo || v > hi) {
        cli_usage_error(cmd, "%s: expected an integer in [%ld, %ld], got '%s'", opt, lo, hi, s);
        return false;
    }
    *out = v;
    return true;
}

bool cli_float(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out) {
    char *end;
    double v = strtod(s, &end);
    if (*s == 0 || *end || !(v >= lo && v <= hi)) {
        cli_usage_error(cmd, "%s: expected a number in [%g, %g], got '%s'", opt, lo, hi, s);
        return false;
    }
    *out = v;
    return true;
}

void cli_progress_init(cli_progress *p) {
    p->enabled = isatty(STDERR_FILENO);
    p->start = p->last = hn_now();
}

void cli_progress_draw(cli_progress *p, const char *label, int64_t done, int64_t total, const char *extra) {
    if (!p->enabled) return;
    double now = hn_now();
    if (done < total && now - p->last < 0.1) return; /* redraw at most 10 times a second */
    p->last = now;
    const int width = 28;
    double frac = total > 0 ? (double)done / (double)total : 1;
    int fill = (int)(frac * width);
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    double el = now - p->start, eta = frac > 0 ? el / frac - el : 0;
    fprintf(stderr, "\r%s [%s] %3d%% %s  ETA %02d:%02d ", label, bar, (int)(100 * frac), extra, (int)eta / 60,
            (int)eta % 60);
    fflush(stderr);
}

void cli_progress_end(cli_progress *p) {
    if (p->enabled) fputc('\n', stderr);
}

hn_status cli_space_graph(const char *space, const char *arch, const char *input, int classes, hn_graph **out) {
    *out = NULL;
    const hn_space *s = hn_space_find(space);
    if (!s) return hn_error(HN_ERR_INVALID, "unknown space '%s' (see 'hwnas space list')", space);
    hn_space_config cfg = s->defaults;
    if (input) {
        char tail;
        if (sscanf(input, "%dx%dx%d%c", &cfg.input.c, &cfg.input.h, &cfg.input.w, &tail) != 3 || cfg.input.c < 1 ||
            cfg.input.h < 1 || cfg.input.w < 1)
            return hn_error(HN_ERR_INVALID, "--input '%s': expected CxHxW, e.g. 1x28x28", input);
    }
    if (classes > 0) cfg.classes = classes;
    hn_candidate c;
    hn_status st = hn_candidate_build(s, arch, &(hn_candidate_spec){.space = cfg}, &c);
    *out = c.graph; /* the caller owns the graph: c holds nothing else */
    return st;
}

hn_status cli_net_and_data(const char *net, const char *space, const char *arch, const char *dataset, bool quiet,
                           hn_graph **g, hn_dataset **train, hn_dataset **test) {
    *g = NULL, *train = *test = NULL;
    hn_status st = net ? hn_graph_load_yaml(net, g) : HN_OK;
    if (!st) st = hn_dataset_load(dataset, train, test);
    if (!st && space) { /* the space's network for this dataset's images and classes */
        char shape[64];
        snprintf(shape, sizeof shape, "%dx%dx%d", (*train)->c, (*train)->h, (*train)->w);
        if (!(st = cli_space_graph(space, arch, shape, (*train)->classes, g))) st = hn_graph_finalize(*g);
    }
    /* a network at another resolution (a searched one, or a study's model.yaml): resize to it */
    hn_shape in = st ? (hn_shape){0, 0, 0} : (*g)->nodes[0].shape;
    if (!st && in.c == (*train)->c && (in.h != (*train)->h || in.w != (*train)->w)) {
        if (!quiet)
            fprintf(stderr, "resizing the images from %dx%d to %dx%d (bilinear)\n", (*train)->h, (*train)->w, in.h, in.w);
        if (!(st = hn_dataset_resize(*train, in.h, in.w))) st = hn_dataset_resize(*test, in.h, in.w);
    }
    if (st) {
        hn_graph_free(*g), hn_dataset_free(*train), hn_dataset_free(*test);
        *g = NULL, *train = *test = NULL;
    }
    return st;
}

const char *const *cli_data_dirs(const char *sub) {
    enum { MAX_SUBS = 4 };
    static struct {
        char sub[32], installed[PATH_MAX + 64], source[PATH_MAX];
        const char *dirs[3];
    } cache[MAX_SUBS];
    int i = 0;
    while (i < MAX_SUBS && cache[i].sub[0] && strcmp(cache[i].sub, sub)) i++;
    HN_ASSERT(i < MAX_SUBS);
    if (cache[i].sub[0]) return cache[i].dirs;
    snprintf(cache[i].sub, sizeof cache[i].sub, "%s", sub);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    int k = 0;
    if (n > 0) {
        exe[n] = 0;
        snprintf(cache[i].installed, sizeof cache[i].installed, "%s/../share/hwnas/%s", dirname(exe), sub);
        cache[i].dirs[k++] = cache[i].installed;
    }
    snprintf(cache[i].source, sizeof cache[i].source, "%s/%s", HWNAS_SOURCE_DIR, sub);
    cache[i].dirs[k++] = cache[i].source;
    cache[i].dirs[k] = NULL;
    return cache[i].dirs;
}

hn_status cli_study_trial(const char *dir, long trial, bool have_dataset, char space[64], char arch[4096],
                          char dataset[512]) {
    hn_study *s;
    hn_status st = hn_study_open(dir, cli_data_dirs("devices"), &s);
    if (st) return st;
    const hn_study_config *sc = hn_study_get_config(s);
    snprintf(space, 64, "%s", sc->space);
    snprintf(dataset, 512, "%s", sc->dataset);
    st = sc->dataset[0] || have_dataset
             ? hn_study_trial_genotype(s, (int)trial, arch, 4096)
             : hn_error(HN_ERR_INVALID, "%s: a tabular study has no dataset to train on (give --dataset)", dir);
    hn_study_close(s);
    return st;
}

int cli_trained_option(const char *cmd, int c, const char *arg, cli_trained *t) {
    switch (c) {
    case CLI_O_NET: t->net = arg; return 1;
    case CLI_O_SPACE: t->space = arg; return 1;
    case CLI_O_ARCH: t->arch = arg; return 1;
    case CLI_O_STUDY: t->study = arg; return 1;
    case CLI_O_TRIAL: return cli_int(cmd, "--trial", arg, 1, 0x7fffffffL, &t->trial) ? 1 : -1;
    case CLI_O_WEIGHTS: t->weights = arg; return 1;
    case CLI_O_DATASET: t->dataset = arg; return 1;
    default: return 0;
    }
}

int cli_load_trained(const char *cmd, cli_trained *t, bool quiet, hn_graph **g, hn_dataset **train, hn_dataset **test) {
    *g = NULL, *train = *test = NULL;
    if (t->study) {
        if (t->net || t->space) return cli_usage_error(cmd, "--from-study replaces --net and --space/--arch");
        if (t->trial > 0) {
            hn_status st = cli_study_trial(t->study, t->trial, t->dataset != NULL, t->buf_space, t->buf_arch, t->buf_data);
            if (st) return cli_fail(st);
            t->space = t->buf_space, t->arch = t->buf_arch;
            if (!t->dataset) t->dataset = t->buf_data;
        } else { /* the chosen network */
            snprintf(t->buf_net, sizeof t->buf_net, "%s/model.yaml", t->study);
            t->net = t->buf_net;
            if (!t->weights) snprintf(t->buf_weights, sizeof t->buf_weights, "%s/model.hntf", t->study), t->weights = t->buf_weights;
        }
    } else if (t->trial > 0) {
        return cli_usage_error(cmd, "--trial needs --from-study DIR");
    }
    if (!t->net == !t->space) return cli_usage_error(cmd, "give --net FILE, --space NAME --arch STRING or --from-study DIR");
    if (!t->space != !t->arch) return cli_usage_error(cmd, "--space and --arch go together");
    if (!t->weights) return cli_usage_error(cmd, "--weights FILE is required (the trained network's weights)");
    if (!t->dataset) t->dataset = "fashion-mnist";
    hn_status st = cli_net_and_data(t->net, t->space, t->arch, t->dataset, quiet, g, train, test);
    if (!st && (st = hn_graph_load_weights(*g, t->weights))) {
        hn_graph_free(*g), hn_dataset_free(*train), hn_dataset_free(*test);
        *g = NULL, *train = *test = NULL;
    }
    return st ? cli_fail(st) : 0;
}

bool cli_range_method(const char *s, int *method) {
    static const struct {
        const char *name;
        hn_range_method m;
    } methods[] = {{"minmax", HN_RANGE_MINMAX}, {"percentile", HN_RANGE_PERCENTILE}, {"mse", HN_RANGE_MSE}};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (!strcmp(s, methods[i].name)) {
            *method = (int)methods[i].m;
            return true;
        }
    return false;
}

bool cli_numtypes(const char *cmd, const char *s, hn_numtype *w, hn_numtype *a) {
    char ws[16], as[16];
    if (sscanf(s, "%15[^/]/%15s", ws, as) == 2 && (*w = hn_numtype_from_name(ws)) != HN_NUMTYPE_COUNT &&
        (*a = hn_numtype_from_name(as)) != HN_NUMTYPE_COUNT)
        return true;
    cli_usage_error(cmd, "--numtypes '%s': expected WEIGHT/ACTIVATION types such as int4/int8 (fp32, int2..int8, "
                         "int16, fp8-e4m3, fp8-e5m2, fp6-e3m2, fp4-e2m1)", s);
    return false;
}

hn_status cli_check_writable(const char *path, const char *option) {
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return hn_error(HN_ERR_INVALID, "%s %s: a directory; give a file name in it", option, path);
    char probe[4096];
    if (snprintf(probe, sizeof probe, "%s.check-%ld", path, (long)getpid()) >= (int)sizeof probe)
        return hn_error(HN_ERR_INVALID, "%s %s: the path is too long", option, path);
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return hn_error(HN_ERR_IO, "%s %s: cannot write there: %s", option, path, strerror(errno));
    close(fd);
    unlink(probe);
    return HN_OK;
}
