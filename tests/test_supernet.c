/* Weight sharing: a sub-network read through its slice of the supernet computes what the supernet
 * itself computes with every weight outside the slice set to zero (random genotypes: skipped blocks,
 * smaller kernels, narrower widths, every resolution); batch-norm recalibration; the supernet file
 * (round trip, bad magic, version, space, shape, truncation); training learns, and a resumed training
 * equals an uninterrupted one bit for bit; a policy space's sub-networks train with fake quantization. */
#include <unistd.h>

#include "check.h"
#include "hwnas/exec.h"
#include "hwnas/quant.h"
#include "hwnas/supernet.h"
#include "hwnas/train.h"

static const hn_space_config CFG = {{1, 28, 28}, 10, 0, 0};

/* a random mbconv genotype whose blocks all expand (e3 or e6: their slices are the masked supernet's
 * channels), with skips (p = 0.3) where a block may be skipped */
static void random_expanding(const hn_space *s, hn_rng *r, uint8_t *g) {
    static const uint8_t expanding[6] = {1, 2, 4, 5, 7, 8}; /* k3e3 k3e6 k5e3 k5e6 k7e3 k7e6 */
    hn_space_sample(s, r, g);
    for (int d = 6; d < s->ndecisions; d++) {
        bool can_skip = s->choices[d] == 10;
        g[d] = can_skip && hn_rng_uniform(r) < 0.3f ? 9 : expanding[hn_rng_below(r, 6)];
    }
}

static void randomize_bn(hn_graph *g, uint64_t seed) {
    hn_rng r;
    hn_rng_seed(&r, seed, 0);
    for (int i = 0; i < g->nnodes; i++) {
        const hn_node *n = &g->nodes[i];
        if (n->op != HN_OP_BATCHNORM) continue;
        for (int c = 0; c < n->shape.c; c++) {
            g->params[n->param_off + c] = 0.5f + hn_rng_uniform(&r);                     /* gamma */
            g->params[n->param_off + n->shape.c + c] = hn_rng_uniform(&r) - 0.5f;        /* beta */
            g->state[n->state_off + c] = 0.2f * (hn_rng_uniform(&r) - 0.5f);            /* mean */
            g->state[n->state_off + n->shape.c + c] = 0.5f + hn_rng_uniform(&r);         /* var */
        }
    }
}

/* the eval-mode output of g on x (n samples) into out */
static void run(hn_graph *g, const float *x, int n, float *out) {
    hn_exec *e;
    CHECK_OK(hn_exec_new(g, n, false, &e));
    CHECK_OK(hn_exec_forward(e, x, n, false));
    hn_exec_output(e, out);
    hn_exec_free(e);
}

