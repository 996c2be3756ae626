/* The C exporter: the int8 model as one C99 file of constant tables plus the engine's own kernels
 * (embedded at build time by cmake/embed.cmake), so the exported program computes exactly what the
 * engine computes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "export_c_internal.h"

extern const char hn_s8_kernels_h[], hn_s8_kernels_c[];

/* the separator before item i of a table printed `per` to a line */
static const char *sep(size_t i, size_t per) { return i == 0 ? "\n    " : i % per ? "," : ",\n    "; }

void hn_c_int8_table(hn_c_out *o, const char *name, const int8_t *v, size_t n) {
    fprintf(o->f, "static const int8_t %s[%zu] = {", name, n);
    for (size_t i = 0; i < n; i++) fprintf(o->f, "%s%d", sep(i, 24), v[i]);
    fprintf(o->f, "};\n");
    o->bytes += n;
}

void hn_c_int32_table(hn_c_out *o, const char *type, const char *name, const int32_t *v, size_t n) {
    fprintf(o->f, "static const %s %s[%zu] = {", type, name, n);
    for (size_t i = 0; i < n; i++) fprintf(o->f, "%s%ld", sep(i, 12), (long)v[i]);
    fprintf(o->f, "};\n");
    o->bytes += 4 * n;
}

static void int_table(hn_c_out *o, const char *name, const int *v, size_t n) {
    fprintf(o->f, "static const int %s[%zu] = {", name, n);
    for (size_t i = 0; i < n; i++) fprintf(o->f, "%s%d", i ? "," : "", v[i]);
    fprintf(o->f, "};\n");
    o->bytes += sizeof(int) * n;
}

static void mult_table(hn_c_out *o, const char *name, const s8_mult *v, size_t n) {
    fprintf(o->f, "static const s8_mult %s[%zu] = {", name, n);
    for (size_t i = 0; i < n; i++) fprintf(o->f, "%s{%ld,%d}", sep(i, 6), (long)v[i].multiplier, (int)v[i].shift);
    fprintf(o->f, "};\n");
    o->bytes += 8 * n;
}

/* the kernels: header, then the source without its include of the header */
void hn_c_kernels(FILE *f) {
    const char *inc = "#include \"s8_kernels.h\"\n", *at = strstr(hn_s8_kernels_c, inc);
    fputs("/* ---- the int8 kernels (hwnas src/quant/s8_kernels.{h,c}) ---- */\n", f);
    fputs(hn_s8_kernels_h, f);
    fwrite(hn_s8_kernels_c, 1, (size_t)(at - hn_s8_kernels_c), f);
    fputs(at + strlen(inc), f);
}

static void node_tables(hn_c_out *o, const s8_node *p, int i) {
    char name[32];
    if (p->ninputs) {
        snprintf(name, sizeof name, "in%d", i);
        int_table(o, name, p->inputs, (size_t)p->ninputs);
    }
    if (p->kind == S8_CONV) {
        const s8_conv_params *c = &p->conv;
        size_t per = (size_t)(c->cin / c->groups) * (size_t)c->kernel * (size_t)c->kernel;
        snprintf(name, sizeof name, "w%d", i);
        hn_c_int8_table(o, name, c->weights, per * (size_t)c->cout);
        snprintf(name, sizeof name, "b%d", i);
        hn_c_int32_table(o, "int32_t", name, c->bias, (size_t)c->cout);
        snprintf(name, sizeof name, "m%d", i);
        mult_table(o, name, c->mult, (size_t)c->cout);
    }
    if (p->kind == S8_LUT) {
        snprintf(name, sizeof name, "lut%d", i);
        hn_c_int8_table(o, name, p->lut, 256);
    }
    const s8_softmax_params *sm = p->kind == S8_SOFTMAX                                 ? p->softmax
                                  : p->kind == S8_ATTENTION || p->kind == S8_LINEAR_ATTENTION ? &p->attn->softmax
                                                                                            : NULL;
    char softmax[128] = "";
    if (sm)
        snprintf(softmax, sizeof softmax, "{%d, %d, {%ld, %d}, %ld}", sm->c, sm->hw, (long)sm->beta.multiplier,
                 (int)sm->beta.shift, (long)sm->diff_min);
    if (p->kind == S8_SOFTMAX) fprintf(o->f, "static const s8_softmax_params sm%d = %s;\n", i, softmax);
    if (p->kind == S8_LAYERNORM) {
        const s8_norm_params *q = p->norm;
        snprintf(name, sizeof name, "b%d", i);
        hn_c_int32_table(o, "int32_t", name, q->bias, (size_t)q->c);
        snprintf(name, sizeof name, "m%d", i);
        mult_table(o, name, q->mult, (size_t)q->c);
        fprintf(o->f, "static const s8_norm_params ln%d = {%d, %d, %ld, %lldLL, m%d, b%d};\n", i, q->c, q->hw,
                (long)q->out_zp, (long long)q->eps, i, i);
    }
    if (p->kind == S8_ATTENTION || p->kind == S8_LINEAR_ATTENTION) {
        const s8_attn_params *q = p->attn;
        fprintf(o->f, "static const s8_attn_params at%d = {%d, %d, %d, %ld, %ld, %s, {%ld, %d}};\n", i, q->dim, q->tokens,
                q->heads, (long)q->in_zp, (long)q->out_zp, softmax, (long)q->out_mult.multiplier, (int)q->out_mult.shift);
    }
    o->bytes += p->kind == S8_SOFTMAX ? sizeof *p->softmax : p->kind == S8_LAYERNORM ? sizeof *p->norm
                : p->kind == S8_ATTENTION || p->kind == S8_LINEAR_ATTENTION ? sizeof *p->attn : 0;
    if (p->kind == S8_ADD || p->kind == S8_CONCAT) {
        snprintf(name, sizeof name, "zp%d", i);
        hn_c_int32_table(o, "int32_t", name, p->in_zp, (size_t)p->ninputs);
        snprintf(name, sizeof name, "im%d", i);
        mult_table(o, name, p->in_mult, (size_t)p->ninputs);
    }
}

