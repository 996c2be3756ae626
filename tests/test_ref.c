/* The engine against PyTorch: forward outputs, losses, every parameter gradient and the input
 * gradient of two networks in both batch-norm modes, running statistics, and the loss over 10 SGD
 * steps (momentum, Nesterov, weight decay, cosine schedule), and the zero-cost proxies. Reference
 * data: tests/ref/ref.hntf,
 * written by tests/ref/gen_ref.py in float64.
 *
 * Tolerance: max |ours - ref| <= 1e-4 x max |ref| + 1e-6 per tensor (2e-4 for the SGD losses, which
 * compound 10 steps). Our float32 sums run over at most ~600 terms per output, whose rounding gives
 * relative errors near 1e-6; 1e-4 leaves room for that and still catches any wrong term, scale or
 * index (those give errors of order 1). The 1e-6 floor is for gradients that are exactly zero in
 * exact arithmetic (a conv bias followed by training-mode batch norm), where float32 leaves ~1e-8.
 *
 * The int8 engine against tests/ref/qref.hntf (tests/ref/gen_qref.py: TFLite's quantization and
 * integer arithmetic reproduced in NumPy) on allops, cnn and qops (the other fusions): the same
 * weights and activation ranges must give the same quantized input and the same int8 value at every
 * node, exactly; calibration's min/max ranges equal PyTorch's within 1e-5. */
#include <strings.h>

#include "check.h"
#include "hwnas/estimate.h"
#include "hwnas/exec.h"
#include "hwnas/quant.h"
#include "hwnas/tensor.h"
#include "hwnas/train.h"

static hn_tensor_set ref, qref;

/* a reference tensor: from ref.hntf, or qref.hntf (the int8 reference's own network, qops) */
static const hn_tensor *need(const char *name) {
    const hn_tensor *t = hn_tensor_set_find(&ref, name);
    if (!t) t = hn_tensor_set_find(&qref, name);
    if (!t) {
        fprintf(stderr, "reference tensor '%s' missing: regenerate tests/ref/ref.hntf\n", name);
        exit(1);
    }
    return t;
}

static void compare(const char *what, const float *got, const hn_tensor *want, double rel) {
    int64_t n = hn_tensor_numel(want);
    double scale = 0, err = 0;
    int64_t worst = 0;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(want->data[i]));
    for (int64_t i = 0; i < n; i++) {
        double e = fabs(got[i] - want->data[i]);
        if (e > err) err = e, worst = i;
    }
    CHECK_MSG(err <= rel * scale + 1e-6, "%s: max error %.3g at [%lld] (got %.7g, want %.7g), scale %.3g", what,
              err, (long long)worst, got[worst], want->data[worst], scale);
}

static hn_graph *load_net(const char *tag) {
    char path[1024], name[1024];
    snprintf(path, sizeof path, "%s/ref/%s.yaml", HWNAS_TEST_DIR, tag);
    hn_graph *g = NULL;
    CHECK_OK(hn_graph_load_yaml(path, &g));
    if (!g) exit(1);
    for (int i = 1; i < g->nnodes; i++) {
        hn_param_view v[4];
        int k = hn_node_params(g, i, v);
        for (int j = 0; j < k; j++) {
            snprintf(name, sizeof name, "%s.w.%s", tag, v[j].name);
            const hn_tensor *t = need(name);
            CHECK_MSG(t->ndim == v[j].ndim && memcmp(t->shape, v[j].shape, sizeof(int64_t) * t->ndim) == 0,
                      "%s: shape differs from the graph's", name);
            memcpy(v[j].data, t->data, sizeof(float) * hn_tensor_numel(t));
        }
    }
    return g;
}

/* the reference batch of tag: its input tensor, and its labels into y (at most 64); returns n */
static int load_batch(const char *tag, const hn_tensor **x, int32_t *y) {
    char name[1024];
    snprintf(name, sizeof name, "%s.x", tag);
    *x = need(name);
    int n = (int)(*x)->shape[0];
    snprintf(name, sizeof name, "%s.y", tag);
    const hn_tensor *yt = need(name);
    for (int i = 0; i < n && i < 64; i++) y[i] = (int32_t)yt->data[i];
    return n;
}

