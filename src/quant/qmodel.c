/* The int8 model of a float graph: building it (folding, fusion, weight and bias quantization,
 * requantization multipliers) and running it with the kernels of s8_kernels.c.
 *
 * A qnode computes one value of the graph: a convolution or linear layer together with the batch norm
 * and activation fused into it (hn_graph_fused: the deployment rule the hardware models cost), an
 * addition with its activation, or one other op. value_of maps every graph node to the qnode whose
 * output holds its value (-1: none, for a layer folded into the one after it; views share their
 * input's). Every value has its own slot of the arena until hn_qmodel_share_memory (so tests can read
 * any of them); the kernels' scratch follows the values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "hwnas/graph.h"
#include "hwnas/quant.h"
#include "qmodel_internal.h"

/* a value of the int8 model: the kernels' node, its inputs' tables, and its real parameters */
typedef struct {
    s8_node s;
    hn_qparams q;
    hn_shape shape;       /* of the value */
    hn_op op;             /* of the graph node it starts at (a linear layer is an S8_CONV too) */
    const float *w_scale; /* S8_CONV: the weights' scale per output channel */
    int inputs[HN_MAX_INPUTS];
    int32_t in_zp[HN_MAX_INPUTS];
    s8_mult in_mult[HN_MAX_INPUTS];
} qnode;

struct hn_qmodel {
    hn_arena *arena; /* owns everything below */
    int n, nvalues;  /* qnodes; graph nodes */
    int output;      /* the qnode of the graph's output */
    qnode *nodes;    /* nvalues entries (at most one per graph node), n used */
    s8_node *plan;   /* the kernels' view of nodes (n entries) */
    int *value_of;   /* nvalues entries */
    size_t values_bytes, scratch_bytes;
    bool shared;     /* values share slots (hn_qmodel_layout) */
    bool foreign;    /* laid out for another kernel set's scratch (an export): the engine must not run it */
};

/* the scratch a step needs with whichever of the engine's kernels runs it */
static size_t engine_scratch(const s8_node *q) {
    size_t c = s8_node_scratch_bytes(q), simd = q->kind == S8_CONV ? hn_s8_simd_scratch_bytes(&q->conv) : 0;
    return c > simd ? c : simd;
}

/* the bytes a value or scratch block takes in the arena: 16-byte aligned */
static size_t slot(size_t bytes) { return (bytes + 15) & ~(size_t)15; }

static s8_mult to_s8(hn_qmult m) { return (s8_mult){m.multiplier, m.shift}; }

int hn_q_fused_reader(const hn_graph *g, const bool *fused, int id) {
    for (int i = id + 1; i < g->nnodes; i++)
        if (fused[i] && g->nodes[i].ninputs == 1 && g->nodes[i].inputs[0] == id &&
            (g->nodes[i].op == HN_OP_BATCHNORM || g->nodes[i].op == HN_OP_RELU || g->nodes[i].op == HN_OP_RELU6))
            return i;
    return -1;
}

/* Folds the batch norm bn (or none: -1) into weights w (cout x per) and bias b (cout), in float32 in
 * this order of operations (tests/ref/gen_qref.py repeats it): inv = gamma / sqrt(var + eps),
 * w *= inv, b = beta + (b - mean) * inv. */
static void fold_bn(const hn_graph *g, int bn, int cout, size_t per, float *w, float *b) {
    if (bn < 0) return;
    const hn_node *n = &g->nodes[bn];
    const float *gamma = g->params + n->param_off, *beta = gamma + n->shape.c;
    const float *mean = g->state + n->state_off, *var = mean + n->shape.c;
    for (int c = 0; c < cout; c++) {
        float inv = gamma[c] / sqrtf(var[c] + n->eps);
        for (size_t k = 0; k < per; k++) w[c * per + k] *= inv;
        b[c] = beta[c] + (b[c] - mean[c]) * inv;
    }
}

/* Quantizes the float weights w (cout x per) and bias b per output channel into the conv's tables of
 * p (shape fields set). With means (the input channels' means over calibration images), each bias
 * first absorbs the mean output shift the weights' rounding causes, sum_k (w_q - w)[k] * mean[input of
 * k] (empirical bias correction, Nagel et al. 2019; padding taps count as the mean). */
