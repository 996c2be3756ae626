/* Zero-cost proxies (include/hwnas/estimate.h): scores of an untrained network from one mini-batch,
 * computed with the engine's forward and backward passes.
 *
 * The definitions follow the papers and their reference code (Abdelfattah et al., "Zero-Cost Proxies
 * for Lightweight NAS", ICLR 2021; Mellor et al., "Neural Architecture Search without Training",
 * ICML 2021, versions 1 and 2):
 *   grad_norm  sum over conv/linear layers of ||dL/dW||_2 (cross-entropy loss, batch statistics)
 *   snip       sum over conv/linear weights of |dL/dw * w|
 *   synflow    sum over conv/linear weights of |dR/dw * w|, where every parameter and batch-norm
 *              statistic is replaced by its absolute value, batch norm uses its running statistics
 *              (identity at initialisation), the input is one all-ones image and R = sum of outputs
 *   jacob_cov  -sum_i (log(l_i + k) + 1 / (l_i + k)), k = 1e-5, over the eigenvalues l_i of the
 *              correlation matrix of the per-image input gradients of the summed output
 *   naswot     log |det K|, K[i][j] = number of ReLU units on which images i and j agree about
 *              being active (the Hamming-kernel of the binary activation codes)
 * Weights are those of the graph as given (callers initialise it first); nothing in it changes. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "hwnas/estimate.h"
#include "hwnas/exec.h"

static const char *const proxy_names[HN_PROXY_COUNT] = {"synflow", "snip", "grad_norm", "jacob_cov",
                                                         "naswot",  "params", "macs"};

const char *hn_proxy_name(hn_proxy p) { return p >= 0 && p < HN_PROXY_COUNT ? proxy_names[p] : "?"; }

hn_proxy hn_proxy_from_name(const char *name) {
    for (int p = 0; p < HN_PROXY_COUNT; p++)
        if (!strcmp(proxy_names[p], name)) return (hn_proxy)p;
    return HN_PROXY_COUNT;
}

static bool has_weights(const hn_node *n) { return n->op == HN_OP_CONV2D || n->op == HN_OP_LINEAR; }

/* grad_norm and snip from the gradients of the last backward pass */
static void gradient_scores(const hn_graph *g, double *grad_norm, double *snip) {
    *grad_norm = *snip = 0;
    for (int i = 1; i < g->nnodes; i++) {
        const hn_node *n = &g->nodes[i];
        if (!has_weights(n)) continue;
        hn_param_view v[4];
        hn_node_params(g, i, v);
        size_t off = (size_t)(v[0].data - g->params), len = 1;
        for (int d = 0; d < v[0].ndim; d++) len *= (size_t)v[0].shape[d];
        double sq = 0, s = 0;
        for (size_t k = 0; k < len; k++) {
            double gw = g->grads[off + k];
            sq += gw * gw;
            s += fabs(gw * g->params[off + k]);
        }
        *grad_norm += sqrt(sq);
        *snip += s;
    }
}

/* log |det A| of the n x n matrix a (destroyed), by LU with partial pivoting; -inf if singular */
static double log_abs_det(double *a, int n) {
    double r = 0;
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int i = c + 1; i < n; i++)
            if (fabs(a[i * n + c]) > fabs(a[p * n + c])) p = i;
        if (a[p * n + c] == 0) return -INFINITY;
        if (p != c)
            for (int j = 0; j < n; j++) {
                double t = a[c * n + j];
                a[c * n + j] = a[p * n + j], a[p * n + j] = t;
            }
        r += log(fabs(a[c * n + c]));
        for (int i = c + 1; i < n; i++) {
            double f = a[i * n + c] / a[c * n + c];
            for (int j = c + 1; j < n; j++) a[i * n + j] -= f * a[c * n + j];
        }
    }
    return r;
}

/* Eigenvalues of the symmetric n x n matrix a (destroyed) into lambda, by cyclic Jacobi rotations
 * (n is a batch size, so O(n^3) per sweep is nothing next to the passes). */
static void symmetric_eigenvalues(double *a, int n, double *lambda) {
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, diag = 0;
        for (int i = 0; i < n; i++) {
            diag += a[i * n + i] * a[i * n + i];
            for (int j = i + 1; j < n; j++) off += a[i * n + j] * a[i * n + j];
        }
        if (off <= 1e-30 * diag) break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = a[p * n + q];
                if (apq == 0) continue;
                double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < n; k++) { /* columns p and q */
                    double akp = a[k * n + p], akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; k++) { /* rows p and q */
                    double apk = a[p * n + k], aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
            }
    }
    for (int i = 0; i < n; i++) lambda[i] = a[i * n + i];
}

/* jacob_cov from the input gradients jac (n x d); NaN when an image's gradient is constant (the
 * output does not depend on the input, so the correlation is undefined) */
