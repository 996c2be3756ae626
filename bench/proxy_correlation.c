/* How well do the zero-cost proxies rank architectures? Samples N architectures of a space, scores
 * each at initialisation with every proxy (one mini-batch of 64 training images), trains it briefly
 * on Fashion-MNIST and measures its test accuracy, then prints Spearman's rank correlation of each
 * proxy with the accuracies (the measure Abdelfattah et al. 2021 report).
 *
 * Usage: bench_proxy_correlation [SPACE [N [TRAIN_IMAGES [EPOCHS [WIDTH CELLS]]]]]
 *        defaults: mbconv 50 10000 1; WIDTH/CELLS set nb201's C and N (default 16 and 5).
 * Test accuracy is on the first 2000 test images. Prints one line per architecture, then the table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hwnas/hwnas.h"

enum { BATCH = 64, TEST_IMAGES = 2000, MAX_RES = 8 };

/* the Fashion-MNIST splits resized to h x w, loaded once per resolution */
typedef struct {
    int h;
    hn_dataset *train, *test;
} split;

static hn_status data_at(split *cache, int *n, int h, int w, split **out) {
    for (int i = 0; i < *n; i++)
        if (cache[i].h == h) return *out = &cache[i], HN_OK;
    if (*n == MAX_RES) return hn_error(HN_ERR_INVALID, "more than %d resolutions", MAX_RES);
    split *s = &cache[(*n)++];
    s->h = h;
    hn_status st = hn_dataset_load("fashion-mnist", &s->train, &s->test);
    if (!st && (h != s->train->h || w != s->train->w) && !(st = hn_dataset_resize(s->train, h, w)))
        st = hn_dataset_resize(s->test, h, w);
    *out = s;
    return st;
}

int main(int argc, char **argv) {
    const char *space_name = argc > 1 ? argv[1] : "mbconv";
    int n = argc > 2 ? atoi(argv[2]) : 50, limit = argc > 3 ? atoi(argv[3]) : 10000, epochs = argc > 4 ? atoi(argv[4]) : 1;
    const hn_space *space = hn_space_find(space_name);
    if (!space || n < 3 || limit < 1 || epochs < 1) {
        fprintf(stderr, "usage: %s [SPACE [N [TRAIN_IMAGES [EPOCHS [WIDTH CELLS]]]]]\n", argv[0]);
        return 2;
    }
    hn_space_config cfg = space->defaults;
    cfg.input = (hn_shape){1, 28, 28}, cfg.classes = 10;
    if (argc > 6) cfg.width = atoi(argv[5]), cfg.cells = atoi(argv[6]);
    hn_set_threads(0);
    split cache[MAX_RES];
    int ncache = 0;
    double *score = malloc(sizeof(double) * (size_t)n * HN_PROXY_COUNT), *acc = malloc(sizeof(double) * (size_t)n);
    float *x = malloc(sizeof(float) * BATCH * 3 * 64 * 64);
    int32_t idx[BATCH], y[BATCH];
    hn_rng r;
    hn_rng_seed(&r, 2021, 7);
    double proxy_s = 0, train_s = 0;
    printf("%s, %d architectures, %d training images x %d epochs, test on %d images\n", space_name, n, limit, epochs,
           TEST_IMAGES);
    for (int a = 0; a < n; a++) {
        uint8_t g[HN_SPACE_MAX_DECISIONS];
        char arch[4096];
        hn_space_sample(space, &r, g);
        space->format(space, g, arch, sizeof arch);
        hn_candidate cand;
        split *d = NULL;
        hn_status st = hn_candidate_build_genotype(space, g, &(hn_candidate_spec){.space = cfg}, &cand);
        if (!st) st = hn_candidate_params(&cand);
        hn_graph *net = cand.graph;
        if (!st) st = data_at(cache, &ncache, net->nodes[0].shape.h, net->nodes[0].shape.w, &d);
        if (st) {
            fprintf(stderr, "%s: %s\n", arch, hn_last_error());
            return 1;
        }
        hn_graph_init_params(net, (uint64_t)a);
        for (int i = 0; i < BATCH; i++) idx[i] = (int32_t)hn_rng_below(&r, (uint32_t)d->train->n);
        hn_dataset_batch(d->train, idx, BATCH, NULL, NULL, x, y);
        double t0 = hn_now();
        if ((st = hn_proxies(net, x, y, BATCH, score + (size_t)a * HN_PROXY_COUNT))) {
            fprintf(stderr, "%s: %s\n", arch, hn_last_error());
            return 1;
        }
        proxy_s += hn_now() - t0;
        hn_train_config tc = hn_train_defaults();
        tc.epochs = epochs, tc.train_limit = limit, tc.seed = (uint64_t)a;
        hn_train_result res;
        int full = d->test->n;
        d->test->n = TEST_IMAGES; /* the first images only; the buffers stay whole */
        t0 = hn_now();
        st = hn_train(net, d->train, d->test, &tc, &res);
        train_s += hn_now() - t0;
        d->test->n = full;
        if (st) {
            fprintf(stderr, "%s: %s\n", arch, hn_last_error());
            return 1;
        }
        acc[a] = res.test_accuracy;
        printf("%3d %6.2f %%  %s\n", a, acc[a], arch);
        fflush(stdout);
        hn_candidate_free(&cand);
    }
    printf("\nSpearman rank correlation with test accuracy (%d architectures; undefined scores rank lowest)\n", n);
    printf("%-10s %8s\n", "proxy", "rho");
    double *col = malloc(sizeof(double) * (size_t)n);
    for (int p = 0; p < HN_PROXY_COUNT; p++) {
        for (int a = 0; a < n; a++) {
            double v = score[(size_t)a * HN_PROXY_COUNT + p];
            col[a] = isnan(v) ? -INFINITY : v;
        }
        printf("%-10s %8.3f\n", hn_proxy_name((hn_proxy)p), hn_spearman(col, acc, n));
    }
    printf("\nproxies %.3f s per architecture, training %.1f s per architecture\n", proxy_s / n, train_s / n);
    for (int i = 0; i < ncache; i++) hn_dataset_free(cache[i].train), hn_dataset_free(cache[i].test);
    free(col), free(score), free(acc), free(x);
    return 0;
}
