/* Every op: finite-difference gradient checks (input and parameters, odd shapes included), tiny
 * hand-computed cases, shape-inference errors, and allocation failures. */
#include "check.h"
#include "hwnas/exec.h"

/* ---- finite differences ---------------------------------------------------------------------
 * loss = sum(output * R) for a fixed random R, in double. Central differences with step H; inputs of
 * ops with kinks (relu, relu6, maxpool) are chosen at least 0.1 away from every kink and tie, so the
 * step never crosses one. Tolerance |num - ana| <= 4e-3 + 4e-3 |ana|: the float32 forward pass gives
 * the loss ~1e-6 relative error, i.e. ~5e-5 after dividing by 2H, and the truncation error of central
 * differences is O(H^2) ~ 1e-4; a wrong gradient is off by O(1). */
enum { MAXN = 4096 };
static const float H = 1e-2f;

typedef enum { X_NORMAL, X_AWAY_FROM_KINKS } x_kind;

static double loss_at(hn_exec *e, const float *x, int n, bool training, const float *R, size_t out_len, float *out) {
    hn_exec_forward(e, x, n, training);
    hn_exec_output(e, out);
    double s = 0;
    for (size_t i = 0; i < out_len; i++) s += (double)out[i] * R[i];
    return s;
}

static void fill_x(float *x, size_t len, x_kind kind, hn_rng *r) {
    for (size_t i = 0; i < len; i++) x[i] = hn_rng_normal(r);
    if (kind == X_AWAY_FROM_KINKS) {
        /* distinct values 0.25 k - 3.1, shuffled: no ties, nothing within 0.1 of 0 or 6 */
        int32_t *perm = malloc(sizeof(int32_t) * len);
        for (size_t i = 0; i < len; i++) perm[i] = (int32_t)i;
        hn_rng_shuffle(r, perm, (int64_t)len);
        for (size_t i = 0; i < len; i++) x[i] = 0.25f * (float)perm[i] - 3.1f;
        free(perm);
    }
}

/* Checks d loss / d input and d loss / d params of g (finalized) at random points. */
static void grad_check(const char *label, hn_graph *g, int n, bool training, x_kind kind) {
    hn_rng r;
    hn_rng_seed(&r, 42, 1);
    hn_graph_init_params(g, 7);
    for (size_t i = 0; i < g->nparams; i++) g->params[i] += 0.1f * hn_rng_normal(&r); /* e.g. non-trivial BN gamma */
    for (size_t i = 0; i < g->nstate; i++) g->state[i] = 0.5f + hn_rng_uniform(&r); /* running mean / var > 0 */
    hn_shape is = g->nodes[0].shape, os = g->nodes[g->nnodes - 1].shape;
    size_t in_len = (size_t)n * is.c * is.h * is.w, out_len = (size_t)n * os.c * os.h * os.w;
    HN_ASSERT(in_len <= MAXN && out_len <= MAXN);
    static float x[MAXN], R[MAXN], dx[MAXN], out[MAXN], saved_state[MAXN];
    float *ana_w = malloc(sizeof(float) * (g->nparams + 1));
    fill_x(x, in_len, kind, &r);
    for (size_t i = 0; i < out_len; i++) R[i] = hn_rng_normal(&r);
    memcpy(saved_state, g->state, sizeof(float) * g->nstate);
    hn_exec *e = NULL;
    CHECK_OK(hn_exec_new(g, n, true, &e));
    if (!e) return;
    CHECK_OK(hn_exec_forward(e, x, n, training));
    CHECK_OK(hn_exec_backward(e, R, dx));
    memcpy(ana_w, g->grads, sizeof(float) * g->nparams);
    int bad = 0;
    double worst = 0;
    /* every input element (they are few) */
    for (size_t i = 0; i < in_len; i++) {
        float keep = x[i];
        x[i] = keep + H;
        double lp = loss_at(e, x, n, training, R, out_len, out);
        x[i] = keep - H;
        double lm = loss_at(e, x, n, training, R, out_len, out);
        x[i] = keep;
        double num = (lp - lm) / (2 * H), err = fabs(num - dx[i]) - 4e-3 * fabs(dx[i]);
        if (err > 4e-3 && bad++ < 3) fprintf(stderr, "%s: dx[%zu] analytic %g numeric %g\n", label, i, dx[i], num);
        worst = fmax(worst, err);
    }
    for (size_t i = 0; i < g->nparams; i++) {
        float keep = g->params[i];
        g->params[i] = keep + H;
        double lp = loss_at(e, x, n, training, R, out_len, out);
        g->params[i] = keep - H;
        double lm = loss_at(e, x, n, training, R, out_len, out);
        g->params[i] = keep;
        double num = (lp - lm) / (2 * H), err = fabs(num - ana_w[i]) - 4e-3 * fabs(ana_w[i]);
        if (err > 4e-3 && bad++ < 6) fprintf(stderr, "%s: dparam[%zu] analytic %g numeric %g\n", label, i, ana_w[i], num);
        worst = fmax(worst, err);
    }
    CHECK_MSG(bad == 0, "%s: %d gradients disagree with finite differences", label, bad);
    /* the check must have seen a non-zero gradient somewhere, or it proves nothing */
    double mag = 0;
    for (size_t i = 0; i < in_len; i++) mag = fmax(mag, fabs(dx[i]));
    for (size_t i = 0; i < g->nparams; i++) mag = fmax(mag, fabs(ana_w[i]));
    CHECK_MSG(mag > 1e-3 || strstr(label, "zero"), "%s: all gradients are zero", label);
    free(ana_w);
    hn_exec_free(e);
}