static hn_status quantize_layer(hn_arena *a, const float *w, float *b, int cout, size_t per, hn_qparams in,
                                hn_qparams out, const float *means, s8_conv_params *p, const float **w_scale) {
    int8_t *wq = hn_arena_alloc(a, (size_t)cout * per + 4); /* the kernels may read 4 bytes past the end */
    int32_t *bias = hn_arena_alloc(a, sizeof(int32_t) * (size_t)cout);
    s8_mult *mult = hn_arena_alloc(a, sizeof(s8_mult) * (size_t)cout);
    float *scales = hn_arena_alloc(a, sizeof(float) * (size_t)cout);
    if (!wq || !bias || !mult || !scales) return hn_error(HN_ERR_NOMEM, "int8 weights");
    *w_scale = scales;
    memset(wq + (size_t)cout * per, 0, 4);
    for (int c = 0; c < cout; c++) {
        float amax = 0;
        for (size_t k = 0; k < per; k++) amax = fmaxf(amax, fabsf(w[c * per + k]));
        hn_qparams wp = hn_qparams_from_range(-amax, amax, 8, HN_QSYMMETRIC);
        scales[c] = wp.scale;
        int32_t wsum = 0;
        for (size_t k = 0; k < per; k++) wsum += wq[c * per + k] = (int8_t)hn_quantize(w[c * per + k], wp);
        if (means) {
            int kk = p->kernel * p->kernel, first = c / (p->cout / p->groups) * (p->cin / p->groups);
            double shift = 0;
            for (size_t k = 0; k < per; k++)
                shift += ((double)hn_dequantize(wq[c * per + k], wp) - w[c * per + k]) * means[first + (int)k / kk];
            b[c] -= (float)shift;
        }
        double bias_scale = (double)in.scale * (double)wp.scale;
        double bq = nearbyint((double)b[c] / bias_scale);
        bq = fmin(fmax(bq, -2147483648.0 + 65536 * 255), 2147483647.0 - 65536 * 255); /* room for the zero-point term */
        bias[c] = (int32_t)bq - (in.zero_point + 128) * wsum; /* the kernel reads x + 128 */
        mult[c] = to_s8(hn_qmult_from_real(bias_scale / (double)out.scale));
    }
    p->weights = wq, p->bias = bias, p->mult = mult;
    p->in_zp = in.zero_point, p->out_zp = out.zero_point;
    return HN_OK;
}

typedef struct {
    const hn_graph *g;
    const float *lo, *hi;
    const float *const *in_means; /* per node, or NULL: means of its input's channels (bias correction) */
    hn_qmodel *m;
    bool *fused; /* hn_graph_fused: computed inside their producer (batch norm, activation) or views */
} builder;

static hn_qparams range_params(const builder *b, int node) {
    return hn_qparams_from_range(b->lo[node], b->hi[node], 8, HN_QASYMMETRIC);
}

/* conv2d or linear at id (or a lone batch norm, weighted = false), with the batch norm and activation
 * that follow it; *last is the graph node whose value the qnode produces */