static double jacob_cov(const float *jac, int n, size_t d, double *corr, double *lambda) {
    double *mean = lambda, *norm = lambda + n; /* lambda has 2n entries; used as scratch first */
    for (int i = 0; i < n; i++) {
        double s = 0, ss = 0;
        for (size_t k = 0; k < d; k++) s += jac[(size_t)i * d + k];
        mean[i] = s / (double)d;
        for (size_t k = 0; k < d; k++) {
            double x = jac[(size_t)i * d + k] - mean[i];
            ss += x * x;
        }
        if (ss == 0) return NAN;
        norm[i] = sqrt(ss);
    }
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) {
            double s = 0;
            for (size_t k = 0; k < d; k++) s += (jac[(size_t)i * d + k] - mean[i]) * (jac[(size_t)j * d + k] - mean[j]);
            corr[i * n + j] = corr[j * n + i] = s / (norm[i] * norm[j]);
        }
    symmetric_eigenvalues(corr, n, lambda);
    double score = 0;
    for (int i = 0; i < n; i++) score -= log(lambda[i] + 1e-5) + 1 / (lambda[i] + 1e-5);
    return score;
}

/* naswot from the ReLU values of the last forward pass: n images' binary codes, packed 64 to a word */
static hn_status naswot(const hn_exec *e, const hn_graph *g, int n, float *val, double *k, double *score) {
    memset(k, 0, sizeof(double) * (size_t)n * n);
    size_t units = 0;
    for (int i = 1; i < g->nnodes; i++) {
        const hn_node *node = &g->nodes[i];
        if (node->op != HN_OP_RELU && node->op != HN_OP_RELU6) continue;
        hn_status st = hn_exec_value(e, i, val);
        if (st) return st;
        size_t per = hn_shape_numel(node->shape);
        units += per;
        /* agreements = per - hamming distance, counted a 64-unit word at a time */
        for (size_t w0 = 0; w0 < per; w0 += 64) {
            uint64_t code[512];
            size_t len = per - w0 < 64 ? per - w0 : 64;
            for (int a = 0; a < n; a++) {
                uint64_t c = 0;
                for (size_t u = 0; u < len; u++) c |= (uint64_t)(val[(size_t)a * per + w0 + u] > 0) << u;
                code[a] = c;
            }
            for (int a = 0; a < n; a++)
                for (int b = a; b < n; b++) k[a * n + b] += (double)__builtin_popcountll(code[a] ^ code[b]);
        }
    }
    for (int a = 0; a < n; a++)
        for (int b = a; b < n; b++) k[a * n + b] = k[b * n + a] = (double)units - k[a * n + b];
    *score = log_abs_det(k, n);
    return HN_OK;
}

/* Multiplies every additive parameter (biases, batch norm's shift and running mean) by f: with the
 * input also scaled by f, a network of convolutions, batch norms in inference mode, ReLUs, pooling,
 * additions and concatenations then computes exactly f times its output (f a power of two). */
static void scale_offsets(hn_graph *g, float f) {
    for (int i = 1; i < g->nnodes; i++) {
        hn_param_view v[4];
        int nv = hn_node_params(g, i, v);
        for (int k = 0; k < nv; k++) {
            size_t len = strlen(v[k].name), numel = 1;
            bool offset = (len > 5 && !strcmp(v[k].name + len - 5, ".bias")) ||
                          (len > 13 && !strcmp(v[k].name + len - 13, ".running_mean"));
            for (int d = 0; offset && d < v[k].ndim; d++) numel *= (size_t)v[k].shape[d];
            for (size_t j = 0; offset && j < numel; j++) v[k].data[j] *= f;
        }
    }
}

/* synflow of g, whose parameters are already made positive: sum |w * dR/dw| with R the summed output
 * for an all-ones image. R grows geometrically with depth and overflows float in deep cells (about
 * 1e45 for NB201's largest), so the pass runs on an input scaled by a and an output gradient scaled by
 * b, a = b = 2^-k with 2^2k about R, and the score is divided by ab in double: every float on the
 * way then stays near sqrt(R). The output gradient enters linearly (exact); the input scaling is exact
 * by homogeneity (scale_offsets), except after a ReLU6, whose clipping keeps such networks small, so
 * they run unscaled. x and dout are scratch of the input's and the output's size. */