/* A graph input(c,h,w) -> spec (with input 0 replaced by the previous node). */
static hn_graph *chain(hn_shape in, const hn_node_spec *specs, int count) {
    hn_graph *g = NULL;
    CHECK_OK(hn_graph_new(in, &g));
    int prev = 0;
    for (int i = 0; i < count; i++) {
        hn_node_spec s = specs[i];
        if (s.ninputs == 0) s.ninputs = 1;
        if (s.ninputs == 1 && s.inputs[0] == -1) s.inputs[0] = prev;
        CHECK_OK(hn_graph_add(g, &s, &prev));
    }
    CHECK_OK(hn_graph_finalize(g));
    return g;
}

static hn_node_spec conv(int out, int k, int s, int p, int groups, bool bias) {
    hn_node_spec c = hn_spec(HN_OP_CONV2D, -1);
    c.out = out, c.kernel = k, c.stride = s, c.pad = p, c.groups = groups, c.bias = bias;
    return c;
}

static hn_node_spec pool(hn_op op, int k, int s, int p, bool include_pad) {
    hn_node_spec c = hn_spec(op, -1);
    c.kernel = k, c.stride = s, c.pad = p, c.count_include_pad = include_pad;
    return c;
}

static void one(const char *label, hn_shape in, hn_node_spec s, int n, bool training, x_kind kind) {
    hn_graph *g = chain(in, &s, 1);
    grad_check(label, g, n, training, kind);
    hn_graph_free(g);
}

