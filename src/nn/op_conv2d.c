/* conv2d: any kernel, stride, padding and groups (depthwise is groups = in = out channels).
 *
 * Weights (C_out, C_in/groups, K, K), bias (C_out). Activations are channel-major (C, N, H, W), so a
 * group's convolution over the whole batch is one GEMM:
 *     Y_g (C_out/g, N*OH*OW) = W_g (C_out/g, C_in/g*K*K) x col_g (C_in/g*K*K, N*OH*OW)
 * where col is the im2col unfolding. A 1x1 convolution with stride 1 and no padding needs no unfolding
 * (col_g is the input itself). The unfolding is done a chunk of images at a time so that the scratch
 * buffer stays small (COL_LIMIT floats) whatever the batch; unfold.c does the unfolding itself.
 * Depthwise convolutions (one input and one output channel per group) are depthwise.c's, since a
 * GEMM with one row wastes the BLAS. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "../core/gemm.h"
#include "depthwise.h"
#include "op.h"
#include "unfold.h"

enum { COL_LIMIT = 1 << 19 }; /* floats of im2col scratch per chunk and thread (2 MiB: a core's L2) */


static geom geom_of(const hn_graph *g, const hn_node *n) {
    hn_shape in = hn_in_shape(g, n, 0);
    geom q = {in.c, in.h, in.w, n->out, n->shape.h, n->shape.w, n->kernel, n->stride, n->pad, n->groups, 0, 0, 0};
    q.cin_g = q.cin / q.groups;
    q.cout_g = q.cout / q.groups;
    q.kdim = q.cin_g * q.k * q.k;
    return q;
}

static bool is_direct_gemm(const geom *q) { return q->k == 1 && q->s == 1 && q->p == 0; }
static bool is_depthwise(const geom *q) { return q->cin_g == 1 && q->cout_g == 1 && q->groups > 1; }

static hn_status infer(const hn_graph *g, hn_node *n) {
    hn_shape in = hn_in_shape(g, n, 0);
    if (n->out <= 0) return hn_error(HN_ERR_INVALID, "out channels must be positive (got %d)", n->out);
    if (n->kernel <= 0) return hn_error(HN_ERR_INVALID, "kernel must be positive (got %d)", n->kernel);
    if (n->pad < 0) return hn_error(HN_ERR_INVALID, "padding must be >= 0 (got %d)", n->pad);
    if (in.c % n->groups || n->out % n->groups)
        return hn_error(HN_ERR_SHAPE, "groups %d must divide both in channels %d and out channels %d", n->groups, in.c,
                        n->out);
    if (in.h + 2 * n->pad < n->kernel || in.w + 2 * n->pad < n->kernel)
        return hn_error(HN_ERR_SHAPE, "kernel %d is larger than the padded input %dx%d (padding %d)", n->kernel, in.h,
                        in.w, n->pad);
    n->shape.c = n->out;
    n->shape.h = (in.h + 2 * n->pad - n->kernel) / n->stride + 1;
    n->shape.w = (in.w + 2 * n->pad - n->kernel) / n->stride + 1;
    n->nparams = (size_t)n->out * (size_t)(in.c / n->groups) * (size_t)(n->kernel * n->kernel) + (n->bias ? (size_t)n->out : 0);
    return HN_OK;
}

static void init(const hn_graph *g, const hn_node *n, float *w, float *state, hn_rng *r) {
    (void)state;
    geom q = geom_of(g, n);
    float bound = 1.0f / sqrtf((float)q.kdim);
    for (size_t i = 0; i < n->nparams; i++) w[i] = (2.0f * hn_rng_uniform(r) - 1.0f) * bound;
}

static int views(const hn_graph *g, const hn_node *n, float *w, float *state, hn_param_view *v) {
    (void)state;
    geom q = geom_of(g, n);
    v[0] = (hn_param_view){"weight", 4, {q.cout, q.cin_g, q.k, q.k}, w, true};
    if (!n->bias) return 1;
    v[1] = (hn_param_view){"bias", 1, {q.cout}, w + (size_t)q.cout * q.kdim, true};
    return 2;
}

