/* Quantizers against hand-computed values: integer parameters, rounding ties, saturation, zero points,
 * TFLite's fixed-point multipliers; every minifloat value, the special cases and nearest rounding;
 * calibration ranges. */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "hwnas/exec.h"
#include "hwnas/graph.h"
#include "hwnas/quant.h"
#include "hwnas/train.h"

static void integers(void) {
    hn_qparams p = hn_qparams_from_range(-1.5f, 3.0f, 8, HN_QASYMMETRIC);
    CHECK(p.qmin == -128 && p.qmax == 127 && p.zero_point == -43 && fabsf(p.scale - 4.5f / 255) < 1e-9f);
    CHECK(hn_quantize(0.0f, p) == -43 && hn_quantize(3.0f, p) == 127 && hn_quantize(-1.5f, p) == -128);
    p = hn_qparams_from_range(-0.5f, 1.0f, 8, HN_QSYMMETRIC);
    CHECK(p.qmin == -127 && p.qmax == 127 && p.zero_point == 0 && p.scale == 1.0f / 127);
    p = hn_qparams_from_range(0.0f, 6.0f, 8, HN_QASYMMETRIC); /* after ReLU6: 0 is the lowest code */
    CHECK(p.zero_point == -128 && hn_quantize(0, p) == -128 && hn_quantize(6, p) == 127);
    p = hn_qparams_from_range(0.5f, 2.0f, 4, HN_QASYMMETRIC); /* widened to include 0 */
    CHECK(p.qmin == -8 && p.qmax == 7 && p.zero_point == -8 && p.scale == 2.0f / 15);
    p = hn_qparams_from_range(-1.0f, 1.0f, 2, HN_QSYMMETRIC); /* ternary */
    CHECK(p.qmin == -1 && p.qmax == 1 && p.scale == 1.0f);
    CHECK(hn_quantize(0.49f, p) == 0 && hn_quantize(0.51f, p) == 1 && hn_quantize(-7, p) == -1);
    p = hn_qparams_from_range(0, 0, 8, HN_QASYMMETRIC);
    CHECK(p.scale == 1.0f && hn_quantize(0, p) == p.zero_point);
    /* ties to even, saturation */
    hn_qparams q = {1.0f, 0, -8, 7};
    CHECK(hn_quantize(2.5f, q) == 2 && hn_quantize(3.5f, q) == 4 && hn_quantize(-2.5f, q) == -2);
    CHECK(hn_quantize(100, q) == 7 && hn_quantize(-100, q) == -8 && hn_quantize(NAN, q) == 0);
    q.zero_point = 3;
    CHECK(hn_quantize(0.5f, q) == 3 && hn_quantize(1.5f, q) == 5 && hn_quantize(5, q) == 7 && hn_dequantize(7, q) == 4);
    /* every width from 2 to 8 bits has its symmetric and asymmetric range */
    for (int b = 2; b <= 8; b++) {
        hn_qparams s = hn_qparams_from_range(-1, 1, b, HN_QSYMMETRIC), a = hn_qparams_from_range(-1, 1, b, HN_QASYMMETRIC);
        CHECK(s.qmax == (1 << (b - 1)) - 1 && s.qmin == -s.qmax && a.qmin == -(1 << (b - 1)) && a.qmax == s.qmax);
    }
}

