/* linear (fully connected): y = W x + b on a flat input (F, 1, 1). Weight (out, in), bias (out).
 * Channel-major activations make the batch the GEMM's column dimension:
 *     Y (out, N) = W (out, in) x X (in, N). */
#include <math.h>

#include "../core/gemm.h"
#include "op.h"

static hn_status infer(const hn_graph *g, hn_node *n) {
    hn_shape in = hn_in_shape(g, n, 0);
    if (in.h != 1 || in.w != 1)
        return hn_error(HN_ERR_SHAPE, "needs a flat input, got %dx%dx%d (add a flatten or global_avgpool before it)",
                        in.c, in.h, in.w);
    if (n->out <= 0) return hn_error(HN_ERR_INVALID, "out features must be positive (got %d)", n->out);
    n->shape = (hn_shape){n->out, 1, 1};
    n->nparams = (size_t)n->out * in.c + (n->bias ? (size_t)n->out : 0);
    return HN_OK;
}

static void init(const hn_graph *g, const hn_node *n, float *w, float *state, hn_rng *r) {
    (void)state;
    float bound = 1.0f / sqrtf((float)hn_in_shape(g, n, 0).c);
    for (size_t i = 0; i < n->nparams; i++) w[i] = (2.0f * hn_rng_uniform(r) - 1.0f) * bound;
}

static int views(const hn_graph *g, const hn_node *n, float *w, float *state, hn_param_view *v) {
    (void)state;
    int64_t in = hn_in_shape(g, n, 0).c;
    v[0] = (hn_param_view){"weight", 2, {n->out, in}, w, true};
    if (!n->bias) return 1;
    v[1] = (hn_param_view){"bias", 1, {n->out}, w + n->out * in, true};
    return 2;
}

static int64_t macs(const hn_graph *g, const hn_node *n) { return (int64_t)n->out * hn_in_shape(g, n, 0).c; }

static void forward(const hn_op_ctx *c) {
    const int in = hn_in_shape(c->g, c->node, 0).c, out = c->node->out, N = c->n;
    hn_sgemm(false, false, out, N, in, 1.0f, c->w, in, c->in[0], N, 0.0f, c->out, N);
    if (c->node->bias)
        for (int o = 0; o < out; o++)
            for (int b = 0; b < N; b++) c->out[o * N + b] += c->w[(size_t)out * in + o];
}

static void backward(const hn_op_ctx *c) {
    const int in = hn_in_shape(c->g, c->node, 0).c, out = c->node->out, N = c->n;
    hn_sgemm(false, true, out, in, N, 1.0f, c->dout, N, c->in[0], N, 0.0f, c->dw, in);
    if (c->node->bias)
        for (int o = 0; o < out; o++) {
            float s = 0;
            for (int b = 0; b < N; b++) s += c->dout[o * N + b];
            c->dw[(size_t)out * in + o] = s;
        }
    if (c->din[0])
        hn_sgemm(true, false, in, N, out, 1.0f, c->w, in, c->dout, N,
                    c->din_acc[0] ? 1.0f : 0.0f, c->din[0], N);
}

const hn_op_def hn_op_linear = {
    .name = "linear", .min_inputs = 1, .max_inputs = 1, .infer = infer, .init = init, .views = views,
    .forward = forward, .backward = backward, .macs = macs,
};