/* Rows of the unfolding that backward's transposed form needs (see backward), else kdim. */
static int kdim_max(const geom *q) {
    int kt = q->cout_g * q->k * q->k;
    return hn_unfold_of(q) == UNFOLD_SAME && kt > q->kdim ? kt : q->kdim;
}

static int chunk_images(const geom *q, int batch) {
    size_t per = (size_t)kdim_max(q) * q->oh * q->ow;
    int nb = (int)(COL_LIMIT / (per ? per : 1));
    if (nb < 1) nb = 1;
    return nb < batch ? nb : batch;
}

/* Training a stride-2 convolution keeps the whole batch's phase planes (as large as its input) from
 * forward, so that backward unfolds for the weight gradient without splitting them again. */
static size_t aux_bytes(const hn_graph *g, const hn_node *n, int batch, bool with_grad) {
    geom q = geom_of(g, n);
    if (!with_grad || is_direct_gemm(&q) || is_depthwise(&q) || hn_unfold_of(&q) != UNFOLD_PHASE2) return 0;
    return sizeof(float) * (size_t)q.cin * batch * q.h * q.w;
}

/* The phase planes of chunk [n0, n0+nb) of group g: in the kept batch planes, or in the slot. */
static hn_phases phases_of(const hn_op_ctx *c, const geom *q, int g, int n0, int nb, float *slot_phase, bool ready) {
    if (c->aux) return (hn_phases){(float *)c->aux + (size_t)g * q->cin_g * c->n * q->h * q->w, c->n, n0, ready};
    return (hn_phases){slot_phase, nb, 0, false};
}

static int64_t macs(const hn_graph *g, const hn_node *n) {
    geom q = geom_of(g, n);
    return (int64_t)q.cout * q.oh * q.ow * q.kdim;
}

static void add_bias(const geom *q, float *y, const float *b, size_t NP) {
#pragma omp parallel for schedule(static)
    for (int c = 0; c < q->cout; c++) {
        float *row = y + (size_t)c * NP;
        for (size_t i = 0; i < NP; i++) row[i] += b[c];
    }
}

/* A 1x1 convolution's GEMM over ncols columns, a block of columns at a time: C (m, ncols) (ldc) =
 * beta C + A (m, k) x B (k, ncols) (ldb), A transposed when ta, beta 0 or 1. A block whose B and C fit
 * in a core's L2 is zeroed, multiplied and (the callback) post-processed in cache, instead of three
 * passes over all of a thread's columns. The zeroing is a memset and the GEMM then accumulates
 * (beta 1): measured faster than the BLAS's own scaling of C when the GEMMs were OpenBLAS's (its
 * beta loop, for the shallow expansions, k = 16-24, where writing C is most of the work); kept with
 * oneDNN without a new measurement. */
enum { DIRECT_BLOCK = 1 << 17 }; /* floats of B and C a block (512 KiB) */

typedef void block_done(const hn_op_ctx *c, const geom *q, int g, size_t col0, size_t len);

static void direct_gemm(bool ta, int m, int k, size_t ncols, const float *a, int lda, const float *b, int ldb,
                        float beta, float *cm, int ldc, const hn_op_ctx *c, const geom *q, int g, size_t col0,
                        block_done *done) {
    size_t step = DIRECT_BLOCK / (size_t)(m + k);
    step = step < 64 ? 64 : step & ~(size_t)15;
    for (size_t j = 0; j < ncols; j += step) {
        const size_t len = ncols - j < step ? ncols - j : step;
        if (beta == 0.0f)
            for (int r = 0; r < m; r++) memset(cm + (size_t)r * ldc + j, 0, sizeof(float) * len);
        hn_sgemm(ta, false, m, (int)len, k, 1.0f, a, lda, b + j, ldb, 1.0f, cm + j, ldc);
        if (done) done(c, q, g, col0 + j, len);
    }
}

/* Threads split the batch: each takes a slice of images through the whole convolution (unfolding
 * and single-threaded GEMMs on its own scratch), which keeps each core's working set in its own
 * caches and needs no synchronisation but one: the weight gradient, which each thread computes for
 * its images into a private partial, summed in thread order at the end (so a run is reproducible for
 * a given thread count).
 *
 * Scratch: [flipped weights of all groups (backward)] then one slot per thread of
 * [unfolding of a chunk | phase planes of a chunk | partial weight gradient (all groups)]. */
