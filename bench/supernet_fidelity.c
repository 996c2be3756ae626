/* Rank fidelity of the supernet: does inherited-weight accuracy order sub-networks as training them
 * alone does? Trains an MBConv supernet on Fashion-MNIST (the default study's split: the last 3,000
 * training images held out), then draws N random sub-networks that meet the default study's
 * Cortex-M7 constraints (the networks its search ranks), and for each measures on the held-out images
 * (a) its accuracy with inherited weights, batch norm recalibrated on 500 training images, and (b) its
 * accuracy after training it alone from scratch on STANDALONE training images (1 epoch, batch 64, lr
 * 0.1, the default study's full fidelity is 34,200). Prints one line per network, Kendall's tau and
 * Spearman's rho, the supernet's training time and the peak RSS.
 *
 * Usage: bench_supernet_fidelity [N [EPOCHS [TRAIN_FRACTION [SANDWICH [STANDALONE [SUPERNET_FILE [ALONE_FILE]]]]]]]
 *        defaults: 30 1 1.0 0 34200 (SANDWICH 1: the sandwich rule with distillation; 0: single path
 *        with one random sub-network a step). SUPERNET_FILE: save the supernet there (or, if it
 *        exists, read it instead of training; "-": neither). ALONE_FILE: the stand-alone accuracies
 *        by genotype, read from it where it has them and appended to it otherwise, so a run that
 *        compares another supernet on the same networks does not train them again. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "hwnas/hwnas.h"
#include "hwnas/supernet.h"

enum { HOLDOUT = 3000, CALIBRATION = 500, MAX_RES = 8 };

typedef struct {
    int n, h[MAX_RES];
    hn_dataset *train[MAX_RES], *test[MAX_RES];
} cache;

static hn_status data_at(void *user, int h, int w, hn_dataset **train, hn_dataset **test) {
    cache *c = user;
    for (int i = 0; i < c->n; i++)
        if (c->h[i] == h) return *train = c->train[i], *test = c->test[i], HN_OK;
    if (c->n == MAX_RES) return hn_error(HN_ERR_INVALID, "more than %d resolutions", MAX_RES);
    int i = c->n++;
    c->h[i] = h;
    hn_status st = hn_dataset_load("fashion-mnist", &c->train[i], &c->test[i]);
    if (!st && (h != c->train[i]->h || w != c->train[i]->w) && !(st = hn_dataset_resize(c->train[i], h, w)))
        st = hn_dataset_resize(c->test[i], h, w);
    *train = c->train[i], *test = c->test[i];
    return st;
}

static void progress(void *user, int epoch, int epochs, int64_t step, int64_t steps, float loss) {
    (void)user, (void)epochs;
    if (step % 50 == 0 || step == steps)
        fprintf(stderr, "\rsupernet epoch %d step %lld/%lld loss %.3f", epoch + 1, (long long)step, (long long)steps, loss);
}

/* the stand-alone accuracy of arch after `images` images, if file holds it */
static bool cached_alone(const char *file, const char *arch, int images, double *acc) {
    FILE *f = file ? fopen(file, "r") : NULL;
    char a[512];
    int n;
    double v;
    bool found = false;
    while (f && !found && fscanf(f, "%511s %d %lf", a, &n, &v) == 3) found = !strcmp(a, arch) && n == images;
    if (f) fclose(f);
    if (found) *acc = v;
    return found;
}