static void equivalence(void) {
    const hn_space *s = hn_space_find("mbconv");
    hn_supernet *sn, *scratch;
    CHECK_OK(hn_supernet_new(s, &CFG, 1, &sn));
    CHECK_OK(hn_supernet_new(s, &CFG, 2, &scratch));
    hn_graph *sg = hn_supernet_graph(sn), *scratch_g = hn_supernet_graph(scratch);
    randomize_bn(sg, 3);
    hn_rng r;
    hn_rng_seed(&r, 42, 0);
    enum { N = 3 };
    int checked = 0, skips = 0;
    for (int t = 0; t < 12; t++) {
        uint8_t g[HN_SPACE_MAX_DECISIONS], big[HN_SPACE_MAX_DECISIONS];
        random_expanding(s, &r, g);
        for (int d = 6; d < s->ndecisions; d++) skips += g[d] == 9;
        hn_graph *sub, *masked;
        CHECK_OK(s->to_graph(s, g, &CFG, &sub));
        CHECK_OK(hn_graph_finalize(sub));
        CHECK_OK(hn_supernet_extract(sn, sub));
        /* the masked supernet: the slice's values where the sub-network reads, zero elsewhere (written
         * through add_grads into a zeroed block), at the sub-network's resolution */
        memset(scratch_g->grads, 0, sizeof(float) * scratch_g->nparams);
        memcpy(sub->grads, sub->params, sizeof(float) * sub->nparams);
        CHECK_OK(hn_supernet_add_grads(scratch, sub));
        CHECK_OK(s->parse(s, s->largest, big));
        big[0] = g[0];
        CHECK_OK(s->to_graph(s, big, &CFG, &masked));
        CHECK_OK(hn_graph_finalize(masked));
        CHECK(masked->nparams == sg->nparams && masked->nstate == sg->nstate);
        memcpy(masked->params, scratch_g->grads, sizeof(float) * sg->nparams);
        memcpy(masked->state, sg->state, sizeof(float) * sg->nstate);
        size_t sample = hn_shape_numel(sub->nodes[0].shape);
        float *x = malloc(sizeof(float) * sample * N), a[N * 10], b[N * 10];
        for (size_t i = 0; i < sample * N; i++) x[i] = hn_rng_normal(&r);
        run(sub, x, N, a);
        run(masked, x, N, b);
        double diff = 0, scale = 0;
        for (int i = 0; i < N * 10; i++) diff = fmax(diff, fabs(a[i] - b[i])), scale = fmax(scale, fabs(b[i]));
        /* the same sums in another order (wider GEMMs over zeros): float reassociation only */
        CHECK_MSG(diff <= 1e-4 * scale + 1e-6, "genotype %d: outputs differ by %g (scale %g)", t, diff, scale);
        checked++;
        free(x);
        hn_graph_free(sub), hn_graph_free(masked);
    }
    CHECK(checked == 12 && skips > 5);
    /* e1 blocks (no expansion) read the first channels of the depthwise and project layers */
    hn_graph *e1;
    uint8_t g[HN_SPACE_MAX_DECISIONS];
    CHECK_OK(s->parse(s, s->smallest, g));
    CHECK_OK(s->to_graph(s, g, &CFG, &e1));
    CHECK_OK(hn_graph_finalize(e1));
    CHECK_OK(hn_supernet_extract(sn, e1));
    int dw = 1;
    while (e1->nodes[dw].groups <= 1) dw++; /* the first depthwise 3x3: the centre of the supernet's 7x7 */
    const hn_node *twin = NULL;
    for (int i = 0; i < sg->nnodes; i++)
        if (sg->nodes[i].qslot == e1->nodes[dw].qslot) twin = &sg->nodes[i];
    CHECK(twin && twin->kernel == 7 && e1->nodes[dw].kernel == 3);
    for (int c = 0; twin && c < 4; c++) /* channel c's row 0 is the 7x7's row 2, columns 2..4 */
        CHECK(!memcmp(e1->params + e1->nodes[dw].param_off + 9 * c, sg->params + twin->param_off + 49 * c + 16,
                      3 * sizeof(float)));
    hn_graph_free(e1);
    /* a network the supernet does not hold: another class count */
    hn_space_config five = CFG;
    five.classes = 5;
    CHECK_OK(s->to_graph(s, g, &five, &e1));
    CHECK_OK(hn_graph_finalize(e1));
    CHECK_ERR(hn_supernet_extract(sn, e1), HN_ERR_SHAPE, "is not a slice of the supernet's");
    hn_graph_free(e1);
    hn_supernet_free(sn), hn_supernet_free(scratch);
    CHECK_ERR(hn_supernet_new(hn_space_find("nb201"), &CFG, 1, &sn), HN_ERR_UNSUPPORTED, "has no supernet");
    CHECK_OK(hn_supernet_new(hn_space_find("mbconv+quant"), &CFG, 1, &sn)); /* the architecture's supernet */
    hn_supernet_free(sn);
}

