/* Weight sharing: one set of weights for every network of a space (Once-for-All, BigNAS), trained once
 * and then read by any sub-network in the time of a forward pass.
 *
 * The supernet is the space's largest network (hn_space.largest: for mbconv every block k7e6, every
 * stage at width 1.25). A sub-network takes, layer by layer, the first output channels, the first
 * input channels and the centre of the kernel of the largest network's layer in the same
 * quantization-policy slot (hn_space.nqslots), and the first channels of the batch norm that follows
 * it; a skipped block's weights are simply not read. The weights live once, in the supernet; a
 * sub-network's own graph gets a copy of its slice (hn_supernet_extract), trains on it, and its
 * gradients are added back into the supernet's (hn_supernet_add_grads) -- the copy costs well under
 * a per cent of a training step and lets every op of the engine run unchanged.
 *
 * Batch-norm statistics are per sub-network: hn_graph_recalibrate recomputes them from a few hundred
 * training images before a sub-network is measured, as OFA does.
 *
 * Training (hn_supernet_train) draws one resolution a step and takes one SGD step on the sum of the
 * gradients of the step's sub-networks: `random` uniform samples on the labels (single-path one-shot,
 * Guo et al. 2020; the default), or with `sandwich` the sandwich rule with in-place distillation (Yu
 * et al., BigNAS 2020): the largest network on the labels, then the smallest and `random` random
 * sub-networks on the largest one's soft labels. A supernet made for a
 * joined space ("mbconv+quant", "mbconv+mixed") draws a quantization policy with every sub-network but
 * the teacher and trains it with that policy's fake quantization (weights rounded per channel, values
 * rounded over the batch's range, straight-through gradients; SimQ-NAS, FLIQS), so a policy's
 * accuracy is read from the same weights.
 *
 * Supernet files (.hnsn, version 1): "HNSN", a version, the architecture space's name, the input channels and
 * classes, the epochs done and planned, then the parameters, the batch-norm state and the optimizer's
 * momentum; written whole to a temporary name and renamed, after every epoch, so a stopped training
 * resumes from its last epoch. */
#ifndef HWNAS_SUPERNET_H
#define HWNAS_SUPERNET_H
#include "hwnas/provider.h"
#ifdef __cplusplus
extern "C" {
#endif

#define HN_SUPERNET_VERSION 1

typedef struct hn_supernet hn_supernet;

/* A fresh supernet of space (or of the architecture space of a joined one, "mbconv+quant") for
 * cfg's input channels and classes, initialised as hn_graph_init_params does for seed.
 * HN_ERR_UNSUPPORTED when the space has no largest network. Free with hn_supernet_free. */
hn_status hn_supernet_new(const hn_space *space, const hn_space_config *cfg, uint64_t seed, hn_supernet **out);
void hn_supernet_free(hn_supernet *sn);

/* The supernet's own graph: the largest network at the largest resolution (owned by sn). */
hn_graph *hn_supernet_graph(hn_supernet *sn);
/* Epochs trained so far, and the epochs planned when it was last trained. */
int hn_supernet_epochs_done(const hn_supernet *sn);
int hn_supernet_epochs_planned(const hn_supernet *sn);

/* Copies the weights and batch-norm state of g's slice of the supernet into g, a finalized graph that
 * the space built for some genotype and the supernet's input channels and classes. A layer that does
 * not fit inside its slot's layer in the supernet is HN_ERR_SHAPE naming it. */
hn_status hn_supernet_extract(const hn_supernet *sn, hn_graph *g);
/* Adds g's gradients (g->grads, after a backward pass) into the supernet's, at g's slice. */
hn_status hn_supernet_add_grads(hn_supernet *sn, const hn_graph *g);

/* Replaces the running statistics of every batch norm of g by those of the first n images of d
 * (cumulative averages over batches of up to `batch`; PyTorch's momentum=None). */
hn_status hn_graph_recalibrate(hn_graph *g, const hn_dataset *d, int n, int batch);

typedef struct {
    int epochs;            /* default 3 */
    int batch;             /* default 64 */
    float lr;              /* default 0.1, cosine over all epochs */
    float momentum, weight_decay; /* default 0.9 (Nesterov) and 3e-5 (OFA's) */
    int random;            /* random sub-networks per step; default 1 */
    bool sandwich;         /* also the largest and the smallest each step; default false: at equal CPU
                              time single path ranked sub-networks better here (bench/RESULTS.md) */
    bool distill;          /* sandwich: the others learn the largest one's soft labels; default true */
    int holdout;           /* the last `holdout` training images are never trained on (validation) */
    int64_t train_limit;   /* train on the first N of the rest; 0 = all */
    uint64_t seed;
    const char *checkpoint; /* if not NULL, the file written after every epoch */
    volatile int *stop;    /* polled before every step: HN_ERR_INTERRUPTED (the last epoch is saved) */
    /* called after every step; phase is "supernet training" */
    void (*progress)(void *user, int epoch, int epochs, int64_t step, int64_t steps, float loss);
    void *progress_user;
} hn_supernet_train_config;

hn_supernet_train_config hn_supernet_train_defaults(void);

/* Trains sn from its epochs done to cfg->epochs. data gives the training split at any resolution the
 * space has. Deterministic for a seed with one thread, and a resumed training equals an uninterrupted
 * one. */
hn_status hn_supernet_train(hn_supernet *sn, hn_data_fn data, void *data_user, const hn_supernet_train_config *cfg);

/* Writes sn (atomically: a temporary file renamed into place). */
hn_status hn_supernet_save(const hn_supernet *sn, const char *path);
/* Reads a supernet for space and cfg; a file of another space, input or class count is HN_ERR_INVALID
 * naming both, a bad magic, version or size HN_ERR_FORMAT naming the file. */
hn_status hn_supernet_load(const char *path, const hn_space *space, const hn_space_config *cfg, hn_supernet **out);

#ifdef __cplusplus
}
#endif
#endif
