/* The C exporter for CMSIS-NN: model.c runs the int8 model with Arm's CMSIS-NN s8 kernels (the ones
 * TFLite Micro calls on Cortex-M) for convolutions, depthwise and linear layers, two-input additions and
 * pooling, and with the engine's portable kernels for the elementwise rest (additions of other input
 * counts, ReLU clamps, the zero op, concatenation's rescale). CMSIS-NN computes TFLite's arithmetic,
 * which the engine's is, so the outputs equal the engine's; main.c and model.h are the portable
 * exporter's. Activations are NHWC in the arena (CMSIS-NN's layout); hn_model_run still takes and
 * returns hwnas's (C, H, W) order, transposing at the edges. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export_c_internal.h"

typedef struct {
    hn_c_out o;   /* model.c: the tables */
    FILE *calls;  /* hn_model_run's body (a memory stream: the scratch size it needs comes first) */
    const hn_qmodel *m;
    const s8_node *plan;
} writer;

static size_t align(size_t n, size_t a) { return (n + a - 1) / a * a; }

/* the conv's tables: weights (NHWC order), TFLite's bias, multipliers and shifts */
static hn_status conv_tables(writer *w, int i, bool linear) {
    const s8_conv_params *c = &w->plan[i].conv;
    hn_shape in_shape, unused_shape;
    hn_qparams q;
    const float *ws;
    hn_qmodel_node_info(w->m, w->plan[i].inputs[0], &in_shape, &q, &ws, NULL);
    hn_qmodel_node_info(w->m, i, &unused_shape, &q, &ws, NULL);
    size_t per = (size_t)(c->cin / c->groups) * (size_t)(c->kernel * c->kernel);
    int8_t *wt = hn_alloc(per * (size_t)c->cout);
    int32_t *ints = hn_alloc(sizeof(int32_t) * 3 * (size_t)c->cout);
    if (!wt || !ints) {
        hn_free(wt), hn_free(ints);
        return hn_error(HN_ERR_NOMEM, "CMSIS-NN export");
    }
    hn_q_weights_nhwc(c, in_shape, linear, wt);
    hn_q_conv_bias(c, ints);
    for (int o = 0; o < c->cout; o++) ints[c->cout + o] = c->mult[o].multiplier, ints[2 * c->cout + o] = c->mult[o].shift;
    char name[32];
    snprintf(name, sizeof name, "w%d", i);
    hn_c_int8_table(&w->o, name, wt, per * (size_t)c->cout);
    snprintf(name, sizeof name, "b%d", i);
    hn_c_int32_table(&w->o, "int32_t", name, ints, (size_t)c->cout);
    snprintf(name, sizeof name, "m%d", i);
    hn_c_int32_table(&w->o, "int32_t", name, ints + c->cout, (size_t)c->cout);
    snprintf(name, sizeof name, "s%d", i);
    hn_c_int32_table(&w->o, "int32_t", name, ints + 2 * c->cout, (size_t)c->cout);
    hn_free(wt), hn_free(ints);
    return HN_OK;
}

/* The scratch step i's CMSIS-NN kernel asks for (its _get_buffer_size function) when CMSIS-NN is built
 * with GCC or Clang for the DSP extension (Cortex-M4, M7, M33): a convolution unfolds 2 columns of
 * int16, 4 x cin/groups x k x k bytes rounded up to 4 values, but a 1x1 one (no padding, not grouped)
 * needs none; a depthwise one (multiplier 1) cin x k x k int16, none for 3x3 with padding <= 1;
 * average pooling a 32-bit sum per channel. Other builds (MVE on M55/M85, Arm Compiler's 1x1 path)
 * may ask for more: the generated code checks and then fails (outputs zero). */
static size_t scratch_of(const s8_node *p) {
    if (p->kind == S8_CONV) {
        const s8_conv_params *c = &p->conv;
        size_t kk = (size_t)(c->kernel * c->kernel);
        if (c->groups == c->cin && c->groups > 1) /* depthwise */
            return c->cout != c->cin || (c->kernel == 3 && c->pad <= 1) ? 0 : 2 * (size_t)c->cin * kk;
        if (c->kernel == 1 && c->pad == 0 && c->groups == 1) return 0;
        return 4 * align((size_t)(c->cin / c->groups) * kk, 4);
    }
    if (p->kind == S8_AVGPOOL) return 4 * (size_t)p->pool.c;
    if (p->kind == S8_MEAN) return 4 * (size_t)p->len;
    return 0;
}

