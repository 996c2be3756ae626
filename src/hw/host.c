/* The host: measuring a network with the engine, and the latency lookup table (include/hwnas/hw.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hwnas/exec.h"
#include "models.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* median of t[0..n), sorting t */
static double median(double *t, int n) {
    qsort(t, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

/* Times g's forward pass: h->warmup passes, then at least h->runs (and, with min_total, until that
 * many seconds have passed, at most 1000 runs); the median, or the minimum if fastest. per_node
 * (g->nnodes, or NULL): each node's median (minimum) over the runs. */
static hn_status measure(const hn_host *h, hn_graph *g, double min_total, bool fastest, double *seconds,
                         double *per_node) {
    if (!g->finalized) return hn_error(HN_ERR_INVALID, "measuring on the host needs a finalized graph (parameters)");
    enum { MAX_RUNS = 1000 };
    int saved = hn_get_threads();
    if (h->threads > 0) hn_set_threads(h->threads);
    hn_shape in = g->nodes[0].shape;
    size_t nx = (size_t)in.c * in.h * in.w;
    float *x = hn_alloc(sizeof(float) * nx);
    double *t = hn_alloc(sizeof(double) * MAX_RUNS);
    const int nn = g->nnodes;
    double *prof = per_node ? hn_alloc(sizeof(double) * (size_t)nn * MAX_RUNS) : NULL; /* (run, node) */
    hn_exec *e = NULL;
    hn_status st = x && t && (prof || !per_node) ? hn_exec_new(g, 1, false, &e)
                                                  : hn_error_prefix(HN_ERR_NOMEM, "measuring on the host");
    if (!st) {
        hn_rng r;
        hn_rng_seed(&r, 7, 7);
        for (size_t i = 0; i < nx; i++) x[i] = hn_rng_normal(&r);
        for (int i = 0; !st && i < h->warmup; i++) st = hn_exec_forward(e, x, 1, false);
        int runs = 0;
        double total = 0;
        while (!st && runs < MAX_RUNS && (runs < (h->runs > 0 ? h->runs : 1) || total < min_total)) {
            if (prof) hn_exec_profile(e, prof + (size_t)runs * nn);
            double t0 = hn_now();
            st = hn_exec_forward(e, x, 1, false);
            t[runs] = hn_now() - t0;
            total += t[runs++];
        }
        if (!st) {
            double m = median(t, runs);
            *seconds = fastest ? t[0] : m;
        }
        for (int i = 0; !st && prof && i < nn; i++) {
            for (int k = 0; k < runs; k++) t[k] = prof[(size_t)k * nn + i];
            double m = median(t, runs);
            per_node[i] = fastest ? t[0] : m;
        }
    }
    hn_exec_free(e);
    hn_free(x);
    hn_free(t);
    hn_free(prof);
    hn_set_threads(saved);
    return st;
}

hn_status hn_host_measure(const hn_host *h, hn_graph *g, bool fastest, double *seconds, double *per_node) {
    return measure(h, g, 0, fastest, seconds, per_node);
}

/* ---- the lookup table: an open-addressing hash of key -> seconds ---- */

enum { KEY_MAX = 160 };
typedef struct {
    char key[KEY_MAX];
    double seconds;
} entry;

struct hn_host_lut {
    hn_host host;
    char path[512];
    entry *slots;
    int cap, n, loaded; /* loaded: entries that came from the file */
};

static entry *slot_of(const hn_host_lut *l, const char *key) {
    for (uint64_t i = hn_hash(key, strlen(key)) & (uint64_t)(l->cap - 1);; i = (i + 1) & (uint64_t)(l->cap - 1))
        if (!l->slots[i].key[0] || !strcmp(l->slots[i].key, key)) return &l->slots[i];
}

static hn_status put(hn_host_lut *l, const char *key, double seconds) {
    if (2 * (l->n + 1) > l->cap) { /* grow, keeping the load under 1/2 */
        entry *old = l->slots;
        int oldcap = l->cap;
        l->cap = oldcap ? 2 * oldcap : 256;
        l->slots = hn_calloc(sizeof(entry) * (size_t)l->cap);
        if (!l->slots) {
            l->slots = old, l->cap = oldcap;
            return hn_error_prefix(HN_ERR_NOMEM, "latency table of %d entries", l->n);
        }
        for (int i = 0; i < oldcap; i++)
            if (old[i].key[0]) *slot_of(l, old[i].key) = old[i];
        hn_free(old);
    }
    entry *e = slot_of(l, key);
    if (!e->key[0]) l->n++;
    snprintf(e->key, KEY_MAX, "%s", key);
    e->seconds = seconds;
    return HN_OK;
}

hn_status hn_host_lut_open(const hn_host *h, const char *path, hn_host_lut **out) {
    *out = NULL;
    hn_host_lut *l = hn_calloc(sizeof *l);
    if (!l) return hn_error_prefix(HN_ERR_NOMEM, "latency table");
    l->host = *h;
    snprintf(l->path, sizeof l->path, "%s", path ? path : "");
    FILE *f = l->path[0] ? fopen(l->path, "r") : NULL;
    hn_status st = HN_OK;
    char line[KEY_MAX + 64];
    for (int ln = 1; f && !st && fgets(line, sizeof line, f); ln++) {
        char *tab = strchr(line, '\t'), *end;
        double v = tab ? strtod(tab + 1, &end) : 0;
        if (!tab || tab - line >= KEY_MAX || !(v > 0) || (*end && *end != '\n')) {
            st = hn_error(HN_ERR_FORMAT, "%s:%d: expected KEY<tab>SECONDS (delete the file to rebuild the table)",
                          l->path, ln);
            break;
        }
        *tab = 0;
        st = put(l, line, v);
    }
    if (f) fclose(f);
    if (st) {
        hn_free(l->slots);
        hn_free(l);
        return st;
    }
    l->loaded = l->n;
    *out = l;
    return HN_OK;
}

int hn_host_lut_size(const hn_host_lut *l) { return l->n; }

/* what determines a node's latency alone: op, input and output shapes, attributes, types, threads */
static void key_of(const hn_host_lut *l, const hn_graph *g, const hn_node *n, char *key) {
    hn_shape in = g->nodes[n->inputs[0]].shape, o = n->shape;
    snprintf(key, KEY_MAX, "%s|%dx%dx%d|%dx%dx%d|k%d s%d p%d g%d n%d b%d c%d|%s/%s|t%d", hn_op_name(n->op), in.c, in.h,
             in.w, o.c, o.h, o.w, n->kernel, n->stride, n->pad, n->groups, n->ninputs, n->bias, n->count_include_pad,
             hn_numtype_name(n->wtype), hn_numtype_name(n->atype), l->host.threads);
}

/* A spec that rebuilds node n on node ids in[] of another graph. */
static hn_node_spec spec_of(const hn_node *n, const int *in) {
    hn_node_spec s = hn_spec(n->op, 0);
    s.ninputs = n->ninputs;
    memcpy(s.inputs, in, sizeof(int) * (size_t)n->ninputs);
    s.out = n->out, s.kernel = n->kernel, s.stride = n->stride, s.pad = n->pad, s.groups = n->groups;
    s.bias = n->bias, s.count_include_pad = n->count_include_pad, s.eps = n->eps, s.momentum = n->momentum;
    return s;
}

/* Measures a unit alone: node n on its first input's shape (every input is that tensor), followed by
 * the nodes the engine fuses into it (ids follow[0..nf), a chain). */
static hn_status measure_unit(const hn_host_lut *l, const hn_graph *g, const hn_node *n, const int *follow, int nf,
                              double *seconds) {
    hn_graph *one;
    hn_status st = hn_graph_new(g->nodes[n->inputs[0]].shape, &one);
    if (st) return st;
    int zeros[HN_MAX_INPUTS] = {0}, id = 0;
    hn_node_spec s = spec_of(n, zeros);
    st = hn_graph_add(one, &s, &id);
    for (int k = 0; !st && k < nf; k++) {
        s = spec_of(&g->nodes[follow[k]], &id);
        st = hn_graph_add(one, &s, &id);
    }
    if (!st && !(st = hn_graph_finalize(one))) {
        hn_graph_init_params(one, 1);
        st = measure(&l->host, one, 0.005, true, seconds, NULL); /* the fastest of >= 5 ms of runs: robust to interference */
    }
    hn_graph_free(one);
    return st ? hn_error_prefix(st, "measuring node '%s'", n->name) : HN_OK;
}

/* Nodes are predicted in units: a node and the batch norms and activations fused into it (measured
 * together, as the engine runs them: a folded batch norm adds an epilogue to the convolution). */
hn_status hn_host_lut_predict(hn_host_lut *l, const hn_graph *g, double *seconds, double *per_node) {
    const int nn = g->nnodes;
    bool *fused = hn_alloc(sizeof(bool) * (size_t)nn);
    int *owner = hn_alloc(sizeof(int) * (size_t)nn), *follow = hn_alloc(sizeof(int) * (size_t)nn);
    hn_status st = fused && owner && follow ? hn_graph_fused(g, fused) : hn_error_prefix(HN_ERR_NOMEM, "predicting %d nodes", nn);
    for (int i = 0; !st && i < nn; i++) {
        const hn_node *n = &g->nodes[i];
        bool op = n->op == HN_OP_BATCHNORM || n->op == HN_OP_RELU || n->op == HN_OP_RELU6;
        owner[i] = fused[i] && op ? owner[n->inputs[0]] : i;
    }
    *seconds = 0;
    for (int i = 0; !st && i < nn; i++) {
        const hn_node *n = &g->nodes[i];
        double t = 0;
        if (!fused[i]) {
            char key[KEY_MAX];
            key_of(l, g, n, key);
            int nf = 0;
            for (int j = i + 1; j < nn; j++)
                if (fused[j] && owner[j] == i && j != i) {
                    follow[nf++] = j;
                    size_t len = strlen(key);
                    snprintf(key + len, KEY_MAX - len, "+%s", hn_op_name(g->nodes[j].op));
                }
            entry *e = l->cap ? slot_of(l, key) : NULL;
            if (e && e->key[0]) t = e->seconds;
            else if (!(st = measure_unit(l, g, n, follow, nf, &t))) st = put(l, key, t);
        }
        *seconds += t;
        if (per_node) per_node[i] = t;
    }
    hn_free(fused);
    hn_free(owner);
    hn_free(follow);
    return st;
}

hn_status hn_host_lut_close(hn_host_lut *l) {
    if (!l) return HN_OK;
    hn_status st = HN_OK;
    if (l->path[0] && l->n > l->loaded) {
        char tmp[600];
        snprintf(tmp, sizeof tmp, "%s.tmp", l->path);
        FILE *f = fopen(tmp, "w");
        if (!f) {
            st = hn_error(HN_ERR_IO, "%s: cannot write the latency table (%s)", tmp, strerror(errno));
        } else {
            for (int i = 0; i < l->cap; i++)
                if (l->slots[i].key[0]) fprintf(f, "%s\t%.9g\n", l->slots[i].key, l->slots[i].seconds);
            if (fclose(f) != 0 || rename(tmp, l->path) != 0)
                st = hn_error(HN_ERR_IO, "%s: cannot write the latency table (%s)", l->path, strerror(errno));
        }
    }
    hn_free(l->slots);
    hn_free(l);
    return st;
}

/* hn_device_cost for the host: the measured total, and each node's measured share. */
hn_status host_graph_cost(const hn_host *h, const hn_graph *g, hn_hw_cost *total, hn_hw_cost *layers) {
    double *per = layers ? hn_alloc(sizeof(double) * (size_t)g->nnodes) : NULL;
    if (layers && !per) return hn_error_prefix(HN_ERR_NOMEM, "costing %d nodes", g->nnodes);
    hn_status st = hn_host_measure(h, (hn_graph *)g, false, &total->latency_s, per);
    total->fits = true;
    for (int i = 0; !st && layers && i < g->nnodes; i++)
        layers[i] = (hn_hw_cost){.latency_s = per[i], .fits = true, .macs = hn_node_macs(g, i),
                                 .params = (int64_t)g->nodes[i].nparams};
    hn_free(per);
    return st;
}