static void gradient_checks(void) {
    one("conv 3x3 s1 p1 bias", (hn_shape){2, 5, 5}, conv(3, 3, 1, 1, 1, true), 2, true, X_NORMAL);
    one("conv 3x3 s2 p2 odd input", (hn_shape){3, 7, 7}, conv(4, 3, 2, 2, 1, false), 2, true, X_NORMAL);
    one("conv 5x5 s2 p1 non-square", (hn_shape){2, 6, 9}, conv(3, 5, 2, 1, 1, true), 2, true, X_NORMAL);
    /* the fast unfoldings: stride 2 on even inputs (phase planes), and "same" stride 1 */
    one("conv 3x3 s2 p1 even (phases)", (hn_shape){3, 6, 8}, conv(4, 3, 2, 1, 1, true), 2, true, X_NORMAL);
    one("conv 5x5 s2 p2 even (phases)", (hn_shape){2, 8, 6}, conv(3, 5, 2, 2, 1, false), 2, true, X_NORMAL);
    one("conv 2x2 s2 p0 even (phases)", (hn_shape){2, 4, 4}, conv(3, 2, 2, 0, 1, false), 3, true, X_NORMAL);
    one("conv 3x3 s2 p1 groups 2 (phases)", (hn_shape){4, 4, 6}, conv(6, 3, 2, 1, 2, false), 2, true, X_NORMAL);
    one("conv 5x5 s1 p2 same, non-square", (hn_shape){2, 5, 7}, conv(3, 5, 1, 2, 1, true), 2, true, X_NORMAL);
    one("conv groups 2 (4->6)", (hn_shape){4, 5, 5}, conv(6, 3, 1, 1, 2, true), 2, true, X_NORMAL);
    one("conv depthwise s2", (hn_shape){4, 7, 7}, conv(4, 3, 2, 1, 4, false), 2, true, X_NORMAL);
    one("conv depthwise 5x5 p2 bias", (hn_shape){3, 6, 5}, conv(3, 5, 1, 2, 3, true), 2, true, X_NORMAL);
    one("conv depthwise 7x7 s2 p3 even", (hn_shape){3, 8, 6}, conv(3, 7, 2, 3, 3, false), 2, true, X_NORMAL);
    one("conv depthwise 3x3 p0 valid", (hn_shape){2, 5, 6}, conv(2, 3, 1, 0, 2, false), 2, true, X_NORMAL);
    one("conv depthwise multiplier 2", (hn_shape){3, 5, 5}, conv(6, 3, 1, 1, 3, false), 2, true, X_NORMAL);
    /* depthwise.c takes 32 planes (channel-major, images within) a block, cut from each thread's first
     * plane: 21 channels x 3 images are 30 + 33 planes on two threads, so channel 20's planes straddle
     * two blocks and the last block is short; 40 images of a channel fill more than one block. */
    one("conv depthwise planes straddle blocks", (hn_shape){21, 4, 3}, conv(21, 3, 1, 1, 21, true), 3, true, X_NORMAL);
    one("conv depthwise 5x5 s2, 40 images", (hn_shape){2, 5, 4}, conv(2, 5, 2, 2, 2, false), 40, true,
        X_NORMAL);
    hn_set_threads(1);
    one("conv depthwise straddle, 1 thread", (hn_shape){21, 4, 3}, conv(21, 3, 2, 1, 21, false), 3, true, X_NORMAL);
    hn_set_threads(2);
    one("conv 1x1", (hn_shape){4, 3, 5}, conv(3, 1, 1, 0, 1, false), 3, true, X_NORMAL);
    one("conv 1x1 stride 2", (hn_shape){4, 5, 5}, conv(3, 1, 2, 0, 1, true), 2, true, X_NORMAL);
    one("batchnorm train", (hn_shape){3, 4, 3}, hn_spec(HN_OP_BATCHNORM, -1), 3, true, X_NORMAL);
    one("batchnorm eval", (hn_shape){3, 4, 3}, hn_spec(HN_OP_BATCHNORM, -1), 3, false, X_NORMAL);
    one("relu", (hn_shape){2, 3, 5}, hn_spec(HN_OP_RELU, -1), 2, true, X_AWAY_FROM_KINKS);
    one("relu6", (hn_shape){2, 3, 5}, hn_spec(HN_OP_RELU6, -1), 2, true, X_AWAY_FROM_KINKS); /* values up to 11.6 */
    one("avgpool 3 s2 p1 include pad", (hn_shape){2, 5, 7}, pool(HN_OP_AVGPOOL, 3, 2, 1, true), 2, true, X_NORMAL);
    one("avgpool 3 s2 p1 exclude pad", (hn_shape){2, 5, 7}, pool(HN_OP_AVGPOOL, 3, 2, 1, false), 2, true, X_NORMAL);
    /* stride 1: the interior is summed along row segments, the border window by window */
    one("avgpool 3 s1 p1 exclude pad (NB201)", (hn_shape){2, 5, 7}, pool(HN_OP_AVGPOOL, 3, 1, 1, false), 2, true, X_NORMAL);
    one("avgpool 3 s1 p1 include pad", (hn_shape){2, 6, 5}, pool(HN_OP_AVGPOOL, 3, 1, 1, true), 2, true, X_NORMAL);
    one("avgpool 3 s1 p0", (hn_shape){2, 5, 6}, pool(HN_OP_AVGPOOL, 3, 1, 0, true), 2, true, X_NORMAL);
    one("avgpool 5 s1 p2 all border", (hn_shape){2, 6, 4}, pool(HN_OP_AVGPOOL, 5, 1, 2, false), 2, true, X_NORMAL);
    one("avgpool 2 default stride", (hn_shape){2, 5, 4}, pool(HN_OP_AVGPOOL, 2, 0, 0, true), 2, true, X_NORMAL);
    one("maxpool 3 s2 p1", (hn_shape){2, 7, 7}, pool(HN_OP_MAXPOOL, 3, 2, 1, false), 2, true, X_AWAY_FROM_KINKS);
    one("maxpool 2 s1", (hn_shape){2, 4, 5}, pool(HN_OP_MAXPOOL, 2, 1, 0, false), 2, true, X_AWAY_FROM_KINKS);
    one("global_avgpool", (hn_shape){3, 3, 5}, hn_spec(HN_OP_GLOBAL_AVGPOOL, -1), 2, true, X_NORMAL);
    one("flatten", (hn_shape){3, 2, 4}, hn_spec(HN_OP_FLATTEN, -1), 3, true, X_NORMAL);
    one("identity", (hn_shape){3, 2, 4}, hn_spec(HN_OP_IDENTITY, -1), 2, true, X_NORMAL);
    {
        hn_node_spec s[2] = {hn_spec(HN_OP_FLATTEN, -1), hn_spec(HN_OP_LINEAR, -1)};
        s[1].out = 5, s[1].bias = true;
        hn_graph *g = chain((hn_shape){3, 2, 2}, s, 2);
        grad_check("flatten + linear", g, 3, true, X_NORMAL);
        hn_graph_free(g);
    }
    { /* add and concat with the same tensor used twice (gradient accumulation), and zero */
        hn_graph *g = NULL;
        int c1, z, a, cat, id;
        CHECK_OK(hn_graph_new((hn_shape){2, 4, 4}, &g));
        hn_node_spec s = conv(3, 3, 1, 1, 1, true);
        s.inputs[0] = 0;
        CHECK_OK(hn_graph_add(g, &s, &c1));
        hn_node_spec zs = hn_spec(HN_OP_ZERO, c1);
        CHECK_OK(hn_graph_add(g, &zs, &z));
        hn_node_spec as = hn_spec(HN_OP_ADD, c1);
        as.ninputs = 3, as.inputs[1] = c1, as.inputs[2] = z;
        CHECK_OK(hn_graph_add(g, &as, &a));
        hn_node_spec is = hn_spec(HN_OP_IDENTITY, 0);
        CHECK_OK(hn_graph_add(g, &is, &id));
        hn_node_spec cs = hn_spec(HN_OP_CONCAT, a);
        cs.ninputs = 3, cs.inputs[1] = id, cs.inputs[2] = c1;
        CHECK_OK(hn_graph_add(g, &cs, &cat));
        CHECK_OK(hn_graph_finalize(g));
        grad_check("add + concat + zero + identity", g, 2, true, X_NORMAL);
        hn_graph_free(g);
    }
    one("zero alone", (hn_shape){2, 3, 3}, hn_spec(HN_OP_ZERO, -1), 2, true, X_NORMAL);
    /* attention and its parts (issue 20) */
    one("layernorm", (hn_shape){5, 3, 2}, hn_spec(HN_OP_LAYERNORM, -1), 3, true, X_NORMAL);
    one("layernorm, over 256 tokens a block", (hn_shape){6, 10, 13}, hn_spec(HN_OP_LAYERNORM, -1), 2, true, X_NORMAL);
    one("gelu", (hn_shape){2, 3, 5}, hn_spec(HN_OP_GELU, -1), 2, true, X_NORMAL);
    one("hardswish", (hn_shape){2, 3, 5}, hn_spec(HN_OP_HARDSWISH, -1), 2, true, X_AWAY_FROM_KINKS);
    one("softmax", (hn_shape){4, 2, 3}, hn_spec(HN_OP_SOFTMAX, -1), 3, true, X_NORMAL);
    hn_node_spec at = hn_spec(HN_OP_ATTENTION, -1);
    at.heads = 2;
    one("attention, 2 heads", (hn_shape){12, 3, 2}, at, 2, true, X_NORMAL);
    at.heads = 1;
    one("attention, 1 head, 1 token", (hn_shape){6, 1, 1}, at, 3, true, X_NORMAL);
    at.heads = 3;
    one("attention, 3 heads, 10 tokens", (hn_shape){9, 2, 5}, at, 2, true, X_NORMAL);
    hn_node_spec la = hn_spec(HN_OP_LINEAR_ATTENTION, -1); /* ReLU kernels: inputs away from 0 */
    la.heads = 2;
    one("linear attention, 2 heads", (hn_shape){12, 3, 2}, la, 2, true, X_AWAY_FROM_KINKS);
    la.heads = 1;
    one("linear attention, 1 head, 2 tokens", (hn_shape){6, 1, 2}, la, 3, true, X_AWAY_FROM_KINKS);
    la.heads = 3;
    one("linear attention, 3 heads, 10 tokens", (hn_shape){9, 2, 5}, la, 2, true, X_AWAY_FROM_KINKS);
    for (int kind = 0; kind < 2; kind++) { /* in its block: layer norm, a 1x1 conv for Q, K, V, attention,
                                              a projection, the residual */
        hn_graph *g = NULL;
        int ln, qkv, att, proj, sum;
        CHECK_OK(hn_graph_new((hn_shape){4, 3, 3}, &g));
        hn_node_spec s = hn_spec(HN_OP_LAYERNORM, 0);
        CHECK_OK(hn_graph_add(g, &s, &ln));
        s = conv(12, 1, 1, 0, 1, true), s.inputs[0] = ln;
        CHECK_OK(hn_graph_add(g, &s, &qkv));
        s = hn_spec(kind ? HN_OP_LINEAR_ATTENTION : HN_OP_ATTENTION, qkv), s.heads = 2;
        CHECK_OK(hn_graph_add(g, &s, &att));
        s = conv(4, 1, 1, 0, 1, true), s.inputs[0] = att;
        CHECK_OK(hn_graph_add(g, &s, &proj));
        s = hn_spec(HN_OP_ADD, proj), s.ninputs = 2, s.inputs[1] = 0;
        CHECK_OK(hn_graph_add(g, &s, &sum));
        CHECK_OK(hn_graph_finalize(g));
        grad_check(kind ? "transformer block (ln, qkv, linear attention, proj, residual)"
                        : "transformer block (ln, qkv, attention, proj, residual)",
                   g, 2, true, kind ? X_AWAY_FROM_KINKS : X_NORMAL);
        hn_graph_free(g);
    }
}