static void recalibration(void) {
    /* input -> batch norm: the statistics become the average of the batches' mean and unbiased variance */
    enum { N = 40, B = 8, HW = 4 };
    hn_dataset d = {N, 1, HW, HW, 2, malloc(N * HW * HW), calloc(N, 1), {0.3f}, {0.2f}};
    for (int i = 0; i < N * HW * HW; i++) d.images[i] = (uint8_t)(i * 37 % 251);
    hn_graph *g;
    int id;
    CHECK_OK(hn_graph_new((hn_shape){1, HW, HW}, &g));
    hn_node_spec bn = hn_spec(HN_OP_BATCHNORM, 0);
    CHECK_OK(hn_graph_add(g, &bn, &id));
    CHECK_OK(hn_graph_finalize(g));
    hn_graph_init_params(g, 1);
    CHECK_OK(hn_graph_recalibrate(g, &d, N, B));
    double mean = 0, var = 0;
    float x[B * HW * HW];
    int32_t y[B], idx[B];
    for (int b = 0; b < N / B; b++) {
        for (int k = 0; k < B; k++) idx[k] = b * B + k;
        hn_dataset_batch(&d, idx, B, NULL, NULL, x, y);
        double m = 0, v = 0;
        for (int i = 0; i < B * HW * HW; i++) m += x[i];
        m /= B * HW * HW;
        for (int i = 0; i < B * HW * HW; i++) v += (x[i] - m) * (x[i] - m);
        mean += m / (N / B), var += v / (B * HW * HW - 1) / (N / B);
    }
    CHECK_NEAR(g->state[0], mean, 1e-5);
    CHECK_NEAR(g->state[1], var, 1e-4);
    CHECK(g->nodes[id].momentum == 0.1f || g->nodes[id].momentum == 0); /* the node's own setting is back */
    hn_graph_free(g);
    free(d.images), free(d.labels);
}

/* Fashion-MNIST's first images, at any resolution (each loaded once) */
typedef struct {
    int n, res[8];
    hn_dataset *train[8], *test[8];
} data_cache;

static hn_status data_at(void *user, int h, int w, hn_dataset **train, hn_dataset **test) {
    data_cache *c = user;
    for (int i = 0; i < c->n; i++)
        if (c->res[i] == h) return *train = c->train[i], *test = c->test[i], HN_OK;
    hn_status st = hn_dataset_load("fashion-mnist", &c->train[c->n], &c->test[c->n]);
    if (st) return st;
    c->train[c->n]->n = 900, c->test[c->n]->n = 300;
    if (h != 28 && ((st = hn_dataset_resize(c->train[c->n], h, w)) || (st = hn_dataset_resize(c->test[c->n], h, w))))
        return st;
    c->res[c->n] = h;
    *train = c->train[c->n], *test = c->test[c->n];
    c->n++;
    return HN_OK;
}

static void losses(void *user, int epoch, int epochs, int64_t step, int64_t steps, float loss) {
    (void)epoch, (void)epochs, (void)steps;
    float *l = user;
    if (step <= 64) l[step - 1] = loss;
}

/* stops a training in its second epoch (3 steps an epoch) */
static void stop_after(void *user, int epoch, int epochs, int64_t step, int64_t steps, float loss) {
    (void)epoch, (void)epochs, (void)steps, (void)loss;
    if (step == 4) *(volatile int *)user = 1;
}