static hn_status add_conv(builder *b, int id, qnode *q, int *last) {
    const hn_graph *g = b->g;
    const hn_node *n = &g->nodes[id], *in = &g->nodes[n->inputs[0]];
    hn_qmodel *m = b->m;
    bool weighted = n->op != HN_OP_BATCHNORM;
    int bn = weighted ? -1 : id, end = id, next = hn_q_fused_reader(g, b->fused, id);
    if (next >= 0 && g->nodes[next].op == HN_OP_BATCHNORM) bn = end = next, next = hn_q_fused_reader(g, b->fused, next);
    bool relu = next >= 0;
    if (relu) end = next;
    s8_conv_params *p = &q->s.conv;
    *p = (s8_conv_params){.cin = in->shape.c, .h = in->shape.h, .w = in->shape.w, .cout = n->shape.c, .oh = n->shape.h,
                          .ow = n->shape.w, .kernel = 1, .stride = 1, .pad = 0, .groups = 1};
    if (n->op == HN_OP_CONV2D) p->kernel = n->kernel, p->stride = n->stride, p->pad = n->pad, p->groups = n->groups;
    if (n->op == HN_OP_LINEAR) p->cin = (int)hn_shape_numel(in->shape), p->h = p->w = 1;
    if (!weighted) p->groups = p->cin;
    size_t per = (size_t)(p->cin / p->groups) * (size_t)(p->kernel * p->kernel);
    float *w = hn_alloc(sizeof(float) * per * (size_t)p->cout), *bias = hn_calloc(sizeof(float) * (size_t)p->cout);
    if (!w || !bias) {
        hn_free(w), hn_free(bias);
        return hn_error(HN_ERR_NOMEM, "int8 model");
    }
    if (weighted) {
        memcpy(w, g->params + n->param_off, sizeof(float) * per * (size_t)p->cout);
        if (n->bias) memcpy(bias, g->params + n->param_off + per * (size_t)p->cout, sizeof(float) * (size_t)p->cout);
    } else {
        for (int c = 0; c < p->cout; c++) w[c] = 1;
    }
    fold_bn(g, bn, p->cout, per, w, bias);
    q->q = range_params(b, end);
    hn_qparams inq = m->nodes[m->value_of[n->inputs[0]]].q;
    hn_status st = quantize_layer(m->arena, w, bias, p->cout, per, inq, q->q, b->in_means ? b->in_means[id] : NULL, p, &q->w_scale);
    hn_free(w), hn_free(bias);
    if (!st) p->packed = hn_s8_simd_pack(p, m->arena);
    p->act_min = -128, p->act_max = 127;
    if (relu) p->act_min = hn_quantize(0, q->q);
    if (relu && g->nodes[end].op == HN_OP_RELU6) p->act_max = hn_quantize(6, q->q);
    q->s.kind = S8_CONV;
    *last = end;
    return st;
}

/* An elementwise op (gelu, hardswish) as a table of the 256 input codes, built as TFLite builds its
 * int8 lookup tables (PopulateLookupTable): the float function of the dequantized code, times
 * 1 / output scale, rounded half away from zero, plus the zero point, clamped. */
static hn_status add_lut(builder *b, int id, qnode *q, hn_qparams in) {
    hn_elementwise_fn f = hn_op_elementwise(b->g->nodes[id].op);
    int8_t *lut = hn_arena_alloc(b->m->arena, 256);
    if (!lut) return hn_error(HN_ERR_NOMEM, "int8 model");
    q->q = range_params(b, id);
    const float inverse = 1.0f / q->q.scale;
    for (int i = 0; i < 256; i++) {
        float x = in.scale * (float)(i - 128 - in.zero_point);
        float v = roundf(f(x) * inverse) + (float)q->q.zero_point;
        lut[i] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
    }
    q->s.kind = S8_LUT, q->s.lut = lut;
    return HN_OK;
}

/* TFLite's softmax preparation (PreprocessSoftmaxScaling, beta 1, 5 integer bits): the input scale x
 * 2^26 as a multiplier, and the most negative difference whose rescaling fits 31 bits */
static s8_softmax_params softmax_params(double input_scale, int c, int hw) {
    hn_qmult beta = hn_qmult_from_real(fmin(input_scale * (double)(1 << 26), 2147483647.0));
    double radius = floor(31.0 * (double)(1 << 26) / ldexp(1.0, beta.shift));
    return (s8_softmax_params){c, hw, to_s8(beta), (int32_t)-fmin(radius, 2147483647.0)};
}

/* TFLite's fixed output quantization of an int8 softmax */
static const hn_qparams softmax_out = {1.0f / 256, -128, -128, 127};

/* Layer norm in integers (s8_kernels.h): gamma / (s_out 2^16) per channel (with gamma's sign),
 * beta / s_out rounded, eps in the kernel's units */