/* softmax cross-entropy with label smoothing: d loss / d logits against finite differences */
static void loss_check(void) {
    hn_graph *g = chain((hn_shape){5, 1, 1}, (hn_node_spec[]){hn_spec(HN_OP_IDENTITY, -1)}, 1);
    hn_exec *e = NULL;
    CHECK_OK(hn_exec_new(g, 3, true, &e));
    float x[15], dx[15];
    int32_t y[3] = {4, 0, 2};
    hn_rng r;
    hn_rng_seed(&r, 3, 3);
    for (int i = 0; i < 15; i++) x[i] = 2 * hn_rng_normal(&r);
    for (int ls = 0; ls < 2; ls++) {
        float eps = ls ? 0.2f : 0.0f, loss;
        CHECK_OK(hn_exec_forward(e, x, 3, true));
        CHECK_OK(hn_exec_loss(e, y, eps, &loss, NULL));
        CHECK_OK(hn_exec_backward(e, NULL, dx));
        for (int i = 0; i < 15; i++) {
            float keep = x[i], lp, lm;
            x[i] = keep + 1e-2f;
            hn_exec_forward(e, x, 3, true);
            hn_exec_loss(e, y, eps, &lp, NULL);
            x[i] = keep - 1e-2f;
            hn_exec_forward(e, x, 3, true);
            hn_exec_loss(e, y, eps, &lm, NULL);
            x[i] = keep;
            CHECK_NEAR((lp - lm) / 2e-2, dx[i], 2e-3);
        }
    }
    /* hand-computed: logits (0, ln 3) for label 1 -> p = (1/4, 3/4), loss = ln(4/3) */
    float z[2] = {0, logf(3)};
    int32_t lab = 1;
    float loss;
    int correct;
    hn_exec_free(e);
    hn_graph_free(g);
    g = chain((hn_shape){2, 1, 1}, (hn_node_spec[]){hn_spec(HN_OP_IDENTITY, -1)}, 1);
    CHECK_OK(hn_exec_new(g, 1, true, &e));
    CHECK_OK(hn_exec_forward(e, z, 1, true));
    CHECK_OK(hn_exec_loss(e, &lab, 0, &loss, &correct));
    CHECK_NEAR(loss, log(4.0 / 3.0), 1e-6);
    CHECK(correct == 1);
    lab = 2;
    CHECK_ERR(hn_exec_loss(e, &lab, 0, &loss, NULL), HN_ERR_INVALID, "label 2");
    hn_exec_free(e);
    hn_graph_free(g);
}