/* the step's call; x, y: offsets of its input's and its own value in the arena */
static hn_status step(writer *w, int i) {
    FILE *f = w->calls;
    const s8_node *p = &w->plan[i];
    hn_shape s, xs;
    hn_qparams q, xq;
    const float *unused;
    hn_op op;
    hn_qmodel_node_info(w->m, i, &s, &q, &unused, &op);
    if (p->ninputs) hn_qmodel_node_info(w->m, p->inputs[0], &xs, &xq, &unused, NULL);
    long y = (long)p->off, x = p->ninputs ? (long)w->plan[p->inputs[0]].off : 0;
    fprintf(f, "    /* step %d */\n", i);
    switch (p->kind) {
    case S8_INPUT: fprintf(f, "    to_hwc(in, %d, %d, arena + %ld);\n", s.c, s.h * s.w, y); break;
    case S8_CONV: {
        const s8_conv_params *c = &p->conv;
        bool linear = op == HN_OP_LINEAR, dw = !linear && c->groups == c->cin && c->groups > 1;
        hn_status st = conv_tables(w, i, linear);
        if (st) return st;
        int h = linear ? 1 : c->h, wd = linear ? 1 : c->w, cg = c->cin / c->groups;
        fprintf(f, "    ctx = (cmsis_nn_context){arena + %ld, %ld};\n", (long)p->scratch, (long)scratch_of(p));
        fprintf(f, "    {\n        const cmsis_nn_dims id = {1, %d, %d, %d}, od = {1, %d, %d, %d}, bd = {1, 1, 1, %d};\n", h, wd,
                c->cin, c->oh, c->ow, c->cout, c->cout);
        fprintf(f, "        const cmsis_nn_per_channel_quant_params q = {(int32_t *)m%d, (int32_t *)s%d};\n", i, i);
        if (dw) {
            fprintf(f,
                    "        const cmsis_nn_dims fd = {1, %d, %d, %d};\n"
                    "        const cmsis_nn_dw_conv_params p = {%ld, %ld, %d, {%d, %d}, {%d, %d}, {1, 1}, {%ld, %ld}};\n"
                    "        if (arm_depthwise_conv_wrapper_s8_get_buffer_size(&p, &id, &fd, &od) > ctx.size) failed = 1;\n"
                    "        else failed |= arm_depthwise_conv_wrapper_s8(&ctx, &p, &q, &id, arena + %ld, &fd, w%d, &bd, b%d, &od, arena + %ld);\n",
                    c->kernel, c->kernel, c->cout, -(long)c->in_zp, (long)c->out_zp, c->cout / c->cin, c->stride, c->stride,
                    c->pad, c->pad, (long)c->act_min, (long)c->act_max, x, i, i, y);
        } else {
            fprintf(f,
                    "        const cmsis_nn_dims fd = {%d, %d, %d, %d};\n"
                    "        const cmsis_nn_conv_params p = {%ld, %ld, {%d, %d}, {%d, %d}, {1, 1}, {%ld, %ld}};\n"
                    "        if (arm_convolve_wrapper_s8_get_buffer_size(&p, &id, &fd, &od) > ctx.size) failed = 1;\n"
                    "        else failed |= arm_convolve_wrapper_s8(&ctx, &p, &q, &id, arena + %ld, &fd, w%d, &bd, b%d, &od, arena + %ld);\n",
                    c->cout, c->kernel, c->kernel, cg, -(long)c->in_zp, (long)c->out_zp, c->stride, c->stride, c->pad, c->pad,
                    (long)c->act_min, (long)c->act_max, x, i, i, y);
        }
        fputs("    }\n", f);
        break;
    }
    case S8_AVGPOOL:
    case S8_MAXPOOL:
    case S8_MEAN: {
        bool mean = p->kind == S8_MEAN, avg = p->kind != S8_MAXPOOL;
        s8_pool_params pp = mean ? (s8_pool_params){xs.c, xs.h, xs.w, 1, 1, 0, 1, 0, 0, 0} : p->pool;
        int kh = mean ? xs.h : pp.kernel, kw = mean ? xs.w : pp.kernel;
        if (avg && pp.pad && pp.count_include_pad) /* CMSIS-NN divides by the window's real pixels */
            return hn_error(HN_ERR_UNSUPPORTED,
                            "CMSIS-NN export: step %d averages over padding (count_include_pad), which arm_avgpool_s8 "
                            "does not; export with the portable kernels", i);
        fprintf(f, "    ctx = (cmsis_nn_context){arena + %ld, %ld};\n", (long)p->scratch, (long)scratch_of(p));
        fprintf(f,
                "    {\n        const cmsis_nn_dims id = {1, %d, %d, %d}, fd = {1, %d, %d, 1}, od = {1, %d, %d, %d};\n"
                "        const cmsis_nn_pool_params p = {{%d, %d}, {%d, %d}, {-128, 127}};\n"
                "        failed |= arm_%s_s8(&ctx, &p, &id, arena + %ld, &fd, &od, arena + %ld);\n    }\n",
                pp.h, pp.w, pp.c, kh, kw, pp.oh, pp.ow, pp.c, pp.stride, pp.stride, pp.pad, pp.pad, avg ? "avgpool" : "max_pool",
                x, y);
        break;
    }
    case S8_ADD:
        if (p->ninputs == 2) {
            long x2 = (long)w->plan[p->inputs[1]].off;
            fprintf(f,
                    "    failed |= arm_elementwise_add_s8(arena + %ld, arena + %ld, %ld, %ld, %d, %ld, %ld, %d, 20, arena + %ld, %ld, %ld, "
                    "%d, %ld, %ld, %ld);\n",
                    x, x2, -(long)p->in_zp[0], (long)p->in_mult[0].multiplier, (int)p->in_mult[0].shift, -(long)p->in_zp[1],
                    (long)p->in_mult[1].multiplier, (int)p->in_mult[1].shift, y, (long)p->zp, (long)p->out_mult.multiplier,
                    (int)p->out_mult.shift, (long)p->lo, (long)p->hi, (long)p->len);
        } else { /* elementwise: the portable kernel works on any layout */
            fprintf(f, "    {\n        static const int32_t zp[] = {");
            for (int k = 0; k < p->ninputs; k++) fprintf(f, "%s%ld", k ? ", " : "", (long)p->in_zp[k]);
            fprintf(f, "};\n        static const s8_mult mult[] = {");
            for (int k = 0; k < p->ninputs; k++)
                fprintf(f, "%s{%ld, %d}", k ? ", " : "", (long)p->in_mult[k].multiplier, (int)p->in_mult[k].shift);
            fprintf(f, "};\n        const int8_t *ins[] = {");
            for (int k = 0; k < p->ninputs; k++) fprintf(f, "%sarena + %ld", k ? ", " : "", (long)w->plan[p->inputs[k]].off);
            fprintf(f, "};\n        s8_add(%d, ins, zp, mult, %ld, %ld, (s8_mult){%ld, %d}, %ld, %ld, arena + %ld);\n    }\n",
                    p->ninputs, (long)p->len, (long)p->zp, (long)p->out_mult.multiplier, (int)p->out_mult.shift, (long)p->lo,
                    (long)p->hi, y);
        }
        break;
    case S8_CONCAT: { /* NHWC: each pixel holds the inputs' channels one after the other */
        int at = 0;
        for (int k = 0; k < p->ninputs; k++) {
            hn_shape ks;
            hn_qparams kq;
            hn_qmodel_node_info(w->m, p->inputs[k], &ks, &kq, &unused, NULL);
            fprintf(f,
                    "    for (int px = 0; px < %d; px++)\n"
                    "        s8_rescale(arena + %ld + px * %d, %d, %ld, (s8_mult){%ld, %d}, %ld, arena + %ld + px * %d + %d);\n",
                    s.h * s.w, (long)w->plan[p->inputs[k]].off, ks.c, ks.c, (long)p->in_zp[k], (long)p->in_mult[k].multiplier,
                    (int)p->in_mult[k].shift, (long)p->zp, y, s.c, at);
            at += ks.c;
        }
        break;
    }
    case S8_CLAMP: fprintf(f, "    s8_clamp(arena + %ld, %ld, %ld, %ld, arena + %ld);\n", x, (long)p->len, (long)p->lo, (long)p->hi, y); break;
    case S8_ZERO: fprintf(f, "    memset(arena + %ld, %ld, %ld);\n", y, (long)p->zp, (long)p->len); break;
    default: /* layer norm, softmax, attention, the tabulated activations */
        return hn_error(HN_ERR_UNSUPPORTED, "CMSIS-NN export: step %d (op %s) has no CMSIS-NN form in hwnas yet; export --format c "
                        "(the portable kernels) takes it", i, hn_op_name(op));
    }
    return HN_OK;
}

