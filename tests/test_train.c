/* Training: the schedule, the SGD rule on a hand-computed case, learning on a small real subset of
 * Fashion-MNIST, bit-reproducibility for a seed, and thread-count independence of gradients. */
#include "check.h"
#include "hwnas/train.h"

static void schedule(void) {
    CHECK_NEAR(hn_lr_cosine(0.1f, 0, 100, 0), 0.1, 1e-7);
    CHECK_NEAR(hn_lr_cosine(0.1f, 50, 100, 0), 0.05, 1e-7);
    CHECK_NEAR(hn_lr_cosine(0.1f, 99, 100, 0), 0.1 * 0.5 * (1 + cos(3.14159265358979 * 0.99)), 1e-7);
    CHECK_NEAR(hn_lr_cosine(0.1f, 0, 100, 10), 0.01, 1e-7); /* warm-up: base * (t+1)/warmup */
    CHECK_NEAR(hn_lr_cosine(0.1f, 9, 100, 10), 0.1, 1e-7);
    CHECK_NEAR(hn_lr_cosine(0.1f, 10, 100, 10), 0.1, 1e-7); /* cosine starts at the peak */
    CHECK_NEAR(hn_lr_cosine(0.1f, 55, 100, 10), 0.05, 1e-7);
}

static void sgd_rule(void) {
    /* p = 1, g = 0.5, wd 0.1, momentum 0.9, lr 0.1:
     * step 1: d = 0.6, buf = 0.6, nesterov d = 0.6 + 0.54 = 1.14, p = 1 - 0.114 = 0.886
     * step 2 (g = 0.5): d = 0.5886, buf = 0.54 + 0.5886 = 1.1286, d = 0.5886 + 1.01574 = 1.60434,
     *                   p = 0.886 - 0.160434 = 0.725566 */
    hn_sgd o;
    float p = 1, g = 0.5f;
    CHECK_OK(hn_sgd_init(&o, 1, 0.9f, 0.1f, true));
    hn_sgd_step(&o, &p, &g, 0.1f);
    CHECK_NEAR(p, 0.886, 1e-6);
    hn_sgd_step(&o, &p, &g, 0.1f);
    CHECK_NEAR(p, 0.725566, 1e-6);
    hn_sgd_free(&o);
    /* plain momentum: step 2 uses buf directly: 0.886 - 0.1 * 1.1286 = 0.77314 */
    p = 1;
    CHECK_OK(hn_sgd_init(&o, 1, 0.9f, 0.1f, false));
    hn_sgd_step(&o, &p, &g, 0.1f);
    CHECK_NEAR(p, 0.94, 1e-6);
    hn_sgd_step(&o, &p, &g, 0.1f);
    CHECK_NEAR(p, 0.94 - 0.1 * (0.9 * 0.6 + 0.5 + 0.1 * 0.94), 1e-6);
    hn_sgd_free(&o);
}

static hn_graph *small_net(void) {
    char p[1024];
    snprintf(p, sizeof p, "%s/../examples/nets/fmnist-cnn.yaml", HWNAS_TEST_DIR);
    hn_graph *g = NULL;
    CHECK_OK(hn_graph_load_yaml(p, &g));
    if (!g) exit(1);
    hn_graph_init_params(g, 3);
    return g;
}

static void learns(hn_dataset *tr, hn_dataset *te) {
    hn_graph *g = small_net();
    hn_train_config c = hn_train_defaults();
    c.epochs = 2;
    c.train_limit = 3000;
    c.label_smoothing = 0.05f;
    hn_train_result r;
    CHECK_OK(hn_train(g, tr, te, &c, &r));
    /* 3,000 images, 2 epochs: random guessing is 10 %; this network gets ~75 % */
    CHECK_MSG(r.test_accuracy > 60, "test accuracy %.2f %%", r.test_accuracy);
    CHECK(r.final_train_loss < 1.5 && r.params == 70330 && r.epochs == 2 && r.train_images_per_s > 0);
    hn_graph_free(g);
}

/* Two single-threaded runs with one seed give the same parameters bit for bit. */
static void reproducible(hn_dataset *tr) {
    hn_train_config c = hn_train_defaults();
    c.train_limit = 300;
    c.batch = 32;
    c.seed = 5;
    c.augment.flip = true;
    c.augment.crop_pad = 2;
    c.warmup_epochs = 1;
    c.epochs = 2;
    hn_train_result r;
    hn_set_threads(1);
    hn_graph *a = small_net(), *b = small_net();
    CHECK_OK(hn_train(a, tr, NULL, &c, &r));
    CHECK_OK(hn_train(b, tr, NULL, &c, &r));
    CHECK_MSG(memcmp(a->params, b->params, sizeof(float) * a->nparams) == 0, "two single-threaded runs differ");
    CHECK_MSG(memcmp(a->state, b->state, sizeof(float) * a->nstate) == 0, "batch-norm statistics differ");
    hn_graph_free(a);
    hn_graph_free(b);
    hn_set_threads(2);
}

/* The gradients of one batch with 1 and 2 threads agree up to floating-point reassociation (training
 * runs then drift apart slowly, as any chaotic iteration does). */
static void thread_independent(hn_dataset *tr) {
    int32_t idx[64], y[64];
    float *x = malloc(sizeof(float) * 64 * 784), *g1 = NULL;
    for (int i = 0; i < 64; i++) idx[i] = i;
    hn_dataset_batch(tr, idx, 64, NULL, NULL, x, y);
    hn_graph *g = small_net();
    for (int t = 1; t <= 2; t++) {
        hn_set_threads(t);
        hn_exec *e = NULL;
        CHECK_OK(hn_exec_new(g, 64, true, &e));
        CHECK_OK(hn_exec_forward(e, x, 64, true));
        CHECK_OK(hn_exec_loss(e, y, 0, NULL, NULL));
        CHECK_OK(hn_exec_backward(e, NULL, NULL));
        if (t == 1) {
            g1 = malloc(sizeof(float) * g->nparams);
            memcpy(g1, g->grads, sizeof(float) * g->nparams);
        } else {
            double err = 0, scale = 0;
            for (size_t i = 0; i < g->nparams; i++)
                err = fmax(err, fabs(g1[i] - g->grads[i])), scale = fmax(scale, fabs(g1[i]));
            CHECK_MSG(err < 1e-4 * scale, "1 vs 2 threads: max gradient difference %g (scale %g)", err, scale);
        }
        hn_exec_free(e);
    }
    free(g1);
    free(x);
    hn_graph_free(g);
}

static void misfit(hn_dataset *tr) {
    hn_graph *g = NULL;
    char p[1024];
    snprintf(p, sizeof p, "%s/ref/allops.yaml", HWNAS_TEST_DIR);
    CHECK_OK(hn_graph_load_yaml(p, &g));
    hn_train_config c = hn_train_defaults();
    hn_train_result r;
    CHECK_ERR(hn_train(g, tr, NULL, &c, &r), HN_ERR_SHAPE, "takes 3x11x11 inputs but the dataset's images are 1x28x28");
    hn_graph_free(g);
}

int main(void) {
    schedule();
    sgd_rule();
    hn_dataset *tr, *te;
    CHECK_OK(hn_dataset_load("fashion-mnist", &tr, &te));
    if (tr) {
        hn_set_threads(2);
        learns(tr, te);
        reproducible(tr);
        thread_independent(tr);
        misfit(tr);
    }
    hn_dataset_free(tr);
    hn_dataset_free(te);
    return check_report();
}
