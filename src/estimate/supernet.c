/* The supernet (include/hwnas/supernet.h): the largest network's graph, the map from a sub-network's
 * layers to their slices of it, batch-norm recalibration, and the versioned file. Training is
 * supernet_train.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hwnas/supernet.h"
#include "hwnas/train.h"
#include "supernet_internal.h"

/* ---- the supernet ---------------------------------------------------------------------------------- */

/* The batch norm of g that reads node `conv` (the one after a convolution), or -1. */
static int bn_after(const hn_graph *g, int conv) {
    for (int j = conv + 1; j < g->nnodes; j++)
        if (g->nodes[j].op == HN_OP_BATCHNORM && g->nodes[j].inputs[0] == conv) return j;
    return -1;
}

hn_status hn_supernet_new(const hn_space *space, const hn_space_config *cfg, uint64_t seed, hn_supernet **out) {
    *out = NULL;
    const hn_space *arch = space->base ? space->base : space;
    if (!arch->largest)
        return hn_error(HN_ERR_UNSUPPORTED, "space '%s' has no supernet (weight sharing needs a space whose networks "
                        "are slices of its largest one, such as mbconv)", space->name);
    hn_supernet *sn = hn_calloc(sizeof *sn);
    if (!sn) return hn_error(HN_ERR_NOMEM, "supernet");
    sn->space = arch, sn->joined = space->base ? space : NULL, sn->cfg = *cfg;
    hn_status st = arch->parse(arch, arch->largest, sn->largest);
    if (!st) st = arch->parse(arch, arch->smallest, sn->smallest);
    if (!st) st = arch->to_graph(arch, sn->largest, cfg, &sn->g);
    if (!st) st = hn_graph_finalize(sn->g);
    sn->slot = hn_alloc(sizeof(int) * (size_t)(arch->nqslots ? arch->nqslots : 1));
    if (!st && !sn->slot) st = hn_error(HN_ERR_NOMEM, "supernet");
    if (!st) st = hn_sgd_init(&sn->opt, sn->g->nparams, 0.9f, 0, true);
    if (st) {
        hn_supernet_free(sn);
        return hn_error_prefix(st, "supernet of %s", arch->name);
    }
    for (int q = 0; q < arch->nqslots; q++) sn->slot[q] = -1;
    for (int i = 0; i < sn->g->nnodes; i++)
        if (sn->g->nodes[i].qslot >= 0) sn->slot[sn->g->nodes[i].qslot] = i;
    hn_graph_init_params(sn->g, seed);
    *out = sn;
    return HN_OK;
}

void hn_supernet_free(hn_supernet *sn) {
    if (!sn) return;
    hn_graph_free(sn->g);
    hn_sgd_free(&sn->opt);
    hn_free(sn->slot);
    hn_free(sn);
}

hn_graph *hn_supernet_graph(hn_supernet *sn) { return sn->g; }
int hn_supernet_epochs_done(const hn_supernet *sn) { return sn->epochs_done; }
int hn_supernet_epochs_planned(const hn_supernet *sn) { return sn->epochs_planned; }

/* ---- slices ---------------------------------------------------------------------------------------- */

/* One contiguous run of n floats: a sub-network's at sub, the supernet's at super (offsets into the
 * parameter or state blocks). */
typedef void (*run_fn)(hn_graph *sub, hn_graph *super, bool state, size_t at_sub, size_t at_super, size_t n);

static void run_gather(hn_graph *sub, hn_graph *super, bool state, size_t a, size_t b, size_t n) {
    if (state) memcpy(sub->state + a, super->state + b, sizeof(float) * n);
    else memcpy(sub->params + a, super->params + b, sizeof(float) * n);
}

static void run_add_grads(hn_graph *sub, hn_graph *super, bool state, size_t a, size_t b, size_t n) {
    if (state) return;
    for (size_t i = 0; i < n; i++) super->grads[b + i] += sub->grads[a + i];
}

static void run_put_state(hn_graph *sub, hn_graph *super, bool state, size_t a, size_t b, size_t n) {
    if (state) memcpy(super->state + b, sub->state + a, sizeof(float) * n);
}

/* The slice of a batch norm of c channels: the first c of gamma, beta (params) and of the running mean
 * and variance (state). */
static void bn_slice(hn_graph *g, int j, hn_graph *sg, int sj, run_fn run) {
    const hn_node *n = &g->nodes[j], *s = &sg->nodes[sj];
    size_t c = (size_t)n->shape.c, sc = (size_t)s->shape.c;
    for (int part = 0; part < 2; part++) {
        run(g, sg, false, n->param_off + part * c, s->param_off + part * sc, c);
        run(g, sg, true, n->state_off + part * c, s->state_off + part * sc, c);
    }
}

