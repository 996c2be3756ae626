/* Training the supernet (include/hwnas/supernet.h): the sandwich rule with in-place distillation, or
 * single-path one-shot. Each step draws one resolution and its sub-networks, trains each on a copy
 * of its slice and adds the gradients into the supernet's, then takes one SGD step. A supernet made
 * for a space with a quantization policy draws a policy with each sub-network but the teacher and
 * trains it with that policy's fake quantization (as SimQ-NAS and FLIQS do), so one supernet answers
 * for every policy. */
#include <math.h>
#include <string.h>

#include "hwnas/quant.h"
#include "supernet_internal.h"

hn_supernet_train_config hn_supernet_train_defaults(void) {
    hn_supernet_train_config c;
    memset(&c, 0, sizeof c);
    c.epochs = 3, c.batch = 64, c.lr = 0.1f, c.momentum = 0.9f, c.weight_decay = 3e-5f;
    c.random = 1, c.sandwich = false, c.distill = true;
    return c;
}

typedef struct {
    hn_supernet *sn;
    const hn_supernet_train_config *cfg;
    hn_data_fn data;
    void *data_user;
    int batch, classes;
    float *x;          /* (batch, C, H, W) at the step's resolution */
    int32_t *y, *idx;  /* (batch) */
    float *logits, *teacher, *dout; /* (batch, classes) */
} trainer;

/* softmax of row z (k values) into p */
static void softmax(const float *z, int k, float *p) {
    float mx = z[0], sum = 0;
    for (int j = 1; j < k; j++) mx = fmaxf(mx, z[j]);
    for (int j = 0; j < k; j++) sum += p[j] = expf(z[j] - mx);
    for (int j = 0; j < k; j++) p[j] /= sum;
}

/* Trains sub-network geno of space (the supernet's, or with a policy the joined one: then with the
 * policy's fake quantization) on the step's m images (idx), adding its gradients into the supernet's.
 * role: 0 learns the labels, 1 learns the labels and teaches (its softmax into t->teacher), 2 learns
 * the teacher's soft labels. *loss gets its loss. */
static hn_status train_one(trainer *t, const hn_space *space, const uint8_t *geno, int m, int role, float *loss) {
    hn_supernet *sn = t->sn;
    hn_graph *g = NULL;
    hn_exec *e = NULL;
    hn_fake_quant_step *q = NULL;
    hn_dataset *train, *test;
    hn_status st = space->to_graph(space, geno, &sn->cfg, &g);
    if (!st) st = hn_graph_finalize(g);
    if (!st) st = hn_supernet_extract(sn, g);
    if (!st && space->base) st = hn_fake_quant_step_new(g, &q);
    if (!st) st = t->data(t->data_user, g->nodes[0].shape.h, g->nodes[0].shape.w, &train, &test);
    if (!st) {
        hn_dataset_batch(train, t->idx, m, NULL, NULL, t->x, t->y);
        st = hn_exec_new(g, t->batch, true, &e);
    }
    if (!st && q) hn_exec_set_hook(e, hn_fake_quant_step_hook, q);
    if (!st) st = hn_exec_forward(e, t->x, m, true);
    if (!st && role < 2) {
        st = hn_exec_loss(e, t->y, 0, loss, NULL);
        if (!st) st = hn_exec_backward(e, NULL, NULL);
        if (!st && role == 1) {
            hn_exec_output(e, t->logits);
            for (int i = 0; i < m; i++) softmax(t->logits + i * t->classes, t->classes, t->teacher + i * t->classes);
        }
    } else if (!st) { /* cross-entropy against the teacher's distribution: d/dz = (softmax(z) - p) / m */
        int k = t->classes;
        double l = 0;
        hn_exec_output(e, t->logits);
        for (int i = 0; i < m; i++) {
            float *student = t->dout + i * k;
            const float *p = t->teacher + i * k;
            softmax(t->logits + i * k, k, student);
            for (int j = 0; j < k; j++)
                l -= p[j] * log(fmax(student[j], 1e-30)), student[j] = (student[j] - p[j]) / (float)m;
        }
        *loss = (float)(l / m);
        st = hn_exec_backward(e, t->dout, NULL);
    }
    if (!st) st = hn_supernet_add_grads(sn, g);
    if (!st && role == 1) st = supernet_put_state(sn, g);
    hn_exec_free(e);
    hn_fake_quant_step_free(q);
    hn_graph_free(g);
    return st;
}

