/* Quantization-aware training: hn_train with the policy's rounding in the loop. Before each forward
 * pass the float master weights are saved and rounded per output channel; after the backward pass
 * they are restored, so the update made from the gradient at the rounded weights lands on the float
 * ones (a straight-through estimator). Every value a deployment forms is rounded in the forward pass
 * through the executor hook, over ranges tracked as an exponential moving average of each batch's
 * minimum and maximum (PyTorch's MovingAverageMinMaxObserver, momentum 0.1); its gradient passes
 * through unchanged. */
#include <math.h>
#include <string.h>

#include "hwnas/train.h"
#include "qmodel_internal.h"

typedef struct hn_fake_quant_step {
    hn_graph *g;
    float *master;  /* the float weights during a step (NULL for a one-pass hn_fake_quant_step) */
    bool *formed;   /* per node: rounded in the forward pass */
    float *lo, *hi; /* per node: moving-average range */
    bool *seen;     /* per node: a range exists */
} qat;

enum { AVERAGING = 10 }; /* 1 / momentum */

static void round_value(void *user, int node, float *values, size_t count) {
    qat *q = user;
    if (!q->formed[node] || count == 0) return;
    float lo = values[0], hi = values[0];
    for (size_t i = 1; i < count; i++) lo = fminf(lo, values[i]), hi = fmaxf(hi, values[i]);
    if (!q->seen[node]) q->lo[node] = lo, q->hi[node] = hi, q->seen[node] = true;
    else q->lo[node] += (lo - q->lo[node]) / AVERAGING, q->hi[node] += (hi - q->hi[node]) / AVERAGING;
    hn_numtype t = q->g->nodes[node].atype;
    hn_fake_quant(t, hn_fake_quant_params(t, q->lo[node], q->hi[node], HN_QASYMMETRIC), values, count);
}

static void round_weights(void *user, hn_graph *g, bool before) {
    qat *q = user;
    if (before) {
        memcpy(q->master, g->params, sizeof(float) * g->nparams);
        hn_q_fake_quant_weights(g);
    } else {
        memcpy(g->params, q->master, sizeof(float) * g->nparams);
    }
}

/* q's per-node arrays for g (master only with_master); HN_ERR_NOMEM naming what for */
static hn_status qat_init(qat *q, hn_graph *g, bool with_master) {
    size_t nn = (size_t)g->nnodes;
    *q = (qat){g, with_master ? hn_alloc(sizeof(float) * (g->nparams ? g->nparams : 1)) : NULL, hn_alloc(sizeof(bool) * nn),
               hn_alloc(sizeof(float) * nn), hn_alloc(sizeof(float) * nn), hn_calloc(sizeof(bool) * nn)};
    if ((with_master && !q->master) || !q->formed || !q->lo || !q->hi || !q->seen)
        return hn_error(HN_ERR_NOMEM, "quantization-aware training");
    return hn_q_formed_values(g, q->formed);
}

static void qat_free(qat *q) { hn_free(q->master), hn_free(q->formed), hn_free(q->lo), hn_free(q->hi), hn_free(q->seen); }

hn_status hn_fake_quant_step_new(hn_graph *g, hn_fake_quant_step **out) {
    *out = hn_calloc(sizeof **out);
    hn_status st = *out ? qat_init(*out, g, false) : hn_error(HN_ERR_NOMEM, "fake quantization");
    if (st) {
        hn_fake_quant_step_free(*out);
        *out = NULL;
        return st;
    }
    hn_q_fake_quant_weights(g);
    return HN_OK;
}

/* each node's first value of the pass sets its range: the batch's own */
void hn_fake_quant_step_hook(void *user, int node, float *values, size_t count) { round_value(user, node, values, count); }

void hn_fake_quant_step_free(hn_fake_quant_step *q) {
    if (q) qat_free(q);
    hn_free(q);
}

hn_status hn_qat_train(hn_graph *g, const hn_dataset *train, const hn_dataset *test, const hn_train_config *cfg,
                       hn_train_result *res) {
    qat q;
    hn_status st = qat_init(&q, g, true);
    if (!st) {
        hn_train_config c = *cfg;
        c.hook = round_value, c.hook_user = &q, c.weights = round_weights;
        st = hn_train(g, train, NULL, &c, res);
    }
    res->test_accuracy = NAN;
    if (!st && test) st = hn_fake_quant_evaluate(g, train, 1000, test, &res->test_accuracy);
    qat_free(&q);
    return st;
}
