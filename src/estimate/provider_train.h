/* The training provider's final step (src/estimate/provider_train.c), for the study's chosen model.
 * Internal. */
#ifndef HWNAS_PROVIDER_TRAIN_H
#define HWNAS_PROVIDER_TRAIN_H

#include "hwnas/provider.h"
#include "hwnas/train.h"

/* Training images that calibrate the ranges of a quantization policy's fake quantization. */
enum { TRAIN_CALIBRATION = 500 };

/* Trains c (with p's batch and learning rate) for epochs on every training image and measures it on
 * the test split: accuracy (a policy's: fake-quantized), float_accuracy (with a policy) and
 * train_seconds into m. progress (may be NULL) as hn_train_config's. p must be a "train" provider. */
hn_status provider_train_final(const hn_provider *p, hn_candidate *c, int epochs,
                               void (*progress)(void *, int, int, int64_t, int64_t, double, float),
                               void *progress_user, hn_metrics *m);

#endif