static void net_case(const char *tag, float smoothing) {
    char name[1024];
    hn_graph *g = load_net(tag);
    const hn_tensor *x;
    int32_t y[64];
    int n = load_batch(tag, &x, y);
    hn_exec *e = NULL;
    CHECK_OK(hn_exec_new(g, n, true, &e));
    float *out = calloc(1000, sizeof(float)), *dx = calloc((size_t)hn_tensor_numel(x), sizeof(float));
    const char *modes[2] = {"train", "eval"};
    for (int m = 0; m < 2; m++) {
        float loss;
        CHECK_OK(hn_exec_forward(e, x->data, n, m == 0));
        CHECK_OK(hn_exec_loss(e, y, smoothing, &loss, NULL));
        CHECK_OK(hn_exec_backward(e, NULL, dx));
        hn_exec_output(e, out);
        snprintf(name, sizeof name, "%s.%s.logits", tag, modes[m]);
        compare(name, out, need(name), 1e-4);
        snprintf(name, sizeof name, "%s.%s.loss", tag, modes[m]);
        compare(name, &loss, need(name), 1e-4);
        snprintf(name, sizeof name, "%s.%s.dx", tag, modes[m]);
        compare(name, dx, need(name), 1e-4);
        for (int i = 1; i < g->nnodes; i++) {
            hn_param_view v[4];
            int k = hn_node_params(g, i, v);
            for (int j = 0; j < k; j++) {
                if (v[j].trainable) {
                    snprintf(name, sizeof name, "%s.%s.grad.%s", tag, modes[m], v[j].name);
                    compare(name, g->grads + (v[j].data - g->params), need(name), 1e-4);
                } else if (m == 0) {
                    snprintf(name, sizeof name, "%s.train.state.%s", tag, v[j].name);
                    compare(name, v[j].data, need(name), 1e-4);
                }
            }
        }
    }
    /* an inference-only executor (buffers reused by liveness, batch norm folded into the convolutions)
     * gives the same eval-mode logits */
    hn_exec *inf = NULL;
    CHECK_OK(hn_exec_new(g, n, false, &inf));
    CHECK(hn_exec_bytes(inf) < hn_exec_bytes(e));
    CHECK_OK(hn_exec_forward(inf, x->data, n, false));
    hn_exec_output(inf, out);
    snprintf(name, sizeof name, "%s.eval.logits", tag);
    compare("inference-only executor", out, need(name), 1e-4);
    CHECK_ERR(hn_exec_forward(inf, x->data, n, true), HN_ERR_INVALID, "batch statistics need an executor");
    hn_exec_free(inf);
    free(out);
    free(dx);
    hn_exec_free(e);
    hn_graph_free(g);
}

static void sgd_case(void) {
    hn_graph *g = load_net("cnn");
    const hn_tensor *x = need("sgd.x"), *yt = need("sgd.y"), *losses = need("sgd.losses");
    hn_exec *e = NULL;
    hn_sgd opt;
    CHECK_OK(hn_exec_new(g, 8, true, &e));
    CHECK_OK(hn_sgd_init(&opt, g->nparams, 0.9f, 5e-4f, true));
    float got[10];
    for (int s = 0; s < 10; s++) {
        int32_t y[8];
        for (int i = 0; i < 8; i++) y[i] = (int32_t)yt->data[s * 8 + i];
        CHECK_OK(hn_exec_forward(e, x->data + (size_t)s * 8 * 784, 8, true));
        CHECK_OK(hn_exec_loss(e, y, 0, &got[s], NULL));
        CHECK_OK(hn_exec_backward(e, NULL, NULL));
        hn_sgd_step(&opt, g->params, g->grads, hn_lr_cosine(0.05f, s, 10, 0));
    }
    compare("sgd.losses", got, losses, 2e-4);
    CHECK(fabs(got[9] - got[0]) > 1e-3); /* the steps did change the network */
    hn_sgd_free(&opt);
    hn_exec_free(e);
    hn_graph_free(g);
}

/* The zero-cost proxies at the reference network's initial parameters against the same definitions
 * computed by PyTorch (gen_ref.py's proxies()); each within 1e-4 of its own magnitude. The graph's
 * parameters and statistics must come back unchanged. */
