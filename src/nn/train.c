/* The training loop: shuffled mini-batches, forward, loss, backward, SGD step with the scheduled
 * learning rate; then evaluation. All buffers are allocated before the first step. */
#include <string.h>

#include "hwnas/train.h"

hn_train_config hn_train_defaults(void) {
    hn_train_config c;
    memset(&c, 0, sizeof c);
    c.epochs = 1;
    c.batch = 128;
    c.lr = 0.1f;
    c.momentum = 0.9f;
    c.weight_decay = 5e-4f;
    c.nesterov = true;
    c.eval_batch = 500;
    return c;
}

static hn_status check_fit(const hn_graph *g, const hn_dataset *d) {
    hn_shape in = g->nodes[0].shape, out = g->nodes[g->nnodes - 1].shape;
    if (in.c != d->c || in.h != d->h || in.w != d->w)
        return hn_error(HN_ERR_SHAPE, "the network takes %dx%dx%d inputs but the dataset's images are %dx%dx%d", in.c,
                        in.h, in.w, d->c, d->h, d->w);
    if (out.h != 1 || out.w != 1 || out.c != d->classes)
        return hn_error(HN_ERR_SHAPE, "the network outputs %dx%dx%d but the dataset has %d classes (expected a flat %d)",
                        out.c, out.h, out.w, d->classes, d->classes);
    return HN_OK;
}

hn_status hn_evaluate(hn_graph *g, const hn_dataset *d, int batch, double *accuracy, double *images_per_s) {
    return hn_evaluate_hooked(g, d, batch, NULL, NULL, accuracy, images_per_s);
}

hn_status hn_evaluate_hooked(hn_graph *g, const hn_dataset *d, int batch, hn_exec_hook hook, void *user,
                             double *accuracy, double *images_per_s) {
    hn_status st = check_fit(g, d);
    if (st) return st;
    if (batch > d->n) batch = d->n;
    hn_exec *e = NULL;
    size_t sample = (size_t)d->c * d->h * d->w;
    float *x = hn_alloc(sizeof(float) * sample * batch);
    int32_t *y = hn_alloc(sizeof(int32_t) * batch), *idx = hn_alloc(sizeof(int32_t) * batch);
    if (!x || !y || !idx) {
        st = HN_ERR_NOMEM;
        goto done;
    }
    if ((st = hn_exec_new(g, batch, false, &e))) goto done;
    hn_exec_set_hook(e, hook, user);
    int64_t correct = 0;
    double t0 = hn_now();
    for (int i = 0; i < d->n; i += batch) {
        int n = d->n - i < batch ? d->n - i : batch;
        for (int k = 0; k < n; k++) idx[k] = i + k;
        hn_dataset_batch(d, idx, n, NULL, NULL, x, y);
        int ok;
        if ((st = hn_exec_forward(e, x, n, false)) || (st = hn_exec_loss(e, y, 0, NULL, &ok))) goto done;
        correct += ok;
    }
    double dt = hn_now() - t0;
    *accuracy = 100.0 * (double)correct / d->n;
    *images_per_s = d->n / (dt > 0 ? dt : 1e-9);
done:
    hn_exec_free(e);
    hn_free(x);
    hn_free(y);
    hn_free(idx);
    return st;
}

hn_status hn_train(hn_graph *g, const hn_dataset *train, const hn_dataset *test, const hn_train_config *cfg,
                   hn_train_result *res) {
    memset(res, 0, sizeof *res);
    hn_status st = check_fit(g, train);
    if (st) return st;
    if (cfg->epochs < 0 || cfg->batch < 1)
        return hn_error(HN_ERR_INVALID, "epochs must be >= 0 and batch >= 1 (got %d and %d)", cfg->epochs, cfg->batch);
    int64_t n_train = cfg->train_limit > 0 && cfg->train_limit < train->n ? cfg->train_limit : train->n;
    int batch = cfg->batch < n_train ? cfg->batch : (int)n_train;
    int64_t steps_per_epoch = (n_train + batch - 1) / batch, steps = steps_per_epoch * cfg->epochs;
    size_t sample = (size_t)train->c * train->h * train->w;

    hn_exec *e = NULL;
    hn_sgd opt = {0};
    float *x = hn_alloc(sizeof(float) * sample * batch);
    int32_t *y = hn_alloc(sizeof(int32_t) * batch), *perm = hn_alloc(sizeof(int32_t) * n_train);
    if (!x || !y || !perm) {
        st = HN_ERR_NOMEM;
        goto done;
    }
    if ((st = hn_exec_new(g, batch, true, &e))) goto done;
    hn_exec_set_hook(e, cfg->hook, cfg->hook_user);
    if ((st = hn_sgd_init(&opt, g->nparams, cfg->momentum, cfg->weight_decay, cfg->nesterov))) goto done;
    hn_rng rng;
    hn_rng_seed(&rng, cfg->seed, 0x5851f42d4c957f2dULL);
    for (int64_t i = 0; i < n_train; i++) perm[i] = (int32_t)i;

    int64_t step = 0;
    double t0 = hn_now();
    for (int ep = 0; ep < cfg->epochs; ep++) {
        hn_rng_shuffle(&rng, perm, n_train);
        double loss_sum = 0;
        int64_t seen = 0;
        for (int64_t i = 0; i < n_train; i += batch, step++) {
            int n = n_train - i < batch ? (int)(n_train - i) : batch;
            if (cfg->stop && *cfg->stop) {
                st = hn_error(HN_ERR_INTERRUPTED, "training stopped at step %lld of %lld", (long long)step, (long long)steps);
                goto done;
            }
            const hn_augment *aug = cfg->augment.crop_pad > 0 || cfg->augment.flip ? &cfg->augment : NULL;
            hn_dataset_batch(train, perm + i, n, aug, &rng, x, y);
            float loss;
            if (cfg->weights) cfg->weights(cfg->hook_user, g, true);
            st = hn_exec_forward(e, x, n, true);
            if (!st) st = hn_exec_loss(e, y, cfg->label_smoothing, &loss, NULL);
            if (!st) st = hn_exec_backward(e, NULL, NULL);
            if (cfg->weights) cfg->weights(cfg->hook_user, g, false);
            if (st) goto done;
            hn_sgd_step(&opt, g->params, g->grads,
                        hn_lr_cosine(cfg->lr, step, steps, (int64_t)cfg->warmup_epochs * steps_per_epoch));
            loss_sum += (double)loss * n;
            seen += n;
            if (cfg->progress) {
                double el = hn_now() - t0;
                cfg->progress(cfg->progress_user, ep, cfg->epochs, step + 1, steps,
                              (double)(ep * n_train + seen) / (el > 0 ? el : 1e-9), (float)(loss_sum / seen));
            }
        }
        res->final_train_loss = seen ? loss_sum / seen : 0;
    }
    res->train_seconds = hn_now() - t0;
    res->train_images_per_s = res->train_seconds > 0 ? (double)n_train * cfg->epochs / res->train_seconds : 0;
    res->epochs = cfg->epochs;
    res->params = hn_graph_param_count(g);
    res->macs = hn_graph_macs(g);
    hn_exec_free(e); /* release training buffers before evaluation allocates its own */
    e = NULL;
    if (test) st = hn_evaluate(g, test, cfg->eval_batch > 0 ? cfg->eval_batch : 500, &res->test_accuracy,
                               &res->test_images_per_s);
done:
    hn_exec_free(e);
    hn_sgd_free(&opt);
    hn_free(x);
    hn_free(y);
    hn_free(perm);
    return st;
}