static void multipliers(void) {
    hn_qmult m = hn_qmult_from_real(0.5);
    CHECK(m.multiplier == 1 << 30 && m.shift == 0);
    CHECK(hn_qmult_apply(3, m) == 2 && hn_qmult_apply(-3, m) == -1); /* the high multiply's ties go up */
    m = hn_qmult_from_real(0.25);
    CHECK(m.multiplier == 1 << 30 && m.shift == -1);
    CHECK(hn_qmult_apply(6, m) == 2 && hn_qmult_apply(-6, m) == -2); /* the shift's ties go away from zero */
    m = hn_qmult_from_real(3.0);
    CHECK(m.multiplier == 1610612736 && m.shift == 2 && hn_qmult_apply(5, m) == 15);
    m = hn_qmult_from_real(0);
    CHECK(m.multiplier == 0 && hn_qmult_apply(12345, m) == 0);
    CHECK(hn_qmult_from_real(1e-12).multiplier == 0); /* below 2^-32 */
    /* against exact arithmetic: below one step (TFLite rounds twice, in the high multiply and in the
     * shift, so the result can be the far neighbour of x * real but never further) */
    unsigned s = 1;
    int far = 0, twice = 0;
    for (int i = 0; i < 20000; i++) {
        s = s * 1103515245u + 12345u;
        double real = ldexp((double)(s >> 8) / (1 << 24) + 0.5, -(int)(s % 12));
        s = s * 1103515245u + 12345u;
        int32_t x = (int32_t)(s >> 4) - (1 << 27);
        double exact = x * ((double)hn_qmult_from_real(real).multiplier * ldexp(1, hn_qmult_from_real(real).shift - 31));
        int32_t got = hn_qmult_apply(x, hn_qmult_from_real(real));
        if (fabs(got - exact) >= 1) far++;
        if (fabs(got - exact) > 0.5 + 1e-6) twice++;
    }
    CHECK_MSG(far == 0, "%d results a step or more away", far);
    CHECK(twice > 0 && twice < 20000 / 10); /* double rounding shows, rarely */
}