static hn_status add_layernorm(builder *b, int id, qnode *q, hn_qparams in) {
    const hn_node *n = &b->g->nodes[id];
    const int c = n->shape.c;
    if (c > 1024) return hn_error(HN_ERR_INVALID, "node '%s': the int8 layer norm takes at most 1024 channels, not %d", n->name, c);
    s8_mult *mult = hn_arena_alloc(b->m->arena, sizeof(s8_mult) * (size_t)c);
    int32_t *bias = hn_arena_alloc(b->m->arena, sizeof(int32_t) * (size_t)c);
    s8_norm_params *np = hn_arena_alloc(b->m->arena, sizeof *np);
    if (!mult || !bias || !np) return hn_error(HN_ERR_NOMEM, "int8 model");
    q->q = range_params(b, id);
    const float *gamma = b->g->params + n->param_off, *beta = gamma + c;
    for (int k = 0; k < c; k++) {
        mult[k] = to_s8(hn_qmult_from_real(fabs((double)gamma[k]) / ((double)q->q.scale * 65536.0)));
        if (gamma[k] < 0) mult[k].multiplier = -mult[k].multiplier;
        bias[k] = (int32_t)fmin(fmax(nearbyint((double)beta[k] / (double)q->q.scale), -16777216.0), 16777216.0);
    }
    double eps = nearbyint((double)c * c * (double)n->eps / ((double)in.scale * (double)in.scale) * 65536.0);
    *np = (s8_norm_params){c, n->shape.h * n->shape.w, q->q.zero_point, (int64_t)fmin(eps, 0x1p61), mult, bias};
    q->s.kind = S8_LAYERNORM, q->s.norm = np;
    return HN_OK;
}

/* Attention: scores of the stacked queries and keys (one scale s), softmax with input scale
 * s^2 / sqrt(d), then P (scale 1/256) times the values to the output's scale. Linear attention:
 * num / den in Q16 has the values' scale s. */
static hn_status add_attention(builder *b, int id, qnode *q, hn_qparams in) {
    const hn_node *n = &b->g->nodes[id];
    int T = n->shape.h * n->shape.w, D = n->shape.c;
    bool linear = n->op == HN_OP_LINEAR_ATTENTION;
    if (T > 256 && !linear)
        return hn_error(HN_ERR_INVALID, "node '%s': the int8 attention takes at most 256 tokens (TFLite's softmax), not %d",
                        n->name, T);
    if (T > 32768) /* its int32 sums of T products of codes (< 2^16 each) */
        return hn_error(HN_ERR_INVALID, "node '%s': the int8 linear attention takes at most 32768 tokens, not %d", n->name, T);
    s8_attn_params *ap = hn_arena_alloc(b->m->arena, sizeof *ap);
    if (!ap) return hn_error(HN_ERR_NOMEM, "int8 model");
    q->q = range_params(b, id);
    double s = in.scale;
    *ap = (s8_attn_params){D, T, n->heads, in.zero_point, q->q.zero_point,
                           linear ? (s8_softmax_params){0} : softmax_params(s * s / sqrt((double)(D / n->heads)), T, 1),
                           to_s8(hn_qmult_from_real(s / (linear ? 65536.0 : 256.0) / (double)q->q.scale))};
    q->s.kind = linear ? S8_LINEAR_ATTENTION : S8_ATTENTION, q->s.attn = ap;
    return HN_OK;
}