/* One step on images idx[0..m): the sub-networks of the step, then the SGD update at lr. */
static hn_status step(trainer *t, hn_rng *r, int m, float lr, float *loss) {
    hn_supernet *sn = t->sn;
    const hn_space *a = sn->space;
    const hn_supernet_train_config *c = t->cfg;
    int rd = a->resolution_decision, res = rd >= 0 ? (int)hn_rng_below(r, (uint32_t)a->choices[rd]) : 0;
    uint8_t geno[HN_SPACE_MAX_DECISIONS];
    memset(sn->g->grads, 0, sizeof(float) * sn->g->nparams);
    hn_status st = HN_OK;
    int nets = (c->sandwich ? 2 : 0) + c->random;
    for (int k = 0; !st && k < nets; k++) {
        /* the teacher (the largest) in float; the others with a policy drawn from the joined space */
        const hn_space *space = sn->joined && !(c->sandwich && k == 0) ? sn->joined : a;
        hn_space_sample(space, r, geno);
        if (c->sandwich && k < 2) memcpy(geno, k ? sn->smallest : sn->largest, (size_t)a->ndecisions);
        if (rd >= 0) geno[rd] = (uint8_t)res;
        int role = c->sandwich && c->distill ? (k == 0 ? 1 : 2) : 0;
        float l = 0;
        st = train_one(t, space, geno, m, role, &l);
        if (k == 0) *loss = l;
    }
    if (!st) hn_sgd_step(&sn->opt, sn->g->params, sn->g->grads, lr);
    return st;
}

hn_status hn_supernet_train(hn_supernet *sn, hn_data_fn data, void *data_user, const hn_supernet_train_config *cfg) {
    if (cfg->epochs < 0 || cfg->batch < 1 || cfg->random < 0 || (!cfg->sandwich && cfg->random < 1))
        return hn_error(HN_ERR_INVALID, "supernet training: epochs %d, batch %d and random %d (at least 1 without the sandwich "
                        "rule) are out of range", cfg->epochs, cfg->batch, cfg->random);
    /* the dataset at the largest network's resolution fixes the image count and the split */
    hn_dataset *train, *test;
    hn_status st = data(data_user, sn->g->nodes[0].shape.h, sn->g->nodes[0].shape.w, &train, &test);
    if (st) return st;
    if (cfg->holdout < 0 || cfg->holdout >= train->n)
        return hn_error(HN_ERR_INVALID, "supernet training: holding out %d of %d training images leaves none to train on",
                        cfg->holdout, train->n);
    int64_t n = train->n - cfg->holdout;
    if (cfg->train_limit > 0 && cfg->train_limit < n) n = cfg->train_limit;
    int batch = cfg->batch < n ? cfg->batch : (int)n, classes = sn->cfg.classes;
    int64_t per_epoch = (n + batch - 1) / batch, total = per_epoch * cfg->epochs;
    size_t sample = hn_shape_numel(sn->g->nodes[0].shape); /* the largest resolution's */
    trainer t = {sn, cfg, data, data_user, batch, classes, hn_alloc(sizeof(float) * sample * (size_t)batch),
                 hn_alloc(sizeof(int32_t) * (size_t)batch), hn_alloc(sizeof(int32_t) * (size_t)batch),
                 hn_alloc(sizeof(float) * (size_t)batch * classes), hn_alloc(sizeof(float) * (size_t)batch * classes),
                 hn_alloc(sizeof(float) * (size_t)batch * classes)};
    int32_t *perm = hn_alloc(sizeof(int32_t) * (size_t)n);
    if (!t.x || !t.y || !t.idx || !t.logits || !t.teacher || !t.dout || !perm) st = hn_error(HN_ERR_NOMEM, "supernet training");
    sn->opt.momentum = cfg->momentum, sn->opt.weight_decay = cfg->weight_decay;
    for (int epoch = sn->epochs_done; !st && epoch < cfg->epochs; epoch++) {
        hn_rng r; /* per epoch, so a training resumed at an epoch draws what an uninterrupted one draws */
        hn_rng_seed(&r, cfg->seed, (uint64_t)epoch + 1);
        for (int64_t i = 0; i < n; i++) perm[i] = (int32_t)i;
        hn_rng_shuffle(&r, perm, n);
        for (int64_t s = 0; !st && s < per_epoch; s++) {
            if (cfg->stop && *cfg->stop) {
                st = hn_error(HN_ERR_INTERRUPTED, "supernet training stopped in epoch %d (the last saved epoch is %d)",
                              epoch + 1, sn->epochs_done);
                break;
            }
            int m = (int)(n - s * batch < batch ? n - s * batch : batch);
            memcpy(t.idx, perm + s * batch, sizeof(int32_t) * (size_t)m);
            int64_t global = (int64_t)epoch * per_epoch + s;
            float loss = 0;
            st = step(&t, &r, m, hn_lr_cosine(cfg->lr, global, total, 0), &loss);
            if (!st && cfg->progress) cfg->progress(cfg->progress_user, epoch, cfg->epochs, global + 1, total, loss);
        }
        if (st) break;
        sn->epochs_done = epoch + 1, sn->epochs_planned = cfg->epochs;
        if (cfg->checkpoint) st = hn_supernet_save(sn, cfg->checkpoint);
    }
    hn_free(t.x), hn_free(t.y), hn_free(t.idx), hn_free(t.logits), hn_free(t.teacher), hn_free(t.dout), hn_free(perm);
    return st;
}
