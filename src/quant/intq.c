/* Integer quantization: parameters from a range, quantize/dequantize, and TFLite's fixed-point
 * multipliers (their arithmetic is the kernels', s8_kernels.c). */
#include <math.h>

#include "hwnas/quant.h"
#include "qmodel_internal.h"

hn_qparams hn_qparams_from_range(float lo, float hi, int bits, hn_qscheme scheme) {
    HN_ASSERT(bits >= 2 && bits <= 16);
    int32_t top = (1 << (bits - 1)) - 1;
    hn_qparams p = {1.0f, 0, scheme == HN_QSYMMETRIC ? -top : -top - 1, top};
    lo = fminf(lo, 0.0f), hi = fmaxf(hi, 0.0f);
    if (scheme == HN_QSYMMETRIC) {
        float amax = fmaxf(-lo, hi);
        if (amax > 0) p.scale = amax / (float)top;
        return p;
    }
    if (hi - lo <= 0) return p;
    /* the zero point is computed in double, as TFLite's ChooseQuantizationParams does */
    double scale = ((double)hi - (double)lo) / (double)(p.qmax - p.qmin);
    double zp = (double)p.qmin - (double)lo / scale;
    p.scale = (float)scale;
    p.zero_point = zp <= p.qmin ? p.qmin : zp >= p.qmax ? p.qmax : (int32_t)nearbyint(zp);
    return p;
}

int32_t hn_quantize(float x, hn_qparams p) {
    return (int32_t)hn_q_round(x, p.scale, (float)(p.qmin - p.zero_point), (float)(p.qmax - p.zero_point)) + p.zero_point;
}

float hn_dequantize(int32_t q, hn_qparams p) { return (float)(q - p.zero_point) * p.scale; }

hn_qmult hn_qmult_from_real(double real) {
    hn_qmult m = {0, 0};
    if (real <= 0) return m;
    int shift;
    double q = frexp(real, &shift); /* real = q * 2^shift, q in [0.5, 1) */
    long long fixed = llround(q * (double)(1LL << 31));
    if (fixed == (1LL << 31)) fixed /= 2, shift++;
    if (shift < -31) return m; /* too small to represent: rounds to zero */
    m.multiplier = (int32_t)fixed, m.shift = shift;
    return m;
}

int32_t hn_qmult_apply(int32_t x, hn_qmult m) { return s8_mult_apply(x, (s8_mult){m.multiplier, m.shift}); }