/* Tiny cases computed by hand. */
static void hand_cases(void) {
    float out[64];
    hn_exec *e = NULL;
    /* conv 2x2 kernel of ones, stride 1, no padding, on a 3x3 ramp 1..9, bias 0.5:
     * windows sum to 12, 16, 24, 28 */
    hn_graph *g = chain((hn_shape){1, 3, 3}, (hn_node_spec[]){conv(1, 2, 1, 0, 1, true)}, 1);
    for (int i = 0; i < 4; i++) g->params[i] = 1;
    g->params[4] = 0.5f;
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    CHECK_OK(hn_exec_new(g, 1, false, &e));
    CHECK_OK(hn_exec_forward(e, x, 1, false));
    hn_exec_output(e, out);
    CHECK(out[0] == 12.5f && out[1] == 16.5f && out[2] == 24.5f && out[3] == 28.5f);
    CHECK(hn_graph_macs(g) == 4 * 4 && hn_graph_param_count(g) == 5);
    hn_exec_free(e);
    hn_graph_free(g);
    /* maxpool 2x2 and avgpool 3x3 stride 3 padding 1 excluding pad, on the ramp */
    g = chain((hn_shape){1, 3, 3}, (hn_node_spec[]){pool(HN_OP_MAXPOOL, 2, 1, 0, false)}, 1);
    CHECK_OK(hn_exec_new(g, 1, false, &e));
    CHECK_OK(hn_exec_forward(e, x, 1, false));
    hn_exec_output(e, out);
    CHECK(out[0] == 5 && out[1] == 6 && out[2] == 8 && out[3] == 9);
    hn_exec_free(e);
    hn_graph_free(g);
    g = chain((hn_shape){1, 3, 3}, (hn_node_spec[]){pool(HN_OP_AVGPOOL, 3, 3, 1, false)}, 1);
    CHECK(g->nodes[1].shape.h == 1 && g->nodes[1].shape.w == 1);
    CHECK_OK(hn_exec_new(g, 1, false, &e));
    CHECK_OK(hn_exec_forward(e, x, 1, false));
    hn_exec_output(e, out);
    CHECK_NEAR(out[0], (1 + 2 + 4 + 5) / 4.0, 1e-6); /* window rows/cols -1..1: 4 real pixels */
    hn_exec_free(e);
    hn_graph_free(g);
    /* batch norm, training: channel values 1,2,3,4 -> mean 2.5, var 1.25 -> (x-2.5)/sqrt(1.25+eps) */
    g = chain((hn_shape){1, 2, 2}, (hn_node_spec[]){hn_spec(HN_OP_BATCHNORM, -1)}, 1);
    hn_graph_init_params(g, 0);
    float xb[4] = {1, 2, 3, 4};
    CHECK_OK(hn_exec_new(g, 1, false, &e));
    CHECK_OK(hn_exec_forward(e, xb, 1, true));
    hn_exec_output(e, out);
    CHECK_NEAR(out[0], -1.5 / sqrt(1.25 + 1e-5), 1e-6);
    CHECK_NEAR(out[3], 1.5 / sqrt(1.25 + 1e-5), 1e-6);
    CHECK_NEAR(g->state[0], 0.25, 1e-7);                     /* running mean 0.9*0 + 0.1*2.5 */
    CHECK_NEAR(g->state[1], 0.9 + 0.1 * (5.0 / 3.0), 1e-6); /* unbiased variance 5/3 */
    hn_exec_free(e);
    hn_graph_free(g);
}