#define TRY(call)                                                                                   \
    do {                                                                                            \
        hn_status st_ = (call);                                                                     \
        if (st_) {                                                                                  \
            fprintf(stderr, "%s: %s\n", #call, hn_last_error());                                    \
            exit(1);                                                                                \
        }                                                                                           \
    } while (0)

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 30, epochs = argc > 2 ? atoi(argv[2]) : 1;
    double fraction = argc > 3 ? atof(argv[3]) : 1.0;
    bool sandwich = argc > 4 ? atoi(argv[4]) != 0 : false;
    int standalone = argc > 5 ? atoi(argv[5]) : 34200;
    const char *file = argc > 6 && strcmp(argv[6], "-") ? argv[6] : NULL, *alone_file = argc > 7 ? argv[7] : NULL;
    if (n < 3 || epochs < 1 || fraction <= 0 || fraction > 1 || standalone < 64) {
        fprintf(stderr, "usage: %s [N [EPOCHS [TRAIN_FRACTION [SANDWICH [STANDALONE [SUPERNET_FILE [ALONE_FILE]]]]]]]\n",
                argv[0]);
        return 2;
    }
    hn_set_threads(0);
    const hn_space *s = hn_space_find("mbconv");
    hn_space_config cfg = {{1, 28, 28}, 10, 0, 0};
    cache data = {0};
    hn_device dev;
    char path[1024];
    const char *dirs[] = {HWNAS_SOURCE_DIR "/devices", NULL};
    TRY(hn_device_find("cortex-m7", dirs, path, sizeof path));
    TRY(hn_device_load(path, &dev));

    hn_supernet *sn;
    double t0 = hn_now(), train_s = 0;
    hn_supernet_train_config tc = hn_supernet_train_defaults();
    if (file && access(file, R_OK) == 0) {
        TRY(hn_supernet_load(file, s, &cfg, &sn));
        printf("supernet read from %s (%d epochs)\n", file, hn_supernet_epochs_done(sn));
    } else {
        TRY(hn_supernet_new(s, &cfg, 1, &sn));
        tc.epochs = epochs, tc.holdout = HOLDOUT, tc.seed = 1, tc.sandwich = sandwich, tc.distill = sandwich;
        tc.random = sandwich ? 2 : 1, tc.train_limit = (int64_t)llround(fraction * (60000 - HOLDOUT));
        tc.progress = progress;
        TRY(hn_supernet_train(sn, data_at, &data, &tc));
        train_s = hn_now() - t0;
        fprintf(stderr, "\n");
        if (file) TRY(hn_supernet_save(sn, file));
        printf("supernet: %s, %d epochs over %lld images in %.1f s\n", sandwich ? "sandwich rule + in-place distillation"
               : "single path, one random sub-network a step", epochs, (long long)tc.train_limit, train_s);
    }
    double *inherited = malloc(sizeof(double) * (size_t)n), *alone = malloc(sizeof(double) * (size_t)n);
    hn_rng r;
    hn_rng_seed(&r, 2026, 15);
    double eval_s = 0, alone_s = 0;
    int trained = 0;
    printf("%3s %10s %10s %9s  %s\n", "#", "inherited", "alone", "latency", "genotype");
    for (int i = 0; i < n;) {
        uint8_t g[HN_SPACE_MAX_DECISIONS];
        hn_space_sample(s, &r, g);
        hn_graph *net;
        hn_hw_cost cost;
        TRY(s->to_graph(s, g, &cfg, &net));
        hn_graph_set_numtypes(net, HN_INT8, HN_INT8);
        TRY(hn_device_cost(&dev, net, &cost, NULL));
        if (cost.peak_sram_bytes > 320 * 1024 || cost.flash_bytes > 1024 * 1024 || cost.latency_s > 0.040) {
            hn_graph_free(net);
            continue;
        }
        hn_graph_set_numtypes(net, HN_FP32, HN_FP32);
        TRY(hn_graph_finalize(net));
        hn_dataset *train, *test, fit, val;
        TRY(data_at(&data, net->nodes[0].shape.h, net->nodes[0].shape.w, &train, &test));
        fit = *train, val = *train;
        fit.n = train->n - HOLDOUT, val.n = HOLDOUT;
        val.images += (size_t)fit.n * train->c * train->h * train->w, val.labels += fit.n;
        double ips, t1 = hn_now();
        TRY(hn_supernet_extract(sn, net));
        TRY(hn_graph_recalibrate(net, &fit, CALIBRATION, 100));
        TRY(hn_evaluate(net, &val, 500, &inherited[i], &ips));
        eval_s += hn_now() - t1;
        char arch[512];
        s->format(s, g, arch, sizeof arch);
        if (!cached_alone(alone_file, arch, standalone, &alone[i])) {
            hn_graph_init_params(net, 7 + (uint64_t)i);
            hn_train_config c = hn_train_defaults();
            c.batch = 64, c.train_limit = standalone, c.seed = 7 + (uint64_t)i;
            hn_train_result res;
            t1 = hn_now();
            TRY(hn_train(net, &fit, &val, &c, &res));
            alone_s += hn_now() - t1, trained++;
            alone[i] = res.test_accuracy;
            if (alone_file) {
                FILE *f = fopen(alone_file, "a");
                if (f) fprintf(f, "%s %d %.4f\n", arch, standalone, alone[i]), fclose(f);
            }
        }
        printf("%3d %9.2f%% %9.2f%% %7.2fms  %s\n", i + 1, inherited[i], alone[i], cost.latency_s * 1e3, arch);
        fflush(stdout);
        hn_graph_free(net);
        i++;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("\n%d sub-networks: Kendall tau %.3f, Spearman rho %.3f (inherited vs trained alone on %d images)\n", n,
           hn_kendall(inherited, alone, n), hn_spearman(inherited, alone, n), standalone);
    printf("time: supernet training %.1f s; inherited evaluation %.3f s a network; training alone %.1f s a network\n",
           train_s, eval_s / n, trained ? alone_s / trained : NAN);
    printf("peak RSS %.0f MB\n", ru.ru_maxrss / 1024.0);
    hn_supernet_free(sn);
    for (int i = 0; i < data.n; i++) hn_dataset_free(data.train[i]), hn_dataset_free(data.test[i]);
    free(inherited), free(alone);
    return 0;
}
