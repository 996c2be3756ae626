/* Graph execution: buffers for a maximum batch, forward in node order, loss, backward in reverse.
 * See include/hwnas/exec.h for the channel-major activation layout. */
#include "hwnas/exec.h"

#include <math.h>
#include <string.h>

#include "op.h"

struct hn_exec {
    hn_graph *g;
    int max_batch;
    bool with_grad;
    float **act;    /* per node: (C, N, H, W) for N <= max_batch; may share memory (see plan_buffers) */
    float **grad;   /* per node: gradient of act; NULL where no gradient flows */
    void **aux;     /* per node: op-specific memory kept from forward to backward */
    float *scratch;
    size_t scratch_len; /* floats */
    bool *ancestor; /* node contributes to the output (so backward visits it) */
    bool (*acc)[HN_MAX_INPUTS]; /* per node and input: accumulate (another consumer wrote first) */
    int *fused;     /* per node: the relu/relu6 folded into it, or -1; that node is then skipped */
    int *folded;    /* per node (inference executors): the batch norm folded into it, or -1 */
    int *writes;    /* per node: the value its step writes (itself, or the last node folded into it) */
    int nfolded;
    float *post;    /* 2 x the widest folded layer: the folded batch norm's scale and shift */
    bool *skip;     /* per node: folded into its producer */
    int nbufs;
    float **bufs;   /* the distinct activation and gradient allocations */
    double *profile; /* per node (caller's, or NULL): seconds each node's forward step took */
    hn_exec_hook hook; /* called with each value a forward step writes (or NULL) */
    void *hook_user;
    int n;          /* batch of the last forward */
    bool forward_done, loss_done, last_training;
    size_t bytes;
};

static float *new_buf(hn_exec *e, size_t floats) {
    float *p = hn_calloc(sizeof(float) * (floats ? floats : 1));
    if (!p) return NULL;
    e->bufs[e->nbufs++] = p;
    e->bytes += sizeof(float) * floats;
    return p;
}

void hn_exec_free(hn_exec *e) {
    if (!e) return;
    for (int i = 0; e->aux && i < e->g->nnodes; i++) hn_free(e->aux[i]);
    for (int i = 0; i < e->nbufs; i++) hn_free(e->bufs[i]);
    hn_free(e->bufs);
    hn_free(e->act);
    hn_free(e->grad);
    hn_free(e->aux);
    hn_free(e->scratch);
    hn_free(e->ancestor);
    hn_free(e->acc);
    hn_free(e->fused);
    hn_free(e->folded);
    hn_free(e->writes);
    hn_free(e->post);
    hn_free(e->skip);
    hn_free(e);
}

/* Folds each relu/relu6 into its producer when the producer supports the epilogue and the
 * activation is its only consumer (and the producer is not the output). */
static hn_status plan_fusion(hn_exec *e) {
    const hn_graph *g = e->g;
    const int nn = g->nnodes;
    int *consumers = hn_calloc(sizeof(int) * nn), *consumer = hn_calloc(sizeof(int) * nn);
    if (!consumers || !consumer) {
        hn_free(consumers);
        hn_free(consumer);
        return HN_ERR_NOMEM;
    }
    for (int i = 0; i < nn; i++) e->fused[i] = e->folded[i] = -1;
    for (int i = 1; i < nn; i++)
        for (int j = 0; j < g->nodes[i].ninputs; j++) {
            consumers[g->nodes[i].inputs[j]]++;
            consumer[g->nodes[i].inputs[j]] = i;
        }
    for (int j = 1; j < nn; j++) {
        const hn_node *a = &g->nodes[j];
        if (a->op != HN_OP_RELU && a->op != HN_OP_RELU6) continue;
        int p = a->inputs[0];
        if (p > 0 && consumers[p] == 1 && hn_op_get(g->nodes[p].op)->can_fuse_act && e->fused[p] < 0) {
            e->fused[p] = j;
            e->skip[j] = true;
        }
    }
    /* inference: a batch norm is a per-channel affine map, folded into the layer before it */
    size_t widest = 0;
    for (int p = 1; p < nn && !e->with_grad; p++) {
        int b = consumer[p];
        if (consumers[p] != 1 || !hn_op_get(g->nodes[p].op)->can_fold_affine || g->nodes[b].op != HN_OP_BATCHNORM)
            continue;
        e->folded[p] = b;
        e->skip[b] = true;
        e->nfolded++;
        if ((size_t)g->nodes[b].shape.c > widest) widest = (size_t)g->nodes[b].shape.c;
    }
    for (int i = 0; i < nn; i++) {
        int v = e->folded[i] >= 0 ? e->folded[i] : i;
        e->writes[i] = e->fused[v] >= 0 ? e->fused[v] : v;
    }
    hn_free(consumers);
    hn_free(consumer);
    if (e->nfolded && !(e->post = hn_alloc(sizeof(float) * 2 * widest))) return HN_ERR_NOMEM;
    return HN_OK;
}