static void node_entry(FILE *f, const s8_node *p, int i) {
    static const char *const kinds[] = {"S8_INPUT", "S8_CONV",  "S8_ADD",       "S8_CONCAT",   "S8_AVGPOOL",
                                        "S8_MAXPOOL", "S8_MEAN", "S8_CLAMP",    "S8_ZERO",     "S8_LUT",
                                        "S8_SOFTMAX", "S8_LAYERNORM", "S8_ATTENTION", "S8_LINEAR_ATTENTION"};
    fprintf(f, "    {.kind = %s, .ninputs = %d, ", kinds[p->kind], p->ninputs);
    if (p->ninputs) fprintf(f, ".inputs = in%d, ", i);
    fprintf(f, ".len = %ld, .off = %ld, .zp = %ld", (long)p->len, (long)p->off, (long)p->zp);
    if (s8_node_scratch_bytes(p)) fprintf(f, ", .scratch = %ld", (long)p->scratch);
    if (p->kind == S8_CONV) {
        const s8_conv_params *c = &p->conv;
        fprintf(f, ",\n     .conv = {%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %ld, %ld, %ld, %ld, w%d, b%d, m%d}", c->cin, c->h,
                c->w, c->cout, c->oh, c->ow, c->kernel, c->stride, c->pad, c->groups, (long)c->in_zp, (long)c->out_zp,
                (long)c->act_min, (long)c->act_max, i, i, i);
    }
    if (p->kind == S8_AVGPOOL || p->kind == S8_MAXPOOL) {
        const s8_pool_params *q = &p->pool;
        fprintf(f, ",\n     .pool = {%d, %d, %d, %d, %d, %d, %d, %d, %d, %ld}", q->c, q->h, q->w, q->oh, q->ow, q->kernel,
                q->stride, q->pad, q->count_include_pad, (long)q->zp);
    }
    if (p->kind == S8_CLAMP || p->kind == S8_ADD) fprintf(f, ", .lo = %ld, .hi = %ld", (long)p->lo, (long)p->hi);
    if (p->kind == S8_LUT) fprintf(f, ", .lut = lut%d", i);
    if (p->kind == S8_SOFTMAX) fprintf(f, ", .softmax = &sm%d", i);
    if (p->kind == S8_LAYERNORM) fprintf(f, ", .norm = &ln%d", i);
    if (p->kind == S8_ATTENTION || p->kind == S8_LINEAR_ATTENTION) fprintf(f, ", .attn = &at%d", i);
    if (p->kind == S8_ADD || p->kind == S8_CONCAT) fprintf(f, ", .in_zp = zp%d, .in_mult = im%d", i, i);
    if (p->kind == S8_ADD) fprintf(f, ", .out_mult = {%ld, %d}", (long)p->out_mult.multiplier, (int)p->out_mult.shift);
    fprintf(f, "},\n");
}

