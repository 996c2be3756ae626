/* Datasets: the IDX format (MNIST, Fashion-MNIST; gzipped or raw) and the CIFAR-10 / CIFAR-100 binary
 * format, mini-batches with normalisation and augmentation.
 *
 * Images are kept as bytes, (N, C, H, W) uint8, and normalised per batch, so the 60,000 Fashion-MNIST
 * training images take 47 MB rather than 188 MB as floats.
 *
 * Normalisation: x = (pixel / 255 - mean[c]) / std[c], with mean and std per channel computed over
 * the whole training split when it is loaded (population std), and the same values applied to the
 * test split. For Fashion-MNIST this gives mean 0.2860 and std 0.3530, the values the PyTorch
 * peer uses. */
#ifndef HWNAS_DATA_H
#define HWNAS_DATA_H

#include <stdbool.h>

#include "hwnas/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HN_DATA_MAX_CHANNELS 4
#define HN_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

typedef struct {
    int n, c, h, w;
    int classes;                      /* labels are in [0, classes) */
    uint8_t *images;                  /* (n, c, h, w), owned */
    uint8_t *labels;                  /* (n), owned */
    float mean[HN_DATA_MAX_CHANNELS]; /* normalisation, per channel */
    float std[HN_DATA_MAX_CHANNELS];
} hn_dataset;

/* Reads an IDX image file (magic 0x00000803: n x rows x cols uint8) and its label file (0x00000801),
 * gzipped or not, into a dataset with c = 1. classes is the label count the data declares (labels
 * must be < classes). Errors name the file and the problem (missing, truncated, wrong magic, counts
 * that differ, a label out of range). Free with hn_dataset_free. */
hn_status hn_idx_load(const char *images_path, const char *labels_path, int classes, hn_dataset **out);

/* Reads CIFAR binary batch files: records of label_bytes label bytes (1 for CIFAR-10; 2 for CIFAR-100,
 * coarse then fine, of which the fine label is used) followed by 3x32x32 pixels. */
hn_status hn_cifar_load(const char *const *paths, int npaths, int label_bytes, int classes, hn_dataset **out);

/* Loads the training and test splits named by spec:
 *   "fashion-mnist"   Debian's dataset-fashion-mnist (HN_FASHION_MNIST_DIR, or the directory $HWNAS_FASHION_MNIST)
 *   "idx:DIR"         DIR/{train-images-idx3-ubyte,train-labels-idx1-ubyte,t10k-...}[.gz]
 *   "cifar10:DIR"     DIR/data_batch_{1..5}.bin and DIR/test_batch.bin
 *   "cifar100:DIR"    DIR/train.bin and DIR/test.bin
 * and sets both splits' normalisation from the training split. */
hn_status hn_dataset_load(const char *spec, hn_dataset **train, hn_dataset **test);

void hn_dataset_free(hn_dataset *d);

/* Resizes every image to h x w, bilinearly with half-pixel centres (PyTorch's interpolate with
 * mode="bilinear", align_corners=False, antialias=False), rounding halves up. For networks
 * whose input resolution is searched. The normalisation is kept. */
hn_status hn_dataset_resize(hn_dataset *d, int h, int w);

/* Sets mean and std per channel from the dataset's own images. */
void hn_dataset_compute_norm(hn_dataset *d);

typedef struct {
    int crop_pad; /* random crop after zero-padding by this many pixels (0: off) */
    bool flip;    /* random horizontal flip with probability 1/2 */
} hn_augment;

/* Writes samples idx[0..n) to x (n, c, h, w), normalised and (if aug is not NULL) augmented with
 * randomness from r, and their labels to y. */
void hn_dataset_batch(const hn_dataset *d, const int32_t *idx, int n, const hn_augment *aug, hn_rng *r, float *x,
                      int32_t *y);

#ifdef __cplusplus
}
#endif
#endif
