/* Calibration ranges from a histogram of observed values: min/max, percentiles, and the clipping
 * range that minimises the quantization error (as TensorRT's and PyTorch's histogram observers do). */
#include <math.h>
#include <string.h>


#include "hwnas/exec.h"
#include "hwnas/graph.h"
#include "hwnas/quant.h"

enum { NBINS = 2048, MSE_STEPS = 100 };

void hn_histogram_init(hn_histogram *h) {
    memset(h, 0, sizeof *h);
    h->lo = INFINITY, h->hi = -INFINITY;
}

void hn_histogram_observe(hn_histogram *h, const float *x, size_t n) {
    if (!h->nbins) {
        for (size_t i = 0; i < n; i++) {
            if (x[i] < h->lo) h->lo = x[i];
            if (x[i] > h->hi) h->hi = x[i];
        }
        return;
    }
    double width = (h->hi - h->lo) / h->nbins;
    for (size_t i = 0; i < n; i++) {
        double b = width > 0 ? floor((x[i] - h->lo) / width) : 0;
        int k = b < 0 ? 0 : b >= h->nbins ? h->nbins - 1 : (int)b; /* values past the first pass's range go to the ends */
        h->bins[k] += 1;
    }
    h->count += (double)n;
}

hn_status hn_histogram_layout(hn_histogram *h) {
    if (h->nbins) return HN_OK;
    if (!(h->lo <= h->hi)) h->lo = h->hi = 0; /* nothing observed */
    h->bins = hn_calloc(sizeof(double) * NBINS);
    if (!h->bins) return hn_error(HN_ERR_NOMEM, "calibration histogram");
    h->nbins = NBINS;
    return HN_OK;
}

void hn_histogram_free(hn_histogram *h) {
    hn_free(h->bins);
    hn_histogram_init(h);
}

/* the value below which a fraction q of the observations lie (linear within a bin) */
static double quantile(const hn_histogram *h, double q) {
    double width = (h->hi - h->lo) / h->nbins, target = q * h->count, seen = 0;
    for (int k = 0; k < h->nbins; k++) {
        if (seen + h->bins[k] >= target && h->bins[k] > 0) return h->lo + width * (k + (target - seen) / h->bins[k]);
        seen += h->bins[k];
    }
    return h->hi;
}

/* expected squared error of quantizing the histogram's values (at bin centres) to [lo, hi] */
static double sq_error(const hn_histogram *h, float lo, float hi, hn_numtype t, hn_qscheme scheme) {
    hn_qparams p = hn_fake_quant_params(t, lo, hi, scheme);
    double width = (h->hi - h->lo) / h->nbins, err = 0;
    for (int k = 0; k < h->nbins; k++) {
        if (h->bins[k] == 0) continue;
        float v = (float)(h->lo + width * (k + 0.5)), q = v;
        hn_fake_quant(t, p, &q, 1);
        err += h->bins[k] * ((double)q - v) * ((double)q - v);
    }
    return err;
}

void hn_histogram_range(const hn_histogram *h, hn_range_method method, double p, hn_numtype t, hn_qscheme scheme,
                        float *lo, float *hi) {
    *lo = h->lo <= h->hi ? (float)h->lo : 0.0f, *hi = h->lo <= h->hi ? (float)h->hi : 0.0f;
    if (!h->nbins || h->count == 0 || method == HN_RANGE_MINMAX) return;
    if (method == HN_RANGE_PERCENTILE) {
        *lo = (float)fmin(0, quantile(h, 1 - p / 100)), *hi = (float)fmax(0, quantile(h, p / 100));
        return;
    }
    /* MSE: shrink the observed range by factors 1, 0.99, ..., 0.01 and keep the best */
    float l0 = fminf(*lo, 0), h0 = fmaxf(*hi, 0);
    double best = INFINITY;
    for (int k = MSE_STEPS; k >= 1; k--) {
        float f = (float)k / MSE_STEPS;
        double e = sq_error(h, l0 * f, h0 * f, t, scheme);
        if (e < best) best = e, *lo = l0 * f, *hi = h0 * f;
    }
}

/* One pass of the calibration images through an executor that keeps every value; each stored value
 * goes to its node's histogram (a value fused into the activation after it is read there). */
static hn_status calibration_pass(hn_exec *e, const hn_graph *g, const float *x, int n, int batch, float *buf,
                                  hn_histogram *h) {
    size_t in_len = hn_shape_numel(g->nodes[0].shape);
    for (int start = 0; start < n; start += batch) {
        int b = n - start < batch ? n - start : batch;
        hn_status st = hn_exec_forward(e, x + (size_t)start * in_len, b, false);
        if (st) return st;
        for (int i = 0; i < g->nnodes; i++) {
            if (hn_exec_value(e, i, buf)) continue; /* not stored: fused into the next node */
            hn_histogram_observe(&h[i], buf, hn_shape_numel(g->nodes[i].shape) * (size_t)b);
        }
    }
    return HN_OK;
}