static void training_and_files(void) {
    const hn_space *s = hn_space_find("mbconv");
    data_cache data = {0};
    hn_set_threads(1); /* bit-reproducible */
    hn_supernet_train_config tc = hn_supernet_train_defaults();
    tc.epochs = 2, tc.batch = 32, tc.train_limit = 96, tc.holdout = 300, tc.seed = 7;
    tc.sandwich = true, tc.random = 2; /* the sandwich rule with in-place distillation */
    float loss[64] = {0};
    tc.progress = losses, tc.progress_user = loss;
    hn_supernet *a, *b;
    CHECK_OK(hn_supernet_new(s, &CFG, 5, &a));
    CHECK_OK(hn_supernet_train(a, data_at, &data, &tc));
    CHECK(hn_supernet_epochs_done(a) == 2 && hn_supernet_epochs_planned(a) == 2);
    CHECK_MSG(loss[5] < loss[0], "the largest network's loss went from %g to %g", loss[0], loss[5]);
    /* stopped in the second epoch, loaded from the checkpoint of the first, trained on: the same supernet */
    const char *path = "supernet-test.hnsn";
    volatile int stop = 0;
    hn_supernet_train_config one = tc;
    one.checkpoint = path, one.progress = stop_after, one.progress_user = (void *)&stop, one.stop = &stop;
    CHECK_OK(hn_supernet_new(s, &CFG, 5, &b));
    CHECK_ERR(hn_supernet_train(b, data_at, &data, &one), HN_ERR_INTERRUPTED, "the last saved epoch is 1");
    hn_supernet_free(b);
    CHECK_OK(hn_supernet_load(path, s, &CFG, &b));
    CHECK(hn_supernet_epochs_done(b) == 1);
    tc.progress = NULL;
    CHECK_OK(hn_supernet_train(b, data_at, &data, &tc));
    hn_graph *ga = hn_supernet_graph(a), *gb = hn_supernet_graph(b);
    CHECK(!memcmp(ga->params, gb->params, sizeof(float) * ga->nparams));
    CHECK(!memcmp(ga->state, gb->state, sizeof(float) * ga->nstate));
    /* a stop request: interrupted, and the epochs done stay what was saved */
    stop = 1;
    tc.epochs = 3, tc.stop = &stop;
    CHECK_ERR(hn_supernet_train(b, data_at, &data, &tc), HN_ERR_INTERRUPTED, "the last saved epoch is 2");
    hn_supernet_free(b);
    /* a sub-network inherits, recalibrates and is measured */
    hn_graph *g;
    uint8_t geno[HN_SPACE_MAX_DECISIONS];
    CHECK_OK(s->parse(s, "r20|w1.0:k3e3,skip|w1.0:k5e3,k3e3,skip|w1.0:k5e3,skip,skip|w1.0:k3e3,k3e3,skip,skip|w1.0:k3e3,skip,skip", geno));
    CHECK_OK(s->to_graph(s, geno, &CFG, &g));
    CHECK_OK(hn_graph_finalize(g));
    CHECK_OK(hn_supernet_extract(a, g));
    hn_dataset *train, *test;
    CHECK_OK(data_at(&data, 20, 20, &train, &test));
    CHECK_OK(hn_graph_recalibrate(g, train, 200, 50));
    double acc, ips;
    CHECK_OK(hn_evaluate(g, test, 100, &acc, &ips));
    CHECK(acc >= 0 && acc <= 100);
    hn_graph_free(g);

    /* files: round trip, then every kind of bad file */
    CHECK_OK(hn_supernet_save(a, path));
    CHECK_OK(hn_supernet_load(path, s, &CFG, &b));
    CHECK(!memcmp(ga->params, hn_supernet_graph(b)->params, sizeof(float) * ga->nparams));
    CHECK(hn_supernet_epochs_done(b) == 2);
    hn_supernet_free(b);
    hn_space_config five = CFG;
    five.classes = 5;
    CHECK_ERR(hn_supernet_load(path, s, &five, &b), HN_ERR_INVALID, "10 classes, not 1 and 5");
    CHECK_ERR(hn_supernet_load(path, hn_space_find("nb201"), &CFG, &b), HN_ERR_INVALID, "not of 'nb201'");
    FILE *f = fopen(path, "r+b");
    fseek(f, 8, SEEK_SET);
    fwrite("nb201", 1, 6, f); /* the header's space */
    fclose(f);
    CHECK_ERR(hn_supernet_load(path, s, &CFG, &b), HN_ERR_INVALID, "a supernet of space 'nb201', not of 'mbconv'");
    CHECK_OK(hn_supernet_save(a, path));
    f = fopen(path, "r+b");
    fseek(f, 4, SEEK_SET);
    fputc(9, f); /* version 9 */
    fclose(f);
    CHECK_ERR(hn_supernet_load(path, s, &CFG, &b), HN_ERR_FORMAT, "version 9");
    write_text(path, "not a supernet");
    CHECK_ERR(hn_supernet_load(path, s, &CFG, &b), HN_ERR_FORMAT, "no HNSN magic");
    CHECK_OK(hn_supernet_save(a, path));
    CHECK(truncate(path, 5000) == 0);
    CHECK_ERR(hn_supernet_load(path, s, &CFG, &b), HN_ERR_FORMAT, "truncated");
    CHECK_ERR(hn_supernet_load("no/such.hnsn", s, &CFG, &b), HN_ERR_IO, "no/such.hnsn");
    remove(path);
    hn_supernet_free(a);
    for (int i = 0; i < data.n; i++) hn_dataset_free(data.train[i]), hn_dataset_free(data.test[i]);
}

