/* Post-training quantization from a dataset, and the int8 model's accuracy on one. */
#include <string.h>

#include "hwnas/graph.h"
#include "hwnas/quant.h"

/* the normalised images [start, start + n) of d into x (n, C, H, W), labels into y (n) */
static void images(const hn_dataset *d, int start, int n, float *x, int32_t *y, int32_t *idx) {
    for (int k = 0; k < n; k++) idx[k] = start + k;
    hn_dataset_batch(d, idx, n, NULL, NULL, x, y);
}

static hn_status fits(const hn_graph *g, const hn_dataset *d) {
    hn_shape s = g->nodes[0].shape;
    if (s.c != d->c || s.h != d->h || s.w != d->w)
        return hn_error(HN_ERR_SHAPE, "the network takes %dx%dx%d images but the dataset has %dx%dx%d", s.c, s.h, s.w,
                        d->c, d->h, d->w);
    return HN_OK;
}

hn_status hn_ptq(hn_graph *g, const hn_dataset *calib, int n, hn_range_method method, double percentile,
                 bool bias_correction, hn_qmodel **out) {
    *out = NULL;
    hn_status st = fits(g, calib);
    if (st) return st;
    if (n > calib->n) n = calib->n;
    size_t len = hn_shape_numel(g->nodes[0].shape);
    float *x = hn_alloc(sizeof(float) * len * (size_t)n), *lo = hn_alloc(sizeof(float) * (size_t)g->nnodes);
    float *hi = hn_alloc(sizeof(float) * (size_t)g->nnodes);
    int32_t *idx = hn_alloc(sizeof(int32_t) * (size_t)n), *y = hn_alloc(sizeof(int32_t) * (size_t)n);
    if (!x || !lo || !hi || !idx || !y) st = hn_error(HN_ERR_NOMEM, "calibration of %d images", n);
    if (!st) {
        images(calib, 0, n, x, y, idx);
        st = hn_quant_calibrate(g, x, n, method, percentile, lo, hi);
    }
    float **means = NULL;
    if (!st && bias_correction) st = hn_quant_input_means(g, x, n, &means);
    if (!st) st = hn_qmodel_new(g, lo, hi, (const float *const *)means, out);
    hn_free(means);
    hn_free(x), hn_free(lo), hn_free(hi), hn_free(idx), hn_free(y);
    return st;
}

hn_status hn_qmodel_evaluate(const hn_qmodel *m, const hn_dataset *d, double *accuracy, double *images_per_s) {
    enum { BATCH = 500 };
    size_t in_len = hn_qmodel_input_len(m), k = hn_qmodel_output_len(m);
    if (in_len != (size_t)d->c * d->h * d->w)
        return hn_error(HN_ERR_SHAPE, "the int8 model takes %zu values per image but the dataset has %dx%dx%d", in_len,
                        d->c, d->h, d->w);
    float *x = hn_alloc(sizeof(float) * in_len * BATCH);
    int8_t *xq = hn_alloc(in_len * BATCH), *yq = hn_alloc(k * BATCH);
    int32_t *y = hn_alloc(sizeof(int32_t) * BATCH), *idx = hn_alloc(sizeof(int32_t) * BATCH);
    hn_status st = !x || !xq || !yq || !y || !idx ? hn_error(HN_ERR_NOMEM, "int8 evaluation") : HN_OK;
    int64_t correct = 0;
    double seconds = 0;
    for (int i = 0; i < d->n && !st; i += BATCH) {
        int n = d->n - i < BATCH ? d->n - i : BATCH;
        double t0 = hn_now(); /* with the normalisation, as hn_evaluate times the float engine */
        images(d, i, n, x, y, idx);
        hn_qmodel_quantize_input(m, x, n, xq);
        st = hn_qmodel_run(m, xq, n, yq);
        seconds += hn_now() - t0;
        for (int s = 0; s < n && !st; s++) {
            const int8_t *o = yq + (size_t)s * k;
            size_t best = 0;
            for (size_t c = 1; c < k; c++)
                if (o[c] > o[best]) best = c;
            correct += (int32_t)best == y[s];
        }
    }
    if (!st) {
        *accuracy = 100.0 * (double)correct / d->n;
        *images_per_s = d->n / (seconds > 0 ? seconds : 1e-9);
    }
    hn_free(x), hn_free(xq), hn_free(yq), hn_free(y), hn_free(idx);
    return st;
}