static hn_status add_node(builder *b, int id, int *last) {
    const hn_graph *g = b->g;
    hn_qmodel *m = b->m;
    const hn_node *n = &g->nodes[id];
    qnode *q = &m->nodes[m->n];
    memset(q, 0, sizeof *q);
    q->s.ninputs = n->ninputs;
    q->s.inputs = q->inputs, q->s.in_zp = q->in_zp, q->s.in_mult = q->in_mult;
    for (int k = 0; k < n->ninputs; k++) q->inputs[k] = m->value_of[n->inputs[k]];
    q->op = n->op;
    const qnode *in0 = n->ninputs ? &m->nodes[q->inputs[0]] : NULL;
    *last = id;
    switch (n->op) {
    case HN_OP_INPUT: q->s.kind = S8_INPUT, q->q = range_params(b, 0); break;
    case HN_OP_CONV2D:
    case HN_OP_LINEAR:
    case HN_OP_BATCHNORM: {
        hn_status st = add_conv(b, id, q, last);
        if (st) return st;
        break;
    }
    case HN_OP_RELU:
    case HN_OP_RELU6:
        q->s.kind = S8_CLAMP, q->q = in0->q, q->s.lo = hn_quantize(0, q->q);
        q->s.hi = n->op == HN_OP_RELU6 ? hn_quantize(6, q->q) : 127;
        break;
    case HN_OP_AVGPOOL:
    case HN_OP_MAXPOOL: {
        const hn_node *x = &g->nodes[n->inputs[0]];
        q->s.kind = n->op == HN_OP_AVGPOOL ? S8_AVGPOOL : S8_MAXPOOL, q->q = in0->q;
        q->s.pool = (s8_pool_params){x->shape.c, x->shape.h, x->shape.w, n->shape.h, n->shape.w, n->kernel, n->stride,
                                     n->pad, n->count_include_pad, q->q.zero_point};
        break;
    }
    case HN_OP_GLOBAL_AVGPOOL: q->s.kind = S8_MEAN, q->q = in0->q; break;
    case HN_OP_GELU:
    case HN_OP_HARDSWISH: {
        hn_status st = add_lut(b, id, q, in0->q);
        if (st) return st;
        break;
    }
    case HN_OP_SOFTMAX:
        if (n->shape.c > 256)
            return hn_error(HN_ERR_INVALID, "node '%s': the int8 softmax takes at most 256 channels, not %d", n->name,
                            n->shape.c);
    {
        s8_softmax_params *sp = hn_arena_alloc(m->arena, sizeof *sp);
        if (!sp) return hn_error(HN_ERR_NOMEM, "int8 model");
        *sp = softmax_params(in0->q.scale, n->shape.c, n->shape.h * n->shape.w);
        q->s.kind = S8_SOFTMAX, q->q = softmax_out, q->s.softmax = sp;
        break;
    }
    case HN_OP_LAYERNORM: {
        hn_status st = add_layernorm(b, id, q, in0->q);
        if (st) return st;
        break;
    }
    case HN_OP_ATTENTION:
    case HN_OP_LINEAR_ATTENTION: {
        hn_status st = add_attention(b, id, q, in0->q);
        if (st) return st;
        break;
    }
    case HN_OP_ZERO: q->s.kind = S8_ZERO, q->q = in0->q; break;
    case HN_OP_ADD: {
        /* TFLite: inputs scaled by 2^20 and s_i / (2 max s), the sum by 2 max s / (2^20 s_out); a fused
         * ReLU/ReLU6 is the output clamp */
        int act = hn_q_fused_reader(g, b->fused, id);
        if (act >= 0) *last = act;
        q->s.kind = S8_ADD, q->q = range_params(b, *last);
        q->s.lo = act >= 0 ? hn_quantize(0, q->q) : -128;
        q->s.hi = act >= 0 && g->nodes[act].op == HN_OP_RELU6 ? hn_quantize(6, q->q) : 127;
        double twice_max = 0;
        for (int k = 0; k < n->ninputs; k++) twice_max = fmax(twice_max, 2.0 * m->nodes[q->inputs[k]].q.scale);
        for (int k = 0; k < n->ninputs; k++) {
            q->in_zp[k] = m->nodes[q->inputs[k]].q.zero_point;
            q->in_mult[k] = to_s8(hn_qmult_from_real(m->nodes[q->inputs[k]].q.scale / twice_max));
        }
        q->s.out_mult = to_s8(hn_qmult_from_real(twice_max / ((double)(1 << 20) * q->q.scale)));
        break;
    }
    case HN_OP_CONCAT:
        q->s.kind = S8_CONCAT, q->q = range_params(b, id);
        for (int k = 0; k < n->ninputs; k++) {
            q->in_zp[k] = m->nodes[q->inputs[k]].q.zero_point;
            q->in_mult[k] = to_s8(hn_qmult_from_real((double)m->nodes[q->inputs[k]].q.scale / q->q.scale));
        }
        break;
    default: return hn_error(HN_ERR_INVALID, "node '%s': op %s has no int8 kernel", n->name, hn_op_name(n->op));
    }
    q->s.zp = q->q.zero_point;
    q->shape = g->nodes[*last].shape;
    q->s.len = (int32_t)hn_shape_numel(q->shape);
    q->s.off = (int32_t)m->values_bytes;
    m->values_bytes += slot((size_t)q->s.len);
    if (engine_scratch(&q->s) > m->scratch_bytes) m->scratch_bytes = engine_scratch(&q->s);
    m->value_of[*last] = m->n++;
    return HN_OK;
}