hn_status hn_c_open(const char *dir, const char *name, FILE **f, char *path, size_t cap) {
    snprintf(path, cap, "%s/%s", dir, name);
    *f = fopen(path, "w");
    if (!*f) return hn_error(HN_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    return HN_OK;
}

hn_status hn_c_close(FILE *f, const char *path) {
    if (ferror(f) | fclose(f)) return hn_error(HN_ERR_IO, "cannot write '%s'", path);
    return HN_OK;
}

hn_status hn_c_write_header(const hn_qmodel *m, const char *dir, const char *source, size_t arena) {
    char path[1200];
    FILE *f;
    hn_status st = hn_c_open(dir, "model.h", &f, path, sizeof path);
    if (st) return st;
    hn_qparams in = hn_qmodel_input_params(m), outq = hn_qmodel_output_params(m);
    fprintf(f,
            "/* The int8 model of %s, exported by hwnas. C99; nothing beyond <stdint.h> and <string.h>. */\n"
            "#ifndef HN_MODEL_H\n#define HN_MODEL_H\n\n#include <stdint.h>\n\n"
            "/* One image in: HN_MODEL_INPUT_SIZE int8 values, (C, H, W) order, quantized as\n"
            " * q = clamp(round(x / HN_MODEL_INPUT_SCALE) + HN_MODEL_INPUT_ZERO_POINT, -128, 127) from the\n"
            " * normalised image x. Out: HN_MODEL_OUTPUT_SIZE int8 scores (the largest is the class); real score =\n"
            " * (q - HN_MODEL_OUTPUT_ZERO_POINT) * HN_MODEL_OUTPUT_SCALE. Uses one static arena of\n"
            " * HN_MODEL_ARENA_BYTES bytes: not reentrant. */\n"
            "void hn_model_run(const int8_t *in, int8_t *out);\n\n"
            "#define HN_MODEL_INPUT_SIZE %zu\n#define HN_MODEL_OUTPUT_SIZE %zu\n"
            "#define HN_MODEL_INPUT_SCALE %.9gf\n#define HN_MODEL_INPUT_ZERO_POINT (%ld)\n"
            "#define HN_MODEL_OUTPUT_SCALE %.9gf\n#define HN_MODEL_OUTPUT_ZERO_POINT (%ld)\n"
            "#define HN_MODEL_ARENA_BYTES %zu\n\n#endif\n",
            source, hn_qmodel_input_len(m), hn_qmodel_output_len(m), in.scale, (long)in.zero_point, outq.scale,
            (long)outq.zero_point, arena);
    return hn_c_close(f, path);
}

static hn_status write_model(const hn_qmodel *m, const char *dir, const char *source, hn_export_info *info) {
    int n, output;
    size_t values;
    const s8_node *plan = hn_qmodel_plan(m, &n, &output, &values);
    char path[1200];
    FILE *f;
    hn_status st = hn_c_open(dir, "model.c", &f, path, sizeof path);
    if (st) return st;
    hn_c_out o = {f, 0};
    fprintf(f, "/* The int8 model of %s, exported by hwnas: its kernels, then its %d steps as constant tables. */\n",
            source, n);
    fputs("#include <stdint.h>\n#include <string.h>\n\n#include \"model.h\"\n\n", f);
    hn_c_kernels(f);
    fputs("\n/* ---- the network ---- */\n", f);
    for (int i = 0; i < n; i++) node_tables(&o, &plan[i], i);
    fprintf(f, "\nstatic const s8_node nodes[%d] = {\n", n);
    for (int i = 0; i < n; i++) node_entry(f, &plan[i], i);
    fprintf(f, "};\n");
    o.bytes += sizeof(s8_node) * (size_t)n;
    /* int32 words: the kernels' int32 scratch needs the arena 4-byte aligned */
    fprintf(f, "\nstatic int32_t arena[%zu]; /* every value and the kernels' scratch, sharing by liveness */\n\n",
            (values + 3) / 4);
    fprintf(f, "void hn_model_run(const int8_t *in, int8_t *out) { s8_forward(nodes, %d, %d, in, (int8_t *)arena, out); }\n",
            n, output);
    if (info) info->arena_bytes = values, info->weight_bytes = o.bytes;
    return hn_c_close(f, path);
}

hn_status hn_c_write_main(const hn_qmodel *m, const char *dir, const int8_t *samples, const int32_t *labels, int n) {
    size_t in_len = hn_qmodel_input_len(m), k = hn_qmodel_output_len(m);
    int8_t *expected = hn_alloc(k * (size_t)(n > 0 ? n : 1));
    if (!expected) return hn_error(HN_ERR_NOMEM, "export");
    hn_status st = hn_qmodel_run(m, samples, n, expected);
    char path[1200];
    FILE *f = NULL;
    if (!st) st = hn_c_open(dir, "main.c", &f, path, sizeof path);
    if (st) {
        hn_free(expected);
        return st;
    }
    fprintf(f, "/* Runs the exported model on %d sample images and compares its outputs with hwnas's int8 engine's. */\n"
               "#include <stdio.h>\n#include <string.h>\n\n#include \"model.h\"\n\n#define N %d\n\n", n, n > 0 ? n : 1);
    fputs("static const int8_t inputs[N][HN_MODEL_INPUT_SIZE] = {", f);
    for (int s = 0; s < n; s++) {
        fputs("\n    {", f);
        for (size_t i = 0; i < in_len; i++) fprintf(f, "%s%d", i ? "," : "", samples[(size_t)s * in_len + i]);
        fputs("},", f);
    }
    fputs("};\nstatic const int8_t expected[N][HN_MODEL_OUTPUT_SIZE] = {", f);
    for (int s = 0; s < n; s++) {
        fputs("\n    {", f);
        for (size_t i = 0; i < k; i++) fprintf(f, "%s%d", i ? "," : "", expected[(size_t)s * k + i]);
        fputs("},", f);
    }
    fputs("};\nstatic const int labels[N] = {", f);
    for (int s = 0; s < n; s++) fprintf(f, "%s%d", s ? "," : "", labels ? (int)labels[s] : -1);
    fputs("};\n\n"
          "#ifdef HN_TIMER /* -DHN_TIMER=f: a platform's counter, unsigned long long f(void) (deploy/mps2) */\n"
          "unsigned long long HN_TIMER(void);\n"
          "#endif\n\n"
          "int main(void) {\n"
          "    int same = 0;\n"
          "    unsigned long long ticks = 0;\n"
          "    for (int s = 0; s < N; s++) {\n"
          "        int8_t out[HN_MODEL_OUTPUT_SIZE];\n"
          "#ifdef HN_TIMER\n"
          "        unsigned long long t0 = HN_TIMER();\n"
          "        hn_model_run(inputs[s], out);\n"
          "        ticks += HN_TIMER() - t0;\n"
          "#else\n"
          "        hn_model_run(inputs[s], out);\n"
          "#endif\n"
          "        int best = 0;\n"
          "        for (int c = 1; c < HN_MODEL_OUTPUT_SIZE; c++)\n"
          "            if (out[c] > out[best]) best = c;\n"
          "        int ok = memcmp(out, expected[s], sizeof out) == 0;\n"
          "        same += ok;\n"
          "        printf(\"image %d: class %d\", s, best);\n"
          "        if (labels[s] >= 0) printf(\" (label %d)\", labels[s]);\n"
          "        printf(\"%s\\n\", ok ? \"\" : \"  OUTPUT DIFFERS FROM THE ENGINE'S\");\n"
          "    }\n"
          "    printf(\"%d of %d outputs equal the int8 engine's\\n\", same, N);\n"
          "    if (ticks) printf(\"timer: %llu ticks per inference\\n\", ticks / N);\n"
          "    return same == N ? 0 : 1;\n"
          "}\n",
          f);
    hn_free(expected);
    return hn_c_close(f, path);
}

hn_status hn_c_export(hn_qmodel *m, const char *dir, const int8_t *samples, const int32_t *labels, int n,
                      const char *source, hn_export_info *info, hn_c_scratch_fn scratch_of, hn_c_model_fn write) {
    /* main.c first: the engine computes its expected outputs before the arena is laid out for the
     * target's kernels alone */
    int steps, output;
    size_t values;
    const s8_node *plan = hn_qmodel_plan(m, &steps, &output, &values);
    size_t *scratch = hn_calloc(sizeof(size_t) * (size_t)steps);
    if (!scratch) return hn_error(HN_ERR_NOMEM, "export");
    for (int i = 0; i < steps; i++) scratch[i] = scratch_of(&plan[i]);
    hn_export_info sizes;
    hn_status st = hn_c_write_main(m, dir, samples, labels, n);
    if (!st) st = hn_qmodel_layout(m, scratch);
    hn_free(scratch);
    if (!st) st = write(m, dir, source, &sizes);
    if (!st) st = hn_c_write_header(m, dir, source, sizes.arena_bytes);
    if (!st && info) *info = sizes;
    return st;
}

hn_status hn_export_c(hn_qmodel *m, const char *dir, const int8_t *samples, const int32_t *labels, int n,
                      const char *source, hn_export_info *info) {
    return hn_c_export(m, dir, samples, labels, n, source, info, s8_node_scratch_bytes, write_model);
}