static hn_status synflow(hn_exec *e, hn_graph *g, float *x, float *dout, double *score) {
    const hn_shape is = g->nodes[0].shape, os = g->nodes[g->nnodes - 1].shape;
    const size_t d = hn_shape_numel(is), no = hn_shape_numel(os);
    bool homogeneous = true;
    for (int i = 1; i < g->nnodes; i++) homogeneous &= g->nodes[i].op != HN_OP_RELU6;
    /* R at input scale 1, or at 2^-120 where that overflows */
    int pre = 0;
    double r = INFINITY;
    for (int attempt = 0; attempt < 2 && !isfinite(r); attempt++) {
        if (attempt && !homogeneous) break;
        pre = attempt ? 120 : 0;
        float a = ldexpf(1, -pre);
        if (pre) scale_offsets(g, a);
        for (size_t k = 0; k < d; k++) x[k] = a;
        hn_status st = hn_exec_forward(e, x, 1, false);
        if (pre) scale_offsets(g, 1 / a);
        if (st) return st;
        hn_exec_output(e, dout);
        r = 0;
        for (size_t k = 0; k < no; k++) r += dout[k];
        r = ldexp(r, pre);
    }
    if (!isfinite(r)) return *score = NAN, HN_OK;
    int k = r > 1 ? (int)(log2(r) / 2) : 0;
    int ka = homogeneous ? k : 0, kb = homogeneous ? k : 2 * k; /* a = 2^-ka, b = 2^-kb */
    float a = ldexpf(1, -ka);
    if (ka) scale_offsets(g, a);
    for (size_t j = 0; j < d; j++) x[j] = a;
    hn_status st = hn_exec_forward(e, x, 1, false);
    if (ka) scale_offsets(g, 1 / a);
    if (st) return st;
    for (size_t j = 0; j < no; j++) dout[j] = ldexpf(1, -kb);
    if ((st = hn_exec_backward(e, dout, NULL))) return st;
    double sum = 0;
    for (int i = 1; i < g->nnodes; i++) {
        if (!has_weights(&g->nodes[i])) continue;
        hn_param_view v[4];
        hn_node_params(g, i, v);
        size_t off = (size_t)(v[0].data - g->params), len = 1;
        for (int j = 0; j < v[0].ndim; j++) len *= (size_t)v[0].shape[j];
        for (size_t j = 0; j < len; j++) sum += fabs((double)g->grads[off + j] * g->params[off + j]);
    }
    *score = ldexp(sum, ka + kb);
    return HN_OK;
}

hn_status hn_proxies(hn_graph *g, const float *x, const int32_t *y, int n, double out[HN_PROXY_COUNT]) {
    if (!g->finalized) return hn_error(HN_ERR_INVALID, "zero-cost proxies need a finalized graph");
    if (n < 2 || n > 512) return hn_error(HN_ERR_INVALID, "zero-cost proxies on a batch of %d images (2..512)", n);
    for (int p = 0; p < HN_PROXY_COUNT; p++) out[p] = NAN;
    out[HN_PROXY_PARAMS] = (double)hn_graph_param_count(g);
    out[HN_PROXY_MACS] = (double)hn_graph_macs(g);
    const hn_shape in = g->nodes[0].shape, os = g->nodes[g->nnodes - 1].shape;
    const size_t d = hn_shape_numel(in), no = hn_shape_numel(os);
    size_t widest = d > no ? d : no;
    for (int i = 0; i < g->nnodes; i++)
        if (hn_shape_numel(g->nodes[i].shape) > widest) widest = hn_shape_numel(g->nodes[i].shape);
    hn_exec *e = NULL;
    float *saved = hn_alloc(sizeof(float) * (g->nparams + g->nstate + 1));
    float *buf = hn_alloc(sizeof(float) * (size_t)n * widest), *jac = hn_alloc(sizeof(float) * (size_t)n * d);
    double *mat = hn_alloc(sizeof(double) * (size_t)n * n), *lambda = hn_alloc(sizeof(double) * 2 * (size_t)n);
    hn_status st = !saved || !buf || !jac || !mat || !lambda ? hn_error_prefix(HN_ERR_NOMEM, "zero-cost proxies")
                                                              : hn_exec_new(g, n, true, &e);
    if (st) goto done;
    /* the passes below update batch-norm statistics and synflow rewrites the parameters: keep both */
    memcpy(saved, g->params, sizeof(float) * g->nparams);
    memcpy(saved + g->nparams, g->state, sizeof(float) * g->nstate);

    /* grad_norm, snip and naswot: one training-mode pass with the loss */
    if ((st = hn_exec_forward(e, x, n, true)) || (st = hn_exec_loss(e, y, 0, NULL, NULL)) ||
        (st = hn_exec_backward(e, NULL, NULL)))
        goto restore;
    gradient_scores(g, &out[HN_PROXY_GRAD_NORM], &out[HN_PROXY_SNIP]);
    if ((st = naswot(e, g, n, buf, mat, &out[HN_PROXY_NASWOT]))) goto restore;

    /* jacob_cov: d(sum of outputs)/d(input) per image, from a second pass (same statistics) */
    for (size_t k = 0; k < (size_t)n * no; k++) buf[k] = 1; /* the gradient of the summed outputs */
    if ((st = hn_exec_forward(e, x, n, true)) || (st = hn_exec_backward(e, buf, jac))) goto restore;
    out[HN_PROXY_JACOB_COV] = jacob_cov(jac, n, d, mat, lambda);

    /* synflow: |parameters|, all-ones image, running statistics */
    for (size_t k = 0; k < g->nparams; k++) g->params[k] = fabsf(g->params[k]);
    memcpy(g->state, saved + g->nparams, sizeof(float) * g->nstate);
    for (size_t k = 0; k < g->nstate; k++) g->state[k] = fabsf(g->state[k]);
    st = synflow(e, g, jac, buf, &out[HN_PROXY_SYNFLOW]);
restore:
    memcpy(g->params, saved, sizeof(float) * g->nparams);
    memcpy(g->state, saved + g->nparams, sizeof(float) * g->nstate);
done:
    hn_exec_free(e);
    hn_free(saved), hn_free(buf), hn_free(jac), hn_free(mat), hn_free(lambda);
    return st;
}