static void shape_errors(void) {
    hn_graph *g = NULL;
    int id;
    CHECK_ERR(hn_graph_new((hn_shape){0, 4, 4}, &g), HN_ERR_SHAPE, "0x4x4");
    CHECK_OK(hn_graph_new((hn_shape){3, 4, 4}, &g));
    hn_node_spec s = conv(8, 7, 1, 1, 1, false);
    s.inputs[0] = 0;
    s.name = "big";
    CHECK_ERR(hn_graph_add(g, &s, &id), HN_ERR_SHAPE, "node 'big' (conv2d): kernel 7 is larger");
    s = conv(8, 3, 1, 1, 2, false);
    s.inputs[0] = 0;
    CHECK_ERR(hn_graph_add(g, &s, &id), HN_ERR_SHAPE, "groups 2 must divide");
    s = conv(0, 3, 1, 1, 1, false);
    s.inputs[0] = 0;
    CHECK_ERR(hn_graph_add(g, &s, &id), HN_ERR_INVALID, "out channels");
    s = hn_spec(HN_OP_LINEAR, 0);
    s.out = 3;
    CHECK_ERR(hn_graph_add(g, &s, &id), HN_ERR_SHAPE, "flat input");
    s = pool(HN_OP_MAXPOOL, 2, 1, 2, false);
    s.inputs[0] = 0;
    CHECK_ERR(hn_graph_add(g, &s, &id), HN_ERR_INVALID, "padding 2");
    s = hn_spec(HN_OP_RELU, 5);
    CHECK_ERR(hn_graph_add(g, &s, &id), HN_ERR_INVALID, "does not exist");
    int p;
    s = pool(HN_OP_MAXPOOL, 2, 2, 0, false);
    s.inputs[0] = 0;
    CHECK_OK(hn_graph_add(g, &s, &p));
    s = hn_spec(HN_OP_ADD, 0);
    s.ninputs = 2, s.inputs[1] = p;
    CHECK_ERR(hn_graph_add(g, &s, &id), HN_ERR_SHAPE, "same shape");
    s.op = HN_OP_CONCAT;
    CHECK_ERR(hn_graph_add(g, &s, &id), HN_ERR_SHAPE, "same height and width");
    s = hn_spec(HN_OP_ADD, 0);
    CHECK_ERR(hn_graph_add(g, &s, &id), HN_ERR_INVALID, "inputs");
    CHECK(g->nnodes == 2); /* failed adds left the graph unchanged */
    hn_graph_free(g);
}