hn_status hn_qmodel_new(const hn_graph *g, const float *lo, const float *hi, const float *const *in_means,
                        hn_qmodel **out) {
    *out = NULL;
    if (!g->finalized) return hn_error(HN_ERR_INVALID, "int8 model: the graph is not finalized");
    hn_quant_kernels(); /* choose the kernels before any run */
    hn_qmodel *m = hn_calloc(sizeof *m);
    if (!m || !(m->arena = hn_arena_new()) ||
        !(m->nodes = hn_arena_alloc(m->arena, sizeof(qnode) * (size_t)g->nnodes)) ||
        !(m->value_of = hn_arena_alloc(m->arena, sizeof(int) * (size_t)g->nnodes))) {
        hn_qmodel_free(m);
        return hn_error(HN_ERR_NOMEM, "int8 model");
    }
    m->nvalues = g->nnodes;
    for (int i = 0; i < g->nnodes; i++) m->value_of[i] = -1;
    builder b = {g, lo, hi, in_means, m, hn_calloc(sizeof(bool) * (size_t)g->nnodes)};
    hn_status st = b.fused ? hn_graph_fused(g, b.fused) : hn_error(HN_ERR_NOMEM, "int8 model");
    for (int i = 0, last; i < g->nnodes && !st; i++) {
        hn_op op = g->nodes[i].op;
        if (i && b.fused[i] && (op == HN_OP_IDENTITY || op == HN_OP_FLATTEN)) /* always fused: views */
            m->value_of[i] = m->value_of[g->nodes[i].inputs[0]];
        else if (!i || !b.fused[i])
            st = add_node(&b, i, &last);
    }
    hn_free(b.fused);
    m->output = m->value_of[g->nnodes - 1];
    if (!st && !(m->plan = hn_arena_alloc(m->arena, sizeof(s8_node) * (size_t)m->n))) st = hn_error(HN_ERR_NOMEM, "int8 model");
    if (st) {
        hn_qmodel_free(m);
        return st;
    }
    for (int i = 0; i < m->n; i++) m->plan[i] = m->nodes[i].s, m->plan[i].scratch = (int32_t)m->values_bytes;
    *out = m;
    return HN_OK;
}

void hn_qmodel_free(hn_qmodel *m) {
    if (!m) return;
    hn_arena_free(m->arena);
    hn_free(m);
}

hn_qparams hn_qmodel_input_params(const hn_qmodel *m) { return m->nodes[0].q; }
hn_qparams hn_qmodel_output_params(const hn_qmodel *m) { return m->nodes[m->output].q; }
size_t hn_qmodel_input_len(const hn_qmodel *m) { return (size_t)m->plan[0].len; }
size_t hn_qmodel_output_len(const hn_qmodel *m) { return (size_t)m->plan[m->output].len; }
size_t hn_qmodel_arena_bytes(const hn_qmodel *m) { return m->values_bytes + slot(m->scratch_bytes); } /* arenas stay aligned */

void hn_qmodel_node_info(const hn_qmodel *m, int i, hn_shape *shape, hn_qparams *q, const float **w_scale, hn_op *op) {
    *shape = m->nodes[i].shape, *q = m->nodes[i].q, *w_scale = m->nodes[i].w_scale;
    if (op) *op = m->nodes[i].op;
}

const s8_node *hn_qmodel_plan(const hn_qmodel *m, int *n, int *output, size_t *values_bytes) {
    *n = m->n, *output = m->output, *values_bytes = m->values_bytes;
    return m->plan;
}

void hn_qmodel_forward(const hn_qmodel *m, const int8_t *in, int8_t *arena, int8_t *out) {
    s8_forward(m->plan, m->n, m->output, in, arena, out);
}

