/* ONNX export: writes three networks (every op; the reference CNN; an MBConv network with depthwise
 * convolutions, ReLU6 and residual additions), with non-trivial batch-norm statistics, as ONNX files,
 * and the float engine's outputs on random inputs beside them, into the directory given as argv[1].
 * tests/check_onnx.py then checks each file with onnx.checker and runs it with OpenCV's DNN module
 * against these outputs. The int8 models of the same networks (calibrated on those inputs) go out as
 * QDQ graphs with their dequantized outputs. Also: the exporter's errors. */
#include <sys/stat.h>

#include "check.h"
#include "hwnas/exec.h"
#include "hwnas/export.h"
#include "hwnas/graph.h"
#include "hwnas/quant.h"
#include "hwnas/space.h"

static void write_floats(const char *path, const float *x, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(x, sizeof(float), n, f) == n);
    if (f) fclose(f);
}

static void write_bytes(const char *path, const int8_t *x, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(x, 1, n, f) == n);
    if (f) fclose(f);
}

/* random weights, and batch norms with gamma, beta, mean and variance away from their defaults */
static void randomize(hn_graph *g, uint64_t seed) {
    hn_graph_init_params(g, seed);
    hn_rng r;
    hn_rng_seed(&r, seed, 3);
    for (int i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].op != HN_OP_BATCHNORM) continue;
        hn_param_view v[4];
        int k = hn_node_params(g, i, v);
        for (int j = 0; j < k; j++)
            for (int64_t e = 0; e < v[j].shape[0]; e++)
                v[j].data[e] = j == 3 ? 0.5f + hn_rng_uniform(&r) : j == 0 ? 0.8f + 0.4f * hn_rng_uniform(&r)
                                                                            : 0.2f * (hn_rng_uniform(&r) - 0.5f);
    }
}

enum { N = 4 }; /* images per case */

/* g (weights randomized) as float ONNX, with N random inputs x and the engine's outputs y: DIR/TAG.onnx,
 * .x, .y. x (N * in) and y (N * out) are the caller's. */
static void float_case(const char *dir, const char *tag, hn_graph *g, float *x, float *y) {
    char path[1024];
    randomize(g, 7);
    snprintf(path, sizeof path, "%s/%s.onnx", dir, tag);
    CHECK_OK(hn_export_onnx(g, path, tag));
    size_t in = hn_shape_numel(g->nodes[0].shape), out = hn_shape_numel(g->nodes[g->nnodes - 1].shape);
    hn_rng r;
    hn_rng_seed(&r, 11, 1);
    for (size_t i = 0; i < in * N; i++) x[i] = 2 * hn_rng_uniform(&r) - 1;
    hn_exec *e = NULL;
    CHECK_OK(hn_exec_new(g, N, false, &e));
    if (e) {
        CHECK_OK(hn_exec_forward(e, x, N, false));
        hn_exec_output(e, y);
    }
    hn_exec_free(e);
    snprintf(path, sizeof path, "%s/%s.x", dir, tag);
    write_floats(path, x, in * N);
    snprintf(path, sizeof path, "%s/%s.y", dir, tag);
    write_floats(path, y, out * N);
}

/* DIR/TAG.shape: N, the input's C H W, the output's size, the int8 output scale (0: no int8 model) */
static void write_shape(const char *dir, const char *tag, const hn_graph *g, float scale) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.shape", dir, tag);
    FILE *f = fopen(path, "w");
    if (f)
        fprintf(f, "%d %d %d %d %zu %.9g\n", N, g->nodes[0].shape.c, g->nodes[0].shape.h, g->nodes[0].shape.w,
                hn_shape_numel(g->nodes[g->nnodes - 1].shape), scale),
            fclose(f);
}

