/* Building graphs: nodes, shape inference, the parameter blocks, initialisation and counting. */
#include <stdio.h>
#include <limits.h>
#include <string.h>

#include "hwnas/graph.h"
#include "op.h"

const char *hn_op_name(hn_op op) { return op < HN_OP_COUNT ? hn_op_get(op)->name : "?"; }

hn_elementwise_fn hn_op_elementwise(hn_op op) { return op < HN_OP_COUNT ? hn_op_get(op)->map : NULL; }

hn_op hn_op_from_name(const char *name) {
    for (int op = 0; op < HN_OP_COUNT; op++)
        if (strcmp(hn_op_get((hn_op)op)->name, name) == 0) return (hn_op)op;
    return HN_OP_COUNT;
}

hn_node_spec hn_spec(hn_op op, int input) {
    hn_node_spec s;
    memset(&s, 0, sizeof s);
    s.op = op;
    s.ninputs = 1;
    s.inputs[0] = input;
    return s;
}

/* Feature maps are indexed with int: one sample's tensor holds at most INT_MAX elements (8 GB of
 * float), far beyond any device hwnas targets, and a flatten of it still fits. */
static bool too_large(hn_shape s) { return (int64_t)s.c * s.h * s.w > INT_MAX; }

hn_status hn_graph_new(hn_shape input, hn_graph **out) {
    *out = NULL;
    if (input.c <= 0 || input.h <= 0 || input.w <= 0)
        return hn_error(HN_ERR_SHAPE, "input shape %dx%dx%d: every dimension must be positive", input.c, input.h,
                        input.w);
    if (too_large(input))
        return hn_error(HN_ERR_SHAPE, "input shape %dx%dx%d: %lld elements, more than the %d one sample's tensor may hold",
                        input.c, input.h, input.w, (long long)input.c * input.h * input.w, INT_MAX);
    hn_graph *g = hn_calloc(sizeof *g);
    if (!g) return HN_ERR_NOMEM;
    g->arena = hn_arena_new();
    g->cap = 256; /* NAS-Bench-201 networks have about 200 nodes; slots are cleared when used */
    g->nodes = hn_alloc(sizeof(hn_node) * (size_t)g->cap);
    if (!g->arena || !g->nodes) {
        hn_graph_free(g);
        return HN_ERR_NOMEM;
    }
    hn_node *in = &g->nodes[0];
    memset(in, 0, sizeof *in);
    in->op = HN_OP_INPUT;
    strcpy(in->name, "input");
    in->shape = input;
    in->qslot = -1;
    g->nnodes = 1;
    *out = g;
    return HN_OK;
}

void hn_graph_free(hn_graph *g) {
    if (!g) return;
    hn_arena_free(g->arena);
    hn_free(g->nodes);
    hn_free(g);
}