static void proxy_case(const char *tag) {
    char name[1024];
    hn_graph *g = load_net(tag);
    const hn_tensor *x;
    int32_t y[64];
    int n = load_batch(tag, &x, y);
    size_t bytes = sizeof(float) * (g->nparams + g->nstate);
    float *before = malloc(bytes);
    memcpy(before, g->params, sizeof(float) * g->nparams);
    memcpy(before + g->nparams, g->state, sizeof(float) * g->nstate);
    double v[HN_PROXY_COUNT];
    CHECK_OK(hn_proxies(g, x->data, y, n, v));
    snprintf(name, sizeof name, "%s.proxies", tag);
    const hn_tensor *want = need(name);
    for (int p = 0; p < HN_PROXY_NASWOT + 1; p++) {
        double w = want->data[p];
        CHECK_MSG(fabs(v[p] - w) <= 1e-4 * fabs(w) + 1e-6, "%s %s: got %.9g, want %.9g", tag,
                  hn_proxy_name((hn_proxy)p), v[p], w);
    }
    CHECK(v[HN_PROXY_PARAMS] == (double)hn_graph_param_count(g) && v[HN_PROXY_MACS] == (double)hn_graph_macs(g));
    CHECK(!memcmp(before, g->params, sizeof(float) * g->nparams) &&
          !memcmp(before + g->nparams, g->state, sizeof(float) * g->nstate));
    free(before);
    hn_graph_free(g);
}

/* the int8 model of tag from the float weights and PyTorch's ranges: every formed value equals NumPy's */
static void int8_case(const char *tag) {
    char name[256];
    hn_graph *g = load_net(tag);
    snprintf(name, sizeof name, "%s.q.lo", tag);
    const hn_tensor *lo = hn_tensor_set_find(&qref, name);
    snprintf(name, sizeof name, "%s.q.hi", tag);
    const hn_tensor *hi = hn_tensor_set_find(&qref, name);
    snprintf(name, sizeof name, "%s.q.x", tag);
    const hn_tensor *xq = hn_tensor_set_find(&qref, name);
    snprintf(name, sizeof name, "%s.x", tag);
    const hn_tensor *x = need(name);
    if (!lo || !hi || !xq || hn_tensor_numel(lo) != g->nnodes) {
        CHECK_MSG(false, "%s: regenerate tests/ref/qref.hntf (gen_qref.py)", tag);
        hn_graph_free(g);
        return;
    }
    int n = (int)x->shape[0];
    /* calibration (min/max) finds PyTorch's ranges wherever the executor keeps the value */
    float *clo = malloc(sizeof(float) * (size_t)g->nnodes), *chi = malloc(sizeof(float) * (size_t)g->nnodes);
    CHECK_OK(hn_quant_calibrate(g, x->data, n, HN_RANGE_MINMAX, 0, clo, chi));
    int compared = 0;
    for (int i = 0; i < g->nnodes; i++) {
        if (clo[i] == 0 && chi[i] == 0) continue; /* not kept: fused into the activation after it */
        double scale = fmax(fabs(lo->data[i]), fabs(hi->data[i]));
        CHECK_MSG(fabs(clo[i] - lo->data[i]) <= 1e-5 * scale && fabs(chi[i] - hi->data[i]) <= 1e-5 * scale,
                  "%s node %s: range [%g, %g], PyTorch [%g, %g]", tag, g->nodes[i].name, clo[i], chi[i], lo->data[i],
                  hi->data[i]);
        compared++;
    }
    CHECK(compared > g->nnodes / 2);
    free(clo), free(chi);

    hn_qmodel *m = NULL;
    CHECK_OK(hn_qmodel_new(g, lo->data, hi->data, NULL, &m));
    if (!m) {
        hn_graph_free(g);
        return;
    }
    size_t in_len = hn_qmodel_input_len(m);
    int8_t *in = malloc(in_len * (size_t)n), *arena = malloc(hn_qmodel_arena_bytes(m));
    int8_t *out = malloc(hn_qmodel_output_len(m) * (size_t)n), *one = malloc(hn_qmodel_output_len(m));
    hn_qmodel_quantize_input(m, x->data, n, in);
    int bad = 0;
    for (size_t i = 0; i < in_len * (size_t)n; i++) bad += in[i] != (int8_t)xq->data[i];
    CHECK_MSG(bad == 0, "%s: %d quantized inputs differ", tag, bad);
    CHECK_OK(hn_qmodel_run(m, in, n, out));
    int values = 0;
    for (int s = 0; s < n; s++) {
        hn_qmodel_forward(m, in + in_len * (size_t)s, arena, one);
        CHECK(memcmp(one, out + hn_qmodel_output_len(m) * (size_t)s, hn_qmodel_output_len(m)) == 0);
        for (int i = 1; i < g->nnodes; i++) {
            snprintf(name, sizeof name, "%s.q.v.%s", tag, g->nodes[i].name);
            const hn_tensor *want = hn_tensor_set_find(&qref, name);
            const int8_t *got = hn_qmodel_value(m, arena, i, NULL);
            CHECK_MSG(!want == !got, "%s node %s: the int8 model %s its value, NumPy's %s", tag, g->nodes[i].name,
                      got ? "forms" : "does not form", want ? "does" : "does not");
            if (!want || !got) continue;
            size_t len = hn_shape_numel(g->nodes[i].shape);
            int diff = 0, first = -1;
            for (size_t k = 0; k < len; k++)
                if (got[k] != (int8_t)want->data[s * len + k]) diff++, first = first < 0 ? (int)k : first;
            CHECK_MSG(diff == 0, "%s image %d node %s: %d of %zu int8 values differ (first [%d]: %d, NumPy %d)", tag, s,
                      g->nodes[i].name, diff, len, first, first >= 0 ? got[first] : 0,
                      first >= 0 ? (int)want->data[s * len + first] : 0);
            values++;
        }
    }
    CHECK(values >= n * 5);
    /* with slots shared by liveness: a smaller arena, the same outputs */
    size_t before = hn_qmodel_arena_bytes(m);
    CHECK_OK(hn_qmodel_share_memory(m));
    CHECK_MSG(hn_qmodel_arena_bytes(m) < before, "%s: arena %zu -> %zu bytes", tag, before, hn_qmodel_arena_bytes(m));
    CHECK(hn_qmodel_value(m, arena, 1, NULL) == NULL);
    for (int s = 0; s < n; s++) {
        hn_qmodel_forward(m, in + in_len * (size_t)s, arena, one);
        CHECK(memcmp(one, out + hn_qmodel_output_len(m) * (size_t)s, hn_qmodel_output_len(m)) == 0);
    }
    free(in), free(arena), free(out), free(one);
    hn_qmodel_free(m);
    hn_graph_free(g);
}

