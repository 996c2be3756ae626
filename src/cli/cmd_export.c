/* hwnas export: a trained network as a deployable artefact -- a self-contained C99 program of its int8
 * model (--format c), the int8 model as TFLite (--format tflite), or ONNX (--format onnx). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "hwnas/export.h"
#include "hwnas/hw.h"
#include "hwnas/quant.h"

static const char *help =
    "Usage: hwnas export --format c|tflite|onnx (--net FILE | --space NAME --arch STRING | --from-study DIR [--trial ID])\n"
    "                    --weights FILE --out DIR [OPTIONS]\n"
    "\n"
    "Writes a trained network out for deployment:\n"
    "  --format c   quantized to int8 after training (as hwnas eval --quantized):\n"
    "               DIR/model.c and DIR/model.h: the int8 model as constant tables and the engine's own\n"
    "               kernels, one static activation arena, no malloc, C99 with no dependencies; and\n"
    "               DIR/main.c, a test program that runs sample test images and checks that every output\n"
    "               equals the engine's. Build and run: cc -std=c99 -O3 DIR/model.c DIR/main.c && ./a.out\n"
    "               It prints the arena and table sizes next to the MCU model's predictions for --device.\n"
    "  --format tflite  DIR/model.tflite: the int8 model as TFLite (int8 per-channel weights, int32 biases,\n"
    "               per-tensor activations, NHWC) for TFLite Micro, CMSIS-NN, STM32Cube.AI, Edge Impulse or\n"
    "               Vela; int8 input and output tensors (--io float: float32, through QUANTIZE/DEQUANTIZE);\n"
    "               and --samples test images with the engine's int8 outputs, to check another runtime\n"
    "  --format onnx  DIR/model.onnx: the float network (opset 10), batch norm in inference mode; and\n"
    "               DIR/model.int8.onnx: the int8 model as a QDQ graph (opset 13).\n"
    "\n"
    "Options:\n"
    "  --format FORMAT       c, tflite or onnx\n"
    "  --io int8|float       tflite: the model's input and output type (default int8)\n"
    "  --cmsis-nn            c: model.c calls Arm's CMSIS-NN s8 kernels (NHWC) instead of the portable ones;\n"
    "                        build it with CMSIS-NN's Include/ and Source/ (deploy/mps2/run.sh: HN_CMSIS_NN=DIR)\n"
    "  --net FILE            network file (a study's model.yaml, for instance)\n"
    "  --space NAME          search space, with --arch STRING\n"
    "  --from-study DIR      a study's chosen network (model.yaml, model.hntf), or --trial ID's\n"
    "  --weights FILE        trained weights (a study's model.hntf by default)\n"
    "  --out DIR             where to write (created if missing)\n"
    "  --dataset SPEC        fashion-mnist (default), idx:DIR, cifar10:DIR or cifar100:DIR\n"
    CLI_PTQ_HELP
    "  --samples N           test images in main.c, or tflite's test vectors (default 10)\n"
    "  --device NAME         MCU profile to compare memory with (default cortex-m7)\n"
    "  --kernels ISA         the engine's int8 kernels for main.c's expected outputs: avx512vnni, avx2 or c\n"
    "  --help                show this help\n";

static hn_status write_file(const char *dir, const char *name, const void *data, size_t bytes) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return hn_error(HN_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    bool ok = fwrite(data, 1, bytes, f) == bytes;
    ok = !fclose(f) && ok;
    return ok ? HN_OK : hn_error(HN_ERR_IO, "cannot write '%s'", path);
}

/* DIR/model.tflite, and test vectors for checking another runtime against the engine: the n quantized
 * test images of shape s as the model's int8 input tensor takes them (n, H, W, C), the engine's int8 outputs
 * (n, K) and the labels (n int32, little-endian) */