/* Whether node n of g can be a slice of node s of the supernet; else an error naming it. */
static hn_status fits(const hn_graph *g, const hn_node *n, const hn_graph *sg, const hn_node *s) {
    int in = g->nodes[n->inputs[0]].shape.c, sin = sg->nodes[s->inputs[0]].shape.c;
    bool depthwise = n->groups > 1, sdepthwise = s->groups > 1;
    if (n->op != s->op || n->out > s->out || in > sin || n->kernel > s->kernel || (s->kernel - n->kernel) % 2 ||
        depthwise != sdepthwise || (depthwise && (n->groups != in || s->groups != sin)) || n->bias != s->bias ||
        (n->op == HN_OP_LINEAR && n->out != s->out))
        return hn_error(HN_ERR_SHAPE, "layer '%s' (%s %d -> %d, kernel %d, groups %d) is not a slice of the supernet's '%s' "
                        "(%d -> %d, kernel %d, groups %d)", n->name, hn_op_name(n->op), in, n->out, n->kernel,
                        n->groups ? n->groups : 1, s->name, sin, s->out, s->kernel, s->groups ? s->groups : 1);
    return HN_OK;
}

/* Runs `run` over every slice of g (a sub-network of the supernet's space) and its supernet twin. */
static hn_status walk(const hn_supernet *sn, hn_graph *g, run_fn run) {
    hn_graph *sg = sn->g;
    if (!g->finalized) return hn_error(HN_ERR_INVALID, "supernet: the sub-network's graph is not finalized");
    size_t covered = 0;
    for (int i = 1; i < g->nnodes; i++) {
        const hn_node *n = &g->nodes[i];
        if (n->qslot < 0) continue;
        int si = n->qslot < sn->space->nqslots ? sn->slot[n->qslot] : -1;
        if (si < 0) return hn_error(HN_ERR_SHAPE, "layer '%s' (slot %d) has no twin in the supernet", n->name, n->qslot);
        const hn_node *s = &sg->nodes[si];
        hn_status st = fits(g, n, sg, s);
        if (st) return st;
        int in = n->groups > 1 ? 1 : g->nodes[n->inputs[0]].shape.c, k = n->op == HN_OP_LINEAR ? 1 : n->kernel;
        int sin = s->groups > 1 ? 1 : sg->nodes[s->inputs[0]].shape.c, sk = s->op == HN_OP_LINEAR ? 1 : s->kernel;
        int off = (sk - k) / 2; /* the kernel's centre */
        for (int o = 0; o < n->out; o++)         /* weight (out, in, k, k) inside (OUT, IN, K, K) */
            for (int c = 0; c < in; c++)
                for (int y = 0; y < k; y++)
                    run(g, sg, false, n->param_off + (((size_t)o * in + c) * k + y) * k,
                        s->param_off + (((size_t)o * sin + c) * sk + y + off) * sk + off, (size_t)k);
        size_t nw = (size_t)n->out * in * k * k, snw = (size_t)s->out * sin * sk * sk;
        if (n->bias) run(g, sg, false, n->param_off + nw, s->param_off + snw, (size_t)n->out);
        covered += n->nparams;
        int j = bn_after(g, i), sj = bn_after(sg, si);
        if ((j < 0) != (sj < 0))
            return hn_error(HN_ERR_SHAPE, "layer '%s': a batch norm follows it in one network and not the other", n->name);
        if (j >= 0) bn_slice(g, j, sg, sj, run), covered += g->nodes[j].nparams;
    }
    if (covered != g->nparams)
        return hn_error(HN_ERR_SHAPE, "supernet: %zu of the sub-network's %zu parameters belong to no slice", g->nparams - covered,
                        g->nparams);
    return HN_OK;
}

hn_status hn_supernet_extract(const hn_supernet *sn, hn_graph *g) { return walk(sn, g, run_gather); }
hn_status hn_supernet_add_grads(hn_supernet *sn, const hn_graph *g) { return walk(sn, (hn_graph *)g, run_add_grads); }
hn_status supernet_put_state(hn_supernet *sn, const hn_graph *g) { return walk(sn, (hn_graph *)g, run_put_state); }

/* ---- batch-norm recalibration ------------------------------------------------------------------------ */

hn_status hn_graph_recalibrate(hn_graph *g, const hn_dataset *d, int n, int batch) {
    if (n > d->n) n = d->n;
    if (batch > n) batch = n;
    if (n < 1 || batch < 1) return hn_error(HN_ERR_INVALID, "recalibration needs at least one image (got %d)", n);
    size_t sample = (size_t)d->c * d->h * d->w;
    float *x = hn_alloc(sizeof(float) * sample * (size_t)batch), *saved = hn_alloc(sizeof(float) * (size_t)g->nnodes);
    int32_t *y = hn_alloc(sizeof(int32_t) * (size_t)batch), *idx = hn_alloc(sizeof(int32_t) * (size_t)batch);
    hn_exec *e = NULL;
    hn_status st = !x || !saved || !y || !idx ? hn_error(HN_ERR_NOMEM, "recalibration") : HN_OK;
    /* the executor with gradients runs batch norm in training mode (an inference one folds it) */
    if (!st) st = hn_exec_new(g, batch, true, &e);
    for (int i = 0; !st && i < g->nnodes; i++) saved[i] = g->nodes[i].momentum;
    for (int b = 0, i = 0; !st && i < n; b++, i += batch) {
        int m = n - i < batch ? n - i : batch;
        /* momentum 1/(b+1): the running statistics become the average of the batches' */
        for (int j = 0; j < g->nnodes; j++)
            if (g->nodes[j].op == HN_OP_BATCHNORM) g->nodes[j].momentum = 1.0f / (float)(b + 1);
        for (int k = 0; k < m; k++) idx[k] = i + k;
        hn_dataset_batch(d, idx, m, NULL, NULL, x, y);
        st = hn_exec_forward(e, x, m, true);
    }
    if (saved && e)
        for (int i = 0; i < g->nnodes; i++) g->nodes[i].momentum = saved[i];
    hn_exec_free(e);
    hn_free(x), hn_free(saved), hn_free(y), hn_free(idx);
    return st;
}

