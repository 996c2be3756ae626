/* Dataset specs, normalisation and mini-batch assembly with augmentation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hwnas/data.h"

void hn_dataset_free(hn_dataset *d) {
    if (!d) return;
    hn_free(d->images);
    hn_free(d->labels);
    hn_free(d);
}

void hn_dataset_compute_norm(hn_dataset *d) {
    const size_t plane = (size_t)d->h * d->w;
    for (int c = 0; c < d->c; c++) {
        double s = 0, ss = 0;
        for (int i = 0; i < d->n; i++) {
            const uint8_t *p = d->images + ((size_t)i * d->c + c) * plane;
            uint64_t a = 0, aa = 0;
            for (size_t k = 0; k < plane; k++) {
                a += p[k];
                aa += (uint64_t)p[k] * p[k];
            }
            s += (double)a;
            ss += (double)aa;
        }
        double cnt = (double)d->n * (double)plane;
        double mean = s / cnt / 255.0, var = ss / cnt / (255.0 * 255.0) - mean * mean;
        d->mean[c] = (float)mean;
        d->std[c] = (float)sqrt(var > 1e-12 ? var : 1e-12);
    }
}

/* path of DIR/name, or DIR/name.gz if only that exists */
static void idx_path(char *buf, size_t cap, const char *dir, const char *name) {
    snprintf(buf, cap, "%s/%s", dir, name);
    if (access(buf, F_OK) == 0) return;
    snprintf(buf, cap, "%s/%s.gz", dir, name);
}

static hn_status load_idx_dir(const char *dir, hn_dataset **train, hn_dataset **test) {
    char a[4096], b[4096];
    idx_path(a, sizeof a, dir, "train-images-idx3-ubyte");
    idx_path(b, sizeof b, dir, "train-labels-idx1-ubyte");
    hn_status st = hn_idx_load(a, b, 10, train);
    if (st) return st;
    idx_path(a, sizeof a, dir, "t10k-images-idx3-ubyte");
    idx_path(b, sizeof b, dir, "t10k-labels-idx1-ubyte");
    return hn_idx_load(a, b, 10, test);
}

static hn_status load_cifar_dir(const char *dir, bool hundred, hn_dataset **train, hn_dataset **test) {
    char bufs[6][4096];
    const char *p[6];
    for (int i = 0; i < 6; i++) p[i] = bufs[i];
    int lb = hundred ? 2 : 1, classes = hundred ? 100 : 10;
    hn_status st;
    if (hundred) {
        snprintf(bufs[0], sizeof bufs[0], "%s/train.bin", dir);
        st = hn_cifar_load(p, 1, lb, classes, train);
        snprintf(bufs[0], sizeof bufs[0], "%s/test.bin", dir);
    } else {
        for (int i = 0; i < 5; i++) snprintf(bufs[i], sizeof bufs[i], "%s/data_batch_%d.bin", dir, i + 1);
        st = hn_cifar_load(p, 5, lb, classes, train);
        snprintf(bufs[0], sizeof bufs[0], "%s/test_batch.bin", dir);
    }
    if (st) return st;
    return hn_cifar_load(p, 1, lb, classes, test);
}

hn_status hn_dataset_load(const char *spec, hn_dataset **train, hn_dataset **test) {
    *train = *test = NULL;
    hn_status st;
    if (strcmp(spec, "fashion-mnist") == 0) /* Debian's package, or where $HWNAS_FASHION_MNIST says */
        st = load_idx_dir(getenv("HWNAS_FASHION_MNIST") ? getenv("HWNAS_FASHION_MNIST") : HN_FASHION_MNIST_DIR, train, test);
    else if (strncmp(spec, "idx:", 4) == 0)
        st = load_idx_dir(spec + 4, train, test);
    else if (strncmp(spec, "cifar10:", 8) == 0)
        st = load_cifar_dir(spec + 8, false, train, test);
    else if (strncmp(spec, "cifar100:", 9) == 0)
        st = load_cifar_dir(spec + 9, true, train, test);
    else
        return hn_error(HN_ERR_INVALID,
                        "unknown dataset '%s' (expected fashion-mnist, idx:DIR, cifar10:DIR or cifar100:DIR)", spec);
    if (st == HN_OK && ((*train)->c != (*test)->c || (*train)->h != (*test)->h || (*train)->w != (*test)->w))
        st = hn_error(HN_ERR_FORMAT, "dataset '%s': training images are %dx%dx%d but test images are %dx%dx%d", spec,
                      (*train)->c, (*train)->h, (*train)->w, (*test)->c, (*test)->h, (*test)->w);
    if (st != HN_OK) {
        if (strcmp(spec, "fashion-mnist") == 0 && st == HN_ERR_IO)
            hn_error_prefix(st, "Fashion-MNIST is missing (install it with: apt-get install dataset-fashion-mnist)");
        hn_dataset_free(*train);
        hn_dataset_free(*test);
        *train = *test = NULL;
        return st;
    }
    hn_dataset_compute_norm(*train);
    memcpy((*test)->mean, (*train)->mean, sizeof (*test)->mean);
    memcpy((*test)->std, (*train)->std, sizeof (*test)->std);
    return HN_OK;
}

void hn_dataset_batch(const hn_dataset *d, const int32_t *idx, int n, const hn_augment *aug, hn_rng *r, float *x,
                      int32_t *y) {
    const int H = d->h, W = d->w, C = d->c;
    const size_t plane = (size_t)H * W;
    float scale[HN_DATA_MAX_CHANNELS], shift[HN_DATA_MAX_CHANNELS];
    for (int c = 0; c < C; c++) {
        scale[c] = 1.0f / (255.0f * d->std[c]);
        shift[c] = -d->mean[c] / d->std[c];
    }
    for (int b = 0; b < n; b++) {
        const uint8_t *src = d->images + (size_t)idx[b] * C * plane;
        float *dst = x + (size_t)b * C * plane;
        y[b] = d->labels[idx[b]];
        int dy = 0, dx = 0, flip = 0;
        if (aug && aug->crop_pad > 0) {
            dy = (int)hn_rng_below(r, 2u * aug->crop_pad + 1) - aug->crop_pad;
            dx = (int)hn_rng_below(r, 2u * aug->crop_pad + 1) - aug->crop_pad;
        }
        if (aug && aug->flip) flip = hn_rng_below(r, 2) == 1;
        for (int c = 0; c < C; c++)
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++) {
                    /* output (i, j) shows padded-input pixel (i + dy, jj + dx); outside the image is the
                     * zero padding, which normalises to shift */
                    int jj = flip ? W - 1 - j : j;
                    int si = i + dy, sj = jj + dx;
                    float v = (si >= 0 && si < H && sj >= 0 && sj < W) ? src[c * plane + (size_t)si * W + sj] : 0;
                    dst[c * plane + (size_t)i * W + j] = v * scale[c] + shift[c];
                }
    }
}