hn_status hn_quant_calibrate(hn_graph *g, const float *x, int n, hn_range_method method, double percentile, float *lo,
                             float *hi) {
    enum { BATCH = 64 };
    int batch = n < BATCH ? n : BATCH;
    size_t most = 0;
    for (int i = 0; i < g->nnodes; i++)
        if (hn_shape_numel(g->nodes[i].shape) > most) most = hn_shape_numel(g->nodes[i].shape);
    hn_exec *e = NULL;
    float *buf = hn_alloc(sizeof(float) * most * (size_t)batch);
    hn_histogram *h = hn_alloc(sizeof(hn_histogram) * (size_t)g->nnodes);
    hn_status st = !buf || !h ? hn_error(HN_ERR_NOMEM, "calibration") : hn_exec_new(g, batch, true, &e);
    if (h)
        for (int i = 0; i < g->nnodes; i++) hn_histogram_init(&h[i]);
    if (!st) st = calibration_pass(e, g, x, n, batch, buf, h);
    if (!st && method != HN_RANGE_MINMAX) {
        for (int i = 0; i < g->nnodes && !st; i++) st = hn_histogram_layout(&h[i]);
        if (!st) st = calibration_pass(e, g, x, n, batch, buf, h);
    }
    if (!st)
        for (int i = 0; i < g->nnodes; i++) {
            hn_numtype t = g->nodes[i].atype >= HN_INT2 && g->nodes[i].atype <= HN_INT8 ? g->nodes[i].atype : HN_INT8;
            hn_histogram_range(&h[i], method, percentile, t, HN_QASYMMETRIC, &lo[i], &hi[i]);
        }
    if (h)
        for (int i = 0; i < g->nnodes; i++) hn_histogram_free(&h[i]);
    hn_free(h), hn_free(buf);
    hn_exec_free(e);
    return st;
}

hn_status hn_quant_input_means(hn_graph *g, const float *x, int n, float ***means) {
    enum { BATCH = 64 };
    *means = NULL;
    size_t nn = (size_t)g->nnodes, rows = 0, most = 0, in_len = hn_shape_numel(g->nodes[0].shape);
    for (size_t i = 1; i < nn; i++) {
        const hn_node *d = &g->nodes[i];
        size_t len = hn_shape_numel(g->nodes[d->inputs[0]].shape);
        if (d->op == HN_OP_CONV2D || d->op == HN_OP_LINEAR || d->op == HN_OP_BATCHNORM) rows += len;
        if (hn_shape_numel(d->shape) > most) most = hn_shape_numel(d->shape);
    }
    if (in_len > most) most = in_len;
    int batch = n < BATCH ? n : BATCH;
    /* one block: the row pointers, then each layer's sums (per input element, reduced to channels at the end) */
    float **m = hn_calloc(sizeof(float *) * nn + sizeof(float) * rows);
    float *buf = hn_alloc(sizeof(float) * most * (size_t)(batch > 0 ? batch : 1));
    hn_exec *e = NULL;
    hn_status st = !m || !buf ? hn_error(HN_ERR_NOMEM, "bias correction") : hn_exec_new(g, batch, true, &e);
    float *at = m ? (float *)(m + nn) : NULL;
    for (size_t i = 1; !st && i < nn; i++) {
        const hn_node *d = &g->nodes[i];
        if (d->op == HN_OP_CONV2D || d->op == HN_OP_LINEAR || d->op == HN_OP_BATCHNORM)
            m[i] = at, at += hn_shape_numel(g->nodes[d->inputs[0]].shape);
    }
    for (int start = 0; !st && start < n; start += batch) {
        int b = n - start < batch ? n - start : batch;
        if ((st = hn_exec_forward(e, x + (size_t)start * in_len, b, false))) break;
        for (size_t i = 1; !st && i < nn; i++) {
            if (!m[i]) continue;
            int src = g->nodes[i].inputs[0];
            size_t len = hn_shape_numel(g->nodes[src].shape);
            if (src == 0) memcpy(buf, x + (size_t)start * in_len, sizeof(float) * len * (size_t)b);
            else if (hn_exec_value(e, src, buf)) continue; /* fused away: its reader is fused too, never corrected */
            for (int s = 0; s < b; s++)
                for (size_t k = 0; k < len; k++) m[i][k] += buf[(size_t)s * len + k];
        }
    }
    /* sums -> means: per flat feature for linear layers, per channel otherwise (in place, row start) */
    for (size_t i = 1; !st && i < nn; i++) {
        if (!m[i]) continue;
        hn_shape in = g->nodes[g->nodes[i].inputs[0]].shape;
        size_t plane = g->nodes[i].op == HN_OP_LINEAR ? 1 : (size_t)in.h * in.w;
        size_t groups = hn_shape_numel(in) / plane;
        for (size_t c = 0; c < groups; c++) {
            double sum = 0;
            for (size_t k = 0; k < plane; k++) sum += m[i][c * plane + k];
            m[i][c] = (float)(sum / ((double)plane * n));
        }
    }
    hn_exec_free(e);
    hn_free(buf);
    if (st) hn_free(m);
    else *means = m;
    return st;
}