static hn_status export_tflite(hn_qmodel *m, hn_shape s, const char *dir, const char *source, bool float_io,
                               const int8_t *xq, const int32_t *labels, int n) {
    char path[1200];
    snprintf(path, sizeof path, "%s/model.tflite", dir);
    hn_status st = hn_export_tflite(m, path, source, float_io);
    if (st) return st;
    size_t in_len = hn_qmodel_input_len(m), k = hn_qmodel_output_len(m), hw = (size_t)s.h * s.w;
    int8_t *hwc = malloc(in_len * (size_t)n), *out = malloc(k * (size_t)n);
    if (!hwc || !out) st = hn_error(HN_ERR_NOMEM, "export samples");
    for (int i = 0; !st && i < n; i++)
        for (int c = 0; c < s.c; c++)
            for (size_t p = 0; p < hw; p++) hwc[(size_t)i * in_len + p * s.c + c] = xq[(size_t)i * in_len + c * hw + p];
    if (!st) st = hn_qmodel_run(m, xq, n, out);
    if (!st) st = write_file(dir, "test_inputs.int8", hwc, in_len * (size_t)n);
    if (!st) st = write_file(dir, "test_outputs.int8", out, k * (size_t)n);
    if (!st) st = write_file(dir, "test_labels.int32", labels, sizeof(int32_t) * (size_t)n);
    free(hwc), free(out);
    if (st) return st;
    struct stat sb;
    printf("wrote %s (%lld bytes; int8, %s input and output)\n", path, stat(path, &sb) ? -1LL : (long long)sb.st_size,
           float_io ? "float32" : "int8");
    printf("and %d test images with the engine's outputs: %s/test_inputs.int8 (%d x %dx%dx%d NHWC int8), "
           "test_outputs.int8 (%d x %zu), test_labels.int32\n", n, dir, n, s.h, s.w, s.c, n, k);
    return HN_OK;
}