static int distinct(const float *x, int n) {
    int d = 0;
    for (int i = 0; i < n; i++) {
        bool seen = false;
        for (int j = 0; j < i && !seen; j++) seen = x[j] == x[i];
        d += !seen;
    }
    return d;
}

/* one pass of fake quantization (what a policy's sub-network trains with): int4 weights take at
 * most 15 levels per channel (symmetric), int4 values at most 16 over the batch's range */
static void fake_quant_step(void) {
    hn_graph *g;
    int id;
    CHECK_OK(hn_graph_new((hn_shape){3, 5, 5}, &g));
    hn_node_spec c = hn_spec(HN_OP_CONV2D, 0);
    c.out = 4, c.kernel = 3;
    CHECK_OK(hn_graph_add(g, &c, &id));
    CHECK_OK(hn_graph_finalize(g));
    hn_graph_init_params(g, 3);
    g->nodes[id].wtype = g->nodes[id].atype = HN_INT4;
    CHECK(distinct(g->params, 27) == 27);
    hn_fake_quant_step *q;
    CHECK_OK(hn_fake_quant_step_new(g, &q));
    for (int ch = 0; ch < 4; ch++) CHECK(distinct(g->params + 27 * ch, 27) <= 15);
    float v[300];
    for (int i = 0; i < 300; i++) v[i] = sinf((float)i) * 3;
    hn_fake_quant_step_hook(q, id, v, 300);
    CHECK(distinct(v, 300) <= 16 && distinct(v, 300) >= 8);
    hn_fake_quant_step_free(q);
    hn_graph_free(g);
}

/* a supernet for a policy space trains its sub-networks with their sampled policies */
static void policy_training(void) {
    data_cache data = {0};
    hn_supernet *sn;
    CHECK_OK(hn_supernet_new(hn_space_find("mbconv+mixed"), &CFG, 5, &sn));
    hn_graph *g = hn_supernet_graph(sn);
    float *before = malloc(sizeof(float) * g->nparams);
    memcpy(before, g->params, sizeof(float) * g->nparams);
    hn_supernet_train_config tc = hn_supernet_train_defaults();
    tc.epochs = 1, tc.batch = 32, tc.train_limit = 64, tc.holdout = 300, tc.seed = 7, tc.sandwich = false;
    CHECK_OK(hn_supernet_train(sn, data_at, &data, &tc));
    CHECK(memcmp(before, g->params, sizeof(float) * g->nparams) != 0);
    free(before);
    hn_supernet_free(sn);
    for (int i = 0; i < data.n; i++) hn_dataset_free(data.train[i]), hn_dataset_free(data.test[i]);
}

int main(void) {
    equivalence();
    recalibration();
    training_and_files();
    fake_quant_step();
    policy_training();
    return check_report();
}