/* Activation buffers. With gradients, every value is kept for backward (a fused producer's own
 * output is never materialised: it writes its activation's value). Without, a buffer is reused as
 * soon as the last reader of its value has run, so inference at a large batch needs a few buffers
 * instead of one per node. No step reads a fused producer (its only consumer is the skipped
 * activation), so the readers of every value are the non-skipped steps that name it as an input. */
static hn_status plan_buffers(hn_exec *e) {
    const hn_graph *g = e->g;
    const int nn = g->nnodes;
    int *last = hn_alloc(sizeof(int) * nn), *owner = hn_alloc(sizeof(int) * nn);
    size_t *cap = hn_alloc(sizeof(size_t) * 2 * nn);
    bool *busy = hn_calloc(sizeof(bool) * 2 * nn);
    hn_status st = HN_OK;
    if (!last || !owner || !cap || !busy) {
        st = HN_ERR_NOMEM;
        goto done;
    }
    for (int i = 0; i < nn; i++) last[i] = -1, owner[i] = -1;
    for (int i = 1; i < nn; i++)
        for (int j = 0; j < g->nodes[i].ninputs && !e->skip[i]; j++)
            if (i > last[g->nodes[i].inputs[j]]) last[g->nodes[i].inputs[j]] = i;
    last[nn - 1] = nn; /* the output is read after the pass */
    for (int i = 0; i < nn; i++) {
        if (e->skip[i]) continue;
        int v = e->writes[i]; /* the value this step writes */
        size_t need = (size_t)e->max_batch * hn_shape_numel(g->nodes[v].shape);
        int b = -1;
        if (!e->with_grad) /* the smallest free buffer that fits */
            for (int k = 0; k < e->nbufs; k++)
                if (!busy[k] && cap[k] >= need && (b < 0 || cap[k] < cap[b])) b = k;
        if (b < 0) {
            if (!new_buf(e, need)) {
                st = HN_ERR_NOMEM;
                goto done;
            }
            b = e->nbufs - 1;
            cap[b] = need;
        }
        busy[b] = true;
        owner[v] = b;
        e->act[v] = e->bufs[b];
        if (e->with_grad) continue;
        for (int j = 0; i > 0 && j < g->nodes[i].ninputs; j++) { /* release values read for the last time */
            int u = g->nodes[i].inputs[j];
            if (last[u] == i) busy[owner[u]] = false;
        }
    }
done:
    hn_free(last);
    hn_free(owner);
    hn_free(cap);
    hn_free(busy);
    return st;
}

/* Gradient buffers, shared by liveness: backward runs in reverse, the gradient of a value is first
 * written by its last consumer and last read by its producer, so a chain needs about two buffers.
 * The output's gradient and the input's (for dx) get buffers of their own. */
static hn_status plan_grads(hn_exec *e) {
    const hn_graph *g = e->g;
    const int nn = g->nnodes;
    int *owner = hn_alloc(sizeof(int) * nn), first = e->nbufs;
    size_t *cap = hn_alloc(sizeof(size_t) * 2 * nn);
    bool *busy = hn_calloc(sizeof(bool) * 2 * nn);
    hn_status st = HN_OK;
    if (!owner || !cap || !busy) {
        st = HN_ERR_NOMEM;
        goto done;
    }
    for (int i = 0; i < nn; i++) owner[i] = -1;
    for (int i = nn; i >= 1; i--) {
        /* i == nn: before the pass, the output's gradient; else the inputs that step i writes */
        const hn_node *n = &g->nodes[i < nn ? i : 0];
        if (i < nn && (!e->ancestor[i] || e->skip[i])) continue;
        int count = i < nn ? n->ninputs : 1;
        for (int j = 0; j < count; j++) {
            int u = i < nn ? n->inputs[j] : nn - 1;
            if (e->grad[u]) continue;
            size_t need = (size_t)e->max_batch * hn_shape_numel(g->nodes[u].shape);
            int b = -1;
            for (int k = first; u != 0 && u != nn - 1 && k < e->nbufs; k++)
                if (!busy[k - first] && cap[k - first] >= need && (b < 0 || cap[k - first] < cap[b - first])) b = k;
            if (b < 0) {
                if (!new_buf(e, need)) {
                    st = HN_ERR_NOMEM;
                    goto done;
                }
                b = e->nbufs - 1;
                cap[b - first] = need;
            }
            busy[b - first] = true;
            owner[u] = b;
            e->grad[u] = e->bufs[b];
        }
        if (i == nn) continue;
        int v = e->writes[i]; /* step i read grad[v] for the last time */
        if (v != nn - 1 && owner[v] >= 0) busy[owner[v] - first] = false;
    }
done:
    hn_free(owner);
    hn_free(cap);
    hn_free(busy);
    return st;
}

