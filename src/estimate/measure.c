/* What the providers that produce weights share: the split of the training images into those fitted
 * and those held out, and the accuracy of a network with weights -- its policy's (fake quantization)
 * in a space with a quantization policy, with the float accuracy beside it. */
#include "providers.h"
#include "hwnas/quant.h"

hn_status provider_split(const hn_dataset *train, int validation, hn_dataset *fit, hn_dataset *val) {
    if (validation >= train->n)
        return hn_error(HN_ERR_INVALID, "validation %d leaves no training images (the dataset has %d)", validation, train->n);
    *fit = *train, *val = *train; /* views: the same images, never freed */
    fit->n = train->n - validation;
    val->n = validation;
    val->images = train->images + (size_t)fit->n * train->c * train->h * train->w;
    val->labels = train->labels + fit->n;
    return HN_OK;
}

hn_status provider_measured(hn_candidate *c, double float_accuracy, const hn_dataset *calib, const hn_dataset *test,
                            hn_metrics *m) {
    double acc = float_accuracy;
    hn_status st;
    if (c->space->base) { /* a policy's accuracy is the quantized network's; the float one beside it */
        if ((st = hn_fake_quant_evaluate(c->graph, calib, TRAIN_CALIBRATION, test, &acc))) return st;
        if ((st = hn_metrics_set(m, "float_accuracy", float_accuracy))) return st;
    }
    return hn_metrics_set(m, "accuracy", acc);
}