int cmd_export(int argc, char **argv) {
    enum { O_FORMAT = 256, O_OUT, O_CALIB, O_RANGE, O_PCT, O_SAMPLES, O_DEVICE, O_HELP, O_BIASCORR, O_KERNELS, O_IO, O_CMSIS };
    static const struct option opts[] = {
        CLI_TRAINED_OPTIONS,
        {"format", required_argument, 0, O_FORMAT},    {"out", required_argument, 0, O_OUT},
        {"calibration", required_argument, 0, O_CALIB}, {"range", required_argument, 0, O_RANGE},
        {"percentile", required_argument, 0, O_PCT}, {"bias-correction", no_argument, 0, O_BIASCORR},   {"samples", required_argument, 0, O_SAMPLES},
        {"device", required_argument, 0, O_DEVICE},    {"help", no_argument, 0, O_HELP},
        {"kernels", required_argument, 0, O_KERNELS},  {"io", required_argument, 0, O_IO},
        {"cmsis-nn", no_argument, 0, O_CMSIS},
        {0, 0, 0, 0}};
    cli_trained t = {.trial = -1};
    bool bias_correction = false, float_io = false, cmsis = false;
    const char *format = NULL, *dir = NULL, *device = "cortex-m7";
    long calib = 1000, samples = 10;
    double pct = 99.99;
    int method = HN_RANGE_MINMAX, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        const char *o = argv[optind - 1];
        int known = cli_trained_option("export", c, optarg, &t);
        if (known < 0) return 2;
        if (known) continue;
        switch (c) {
        case O_FORMAT: format = optarg; break;
        case O_OUT: dir = optarg; break;
        case O_CALIB: if (!cli_int("export", "--calibration", optarg, 1, 1000000, &calib)) return 2; break;
        case O_RANGE:
            if (!cli_range_method(optarg, &method))
                return cli_usage_error("export", "--range '%s': expected minmax, percentile or mse", optarg);
            break;
        case O_BIASCORR: bias_correction = true; break;
        case O_PCT: if (!cli_float("export", "--percentile", optarg, 50, 100, &pct)) return 2; break;
        case O_SAMPLES: if (!cli_int("export", "--samples", optarg, 1, 10000, &samples)) return 2; break;
        case O_DEVICE: device = optarg; break;
        case O_KERNELS: {
            hn_status st = hn_quant_set_kernels(optarg);
            if (st) return cli_fail(st);
            break;
        }
        case O_IO:
            if (strcmp(optarg, "int8") && strcmp(optarg, "float"))
                return cli_usage_error("export", "--io '%s': expected int8 or float", optarg);
            float_io = !strcmp(optarg, "float");
            break;
        case O_CMSIS: cmsis = true; break;
        case O_HELP: fputs(help, stdout); return 0;
        default: return cli_usage_error("export", "unknown or incomplete option '%s'", o);
        }
    }
    if (optind < argc) return cli_usage_error("export", "unexpected argument '%s'", argv[optind]);
    if (!format) return cli_usage_error("export", "--format c, tflite or onnx is required");
    bool onnx = !strcmp(format, "onnx"), tflite = !strcmp(format, "tflite");
    if (!onnx && !tflite && strcmp(format, "c"))
        return cli_usage_error("export", "--format '%s': expected c, tflite or onnx", format);
    if (!dir) return cli_usage_error("export", "--out DIR is required");
    hn_device dev;
    char dpath[1024];
    hn_status st = hn_device_find(device, cli_data_dirs("devices"), dpath, sizeof dpath);
    if (!st) st = hn_device_load(dpath, &dev);
    const hn_mcu *mcu = st ? NULL : hn_device_params_const(&dev, "mcu");
    if (!st && !mcu)
        st = hn_error(HN_ERR_INVALID, "--device %s: not an MCU profile (hwnas hw list)", device);
    if (st) return cli_fail(st);
    if ((st = hn_make_dirs(dir))) return cli_fail(st);

    hn_graph *g;
    hn_dataset *train, *test;
    int rc = cli_load_trained("export", &t, false, &g, &train, &test);
    if (rc) return rc;
    hn_qmodel *m = NULL;
    if (onnx) { /* the float network, and the int8 model as a QDQ graph */
        char path[1200], qpath[1200];
        snprintf(path, sizeof path, "%s/model.onnx", dir);
        snprintf(qpath, sizeof qpath, "%s/model.int8.onnx", dir);
        st = hn_export_onnx(g, path, t.net ? t.net : t.space);
        if (!st) printf("wrote %s (float32, opset 10)\n", path);
        if (!st) st = hn_ptq(g, train, (int)calib, (hn_range_method)method, pct, bias_correction, &m);
        if (!st) st = hn_export_onnx_qdq(m, qpath, t.net ? t.net : t.space);
        if (!st) printf("wrote %s (int8 QDQ, opset 13)\n", qpath);
        hn_qmodel_free(m);
        hn_graph_free(g), hn_dataset_free(train), hn_dataset_free(test);
        return st ? cli_fail(st) : 0;
    }
    int n = (int)(samples < test->n ? samples : test->n);
    size_t in_len = (size_t)test->c * test->h * test->w;
    float *x = malloc(sizeof(float) * in_len * (size_t)n);
    int8_t *xq = malloc(in_len * (size_t)n);
    int32_t *y = malloc(sizeof(int32_t) * (size_t)n), *idx = malloc(sizeof(int32_t) * (size_t)n);
    hn_export_info info;
    hn_hw_cost cost;
    if (!x || !xq || !y || !idx) {
        st = hn_error(HN_ERR_NOMEM, "export samples");
        goto done;
    }
    for (int i = 0; i < n; i++) idx[i] = i;
    hn_dataset_batch(test, idx, n, NULL, NULL, x, y);
    if ((st = hn_ptq(g, train, (int)calib, (hn_range_method)method, pct, bias_correction, &m))) goto done;
    hn_qmodel_quantize_input(m, x, n, xq);
    const char *source = t.net ? t.net : t.arch;
    if (tflite) {
        st = export_tflite(m, g->nodes[0].shape, dir, source, float_io, xq, y, n);
        goto done;
    }
    if ((st = (cmsis ? hn_export_c_cmsis : hn_export_c)(m, dir, xq, y, n, source, &info))) goto done;
    hn_graph_set_numtypes(g, HN_INT8, HN_INT8);
    if ((st = hn_device_cost(&dev, g, &cost, NULL))) goto done;
    printf("wrote %s/model.c, %s/model.h and %s/main.c (%d test images)\n", dir, dir, dir, n);
    printf("build and run:  cc -std=c99 -O3 %s/model.c %s/main.c -o model && ./model\n", dir, dir);
    printf("on a Cortex-M4/M7 under QEMU:  deploy/mps2/run.sh %s cortex-m4\n\n", dir);
    printf("%-30s %12s %12s\n", "", "RAM (bytes)", "flash (bytes)");
    printf("%-30s %12zu %12zu\n", "exported: arena / tables", info.arena_bytes, info.weight_bytes);
    printf("%-30s %12lld %12lld\n", "", (long long)(cost.peak_sram_bytes - mcu->runtime_sram_bytes),
           (long long)(cost.flash_bytes - mcu->runtime_flash_bytes));
    printf("(second line: the %s model's prediction without its runtime allowance)\n", device);
done:
    free(x), free(xq), free(y), free(idx);
    hn_qmodel_free(m);
    hn_graph_free(g);
    hn_dataset_free(train);
    hn_dataset_free(test);
    return st ? cli_fail(st) : 0;
}