hn_status hn_exec_new(hn_graph *g, int max_batch, bool with_grad, hn_exec **out) {
    *out = NULL;
    if (!g->finalized) return hn_error(HN_ERR_INVALID, "the graph must be finalized before it is executed");
    if (max_batch < 1) return hn_error(HN_ERR_INVALID, "batch size must be at least 1 (got %d)", max_batch);
    hn_exec *e = hn_calloc(sizeof *e);
    if (!e) return HN_ERR_NOMEM;
    e->g = g;
    e->max_batch = max_batch;
    e->with_grad = with_grad;
    const int nn = g->nnodes;
    e->act = hn_calloc(sizeof(float *) * nn);
    e->grad = hn_calloc(sizeof(float *) * nn);
    e->aux = hn_calloc(sizeof(void *) * nn);
    e->ancestor = hn_calloc(sizeof(bool) * nn);
    e->acc = hn_calloc(sizeof(*e->acc) * nn);
    e->fused = hn_alloc(sizeof(int) * nn);
    e->folded = hn_alloc(sizeof(int) * nn);
    e->writes = hn_alloc(sizeof(int) * nn);
    e->skip = hn_calloc(sizeof(bool) * nn);
    e->bufs = hn_calloc(sizeof(float *) * 3 * nn);
    if (!e->act || !e->grad || !e->aux || !e->ancestor || !e->acc || !e->fused || !e->folded || !e->writes || !e->skip ||
        !e->bufs)
        goto nomem;
    if (plan_fusion(e) || plan_buffers(e)) goto nomem;

    /* which nodes feed the output, and in which order their consumers write their gradients */
    bool *seen = hn_calloc(sizeof(bool) * nn);
    if (!seen) goto nomem;
    e->ancestor[nn - 1] = true;
    for (int i = nn - 1; i >= 1; i--) {
        if (!e->ancestor[i]) continue;
        const hn_node *n = &g->nodes[i];
        for (int j = 0; j < n->ninputs; j++) {
            int src = n->inputs[j];
            e->ancestor[src] = true;
            e->acc[i][j] = seen[src];
            seen[src] = true;
        }
    }
    hn_free(seen);
    if (with_grad && plan_grads(e)) goto nomem;

    size_t scratch = 0;
    for (int i = 0; i < nn; i++) {
        const hn_node *n = &g->nodes[i];
        const hn_op_def *d = hn_op_get(n->op);
        size_t ab = d->aux_bytes ? d->aux_bytes(g, n, max_batch, with_grad) : 0;
        if (ab && !(e->aux[i] = hn_calloc(ab))) goto nomem;
        e->bytes += ab;
        if (d->scratch_floats) {
            size_t s = d->scratch_floats(g, n, max_batch);
            if (s > scratch) scratch = s;
        }
    }
    if (!(e->scratch = hn_calloc(sizeof(float) * (scratch ? scratch : 1)))) goto nomem;
    e->scratch_len = scratch;
    e->bytes += sizeof(float) * scratch;
    *out = e;
    return HN_OK;
nomem:
    hn_exec_free(e);
    return hn_error_prefix(HN_ERR_NOMEM, "allocating an executor for batch %d", max_batch);
}

size_t hn_exec_bytes(const hn_exec *e) { return e->bytes; }

/* (N, C, HW) <-> (C, N, HW) */
static void to_channel_major(const float *src, float *dst, int N, int C, int HW) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < C; c++)
        for (int n = 0; n < N; n++)
            memcpy(dst + ((size_t)c * N + n) * HW, src + ((size_t)n * C + c) * HW, sizeof(float) * HW);
}