const int8_t *hn_qmodel_value(const hn_qmodel *m, const int8_t *arena, int node, hn_qparams *q) {
    if (m->shared || node < 0 || node >= m->nvalues || m->value_of[node] < 0) return NULL;
    const qnode *v = &m->nodes[m->value_of[node]];
    if (q) *q = v->q;
    return arena + v->s.off;
}

/* whether block b goes before block c: rule 0 larger first, rule 1 longer-lived first (then larger) */
static bool before(int rule, int b, int c, int n, const size_t *len, const int *last) {
    int lb = last[b] - b % n, lc = last[c] - c % n;
    if (rule == 1 && lb != lc) return lb > lc;
    return len[b] > len[c];
}

/* Places the 2n blocks (values 0..n-1, scratch n..2n-1, len bytes, alive from step b % n to last[b]) in
 * the order given: each at the lowest offset where it overlaps no placed block whose lifetime meets
 * its own. order is scratch of 2n entries; returns the arena's size. */
static size_t place(int n, const int *by, const size_t *len, const int *last, int *order, size_t *off) {
    size_t peak = 0;
    for (int a = 0; a < 2 * n; a++) {
        int b = by[a], first = b % n, nmeet = 0;
        off[b] = 0;
        if (!len[b]) continue;
        for (int c = 0; c < a; c++) { /* placed blocks alive at some step of b's lifetime, by offset */
            int o = by[c];
            if (!len[o] || o % n > last[b] || last[o] < first) continue;
            int at = nmeet;
            while (at > 0 && off[order[at - 1]] > off[o]) order[at] = order[at - 1], at--;
            order[at] = o, nmeet++;
        }
        size_t at_off = 0;
        for (int k = 0; k < nmeet; k++) {
            if (at_off + len[b] <= off[order[k]]) break;
            size_t end = off[order[k]] + len[order[k]];
            if (end > at_off) at_off = end;
        }
        off[b] = at_off;
        if (at_off + len[b] > peak) peak = at_off + len[b];
    }
    return peak;
}

hn_status hn_qmodel_layout(hn_qmodel *m, const size_t *scratch) {
    /* blocks: 0..n-1 the steps' values, n..2n-1 their kernels' scratch (alive during the step only) */
    int n = m->n, nb = 2 * n;
    int *last = hn_alloc(sizeof(int) * (size_t)nb), *order = hn_alloc(sizeof(int) * (size_t)nb);
    size_t *len = hn_alloc(sizeof(size_t) * (size_t)nb), *off = hn_alloc(sizeof(size_t) * (size_t)nb);
    if (!last || !order || !len || !off) {
        hn_free(last), hn_free(order), hn_free(len), hn_free(off);
        return hn_error(HN_ERR_NOMEM, "int8 memory plan");
    }
    /* a value lives from its step to its last reader's (the output to the end) */
    for (int i = 0; i < n; i++) {
        last[i] = i == m->output ? n : i, last[n + i] = i;
        len[i] = slot((size_t)m->plan[i].len);
        size_t own = scratch ? scratch[i] : engine_scratch(&m->plan[i]);
        len[n + i] = slot(own);
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < m->plan[i].ninputs; k++)
            if (last[m->plan[i].inputs[k]] < i) last[m->plan[i].inputs[k]] = i;
    /* three orders of placement, the smallest arena kept: the largest block first (TFLite Micro's
     * offline planner), the longest-lived first (a residual's input spans its block), the steps' order */
    int *by = hn_alloc(sizeof(int) * (size_t)nb);
    size_t *best = hn_alloc(sizeof(size_t) * (size_t)nb), peak = (size_t)-1;
    if (!by || !best) {
        hn_free(last), hn_free(order), hn_free(len), hn_free(off), hn_free(by), hn_free(best);
        return hn_error(HN_ERR_NOMEM, "int8 memory plan");
    }
    for (int rule = 0; rule < 3; rule++) {
        for (int b = 0; b < nb; b++) by[b] = b % 2 ? n + b / 2 : b / 2; /* value i, scratch i, ... */
        for (int a = 1; rule < 2 && a < nb; a++) { /* insertion sort, stable: ties keep the steps' order */
            int b = by[a], k = a;
            for (; k > 0 && before(rule, b, by[k - 1], n, len, last); k--) by[k] = by[k - 1];
            by[k] = b;
        }
        size_t p = place(n, by, len, last, order, off);
        if (p < peak) peak = p, memcpy(best, off, sizeof(size_t) * (size_t)nb);
    }
    memcpy(off, best, sizeof(size_t) * (size_t)nb);
    hn_free(by), hn_free(best);
    for (int i = 0; i < n; i++) m->plan[i].off = (int32_t)off[i], m->plan[i].scratch = (int32_t)off[n + i];
    m->values_bytes = peak, m->scratch_bytes = 0; /* the scratch lives among the values now */
    m->shared = true, m->foreign = scratch != NULL;
    hn_free(last), hn_free(order), hn_free(len), hn_free(off);
    return HN_OK;
}