hn_status hn_graph_add(hn_graph *g, const hn_node_spec *s, int *id) {
    HN_ASSERT(!g->finalized);
    if (s->op <= HN_OP_INPUT || s->op >= HN_OP_COUNT) return hn_error(HN_ERR_INVALID, "unknown op %d", (int)s->op);
    const hn_op_def *def = hn_op_get(s->op);
    /* the node as error messages name it; formatted only on an error (graphs are built in hot loops) */
    char label[160];
#define LABEL()                                                                                                \
    (s->name ? snprintf(label, sizeof label, "node '%s' (%s)", s->name, def->name)                            \
             : snprintf(label, sizeof label, "node %d (%s)", g->nnodes, def->name),                           \
     label)
    if (s->ninputs < def->min_inputs || s->ninputs > def->max_inputs)
        return hn_error(HN_ERR_INVALID, "%s: takes %d..%d inputs, got %d", LABEL(), def->min_inputs, def->max_inputs,
                        s->ninputs);
    for (int i = 0; i < s->ninputs; i++)
        if (s->inputs[i] < 0 || s->inputs[i] >= g->nnodes)
            return hn_error(HN_ERR_INVALID, "%s: input %d refers to node %d, which does not exist yet", LABEL(), i,
                            s->inputs[i]);
    if (s->name && strlen(s->name) >= HN_NAME_MAX)
        return hn_error(HN_ERR_INVALID, "%s: the name is longer than %d characters", LABEL(), HN_NAME_MAX - 1);
    if (s->name && hn_graph_find(g, s->name) >= 0)
        return hn_error(HN_ERR_INVALID, "%s: the name is already used by another node", LABEL());

    if (g->nnodes == g->cap) {
        hn_node *nodes = hn_alloc(sizeof(hn_node) * (size_t)g->cap * 2);
        if (!nodes) return HN_ERR_NOMEM;
        memcpy(nodes, g->nodes, sizeof(hn_node) * (size_t)g->cap);
        hn_free(g->nodes);
        g->nodes = nodes;
        g->cap *= 2;
    }
    /* built in place in the next free slot, which only counts once it is valid */
    hn_node *n = &g->nodes[g->nnodes];
    memset(n, 0, sizeof *n);
    n->op = s->op;
    n->ninputs = s->ninputs;
    memcpy(n->inputs, s->inputs, sizeof(int) * (size_t)s->ninputs);
    n->out = s->out;
    n->kernel = s->kernel;
    /* pooling defaults to non-overlapping windows (stride = kernel), as PyTorch does */
    bool pool = s->op == HN_OP_AVGPOOL || s->op == HN_OP_MAXPOOL;
    n->stride = s->stride > 0 ? s->stride : (pool && s->kernel > 0 ? s->kernel : 1);
    n->pad = s->pad;
    n->groups = s->groups > 0 ? s->groups : 1;
    n->heads = s->op == HN_OP_ATTENTION || s->op == HN_OP_LINEAR_ATTENTION ? (s->heads > 0 ? s->heads : 1) : 0;
    /* flags an op does not use are kept false, so equal networks have equal nodes */
    n->bias = s->bias && (s->op == HN_OP_CONV2D || s->op == HN_OP_LINEAR);
    n->count_include_pad = s->count_include_pad && s->op == HN_OP_AVGPOOL;
    n->eps = s->eps > 0 ? s->eps : 1e-5f;
    n->momentum = s->momentum > 0 ? s->momentum : 0.1f;
    n->qslot = -1;
    hn_status st = def->infer(g, n);
    if (st == HN_OK && too_large(n->shape))
        st = hn_error(HN_ERR_SHAPE, "output %dx%dx%d: %lld elements, more than the %d one sample's tensor may hold",
                      n->shape.c, n->shape.h, n->shape.w, (long long)n->shape.c * n->shape.h * n->shape.w, INT_MAX);
    if (st != HN_OK) return hn_error_prefix(st, "%s", LABEL());
#undef LABEL
    if (s->name) {
        strcpy(n->name, s->name);
    } else { /* "<op><index>" ("<op>_<index>" after a digit: relu6_3), without printf's cost */
        size_t len = strlen(def->name);
        char digits[12];
        int nd = 0;
        for (int v = g->nnodes; v > 0 || nd == 0; v /= 10) digits[nd++] = (char)('0' + v % 10);
        memcpy(n->name, def->name, len);
        if (def->name[len - 1] >= '0' && def->name[len - 1] <= '9') n->name[len++] = '_';
        for (int k = 0; k < nd; k++) n->name[len + k] = digits[nd - 1 - k];
        n->name[len + nd] = 0;
    }
    *id = g->nnodes++;
    return HN_OK;
}

void hn_graph_set_numtypes(hn_graph *g, hn_numtype w, hn_numtype a) {
    for (int i = 0; i < g->nnodes; i++) g->nodes[i].wtype = w, g->nodes[i].atype = a;
}

static bool has_weights(const hn_node *n) { return n->op == HN_OP_CONV2D || n->op == HN_OP_LINEAR; }

void hn_graph_propagate_numtypes(hn_graph *g) {
    for (int i = 1; i < g->nnodes; i++)
        if (has_weights(&g->nodes[i])) {
            g->nodes[0].atype = g->nodes[i].atype;
            break;
        }
    for (int i = 1; i < g->nnodes; i++) {
        hn_node *n = &g->nodes[i];
        if (has_weights(n)) continue;
        n->atype = g->nodes[n->inputs[0]].atype;
        for (int j = 1; j < n->ninputs; j++)
            if (hn_numtype_bits(g->nodes[n->inputs[j]].atype) > hn_numtype_bits(n->atype))
                n->atype = g->nodes[n->inputs[j]].atype;
    }
}