static void to_batch_major(const float *src, float *dst, int N, int C, int HW) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            memcpy(dst + ((size_t)n * C + c) * HW, src + ((size_t)c * N + n) * HW, sizeof(float) * HW);
}

static hn_op_ctx make_ctx(const hn_exec *e, int i) {
    const hn_graph *g = e->g;
    const hn_node *n = &g->nodes[i];
    hn_op_ctx c;
    memset(&c, 0, sizeof c);
    c.g = g;
    c.node = n;
    c.n = e->n;
    c.training = e->last_training;
    for (int j = 0; j < n->ninputs; j++) c.in[j] = e->act[n->inputs[j]];
    const int v = e->writes[i];
    c.out = e->act[v];
    if (v != i && (g->nodes[v].op == HN_OP_RELU || g->nodes[v].op == HN_OP_RELU6))
        c.act_hi = g->nodes[v].op == HN_OP_RELU6 ? 6.0f : __builtin_inff();
    if (e->folded[i] >= 0) {
        c.post_scale = e->post;
        c.post_shift = e->post + g->nodes[e->folded[i]].shape.c;
    }
    c.w = g->params + n->param_off;
    c.dw = g->grads + n->param_off;
    c.state = g->state + n->state_off;
    c.aux = e->aux[i];
    c.scratch = e->scratch;
    c.scratch_len = e->scratch_len;
    return c;
}

/* e->post <- scale and shift of batch norm b in inference mode: y = x * scale + shift */
static void fold_batchnorm(hn_exec *e, int b) {
    const hn_node *n = &e->g->nodes[b];
    const int C = n->shape.c;
    const float *gamma = e->g->params + n->param_off, *beta = gamma + C;
    const float *mean = e->g->state + n->state_off, *var = mean + C;
    for (int c = 0; c < C; c++) {
        float scale = gamma[c] * (1.0f / sqrtf(var[c] + n->eps)); /* as op_batchnorm.c computes it */
        e->post[c] = scale;
        e->post[C + c] = beta[c] - mean[c] * scale;
    }
}

hn_status hn_exec_forward(hn_exec *e, const float *x, int n, bool training) {
    if (n < 1 || n > e->max_batch)
        return hn_error(HN_ERR_INVALID, "batch of %d samples does not fit an executor for up to %d", n, e->max_batch);
    if (training && e->nfolded)
        return hn_error(HN_ERR_INVALID, "batch statistics need an executor created with gradients (this one folds "
                                        "batch norm into the layers before it, for inference)");
    const hn_graph *g = e->g;
    hn_shape in = g->nodes[0].shape;
    e->n = n;
    e->last_training = training;
    double t0 = e->profile ? hn_now() : 0;
    to_channel_major(x, e->act[0], n, in.c, in.h * in.w);
    if (e->hook) e->hook(e->hook_user, 0, e->act[0], (size_t)n * hn_shape_numel(in));
    for (int i = 1; i < g->nnodes; i++) {
        if (e->profile) {
            double t = hn_now();
            e->profile[i - 1] = t - t0, t0 = t;
        }
        if (e->skip[i]) continue;
        if (e->folded[i] >= 0) fold_batchnorm(e, e->folded[i]);
        hn_op_ctx c = make_ctx(e, i);
        hn_op_get(g->nodes[i].op)->forward(&c);
        int v = e->writes[i];
        if (e->hook) e->hook(e->hook_user, v, e->act[v], (size_t)n * hn_shape_numel(g->nodes[v].shape));
    }
    if (e->profile) e->profile[g->nnodes - 1] = hn_now() - t0;
    e->forward_done = true;
    e->loss_done = false;
    return HN_OK;
}

void hn_exec_profile(hn_exec *e, double *seconds) { e->profile = seconds; }

void hn_exec_set_hook(hn_exec *e, hn_exec_hook hook, void *user) { e->hook = hook, e->hook_user = user; }

void hn_exec_output(const hn_exec *e, float *dst) {
    HN_ASSERT(e->forward_done);
    hn_shape s = e->g->nodes[e->g->nnodes - 1].shape;
    to_batch_major(e->act[e->g->nnodes - 1], dst, e->n, s.c, s.h * s.w);
}

