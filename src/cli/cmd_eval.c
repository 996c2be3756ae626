/* hwnas eval: a trained network's test accuracy and speed, in float32 and (--quantized) as the int8
 * model of post-training quantization. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hwnas/quant.h"
#include "hwnas/train.h"

static const char *help =
    "Usage: hwnas eval (--net FILE | --space NAME --arch STRING | --from-study DIR [--trial ID]) --weights FILE\n"
    "                  [--quantized] [OPTIONS]\n"
    "\n"
    "Measures a trained network's top-1 accuracy on the test split and its inference speed on this CPU.\n"
    "With --quantized it also quantizes the network after training (int8 weights per channel, int8\n"
    "activations per tensor, batch norm folded, TFLite's fixed-point arithmetic), calibrated on training\n"
    "images, and measures the int8 engine the same way. docs/quantization.md has the details.\n"
    "\n"
    "Options:\n"
    "  --net FILE            network file (a study's model.yaml, for instance)\n"
    "  --space NAME          search space, with --arch STRING\n"
    "  --from-study DIR      a study's chosen network (model.yaml, model.hntf), or --trial ID's\n"
    "  --weights FILE        trained weights (hwnas train --save; a study's model.hntf by default)\n"
    "  --dataset SPEC        fashion-mnist (default), idx:DIR, cifar10:DIR or cifar100:DIR\n"
    "  --quantized           also evaluate the int8 model\n"
    "  --fake-quant          also evaluate the network as its number types say, by fake quantization on\n"
    "                        the float engine (any policy: int2..int8, int16, fp8/fp6/fp4 minifloats)\n"
    "  --numtypes W/A        set every layer's weight and activation types first (e.g. int4/int8; a\n"
    "                        NAME+quant architecture carries its own policy)\n"
    CLI_PTQ_HELP
    "  --kernels ISA         int8 kernels: avx512vnni, avx2 or c (default: the best this CPU has)\n"
    "  --threads T           threads (default: all cores)\n"
    "  --json                print one JSON object on stdout\n"
    "  --help                show this help\n";

int cmd_eval(int argc, char **argv) {
    enum { O_QUANT = 256, O_CALIB, O_RANGE, O_PCT, O_THREADS, O_JSON, O_HELP, O_KERNELS, O_FAKE, O_NUMTYPES, O_BIASCORR };
    static const struct option opts[] = {
        CLI_TRAINED_OPTIONS,
        {"quantized", no_argument, 0, O_QUANT},        {"calibration", required_argument, 0, O_CALIB},
        {"range", required_argument, 0, O_RANGE},      {"percentile", required_argument, 0, O_PCT}, {"bias-correction", no_argument, 0, O_BIASCORR},
        {"threads", required_argument, 0, O_THREADS},  {"json", no_argument, 0, O_JSON},
        {"help", no_argument, 0, O_HELP},              {"kernels", required_argument, 0, O_KERNELS},
        {"fake-quant", no_argument, 0, O_FAKE},        {"numtypes", required_argument, 0, O_NUMTYPES},
        {0, 0, 0, 0}};
    cli_trained t = {.trial = -1};
    bool bias_correction = false;
    long calib = 1000, threads = 0;
    double pct = 99.99;
    bool quantized = false, json = false, fake = false;
    const char *numtypes = NULL;
    int method = HN_RANGE_MINMAX;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        const char *o = argv[optind - 1];
        int known = cli_trained_option("eval", c, optarg, &t);
        if (known < 0) return 2;
        if (known) continue;
        switch (c) {
        case O_QUANT: quantized = true; break;
        case O_FAKE: fake = true; break;
        case O_NUMTYPES: numtypes = optarg; break;
        case O_CALIB: if (!cli_int("eval", "--calibration", optarg, 1, 1000000, &calib)) return 2; break;
        case O_RANGE:
            if (!cli_range_method(optarg, &method))
                return cli_usage_error("eval", "--range '%s': expected minmax, percentile or mse", optarg);
            break;
        case O_BIASCORR: bias_correction = true; break;
        case O_PCT: if (!cli_float("eval", "--percentile", optarg, 50, 100, &pct)) return 2; break;
        case O_THREADS: if (!cli_int("eval", "--threads", optarg, 1, 1024, &threads)) return 2; break;
        case O_JSON: json = true; break;
        case O_KERNELS: {
            hn_status st = hn_quant_set_kernels(optarg);
            if (st) return cli_fail(st);
            break;
        }
        case O_HELP: fputs(help, stdout); return 0;
        default: return cli_usage_error("eval", "unknown or incomplete option '%s'", o);
        }
    }
    if (optind < argc) return cli_usage_error("eval", "unexpected argument '%s'", argv[optind]);
    hn_numtype wt = HN_FP32, at = HN_FP32;
    if (numtypes && !cli_numtypes("eval", numtypes, &wt, &at)) return 2;
    hn_set_threads((int)threads);
    hn_graph *g;
    hn_dataset *train, *test;
    hn_qmodel *m = NULL;
    int rc = cli_load_trained("eval", &t, json, &g, &train, &test);
    if (rc) return rc;
    hn_status st;
    double acc = 0, ips = 0, qacc = 0, qips = 0, facc = 0;
    if ((st = hn_evaluate(g, test, 500, &acc, &ips))) goto done;
    if (numtypes) hn_graph_set_numtypes(g, wt, at);
    if (fake && (st = hn_fake_quant_evaluate(g, train, (int)calib, test, &facc))) goto done;
    if (quantized && ((st = hn_ptq(g, train, (int)calib, (hn_range_method)method, pct, bias_correction, &m)) || (st = hn_qmodel_evaluate(m, test, &qacc, &qips))))
        goto done;
    static const char *const range_names[] = {"minmax", "percentile", "mse"};
    if (json) {
        json_t *o = json_pack("{s:s, s:I, s:f, s:f, s:i}", "dataset", t.dataset, "test_images", (json_int_t)test->n,
                              "float_accuracy", acc, "float_images_per_s", ips, "threads", hn_get_threads());
        if (fake) json_object_set_new(o, "fake_quant_accuracy", json_real(facc));
        if (m) {
            json_object_set_new(o, "int8_accuracy", json_real(qacc));
            json_object_set_new(o, "int8_images_per_s", json_real(qips));
            json_object_set_new(o, "range", json_string(range_names[method]));
            json_object_set_new(o, "calibration_images", json_integer(calib < train->n ? calib : train->n));
            json_object_set_new(o, "kernels", json_string(hn_quant_kernels()));
        }
        char *s = json_dumps(o, JSON_REAL_PRECISION(6));
        puts(s);
        free(s);
        json_decref(o);
    } else {
        printf("%-8s %10s %10s\n", "engine", "accuracy", "images/s");
        printf("%-8s %8.2f %% %10.0f\n", "float32", acc, ips);
        if (fake) printf("%-8s %8.2f %%            (fake quantization: %s)\n", "policy", facc,
                         numtypes ? numtypes : "the architecture's number types");
        if (m) printf("%-8s %8.2f %% %10.0f   (calibrated on %ld training images, %s ranges; %s kernels)\n", "int8",
                      qacc, qips, calib < train->n ? calib : (long)train->n, range_names[method], hn_quant_kernels());
    }
done:
    hn_qmodel_free(m);
    hn_graph_free(g);
    hn_dataset_free(train);
    hn_dataset_free(test);
    return st ? cli_fail(st) : 0;
}
