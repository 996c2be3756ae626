/* What the study asks of particular built-in providers beyond evaluate: the training provider's final
 * step for the chosen model, and the device behind a device provider (for per-layer costs). Internal. */
#ifndef HWNAS_PROVIDERS_H
#define HWNAS_PROVIDERS_H

#include "hwnas/hw.h"
#include "hwnas/provider.h"
#include "hwnas/train.h"

/* Training images that calibrate the ranges of a quantization policy's fake quantization. */
enum { TRAIN_CALIBRATION = 500 };

/* Trains c (with p's batch, and lr or if 0 p's learning rate) for epochs on every training image and
 * measures it on the test split: accuracy (a policy's: fake-quantized), float_accuracy (with a policy)
 * and train_seconds into m. fresh: from a new initialisation; else from the weights c's graph holds
 * (inherited: fine-tuning). progress (may be NULL) as hn_train_config's. p must be a "train" provider. */
hn_status provider_train_final(const hn_provider *p, hn_candidate *c, int epochs, float lr, bool fresh,
                               void (*progress)(void *, int, int, int64_t, int64_t, double, float),
                               void *progress_user, hn_metrics *m);

/* Views of train: fit, its first n - validation images, and val, the last validation ones (no copy);
 * HN_ERR_INVALID when validation leaves nothing to fit. */
hn_status provider_split(const hn_dataset *train, int validation, hn_dataset *fit, hn_dataset *val);
/* Writes c's accuracy into m given its float accuracy on test: in a space with a quantization policy
 * the policy's (fake quantization calibrated on calib's first TRAIN_CALIBRATION images) and
 * float_accuracy beside it; else the float accuracy itself. */
hn_status provider_measured(hn_candidate *c, double float_accuracy, const hn_dataset *calib, const hn_dataset *test,
                            hn_metrics *m);

/* The device of a "device" provider (owned by it), or NULL for any other provider. */
const hn_device *provider_device_of(const hn_provider *p);

#endif
