/* SGD with momentum, Nesterov and weight decay, and the learning-rate schedule (see train.h). */
#include <math.h>

#include "hwnas/train.h"

hn_status hn_sgd_init(hn_sgd *o, size_t n, float momentum, float weight_decay, bool nesterov) {
    *o = (hn_sgd){momentum, weight_decay, nesterov, n, NULL, false};
    if (momentum != 0 && !(o->buf = hn_calloc(sizeof(float) * (n ? n : 1)))) return HN_ERR_NOMEM;
    return HN_OK;
}

void hn_sgd_free(hn_sgd *o) {
    hn_free(o->buf);
    o->buf = NULL;
}

void hn_sgd_step(hn_sgd *o, float *p, const float *g, float lr) {
    const float mu = o->momentum, wd = o->weight_decay;
    const bool first = !o->started, nesterov = o->nesterov;
    float *buf = o->buf;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < o->n; i++) {
        float d = g[i] + wd * p[i];
        if (buf) {
            buf[i] = first ? d : mu * buf[i] + d;
            d = nesterov ? d + mu * buf[i] : buf[i];
        }
        p[i] -= lr * d;
    }
    o->started = true;
}

float hn_lr_cosine(float base, int64_t t, int64_t total, int64_t warmup) {
    if (t < warmup) return base * (float)(t + 1) / (float)warmup;
    int64_t T = total - warmup;
    if (T <= 0) return base;
    return (float)(base * 0.5 * (1.0 + cos(3.14159265358979323846 * (double)(t - warmup) / (double)T)));
}