static void minifloat_cases(void) {
    const hn_numtype e4m3 = HN_FP8_E4M3, e5m2 = HN_FP8_E5M2, e3m2 = HN_FP6_E3M2, e2m1 = HN_FP4_E2M1;
    CHECK(hn_minifloat_encode(e4m3, 1.0f) == 0x38 && hn_minifloat_encode(e4m3, 448) == 0x7e);
    CHECK(hn_minifloat_encode(e4m3, 464) == 0x7e && hn_minifloat_encode(e4m3, 470) == 0x7e); /* saturating */
    CHECK(hn_minifloat_encode(e4m3, INFINITY) == 0x7e && hn_minifloat_encode(e4m3, -INFINITY) == 0xfe);
    CHECK(hn_minifloat_encode(e4m3, NAN) == 0x7f && isnan(hn_minifloat_decode(e4m3, 0x7f)) &&
          isnan(hn_minifloat_decode(e4m3, 0xff)));
    CHECK(hn_minifloat_decode(e4m3, 0x7e) == 448 && hn_minifloat_decode(e4m3, 0x01) == ldexpf(1, -9));
    CHECK(hn_minifloat_encode(e4m3, ldexpf(1, -10)) == 0x00 && hn_minifloat_encode(e4m3, ldexpf(3, -10)) == 0x02);
    CHECK(hn_minifloat_encode(e4m3, 1.0625f) == 0x38 && hn_minifloat_encode(e4m3, 1.1875f) == 0x3a); /* ties to even */
    CHECK(hn_minifloat_encode(e4m3, -0.0f) == 0x80 && signbit(hn_minifloat_decode(e4m3, 0x80)));
    CHECK(hn_minifloat_encode(e5m2, 1.0f) == 0x3c && hn_minifloat_encode(e5m2, 1e6f) == 0x7b);
    CHECK(hn_minifloat_decode(e5m2, 0x7b) == 57344 && isinf(hn_minifloat_decode(e5m2, 0x7c)) &&
          hn_minifloat_decode(e5m2, 0xfc) < 0 && isnan(hn_minifloat_decode(e5m2, 0x7d)));
    CHECK(hn_minifloat_encode(e5m2, NAN) == 0x7e && hn_minifloat_decode(e5m2, 0x01) == ldexpf(1, -16));
    CHECK(hn_minifloat_encode(e3m2, 1.0f) == 0x0c && hn_minifloat_encode(e3m2, -28) == 0x3f &&
          hn_minifloat_encode(e3m2, 1000) == 0x1f && hn_minifloat_encode(e3m2, NAN) == 0);
    CHECK(hn_minifloat_decode(e3m2, 0x01) == 0.0625f && hn_minifloat_max(e3m2) == 28);
    static const float fp4[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
    for (int c = 0; c < 8; c++) CHECK(hn_minifloat_decode(e2m1, (uint8_t)c) == fp4[c] && hn_minifloat_decode(e2m1, (uint8_t)(c | 8)) == -fp4[c]);
    CHECK(hn_minifloat_encode(e2m1, 5) == 6 && hn_minifloat_encode(e2m1, 2.5f) == 4 && hn_minifloat_encode(e2m1, 0.25f) == 0);
    CHECK(hn_minifloat_encode(e2m1, 0.75f) == 2 && hn_minifloat_encode(e2m1, -6) == 0xf && hn_minifloat_encode(e2m1, 7) == 7);
    CHECK(!hn_numtype_is_minifloat(HN_INT8) && hn_numtype_is_minifloat(e2m1));
}

/* every code round-trips; values increase with the code; encoding picks the nearest value */
static void minifloat_all_values(void) {
    const hn_numtype types[4] = {HN_FP8_E4M3, HN_FP8_E5M2, HN_FP6_E3M2, HN_FP4_E2M1};
    for (int k = 0; k < 4; k++) {
        hn_numtype t = types[k];
        int bits = hn_numtype_bits(t), ncodes = 1 << bits, bad = 0, finite = 0;
        float vals[256];
        for (int c = 0; c < ncodes; c++) {
            float v = hn_minifloat_decode(t, (uint8_t)c);
            vals[c] = v;
            if (isnan(v) || isinf(v)) continue;
            finite++;
            if (hn_minifloat_encode(t, v) != c) bad++;
        }
        CHECK_MSG(bad == 0, "%s: %d codes do not round-trip", hn_numtype_name(t), bad);
        CHECK(finite == (k == 0 ? 254 : k == 1 ? 248 : ncodes));
        float prev = -1;
        for (int c = 0; c < ncodes / 2; c++) {
            if (isnan(vals[c]) || isinf(vals[c])) continue;
            CHECK(vals[c] > prev);
            prev = vals[c];
        }
        CHECK(prev == hn_minifloat_max(t));
        /* nearest: no finite value is closer than the chosen one; ties go to the even code */
        unsigned s = 7;
        int worse = 0;
        for (int i = 0; i < 5000; i++) {
            s = s * 1103515245u + 12345u;
            float x = ((float)(s >> 8) / (1 << 24) * 2 - 1) * hn_minifloat_max(t) * 1.1f;
            float r = hn_minifloat_round(t, x);
            for (int c = 0; c < ncodes; c++)
                if (!isnan(vals[c]) && !isinf(vals[c]) && fabsf(vals[c] - x) < fabsf(r - x)) worse++;
        }
        CHECK_MSG(worse == 0, "%s: %d nearer values than the rounded one", hn_numtype_name(t), worse);
    }
}

static void fake_quant_and_ranges(void) {
    float x[5] = {-1.0f, 0.26f, 0.5f, 0.74f, 9.0f};
    hn_qparams p = hn_fake_quant_params(HN_INT4, 0, 1.5f, HN_QASYMMETRIC); /* scale 0.1, zp -8 */
    CHECK(p.zero_point == -8 && fabsf(p.scale - 0.1f) < 1e-7f);
    hn_fake_quant(HN_INT4, p, x, 5);
    CHECK(x[0] == 0 && fabsf(x[1] - 0.3f) < 1e-6f && fabsf(x[2] - 0.5f) < 1e-6f && fabsf(x[3] - 0.7f) < 1e-6f &&
          fabsf(x[4] - 1.5f) < 1e-6f);
    float y[3] = {0.3f, -5, 100};
    p = hn_fake_quant_params(HN_FP4_E2M1, -3, 12, HN_QSYMMETRIC); /* scale 2: values 2 * {0, 0.5, ..., 6} */
    CHECK(p.scale == 2.0f);
    hn_fake_quant(HN_FP4_E2M1, p, y, 3);
    CHECK(y[0] == 0 && y[1] == -4 && y[2] == 12);
    float z = 0.123f;
    hn_fake_quant(HN_FP32, p, &z, 1);
    CHECK(z == 0.123f);

    /* a histogram of 0 .. 9999 and one outlier at 1e5 */
    hn_histogram h;
    hn_histogram_init(&h);
    float v[10001];
    for (int i = 0; i < 10000; i++) v[i] = (float)i;
    v[10000] = 1e5f;
    for (int pass = 0; pass < 2; pass++) {
        hn_histogram_observe(&h, v, 10001);
        if (pass == 0) CHECK_OK(hn_histogram_layout(&h));
    }
    float lo, hi;
    hn_histogram_range(&h, HN_RANGE_MINMAX, 0, HN_INT8, HN_QASYMMETRIC, &lo, &hi);
    CHECK(lo == 0 && hi == 1e5f);
    hn_histogram_range(&h, HN_RANGE_PERCENTILE, 99, HN_INT8, HN_QASYMMETRIC, &lo, &hi);
    CHECK_MSG(lo == 0 && fabsf(hi - 9900) < 60, "99th percentile %g", hi);
    /* MSE: at int8 one outlier clipped to 1e4 would cost (9e4)^2, more than the bulk's rounding error
     * near the full range (1e4 values x (1e5 / 255)^2 / 12), so the outlier stays nearly unclipped; at
     * int4 the bulk's error wins and the range is clipped near 1e4 */
    hn_histogram_range(&h, HN_RANGE_MSE, 0, HN_INT8, HN_QASYMMETRIC, &lo, &hi);
    CHECK_MSG(hi >= 9e4f && hi < 1e5f, "int8 MSE range %g", hi);
    hn_histogram_range(&h, HN_RANGE_MSE, 0, HN_INT4, HN_QASYMMETRIC, &lo, &hi);
    CHECK_MSG(lo == 0 && hi >= 9000 && hi < 30000, "int4 MSE range %g", hi);
    hn_histogram_free(&h);
}

/* n random 1x12x12 images, labels cycling over 4 classes */
static hn_dataset *random_images(int n, unsigned seed) {
    hn_dataset *d = hn_calloc(sizeof *d);
    d->n = n, d->c = 1, d->h = d->w = 12, d->classes = 4;
    d->images = hn_alloc((size_t)n * 144), d->labels = hn_alloc((size_t)n);
    for (int i = 0; i < n * 144; i++) d->images[i] = (uint8_t)((seed = seed * 1103515245u + 12345u) >> 24);
    for (int i = 0; i < n; i++) d->labels[i] = (uint8_t)(i % 4);
    hn_dataset_compute_norm(d);
    return d;
}

typedef struct {
    int calls, last;
    bool ordered, sized;
    const hn_graph *g;
    int n;
} hook_log;

static void log_hook(void *user, int node, float *values, size_t count) {
    (void)values;
    hook_log *h = user;
    h->ordered &= node > h->last || (h->calls == 0 && node == 0);
    h->sized &= count == (size_t)h->n * hn_shape_numel(h->g->nodes[node].shape);
    h->last = node, h->calls++;
}

/* The executor hook sees each written value once, in order; fake quantization leaves the weights as
 * they were, changes nothing at fp32, and degrades with fewer bits. */
static void fake_quant_network(void) {
    const char *net = "input: [1, 12, 12]\nlayers:\n  - {op: conv2d, out: 8, kernel: 3, padding: 1, bias: false}\n"
                      "  - {op: batchnorm}\n  - {op: relu}\n  - {op: conv2d, out: 8, kernel: 3, stride: 2}\n  - {op: relu6}\n"
                      "  - {op: global_avgpool}\n  - {op: flatten}\n  - {op: linear, out: 4}\n";
    char path[] = "/tmp/hwnas_test_fqXXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs(net, f);
    fclose(f);
    hn_graph *g = NULL;
    CHECK_OK(hn_graph_load_yaml(path, &g));
    remove(path);
    if (!g) return;
    hn_graph_init_params(g, 3);
    hn_dataset *d = random_images(64, 5);
    hn_exec *e = NULL;
    CHECK_OK(hn_exec_new(g, 8, false, &e));
    float x[8 * 144];
    for (int i = 0; i < 8 * 144; i++) x[i] = (float)(i % 17) / 17.0f;
    hook_log log = {0, 0, true, true, g, 8};
    hn_exec_set_hook(e, log_hook, &log);
    CHECK_OK(hn_exec_forward(e, x, 8, false));
    CHECK_MSG(log.ordered && log.sized && log.calls >= 5 && log.last == g->nnodes - 1, "%d hook calls", log.calls);
    hn_exec_free(e);

    double acc0, acc, ips;
    float *saved = malloc(sizeof(float) * g->nparams);
    memcpy(saved, g->params, sizeof(float) * g->nparams);
    CHECK_OK(hn_evaluate(g, d, 32, &acc0, &ips));
    CHECK_OK(hn_fake_quant_evaluate(g, d, 32, d, &acc)); /* every type fp32: nothing rounds */
    CHECK_MSG(acc == acc0, "fp32 fake quantization %g, float %g", acc, acc0);
    hn_graph_set_numtypes(g, HN_INT2, HN_INT8);
    CHECK_OK(hn_fake_quant_evaluate(g, d, 32, d, &acc));
    CHECK(memcmp(saved, g->params, sizeof(float) * g->nparams) == 0); /* weights restored */
    CHECK_OK(hn_evaluate(g, d, 32, &acc, &ips));
    CHECK(acc == acc0);
    hn_dataset *wrong = random_images(4, 1);
    wrong->h = wrong->w = 6; /* images that do not fit the input */
    CHECK_ERR(hn_fake_quant_evaluate(g, wrong, 4, d, &acc), HN_ERR_SHAPE, "do not fit the network's input");
    CHECK(memcmp(saved, g->params, sizeof(float) * g->nparams) == 0);
    hn_dataset_free(wrong);
    free(saved);
    hn_dataset_free(d);
    hn_graph_free(g);
}

/* Bias correction: a linear layer whose int8 weights all round the same way (each 0.4 of a step below
 * its float value) on positive inputs shifts every output by about -0.4 * step * sum(x); the
 * corrected model's mean output error is a small fraction of the uncorrected one's. */
static void bias_correction(void) {
    enum { F = 64, K = 4, N = 32 };
    char path[] = "/tmp/hwnas_test_bcXXXXXX";
    FILE *f = fdopen(mkstemp(path), "w");
    fputs("input: [64, 1, 1]\nlayers:\n  - {op: linear, name: fc, out: 4}\n", f);
    fclose(f);
    hn_graph *g = NULL;
    CHECK_OK(hn_graph_load_yaml(path, &g));
    remove(path);
    if (!g) return;
    hn_param_view v[4];
    hn_node_params(g, 1, v);
    float step = 1.0f / 127; /* each row's largest weight is 1: the int8 step */
    for (int c = 0; c < K; c++) {
        for (int k = 0; k < F; k++) v[0].data[c * F + k] = k == 0 ? 1.0f : ((float)(k % 50) + 0.4f) * step;
        v[1].data[c] = 0.1f * (float)c;
    }
    float x[N * F], lo[2], hi[2], want[N * K];
    for (int i = 0; i < N * F; i++) x[i] = 0.5f + (float)((i * 37) % 100) / 100.0f;
    hn_exec *e = NULL;
    CHECK_OK(hn_exec_new(g, N, false, &e));
    if (!e) return;
    CHECK_OK(hn_exec_forward(e, x, N, false));
    hn_exec_output(e, want);
    hn_exec_free(e);
    CHECK_OK(hn_quant_calibrate(g, x, N, HN_RANGE_MINMAX, 0, lo, hi));
    float **means = NULL;
    CHECK_OK(hn_quant_input_means(g, x, N, &means));
    CHECK(means && means[1] && fabsf(means[1][0] - (0.5f + 0.5f)) < 0.2f);
    double err[2] = {0, 0};
    for (int corrected = 0; corrected < 2 && means; corrected++) {
        hn_qmodel *m = NULL;
        CHECK_OK(hn_qmodel_new(g, lo, hi, corrected ? (const float *const *)means : NULL, &m));
        if (!m) break;
        int8_t in[N * F], out[N * K];
        hn_qmodel_quantize_input(m, x, N, in);
        CHECK_OK(hn_qmodel_run(m, in, N, out));
        hn_qparams q = hn_qmodel_output_params(m);
        for (int c = 0; c < K; c++) {
            double shift = 0;
            for (int s = 0; s < N; s++) shift += hn_dequantize(out[s * K + c], q) - want[s * K + c];
            err[corrected] += fabs(shift / N) / K;
        }
        hn_qmodel_free(m);
    }
    CHECK_MSG(err[0] > 0.1 && err[1] < err[0] / 4, "mean output error %g uncorrected, %g corrected", err[0], err[1]);
    hn_free(means);
    hn_graph_free(g);
}

int main(void) {
    integers();
    multipliers();
    minifloat_cases();
    minifloat_all_values();
    fake_quant_and_ranges();
    fake_quant_network();
    bias_correction();
    return check_report();
}