/* Large layers are unfolded a chunk of images at a time and split over threads by images: the batch
 * result must equal image-by-image results (outputs, input gradients, and the sum of the weight
 * gradients), for a "same" stride-1 layer and a stride-2 one (phase planes). */
static void chunking(void) {
    const hn_node_spec specs[2] = {conv(8, 3, 1, 1, 1, true), conv(8, 3, 2, 1, 1, true)};
    const hn_shape shapes[2] = {{16, 32, 32}, {32, 64, 64}};
    for (int k = 0; k < 2; k++) {
        hn_graph *g = chain(shapes[k], &specs[k], 1);
        hn_graph_init_params(g, 11);
        const int N = 8;
        hn_shape o = g->nodes[1].shape;
        size_t in1 = (size_t)shapes[k].c * shapes[k].h * shapes[k].w, out1 = (size_t)o.c * o.h * o.w;
        float *x = malloc(sizeof(float) * in1 * N), *dy = malloc(sizeof(float) * out1 * N);
        float *y = malloc(sizeof(float) * out1 * N), *dx = malloc(sizeof(float) * in1 * N);
        float *y1 = malloc(sizeof(float) * out1), *dx1 = malloc(sizeof(float) * in1);
        float *dw = malloc(sizeof(float) * g->nparams), *dwsum = calloc(g->nparams, sizeof(float));
        hn_rng r;
        hn_rng_seed(&r, 5, 5);
        for (size_t i = 0; i < in1 * N; i++) x[i] = hn_rng_normal(&r);
        for (size_t i = 0; i < out1 * N; i++) dy[i] = hn_rng_normal(&r);
        hn_exec *e = NULL;
        CHECK_OK(hn_exec_new(g, N, true, &e));
        CHECK_OK(hn_exec_forward(e, x, N, true));
        hn_exec_output(e, y);
        CHECK_OK(hn_exec_backward(e, dy, dx));
        memcpy(dw, g->grads, sizeof(float) * g->nparams);
        double ey = 0, edx = 0, edw = 0, sdw = 0;
        for (int b = 0; b < N; b++) {
            CHECK_OK(hn_exec_forward(e, x + b * in1, 1, true));
            hn_exec_output(e, y1);
            CHECK_OK(hn_exec_backward(e, dy + b * out1, dx1));
            for (size_t i = 0; i < out1; i++) ey = fmax(ey, fabs(y1[i] - y[b * out1 + i]));
            for (size_t i = 0; i < in1; i++) edx = fmax(edx, fabs(dx1[i] - dx[b * in1 + i]));
            for (size_t i = 0; i < g->nparams; i++) dwsum[i] += g->grads[i];
        }
        for (size_t i = 0; i < g->nparams; i++) edw = fmax(edw, fabs(dwsum[i] - dw[i])), sdw = fmax(sdw, fabs(dw[i]));
        CHECK_MSG(ey < 1e-4 && edx < 1e-4 && edw < 1e-4 * sdw, "layer %d: batch vs single images: output %g, dx %g, dw %g (scale %g)",
                  k, ey, edx, edw, sdw);
        hn_exec_free(e);
        hn_graph_free(g);
        free(x), free(dy), free(y), free(dx), free(y1), free(dx1), free(dw), free(dwsum);
    }
}