static hn_status write_model(const hn_qmodel *m, const char *dir, const char *source, hn_export_info *info) {
    int n, output;
    size_t values;
    const s8_node *plan = hn_qmodel_plan(m, &n, &output, &values);
    char path[1200], *body = NULL;
    size_t body_len = 0;
    FILE *f;
    hn_status st = hn_c_open(dir, "model.c", &f, path, sizeof path);
    if (st) return st;
    writer w = {{f, 0}, open_memstream(&body, &body_len), m, plan};
    if (!w.calls) {
        fclose(f);
        return hn_error(HN_ERR_NOMEM, "CMSIS-NN export");
    }
    fprintf(f, "/* The int8 model of %s, exported by hwnas for CMSIS-NN: its %d steps call CMSIS-NN's s8 kernels\n"
               " * (build with CMSIS-NN's Include/ and Source/), and hwnas's portable kernels for elementwise steps.\n"
               " * Activations are NHWC in the arena. */\n",
            source, n);
    fputs("#include <stdint.h>\n#include <string.h>\n\n#include \"arm_nnfunctions.h\"\n#include \"model.h\"\n\n", f);
    hn_c_kernels(f);
    fputs("\n/* ---- the network ---- */\n", f);
    for (int i = 0; i < n && !st; i++) st = step(&w, i);
    hn_shape os;
    hn_qparams oq;
    const float *unused;
    hn_qmodel_node_info(m, output, &os, &oq, &unused, NULL);
    fprintf(w.calls, "    from_hwc(arena + %ld, %d, %d, out);\n", (long)plan[output].off, os.c, os.h * os.w);
    fclose(w.calls);
    if (!st) {
        fprintf(f,
                "\nstatic int8_t arena[%zu] __attribute__((aligned(16))); /* every value and the kernels' scratch, sharing by liveness */\n"
                "static int failed; /* a CMSIS-NN kernel refused its arguments: the outputs are then zero */\n\n"
                "/* (C, H, W) <-> (H, W, C) of one image */\n"
                "static void to_hwc(const int8_t *x, int c, int hw, int8_t *y) {\n"
                "    for (int k = 0; k < c; k++)\n        for (int i = 0; i < hw; i++) y[i * c + k] = x[k * hw + i];\n}\n\n"
                "static void from_hwc(const int8_t *x, int c, int hw, int8_t *y) {\n"
                "    for (int k = 0; k < c; k++)\n        for (int i = 0; i < hw; i++) y[k * hw + i] = x[i * c + k];\n}\n\n"
                "void hn_model_run(const int8_t *in, int8_t *out) {\n"
                "    cmsis_nn_context ctx;\n    failed = 0;\n",
                values);
        fwrite(body, 1, body_len, f);
        fprintf(f, "    if (failed) memset(out, 0, %zu);\n}\n", hn_qmodel_output_len(m));
    }
    free(body);
    if (info) info->arena_bytes = values, info->weight_bytes = w.o.bytes;
    hn_status cst = hn_c_close(f, path);
    return st ? st : cst;
}

hn_status hn_export_c_cmsis(hn_qmodel *m, const char *dir, const int8_t *samples, const int32_t *labels, int n,
                            const char *source, hn_export_info *info) {
    return hn_c_export(m, dir, samples, labels, n, source, info, scratch_of, write_model);
}
