/* Fake quantization of a whole network: its accuracy with the number types its nodes carry (a
 * quantization policy: any mix of integers of 2-8 and 16 bits and minifloats), computed on the float
 * engine. Weights are rounded per output channel in place (symmetric; per-channel rounding commutes
 * with folding a batch norm into them, so this is what a deployment's folded weights would be), and
 * every value a deployment forms (hn_graph_fused's rule: after a layer's batch norm and activation,
 * never between) is rounded per tensor by an executor hook over the ranges of a calibration pass. */
#include <string.h>

#include "hwnas/exec.h"
#include "hwnas/train.h"
#include "qmodel_internal.h"

typedef struct {
    const hn_graph *g;
    bool *formed;      /* per node: a value the deployment forms, with a quantized type */
    hn_qparams *q;     /* per node: its fake-quantization parameters */
} act_quant;

static void quantize_value(void *user, int node, float *values, size_t count) {
    const act_quant *a = user;
    if (a->formed[node]) hn_fake_quant(a->g->nodes[node].atype, a->q[node], values, count);
}

void hn_q_fake_quant_weights(hn_graph *g) {
    for (int i = 1; i < g->nnodes; i++) {
        const hn_node *n = &g->nodes[i];
        if ((n->op != HN_OP_CONV2D && n->op != HN_OP_LINEAR) || n->wtype == HN_FP32) continue;
        hn_param_view v[4];
        hn_node_params(g, i, v); /* v[0]: the weight, (out, ...) */
        size_t per = 1;
        for (int d = 1; d < v[0].ndim; d++) per *= (size_t)v[0].shape[d];
        for (int c = 0; c < n->out; c++) {
            float *w = v[0].data + (size_t)c * per, amax = 0;
            for (size_t k = 0; k < per; k++) amax = w[k] > amax ? w[k] : -w[k] > amax ? -w[k] : amax;
            hn_fake_quant(n->wtype, hn_fake_quant_params(n->wtype, -amax, amax, HN_QSYMMETRIC), w, per);
        }
    }
}

hn_status hn_q_formed_values(const hn_graph *g, bool *formed) {
    bool *fused = hn_alloc(sizeof(bool) * (size_t)g->nnodes);
    hn_status st = fused ? hn_graph_fused(g, fused) : hn_error(HN_ERR_NOMEM, "fake quantization");
    for (int i = 0; i < g->nnodes && !st; i++) {
        hn_op op = g->nodes[i].op;
        bool view = i > 0 && (op == HN_OP_IDENTITY || op == HN_OP_FLATTEN);
        formed[i] = !view && hn_q_fused_reader(g, fused, i) < 0 && g->nodes[i].atype != HN_FP32;
    }
    hn_free(fused);
    return st;
}

hn_status hn_fake_quant_evaluate(hn_graph *g, const hn_dataset *calib, int ncalib, const hn_dataset *test,
                                 double *accuracy) {
    size_t nn = (size_t)g->nnodes, in_len = hn_shape_numel(g->nodes[0].shape);
    if (ncalib > calib->n) ncalib = calib->n;
    float *saved = hn_alloc(sizeof(float) * (g->nparams ? g->nparams : 1));
    float *lo = hn_alloc(sizeof(float) * nn), *hi = hn_alloc(sizeof(float) * nn);
    float *x = hn_alloc(sizeof(float) * in_len * (size_t)(ncalib > 0 ? ncalib : 1));
    int32_t *idx = hn_alloc(sizeof(int32_t) * (size_t)(ncalib > 0 ? ncalib : 1));
    int32_t *y = hn_alloc(sizeof(int32_t) * (size_t)(ncalib > 0 ? ncalib : 1));
    act_quant a = {g, hn_alloc(sizeof(bool) * nn), hn_alloc(sizeof(hn_qparams) * nn)};
    hn_status st = !saved || !lo || !hi || !x || !idx || !y || !a.formed || !a.q
                       ? hn_error(HN_ERR_NOMEM, "fake quantization")
                       : HN_OK;
    if (!st && (calib->c != g->nodes[0].shape.c || calib->h != g->nodes[0].shape.h || calib->w != g->nodes[0].shape.w))
        st = hn_error(HN_ERR_SHAPE, "fake quantization: the calibration images do not fit the network's input");
    if (!st) st = hn_q_formed_values(g, a.formed);
    bool taken = !st;
    if (!st) {
        memcpy(saved, g->params, sizeof(float) * g->nparams);
        hn_q_fake_quant_weights(g);
        for (int i = 0; i < ncalib; i++) idx[i] = i;
        hn_dataset_batch(calib, idx, ncalib, NULL, NULL, x, y);
        st = hn_quant_calibrate(g, x, ncalib, HN_RANGE_MINMAX, 0, lo, hi);
    }
    if (!st) {
        for (int i = 0; i < g->nnodes; i++) a.q[i] = hn_fake_quant_params(g->nodes[i].atype, lo[i], hi[i], HN_QASYMMETRIC);
        double ips;
        st = hn_evaluate_hooked(g, test, 500, quantize_value, &a, accuracy, &ips);
    }
    if (taken) memcpy(g->params, saved, sizeof(float) * g->nparams); /* the float weights again */
    hn_free(saved), hn_free(lo), hn_free(hi), hn_free(x), hn_free(idx), hn_free(y);
    hn_free(a.formed), hn_free(a.q);
    return st;
}