/* Every allocation of building, finalizing and executing a graph can fail cleanly. */
static void alloc_failures(void) {
    int failures = 0;
    for (long k = 1; k < 200; k++) {
        hn_alloc_fail_after(k);
        hn_graph *g = NULL;
        hn_exec *e = NULL;
        hn_status st = hn_graph_new((hn_shape){2, 6, 6}, &g);
        int id;
        hn_node_spec s = conv(4, 3, 1, 1, 1, true);
        s.inputs[0] = 0;
        for (int i = 0; st == HN_OK && i < 20; i++) {
            st = hn_graph_add(g, &s, &id);
            s.inputs[0] = id;
        }
        if (st == HN_OK) st = hn_graph_finalize(g);
        if (st == HN_OK) st = hn_exec_new(g, 4, true, &e);
        hn_alloc_fail_after(0);
        hn_exec_free(e);
        hn_graph_free(g);
        if (st == HN_OK) break;
        CHECK_MSG(st == HN_ERR_NOMEM, "allocation %ld failed but the status was %s", k, hn_status_str(st));
        failures++;
    }
    CHECK(failures > 5);
}

int main(void) {
    hn_set_threads(2);
    gradient_checks();
    loss_check();
    hand_cases();
    shape_errors();
    chunking();
    alloc_failures();
    return check_report();
}