hn_status hn_qmodel_share_memory(hn_qmodel *m) { return hn_qmodel_layout(m, NULL); }

hn_status hn_qmodel_run(const hn_qmodel *m, const int8_t *in, int n, int8_t *out) {
    if (m->foreign) return hn_error(HN_ERR_INVALID, "int8 model: its memory is laid out for an exported model's kernels");
    int threads = hn_get_threads() < n ? hn_get_threads() : n > 0 ? n : 1;
    size_t bytes = hn_qmodel_arena_bytes(m);
    int8_t *arenas = hn_alloc(bytes * (size_t)threads);
    if (!arenas) return hn_error(HN_ERR_NOMEM, "int8 model: %d arenas of %zu bytes", threads, bytes);
    size_t in_len = hn_qmodel_input_len(m), out_len = hn_qmodel_output_len(m);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int i = 0; i < n; i++) {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        hn_qmodel_forward(m, in + (size_t)i * in_len, arenas + (size_t)t * bytes, out + (size_t)i * out_len);
    }
    hn_free(arenas);
    return HN_OK;
}

void hn_qmodel_quantize_input(const hn_qmodel *m, const float *x, int n, int8_t *out) {
    hn_qparams p = hn_qmodel_input_params(m);
    const float lo = (float)(p.qmin - p.zero_point), hi = (float)(p.qmax - p.zero_point);
    size_t len = hn_qmodel_input_len(m) * (size_t)n;
    for (size_t i = 0; i < len; i++) out[i] = (int8_t)((int32_t)hn_q_round(x[i], p.scale, lo, hi) + p.zero_point);
}

void hn_q_conv_bias(const s8_conv_params *p, int32_t *bias) {
    size_t per = (size_t)(p->cin / p->groups) * (size_t)(p->kernel * p->kernel);
    for (int o = 0; o < p->cout; o++) {
        int32_t wsum = 0;
        for (size_t k = 0; k < per; k++) wsum += p->weights[(size_t)o * per + k];
        bias[o] = p->bias[o] + (p->in_zp + 128) * wsum;
    }
}

void hn_q_weights_nhwc(const s8_conv_params *p, hn_shape in, bool linear, int8_t *out) {
    int kk = p->kernel * p->kernel, cg = p->cin / p->groups, hw = in.h * in.w;
    if (linear) { /* column k = (y * W + x) * C + channel reads hwnas's channel * H * W + y * W + x */
        for (int o = 0; o < p->cout; o++)
            for (int k = 0; k < p->cin; k++)
                out[(size_t)o * p->cin + k] = p->weights[(size_t)o * p->cin + (hw > 1 ? (k % in.c) * hw + k / in.c : k)];
    } else if (p->groups == p->cin && p->groups > 1) { /* depthwise: (k, k, cout) */
        for (int o = 0; o < p->cout; o++)
            for (int k = 0; k < kk; k++) out[(size_t)k * p->cout + o] = p->weights[(size_t)o * kk + k];
    } else {
        for (int o = 0; o < p->cout; o++)
            for (int ic = 0; ic < cg; ic++)
                for (int k = 0; k < kk; k++)
                    out[((size_t)o * kk + k) * cg + ic] = p->weights[((size_t)o * cg + ic) * kk + k];
    }
}