/* ---- files ------------------------------------------------------------------------------------------ */

typedef struct {
    char magic[4];
    uint32_t version;
    char space[64];
    int32_t channels, classes, epochs_done, epochs_planned, started;
    uint64_t nparams, nstate;
} file_header;

hn_status hn_supernet_save(const hn_supernet *sn, const char *path) {
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    file_header h = {{'H', 'N', 'S', 'N'}, HN_SUPERNET_VERSION, {0}, sn->cfg.input.c, sn->cfg.classes,
                     sn->epochs_done, sn->epochs_planned, sn->opt.started, sn->g->nparams, sn->g->nstate};
    snprintf(h.space, sizeof h.space, "%s", sn->space->name);
    FILE *f = fopen(tmp, "wb");
    if (!f) return hn_error(HN_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    bool ok = fwrite(&h, sizeof h, 1, f) == 1 && fwrite(sn->g->params, sizeof(float), sn->g->nparams, f) == sn->g->nparams &&
              fwrite(sn->g->state, sizeof(float), sn->g->nstate, f) == sn->g->nstate &&
              fwrite(sn->opt.buf, sizeof(float), sn->g->nparams, f) == sn->g->nparams;
    ok = (fflush(f) == 0) & ok;
    ok = (fclose(f) == 0) & ok;
    if (!ok || rename(tmp, path)) {
        hn_status st = hn_error(HN_ERR_IO, "%s: cannot write: %s", ok ? path : tmp, strerror(errno));
        remove(tmp);
        return st;
    }
    return HN_OK;
}

hn_status hn_supernet_load(const char *path, const hn_space *space, const hn_space_config *cfg, hn_supernet **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return hn_error(HN_ERR_IO, "%s: cannot open the supernet: %s", path, strerror(errno));
    file_header h;
    hn_supernet *sn = NULL;
    const hn_space *arch = space->base ? space->base : space;
    hn_status st = HN_OK;
    if (fread(&h, sizeof h, 1, f) != 1 || memcmp(h.magic, "HNSN", 4))
        st = hn_error(HN_ERR_FORMAT, "%s: not a supernet file (no HNSN magic)", path);
    else if (h.version != HN_SUPERNET_VERSION)
        st = hn_error(HN_ERR_FORMAT, "%s: supernet file version %u, this hwnas reads version %d (train it again)", path,
                      h.version, HN_SUPERNET_VERSION);
    else if (h.space[sizeof h.space - 1] || strcmp(h.space, arch->name))
        st = hn_error(HN_ERR_INVALID, "%s: a supernet of space '%.63s', not of '%s'", path, h.space, arch->name);
    else if (h.channels != cfg->input.c || h.classes != cfg->classes)
        st = hn_error(HN_ERR_INVALID, "%s: a supernet for %d input channels and %d classes, not %d and %d", path, h.channels,
                      h.classes, cfg->input.c, cfg->classes);
    if (!st) st = hn_supernet_new(space, cfg, 0, &sn);
    if (!st && (h.nparams != sn->g->nparams || h.nstate != sn->g->nstate))
        st = hn_error(HN_ERR_FORMAT, "%s: holds %llu parameters and %llu statistics, the %s supernet has %zu and %zu", path,
                      (unsigned long long)h.nparams, (unsigned long long)h.nstate, arch->name, sn->g->nparams, sn->g->nstate);
    if (!st && (fread(sn->g->params, sizeof(float), sn->g->nparams, f) != sn->g->nparams ||
                fread(sn->g->state, sizeof(float), sn->g->nstate, f) != sn->g->nstate ||
                fread(sn->opt.buf, sizeof(float), sn->g->nparams, f) != sn->g->nparams || fgetc(f) != EOF))
        st = hn_error(HN_ERR_FORMAT, "%s: truncated or too long for its header", path);
    fclose(f);
    if (st) {
        hn_supernet_free(sn);
        return st;
    }
    sn->epochs_done = h.epochs_done, sn->epochs_planned = h.epochs_planned, sn->opt.started = h.started != 0;
    *out = sn;
    return HN_OK;
}