static size_t shared_floats(const geom *q) { return (size_t)q->cin * q->cout_g * q->k * q->k; }

static size_t slot_floats(const geom *q, int batch) {
    size_t dwf = (size_t)q->cout * q->kdim;
    if (is_direct_gemm(q)) return dwf;
    int nb = chunk_images(q, batch);
    return (size_t)kdim_max(q) * q->oh * q->ow * (size_t)nb + hn_phase_floats(q, nb) + dwf;
}

static size_t scratch_floats(const hn_graph *g, const hn_node *n, int batch) {
    geom q = geom_of(g, n);
    if (is_depthwise(&q)) return hn_dw_scratch_floats(&q) * (size_t)hn_get_threads();
    return shared_floats(&q) + slot_floats(&q, batch) * (size_t)hn_get_threads();
}

/* This pass's thread count (no more than the slots the scratch holds) and thread t's slot. */
static int pass_threads(const hn_op_ctx *c, const geom *q) {
    size_t slots = (c->scratch_len - shared_floats(q)) / slot_floats(q, c->n);
    int t = omp_get_max_threads();
    return (size_t)t < slots ? t : (int)(slots ? slots : 1);
}

typedef struct {
    float *col, *phase, *pdw;
    int i0, i1, nbmax; /* images [i0, i1), unfolded nbmax at a time */
} slot;

static slot slot_of(const hn_op_ctx *c, const geom *q) {
    int t = omp_get_thread_num(), nt = omp_get_num_threads(), N = c->n;
    slot s;
    s.nbmax = chunk_images(q, N);
    s.col = c->scratch + shared_floats(q) + slot_floats(q, N) * (size_t)t;
    s.phase = s.col + (is_direct_gemm(q) ? 0 : (size_t)kdim_max(q) * q->oh * q->ow * s.nbmax);
    s.pdw = s.phase + (is_direct_gemm(q) ? 0 : hn_phase_floats(q, s.nbmax));
    s.i0 = (int)((int64_t)N * t / nt);
    s.i1 = (int)((int64_t)N * (t + 1) / nt);
    return s;
}

/* Inference epilogue on group g's output channels, columns [col0, col0+len) of the output
 * (C_out, N*OH*OW), while they are still in this core's cache: bias, the folded batch norm, the
 * activation. */
static void epilogue(const hn_op_ctx *c, const geom *q, int g, size_t col0, size_t len) {
    const float *bias = c->node->bias ? c->w + (size_t)q->cout * q->kdim : NULL;
    const size_t NP = (size_t)c->n * q->oh * q->ow;
    for (int co = g * q->cout_g; co < (g + 1) * q->cout_g; co++) {
        float *row = c->out + (size_t)co * NP + col0;
        const float a = c->post_scale[co];
        hn_affine_act(row, row, len, a, c->post_shift[co] + (bias ? bias[co] * a : 0.0f), c->act_hi);
    }
}

static void forward(const hn_op_ctx *c) {
    geom q = geom_of(c->g, c->node);
    const int N = c->n, P = q.oh * q.ow;
    const size_t NP = (size_t)N * P, NHW = (size_t)N * q.h * q.w;
    if (is_depthwise(&q)) {
        hn_dw_forward(c, &q); /* with its epilogue */
        return;
    }
#pragma omp parallel num_threads(pass_threads(c, &q))
    {
        slot s = slot_of(c, &q);
        for (int g = 0; g < q.groups && s.i1 > s.i0; g++) {
            const float *wg = c->w + (size_t)g * q.cout_g * q.kdim;
            float *yg = c->out + (size_t)g * q.cout_g * NP;
            if (is_direct_gemm(&q)) { /* 1x1: col_g is the input; P = H*W */
                direct_gemm(false, q.cout_g, q.kdim, (size_t)(s.i1 - s.i0) * P, wg, q.kdim,
                            c->in[0] + (size_t)g * q.cin_g * NHW + (size_t)s.i0 * P, (int)NHW, 0.0f,
                            yg + (size_t)s.i0 * P, (int)NP, c, &q, g, (size_t)s.i0 * P,
                            c->post_scale ? epilogue : NULL);
                continue;
            }
            for (int n0 = s.i0; n0 < s.i1; n0 += s.nbmax) {
                int nb = s.i1 - n0 < s.nbmax ? s.i1 - n0 : s.nbmax;
                hn_phases ph = phases_of(c, &q, g, n0, nb, s.phase, false);
                hn_im2col(&q, c->in[0], N, g, n0, nb, s.col, &ph);
                hn_sgemm(false, false, q.cout_g, nb * P, q.kdim, 1.0f, wg, q.kdim,
                            s.col, nb * P, 0.0f, yg + (size_t)n0 * P, (int)NP);
                if (c->post_scale)
                    epilogue(c, &q, g, (size_t)n0 * P, (size_t)nb * P);
            }
        }
    }
    if (c->node->bias && !c->post_scale) add_bias(&q, c->out, c->w + (size_t)q.cout * q.kdim, NP);
}

