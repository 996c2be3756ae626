/* Training: SGD (momentum, Nesterov, weight decay, with PyTorch's exact update rule), the cosine
 * learning-rate schedule with optional linear warm-up, and the epoch loop with evaluation. */
#ifndef HWNAS_TRAIN_H
#define HWNAS_TRAIN_H

#include "hwnas/data.h"
#include "hwnas/exec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* SGD as torch.optim.SGD (dampening 0):
 *     d = grad + weight_decay * p
 *     buf = d on the first step, then buf = momentum * buf + d
 *     d = nesterov ? d + momentum * buf : buf
 *     p -= lr * d
 * Weight decay applies to every parameter, as `SGD(net.parameters(), ...)` does. */
typedef struct {
    float momentum, weight_decay;
    bool nesterov;
    size_t n;
    float *buf;   /* n floats, owned */
    bool started;
} hn_sgd;

hn_status hn_sgd_init(hn_sgd *o, size_t n, float momentum, float weight_decay, bool nesterov);
void hn_sgd_step(hn_sgd *o, float *params, const float *grads, float lr);
void hn_sgd_free(hn_sgd *o);

/* Learning rate for step t (0-based) of total: linear warm-up from base/warmup to base over the first
 * `warmup` steps, then cosine annealing to 0 over the rest, lr = base * (1 + cos(pi * t' / T')) / 2,
 * which is what CosineAnnealingLR(T_max = total) gives when there is no warm-up. */
float hn_lr_cosine(float base, int64_t t, int64_t total, int64_t warmup);

typedef struct hn_train_config {
    int epochs;            /* default 1 */
    int batch;             /* default 128 */
    float lr;              /* default 0.1 */
    float momentum;        /* default 0.9 */
    float weight_decay;    /* default 5e-4 */
    bool nesterov;         /* default true */
    int warmup_epochs;     /* default 0 */
    float label_smoothing; /* default 0 */
    hn_augment augment;    /* default off */
    uint64_t seed;         /* shuffling and augmentation; default 0 */
    int64_t train_limit;   /* train on the first N images; 0 = all */
    int eval_batch;        /* default 500 */
    /* Optional progress callback, called after each step (the library itself never prints). */
    void (*progress)(void *user, int epoch, int epochs, int64_t step, int64_t steps, double images_per_s, float loss);
    void *progress_user;
    /* Optional: polled before each step; when it becomes non-zero, training stops with
     * HN_ERR_INTERRUPTED (e.g. set from a SIGINT handler). */
    volatile int *stop;
    /* Optional, for quantization-aware training (quant.h's hn_qat_train sets them): hook sees every value
     * of each training forward pass (exec.h); weights(user, g, true) runs before each forward pass and
     * may replace g's weights with those to run with, weights(user, g, false) after the backward pass
     * restores them before the update (a straight-through estimator). */
    hn_exec_hook hook;
    void *hook_user;
    void (*weights)(void *user, hn_graph *g, bool before);
} hn_train_config;

/* The defaults above (those of the PyTorch peer). */
hn_train_config hn_train_defaults(void);

typedef struct hn_train_result {
    int64_t params, macs;
    int epochs;
    double train_seconds, train_images_per_s;
    double final_train_loss; /* mean loss over the last epoch */
    double test_accuracy;    /* percent */
    double test_images_per_s;
} hn_train_result;

/* Trains g (finalized, parameters initialised) on train, then evaluates top-1 accuracy on test
 * (may be NULL). */
hn_status hn_train(hn_graph *g, const hn_dataset *train, const hn_dataset *test, const hn_train_config *cfg,
                   hn_train_result *res);

/* Top-1 accuracy (percent) of g in inference mode on d, and images per second. */
hn_status hn_evaluate(hn_graph *g, const hn_dataset *d, int batch, double *accuracy, double *images_per_s);
/* The same with a hook on every value of every forward pass (exec.h; fake quantization uses it). */
hn_status hn_evaluate_hooked(hn_graph *g, const hn_dataset *d, int batch, hn_exec_hook hook, void *user,
                             double *accuracy, double *images_per_s);

#ifdef __cplusplus
}
#endif
#endif
