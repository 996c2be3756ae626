/* hwnas proxy: zero-cost proxies of an untrained network on one mini-batch of real data. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "hwnas/estimate.h"

static const char *help =
    "Usage: hwnas proxy (--net FILE | --space NAME --arch STRING) [OPTIONS]\n"
    "\n"
    "Scores the network at initialisation with the zero-cost proxies synflow, snip, grad_norm,\n"
    "jacob_cov and naswot (larger is better; docs/search.md gives the definitions), computed by the\n"
    "engine on one random mini-batch of training images, next to its parameters and MACs.\n"
    "\n"
    "Options:\n"
    "  --net FILE        network file\n"
    "  --space NAME      search space (hwnas space list), with --arch\n"
    "  --arch STRING     architecture in the space's string form\n"
    "  --dataset SPEC    fashion-mnist (default), idx:DIR, cifar10:DIR or cifar100:DIR\n"
    "  --batch N         images in the mini-batch (default 64, 2..512)\n"
    "  --seed S          seed of the initialisation and of the batch (default 0)\n"
    "  --threads T       threads (default: all cores)\n"
    "  --json            print one JSON object\n"
    "  --help            show this help\n"
    "\n"
    "Example:\n"
    "  hwnas proxy --space mbconv --arch \"$(hwnas space sample mbconv)\"\n";

int cmd_proxy(int argc, char **argv) {
    enum { O_NET = 256, O_SPACE, O_ARCH, O_DATASET, O_BATCH, O_SEED, O_THREADS, O_JSON, O_HELP };
    static const struct option opts[] = {
        {"net", required_argument, 0, O_NET},         {"space", required_argument, 0, O_SPACE},
        {"arch", required_argument, 0, O_ARCH},       {"dataset", required_argument, 0, O_DATASET},
        {"batch", required_argument, 0, O_BATCH},     {"seed", required_argument, 0, O_SEED},
        {"threads", required_argument, 0, O_THREADS}, {"json", no_argument, 0, O_JSON},
        {"help", no_argument, 0, O_HELP},             {0, 0, 0, 0}};
    const char *net = NULL, *space = NULL, *arch = NULL, *dataset = "fashion-mnist";
    long batch = 64, seed = 0, threads = 0;
    bool json = false;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_NET: net = optarg; break;
        case O_SPACE: space = optarg; break;
        case O_ARCH: arch = optarg; break;
        case O_DATASET: dataset = optarg; break;
        case O_BATCH: if (!cli_int("proxy", "--batch", optarg, 2, 512, &batch)) return 2; break;
        case O_SEED: if (!cli_int("proxy", "--seed", optarg, 0, 0x7fffffffL, &seed)) return 2; break;
        case O_THREADS: if (!cli_int("proxy", "--threads", optarg, 1, 1024, &threads)) return 2; break;
        case O_JSON: json = true; break;
        case O_HELP: fputs(help, stdout); return 0;
        default: return cli_usage_error("proxy", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("proxy", "unexpected argument '%s'", argv[optind]);
    if (!net == !space) return cli_usage_error("proxy", "give either --net FILE or --space NAME --arch STRING");
    if (!space != !arch) return cli_usage_error("proxy", "--space and --arch go together");
    hn_set_threads((int)threads);

    hn_graph *g;
    hn_dataset *train, *test;
    hn_status st = cli_net_and_data(net, space, arch, dataset, json, &g, &train, &test);
    if (st) return cli_fail(st);
    const int n = (int)(batch < train->n ? batch : train->n);
    float *x = hn_alloc(sizeof(float) * (size_t)n * (size_t)(train->c * train->h * train->w));
    int32_t *idx = hn_alloc(sizeof(int32_t) * 2 * (size_t)n), *y = idx + n;
    double v[HN_PROXY_COUNT], seconds = 0;
    if (!x || !idx) {
        st = hn_error_prefix(HN_ERR_NOMEM, "proxy batch");
    } else {
        hn_rng r;
        hn_rng_seed(&r, (uint64_t)seed, 0x5851f42d4c957f2dULL);
        for (int i = 0; i < n; i++) idx[i] = (int32_t)hn_rng_below(&r, (uint32_t)train->n);
        hn_dataset_batch(train, idx, n, NULL, NULL, x, y);
        hn_graph_init_params(g, (uint64_t)seed);
        double t0 = hn_now();
        st = hn_proxies(g, x, y, n, v);
        seconds = hn_now() - t0;
    }
    if (!st && json) {
        json_t *o = json_pack("{s:s, s:s, s:i, s:I, s:f}", "net", net ? net : arch, "dataset", dataset, "batch", n,
                              "seed", (json_int_t)seed, "seconds", seconds);
        for (int p = 0; p < HN_PROXY_COUNT; p++) /* an undefined proxy is null */
            json_object_set_new(o, hn_proxy_name((hn_proxy)p), isfinite(v[p]) ? json_real(v[p]) : json_null());
        char *s = json_dumps(o, JSON_REAL_PRECISION(10));
        puts(s);
        free(s);
        json_decref(o);
    } else if (!st) {
        printf("zero-cost proxies of %s on %d %s images (seed %ld), %.2f s\n\n", net ? net : arch, n, dataset, seed,
               seconds);
        for (int p = 0; p < HN_PROXY_COUNT; p++)
            printf(isfinite(v[p]) ? "%-10s %.6g\n" : "%-10s undefined\n", hn_proxy_name((hn_proxy)p), v[p]);
    }
    hn_free(x);
    hn_free(idx);
    hn_graph_free(g);
    hn_dataset_free(train);
    hn_dataset_free(test);
    return st ? cli_fail(st) : 0;
}
