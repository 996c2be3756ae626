/* flatten: (C, H, W) -> (C*H*W, 1, 1), feature f = c*H*W + h*W + w as in PyTorch's Flatten. In the
 * channel-major layout this is a transpose of the (N, H*W) block of each channel:
 *     out[(c*HW + s)*N + n] = in[(c*N + n)*HW + s]. */
#include "op.h"

static hn_status infer(const hn_graph *g, hn_node *n) {
    hn_shape in = hn_in_shape(g, n, 0);
    n->shape = (hn_shape){in.c * in.h * in.w, 1, 1};
    return HN_OK;
}

static void forward(const hn_op_ctx *c) {
    hn_shape in = hn_in_shape(c->g, c->node, 0);
    const int N = c->n, HW = in.h * in.w;
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < in.c; ch++)
        for (int n = 0; n < N; n++)
            for (int s = 0; s < HW; s++)
                c->out[((size_t)ch * HW + s) * N + n] = c->in[0][((size_t)ch * N + n) * HW + s];
}

static void backward(const hn_op_ctx *c) {
    if (!c->din[0]) return;
    hn_shape in = hn_in_shape(c->g, c->node, 0);
    const int N = c->n, HW = in.h * in.w;
    bool acc = c->din_acc[0];
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < in.c; ch++)
        for (int n = 0; n < N; n++)
            for (int s = 0; s < HW; s++) {
                float v = c->dout[((size_t)ch * HW + s) * N + n];
                float *d = &c->din[0][((size_t)ch * N + n) * HW + s];
                *d = acc ? *d + v : v;
            }
}

const hn_op_def hn_op_flatten = {
    .name = "flatten", .min_inputs = 1, .max_inputs = 1, .infer = infer, .forward = forward, .backward = backward,
};