/* The weight gradient of a group over len columns: dW_g (C_out/g, kdim) (+)= dY_g (C_out/g, len) x
 * col^T (len, kdim), a GEMM with a long inner dimension and a small output. oneDNN runs it 1.5-3x faster
 * with the larger of the two output dimensions as rows (measured: 32 x 288 at 108 GFLOP/s against
 * 288 x 32 at 162; 16 x 96 at 16 against 96 x 16 at 108), and faster transposed for the first layer's
 * 16 x 9 too (26 against 78); so the partial is kept as dW_g^T (kdim, C_out/g) except for a 1x1
 * convolution that widens, and backward's sum of the partials transposes it back. */
static bool dw_transposed(const geom *q) { return !(is_direct_gemm(q) && q->cout_g > q->kdim); }

static void dw_gemm(const geom *q, int len, const float *dy, int ldy, const float *col, int ldcol, float beta,
                    float *pdw) {
    if (dw_transposed(q))
        hn_sgemm(false, true, q->kdim, q->cout_g, len, 1.0f, col, ldcol, dy, ldy, beta, pdw, q->cout_g);
    else
        hn_sgemm(false, true, q->cout_g, q->kdim, len, 1.0f, dy, ldy, col, ldcol, beta, pdw, q->kdim);
}

static void backward(const hn_op_ctx *c) {
    geom q = geom_of(c->g, c->node);
    const int N = c->n, P = q.oh * q.ow, kk = q.k * q.k;
    const size_t NP = (size_t)N * P, HW = (size_t)q.h * q.w, NHW = (size_t)N * HW, ndw = (size_t)q.cout * q.kdim;
    float *dx = c->din[0];
    const bool acc = c->din_acc[0];
    if (c->node->bias) {
        float *db = c->dw + ndw;
#pragma omp parallel for schedule(static)
        for (int o = 0; o < q.cout; o++) {
            const float *row = c->dout + (size_t)o * NP;
            float sum = 0;
            for (size_t i = 0; i < NP; i++) sum += row[i];
            db[o] = sum;
        }
    }
    if (is_depthwise(&q)) {
        hn_dw_backward(c, &q, dx, acc);
        return;
    }
    /* For stride 1 with "same" padding the input gradient is itself a "same" convolution of dY with
     * the flipped, transposed filters: dX_g = Wt_g (C_in/g, C_out/g*K*K) x im2col(dY_g). That is one
     * efficient GEMM straight into dx, instead of a GEMM with a tiny inner dimension (C_out/g) whose
     * output is col-sized, followed by the col2im scatter. */
    const bool transposed = !is_direct_gemm(&q) && hn_unfold_of(&q) == UNFOLD_SAME;
    geom t = q;
    t.cin = q.cout, t.cout = q.cin, t.cin_g = q.cout_g, t.cout_g = q.cin_g, t.kdim = q.cout_g * kk;
    t.h = q.oh, t.w = q.ow, t.oh = q.h, t.ow = q.w, t.p = q.k - 1 - q.p;
    float *wt = c->scratch; /* (groups, C_in/g, C_out/g*K*K): wt[ci][co][K-1-ki][K-1-kj] = w[co][ci][ki][kj] */
    if (dx && transposed)
        for (int g = 0; g < q.groups; g++)
            for (int co = 0; co < q.cout_g; co++)
                for (int ci = 0; ci < q.cin_g; ci++)
                    for (int r = 0; r < kk; r++)
                        wt[(((size_t)g * q.cin_g + ci) * q.cout_g + co) * kk + (kk - 1 - r)] =
                            c->w[(((size_t)g * q.cout_g + co) * q.cin_g + ci) * kk + r];
#pragma omp parallel num_threads(pass_threads(c, &q))
    {
        slot s = slot_of(c, &q);
        const int n = s.i1 - s.i0;
        if (n == 0) memset(s.pdw, 0, sizeof(float) * ndw);
        for (int g = 0; g < q.groups && n > 0; g++) {
            const float *wg = c->w + (size_t)g * q.cout_g * q.kdim;
            const float *dyg = c->dout + (size_t)g * q.cout_g * NP;
            float *pdwg = s.pdw + (size_t)g * q.cout_g * q.kdim;
            if (is_direct_gemm(&q)) {
                const float *xg = c->in[0] + (size_t)g * q.cin_g * NHW + (size_t)s.i0 * HW;
                dw_gemm(&q, n * P, dyg + (size_t)s.i0 * P, (int)NP, xg, (int)NHW, 0.0f, pdwg);
                if (dx)
                    direct_gemm(true, q.cin_g, q.cout_g, (size_t)n * P, wg, q.kdim, dyg + (size_t)s.i0 * P, (int)NP,
                                acc ? 1.0f : 0.0f, dx + (size_t)g * q.cin_g * NHW + (size_t)s.i0 * HW, (int)NHW, c, &q, g,
                                0, NULL);
                continue;
            }
            for (int n0 = s.i0; n0 < s.i1; n0 += s.nbmax) {
                int nb = s.i1 - n0 < s.nbmax ? s.i1 - n0 : s.nbmax;
                hn_phases ph = phases_of(c, &q, g, n0, nb, s.phase, true); /* split by forward */
                hn_im2col(&q, c->in[0], N, g, n0, nb, s.col, &ph);
                dw_gemm(&q, nb * P, dyg + (size_t)n0 * P, (int)NP, s.col, nb * P, n0 > s.i0 ? 1.0f : 0.0f, pdwg);
                if (!dx) continue;
                if (transposed) {
                    hn_im2col(&t, c->dout, N, g, n0, nb, s.col, NULL); /* a "same" unfolding: no phases */
                    hn_sgemm(false, false, q.cin_g, nb * P, t.kdim, 1.0f,
                                wt + (size_t)g * q.cin_g * t.kdim, t.kdim, s.col, nb * P, acc ? 1.0f : 0.0f,
                                dx + (size_t)g * q.cin_g * NHW + (size_t)n0 * HW, (int)NHW);
                } else {
                    hn_sgemm(true, false, q.kdim, nb * P, q.cout_g, 1.0f, wg, q.kdim,
                                dyg + (size_t)n0 * P, (int)NP, 0.0f, s.col, nb * P);
                    hn_col2im(&q, s.col, N, g, n0, nb, dx, acc, s.phase);
                }
            }
        }
        /* the weight gradient: the threads' partials, summed in thread order */
#pragma omp barrier
        const int nt = omp_get_num_threads();
        const size_t slot_len = slot_floats(&q, N);
        const float *pdw0 = s.pdw - (size_t)omp_get_thread_num() * slot_len; /* thread 0's partial */
        const bool tr = dw_transposed(&q);
        const size_t per_group = (size_t)q.cout_g * q.kdim;
#pragma omp for schedule(static)
        for (size_t i = 0; i < ndw; i++) {
            const size_t co = i % per_group / q.kdim, r = i % q.kdim; /* dw[g][co][r] */
            const size_t j = tr ? i - i % per_group + r * q.cout_g + co : i;
            float sum = 0;
            for (int u = 0; u < nt; u++) sum += pdw0[(size_t)u * slot_len + j];
            c->dw[i] = sum;
        }
    }
}

const hn_op_def hn_op_conv2d = {
    .name = "conv2d", .min_inputs = 1, .max_inputs = 1, .infer = infer, .init = init, .views = views,
    .aux_bytes = aux_bytes, .scratch_floats = scratch_floats, .forward = forward, .backward = backward, .macs = macs,
    .can_fold_affine = true,
};