int main(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/ref/ref.hntf", HWNAS_TEST_DIR);
    hn_set_threads(2);
    /* a forced kernel set (the ref_gemm_* runs) is the one in use, or they would prove nothing */
    const char *forced = getenv("DNNL_MAX_CPU_ISA");
    CHECK_MSG(!forced || !strcasecmp(hn_gemm_isa(), forced), "DNNL_MAX_CPU_ISA=%s but the GEMMs run '%s'",
              forced ? forced : "", hn_gemm_isa());
    hn_status st = hn_tensor_file_read(path, &ref);
    if (!st) {
        snprintf(path, sizeof path, "%s/ref/qref.hntf", HWNAS_TEST_DIR);
        st = hn_tensor_file_read(path, &qref);
    }
    if (st) {
        fprintf(stderr, "%s\n", hn_last_error());
        return 1;
    }
    net_case("cnn", 0.0f);
    net_case("allops", 0.1f);
    net_case("attn", 0.0f); /* layer norm, attention, GELU, hard-swish, softmax (issue 20) */
    net_case("linattn", 0.0f); /* ReLU linear attention */
    proxy_case("cnn");
    proxy_case("allops");
    sgd_case();
    static const char *const kernels[] = {"c", "avx2", "avx512vnni"}; /* every path must agree with NumPy */
    for (int k = 0; k < 3; k++) {
        if (hn_quant_set_kernels(kernels[k])) {
            fprintf(stderr, "note: %s\n", hn_last_error());
            continue;
        }
        int8_case("allops");
        int8_case("cnn");
        int8_case("qops");
        int8_case("attn");
        int8_case("linattn");
    }
    hn_tensor_set_free(&qref);
    hn_tensor_set_free(&ref);
    return check_report();
}