hn_status hn_graph_finalize(hn_graph *g) {
    HN_ASSERT(!g->finalized);
    if (g->nnodes < 2) return hn_error(HN_ERR_INVALID, "the network has no layers");
    size_t np = 0, ns = 0;
    for (int i = 0; i < g->nnodes; i++) {
        g->nodes[i].param_off = np;
        g->nodes[i].state_off = ns;
        np += g->nodes[i].nparams;
        ns += g->nodes[i].nstate;
    }
    g->nparams = np;
    g->nstate = ns;
    g->params = hn_arena_alloc(g->arena, (np ? np : 1) * sizeof(float));
    g->grads = hn_arena_alloc(g->arena, (np ? np : 1) * sizeof(float));
    g->state = hn_arena_alloc(g->arena, (ns ? ns : 1) * sizeof(float));
    if (!g->params || !g->grads || !g->state) return HN_ERR_NOMEM;
    g->finalized = true;
    return HN_OK;
}

void hn_graph_init_params(hn_graph *g, uint64_t seed) {
    HN_ASSERT(g->finalized);
    hn_rng r;
    hn_rng_seed(&r, seed, 0x9e3779b97f4a7c15ULL);
    for (int i = 1; i < g->nnodes; i++) {
        const hn_node *n = &g->nodes[i];
        const hn_op_def *d = hn_op_get(n->op);
        if (d->init) d->init(g, n, g->params + n->param_off, g->state + n->state_off, &r);
    }
}

int hn_graph_find(const hn_graph *g, const char *name) {
    for (int i = 0; i < g->nnodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0) return i;
    return -1;
}

int64_t hn_graph_param_count(const hn_graph *g) {
    int64_t n = 0;
    for (int i = 0; i < g->nnodes; i++) n += (int64_t)g->nodes[i].nparams;
    return n;
}

int64_t hn_node_macs(const hn_graph *g, int id) {
    const hn_op_def *d = hn_op_get(g->nodes[id].op);
    return d->macs ? d->macs(g, &g->nodes[id]) : 0;
}

int64_t hn_graph_macs(const hn_graph *g) {
    int64_t m = 0;
    for (int i = 1; i < g->nnodes; i++) m += hn_node_macs(g, i);
    return m;
}

int hn_node_params(const hn_graph *g, int id, hn_param_view views[4]) {
    const hn_node *n = &g->nodes[id];
    const hn_op_def *d = hn_op_get(n->op);
    if (!d->views || !g->finalized) return 0;
    int k = d->views(g, n, g->params + n->param_off, g->state + n->state_off, views);
    for (int i = 0; i < k; i++) {
        char full[sizeof views[i].name + 64];
        snprintf(full, sizeof full, "%s.%s", n->name, views[i].name);
        snprintf(views[i].name, sizeof views[i].name, "%.95s", full);
    }
    return k;
}

static bool is_weighted(hn_op op) { return op == HN_OP_CONV2D || op == HN_OP_LINEAR; }

hn_status hn_graph_fused(const hn_graph *g, bool *fused) {
    int *readers = hn_calloc(sizeof(int) * (size_t)g->nnodes);
    if (!readers) return hn_error_prefix(HN_ERR_NOMEM, "fusing a graph of %d nodes", g->nnodes);
    for (int i = 1; i < g->nnodes; i++)
        for (int j = 0; j < g->nodes[i].ninputs; j++) readers[g->nodes[i].inputs[j]]++;
    for (int i = 0; i < g->nnodes; i++) {
        const hn_node *n = &g->nodes[i];
        const hn_node *in = i ? &g->nodes[n->inputs[0]] : NULL;
        bool single = i && readers[n->inputs[0]] == 1;
        switch (n->op) {
        case HN_OP_INPUT:
        case HN_OP_FLATTEN:
        case HN_OP_IDENTITY: fused[i] = true; break;
        case HN_OP_BATCHNORM: fused[i] = single && is_weighted(in->op); break;
        case HN_OP_RELU:
        case HN_OP_RELU6:
            fused[i] = single && (is_weighted(in->op) || in->op == HN_OP_BATCHNORM || in->op == HN_OP_ADD);
            break;
        default: fused[i] = false;
        }
    }
    hn_free(readers);
    return HN_OK;
}