hn_status hn_exec_value(const hn_exec *e, int id, float *dst) {
    const hn_graph *g = e->g;
    if (!e->forward_done) return hn_error(HN_ERR_INVALID, "reading a value before any forward pass");
    if (id < 0 || id >= g->nnodes) return hn_error(HN_ERR_INVALID, "no node %d (the graph has %d)", id, g->nnodes);
    if (!e->with_grad || !e->act[id])
        return hn_error(HN_ERR_INVALID, "node %s's output is not kept (%s)", g->nodes[id].name,
                        e->with_grad ? "its activation is fused into it" : "an inference executor reuses buffers");
    hn_shape s = g->nodes[id].shape;
    to_batch_major(e->act[id], dst, e->n, s.c, s.h * s.w);
    return HN_OK;
}

hn_status hn_exec_loss(hn_exec *e, const int32_t *labels, float smoothing, float *loss, int *correct) {
    HN_ASSERT(e->forward_done);
    const hn_graph *g = e->g;
    hn_shape s = g->nodes[g->nnodes - 1].shape;
    if (s.h != 1 || s.w != 1)
        return hn_error(HN_ERR_SHAPE, "the network's output is %dx%dx%d; a classifier must end in a flat (K) output",
                        s.c, s.h, s.w);
    const int K = s.c, N = e->n;
    for (int b = 0; b < N; b++)
        if (labels[b] < 0 || labels[b] >= K)
            return hn_error(HN_ERR_INVALID, "label %d of sample %d is outside the network's %d classes", labels[b], b, K);
    const float *z = e->act[g->nnodes - 1]; /* (K, N) */
    float *dz = e->with_grad ? e->grad[g->nnodes - 1] : NULL;
    double total = 0;
    int ok = 0;
    for (int b = 0; b < N; b++) {
        float mx = z[b];
        int arg = 0;
        for (int k = 1; k < K; k++)
            if (z[k * N + b] > mx) mx = z[k * N + b], arg = k;
        double se = 0, zsum = 0;
        for (int k = 0; k < K; k++) {
            se += exp((double)(z[k * N + b] - mx));
            zsum += z[k * N + b];
        }
        double lse = mx + log(se);
        /* -sum_k t_k log p_k with t = (1-eps) onehot + eps/K */
        total += (1.0 - smoothing) * (lse - z[labels[b] * N + b]) + smoothing * (lse - zsum / K);
        ok += arg == labels[b];
        if (dz)
            for (int k = 0; k < K; k++) {
                double p = exp((double)(z[k * N + b]) - lse);
                double t = smoothing / K + (k == labels[b] ? 1.0 - smoothing : 0.0);
                dz[k * N + b] = (float)((p - t) / N);
            }
    }
    if (loss) *loss = (float)(total / N);
    if (correct) *correct = ok;
    e->loss_done = dz != NULL;
    return HN_OK;
}

hn_status hn_exec_backward(hn_exec *e, const float *dout, float *dx) {
    hn_graph *g = e->g;
    if (!e->with_grad) return hn_error(HN_ERR_INVALID, "backward on an executor created without gradients");
    if (!e->forward_done) return hn_error(HN_ERR_INVALID, "backward before forward");
    hn_shape os = g->nodes[g->nnodes - 1].shape, is = g->nodes[0].shape;
    if (dout)
        to_channel_major(dout, e->grad[g->nnodes - 1], e->n, os.c, os.h * os.w);
    else if (!e->loss_done)
        return hn_error(HN_ERR_INVALID, "backward needs an output gradient or a loss computed after the last forward");
    for (int i = g->nnodes - 1; i >= 1; i--) {
        const hn_node *n = &g->nodes[i];
        if (!e->ancestor[i]) {
            memset(g->grads + n->param_off, 0, sizeof(float) * n->nparams);
            continue;
        }
        if (e->skip[i]) continue; /* its producer applies the activation's gradient */
        hn_op_ctx c = make_ctx(e, i);
        c.dout = e->grad[e->fused[i] >= 0 ? e->fused[i] : i];
        for (int j = 0; j < n->ninputs; j++) {
            int src = n->inputs[j];
            c.din[j] = (src == 0 && !dx) ? NULL : e->grad[src];
            c.din_acc[j] = e->acc[i][j];
        }
        hn_op_get(n->op)->backward(&c);
    }
    if (dx && e->ancestor[0])
        to_batch_major(e->grad[0], dx, e->n, is.c, is.h * is.w);
    else if (dx) /* the output does not depend on the input (e.g. a graph of zero ops) */
        memset(dx, 0, sizeof(float) * e->n * hn_shape_numel(is));
    return HN_OK;
}