/* the attention nets and ops: float and QDQ ONNX (TFLite has no form for them: refused) */
static void attention_case(const char *dir, const char *tag, hn_graph *g) {
    size_t in = hn_shape_numel(g->nodes[0].shape), out = hn_shape_numel(g->nodes[g->nnodes - 1].shape);
    float *x = malloc(sizeof(float) * in * N), *y = malloc(sizeof(float) * out * N);
    float *lo = malloc(sizeof(float) * (size_t)g->nnodes), *hi = malloc(sizeof(float) * (size_t)g->nnodes);
    int8_t *xq = malloc(in * N), *yq = malloc(out * N);
    float_case(dir, tag, g, x, y);
    hn_qmodel *m = NULL;
    CHECK_OK(hn_quant_calibrate(g, x, N, HN_RANGE_MINMAX, 0, lo, hi));
    CHECK_OK(hn_qmodel_new(g, lo, hi, NULL, &m));
    float scale = 0;
    if (m) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.int8.onnx", dir, tag);
        CHECK_OK(hn_export_onnx_qdq(m, path, tag));
        snprintf(path, sizeof path, "%s/%s.tflite", dir, tag);
        CHECK_ERR(hn_export_tflite(m, path, tag, false), HN_ERR_UNSUPPORTED, "has no TFLite export yet");
        hn_qmodel_quantize_input(m, x, N, xq);
        CHECK_OK(hn_qmodel_run(m, xq, N, yq));
        hn_qparams q = hn_qmodel_output_params(m);
        for (size_t i = 0; i < out * N; i++) y[i] = hn_dequantize(yq[i], q);
        scale = q.scale;
        snprintf(path, sizeof path, "%s/%s.int8.y", dir, tag);
        write_floats(path, y, out * N);
    }
    write_shape(dir, tag, g, scale);
    hn_qmodel_free(m);
    free(lo), free(hi), free(x), free(y), free(xq), free(yq);
}

static void case_net(const char *dir, const char *tag, hn_graph *g, bool tflite) {
    char path[1024];
    size_t in = hn_shape_numel(g->nodes[0].shape), out = hn_shape_numel(g->nodes[g->nnodes - 1].shape);
    float *x = malloc(sizeof(float) * in * N), *y = malloc(sizeof(float) * out * N);
    float_case(dir, tag, g, x, y);
    /* the int8 model (calibrated on these inputs) as QDQ, and its dequantized outputs */
    float *lo = malloc(sizeof(float) * (size_t)g->nnodes), *hi = malloc(sizeof(float) * (size_t)g->nnodes);
    hn_qmodel *m = NULL;
    CHECK_OK(hn_quant_calibrate(g, x, N, HN_RANGE_MINMAX, 0, lo, hi));
    CHECK_OK(hn_qmodel_new(g, lo, hi, NULL, &m));
    float scale = 0;
    if (m) {
        snprintf(path, sizeof path, "%s/%s.int8.onnx", dir, tag);
        CHECK_OK(hn_export_onnx_qdq(m, path, tag));
        int8_t *xq = malloc(in * N), *yq = malloc(out * N);
        hn_qmodel_quantize_input(m, x, N, xq);
        CHECK_OK(hn_qmodel_run(m, xq, N, yq));
        /* and as TFLite, int8 and float at its edges, with the engine's codes (tests/check_tflite.py) */
        snprintf(path, sizeof path, "%s/%s.tflite", dir, tag);
        if (!tflite) { /* allops: its average pooling over real pixels pads where TFLite's SAME cannot */
            CHECK_ERR(hn_export_tflite(m, path, tag, false), HN_ERR_UNSUPPORTED, "average pooling of real pixels only");
        } else {
            CHECK_OK(hn_export_tflite(m, path, tag, false));
            snprintf(path, sizeof path, "%s/%s.float.tflite", dir, tag);
            CHECK_OK(hn_export_tflite(m, path, tag, true));
            snprintf(path, sizeof path, "%s/%s.xq", dir, tag);
            write_bytes(path, xq, in * N);
            snprintf(path, sizeof path, "%s/%s.yq", dir, tag);
            write_bytes(path, yq, out * N);
        }
        hn_qparams q = hn_qmodel_output_params(m);
        for (size_t i = 0; i < out * N; i++) y[i] = hn_dequantize(yq[i], q);
        scale = q.scale;
        /* the C export lays the arena out for the portable kernels alone: the engine then refuses to run m */
        snprintf(path, sizeof path, "%s/%s.c", dir, tag);
        mkdir(path, 0777);
        CHECK_OK(hn_export_c(m, path, xq, NULL, N, tag, NULL));
        CHECK_ERR(hn_qmodel_run(m, xq, N, yq), HN_ERR_INVALID, "laid out for an exported model's kernels");
        snprintf(path, sizeof path, "%s/%s.int8.y", dir, tag);
        write_floats(path, y, out * N);
        free(xq), free(yq);
        hn_qmodel_free(m);
    }
    free(lo), free(hi);
    write_shape(dir, tag, g, scale);
    free(x), free(y);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_export DIR\n");
        return 2;
    }
    mkdir(argv[1], 0777);
    hn_set_threads(1);
    /* allopsp: allops with its one construct TFLite cannot say (average pooling of real pixels only,
     * padded where SAME does not pad) counting its padding instead */
    const char *nets[] = {"allops", "cnn", "allops", "tflite-pad"}, *tags[] = {"allops", "cnn", "allopsp", "pad"};
    for (int k = 0; k < 4; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/ref/%s.yaml", HWNAS_TEST_DIR, nets[k]);
        hn_graph *g = NULL;
        CHECK_OK(hn_graph_load_yaml(path, &g));
        for (int i = 0; g && k == 2 && i < g->nnodes; i++)
            if (!strcmp(g->nodes[i].name, "ap")) g->nodes[i].count_include_pad = true;
        if (g) case_net(argv[1], tags[k], g, k > 0);
        hn_graph_free(g);
    }
    const char *attn_nets[] = {"attn", "linattn"};
    for (int k = 0; k < 2; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/ref/%s.yaml", HWNAS_TEST_DIR, attn_nets[k]);
        hn_graph *g = NULL;
        CHECK_OK(hn_graph_load_yaml(path, &g));
        if (g) attention_case(argv[1], attn_nets[k], g);
        hn_graph_free(g);
    }
    /* each attention-side op alone on a 12 x 3 x 5 map, its whole output compared (in the nets above a
     * global average pool would hide a permutation of the tokens) */
    const hn_op alone[] = {HN_OP_LAYERNORM, HN_OP_GELU, HN_OP_HARDSWISH, HN_OP_SOFTMAX, HN_OP_ATTENTION,
                           HN_OP_LINEAR_ATTENTION};
    for (size_t k = 0; k < sizeof alone / sizeof alone[0]; k++) {
        hn_graph *g = NULL;
        int id = 0;
        CHECK_OK(hn_graph_new((hn_shape){12, 3, 5}, &g));
        hn_node_spec o = hn_spec(alone[k], 0), f;
        o.heads = 2;
        CHECK_OK(hn_graph_add(g, &o, &id));
        f = hn_spec(HN_OP_FLATTEN, id);
        CHECK_OK(hn_graph_add(g, &f, &id));
        CHECK_OK(hn_graph_finalize(g));
        char tag[64];
        snprintf(tag, sizeof tag, "op-%s", hn_op_name(alone[k]));
        if (g) attention_case(argv[1], tag, g);
        hn_graph_free(g);
    }
    const hn_space *sp = hn_space_find("mbconv");
    uint8_t geno[128];
    CHECK_OK(sp->parse(sp, "r16|w0.5:k3e3,k5e1|w0.5:k3e3,k3e3,skip|w0.5:k3e1,skip,skip|w0.5:k3e1,skip,skip,skip|w0.5:k3e1,skip,skip", geno));
    hn_graph *g = NULL;
    CHECK_OK(sp->to_graph(sp, geno, &sp->defaults, &g));
    if (g) {
        CHECK_OK(hn_graph_finalize(g));
        case_net(argv[1], "mbconv", g, true);
        /* errors */
        CHECK_ERR(hn_export_onnx(g, "/nonexistent/dir/m.onnx", NULL), HN_ERR_IO, "cannot write '/nonexistent/dir/m.onnx'");
    }
    hn_graph_free(g);
    CHECK_OK(sp->parse(sp, "r16|w0.5:k3e3,k5e1|w0.5:k3e3,k3e3,skip|w0.5:k3e1,skip,skip|w0.5:k3e1,skip,skip,skip|w0.5:k3e1,skip,skip", geno));
    CHECK_OK(sp->to_graph(sp, geno, &sp->defaults, &g));
    CHECK_ERR(hn_export_onnx(g, "/tmp/x.onnx", NULL), HN_ERR_INVALID, "not finalized");
    hn_graph_free(g);
    return check_report();
}
