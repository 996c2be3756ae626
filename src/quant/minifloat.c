/* Minifloats (OCP FP8 E4M3/E5M2, MX FP6 E3M2 and FP4 E2M1): encoding with round-to-nearest-even
 * and saturation, decoding, and fake quantization of tensors. Formats: include/hwnas/quant.h. */
#include <math.h>

#include "hwnas/quant.h"
#include "qmodel_internal.h"

typedef struct {
    int ebits, mbits, bias;
    float max;
    int max_code; /* magnitude bits of max */
    int nan_code; /* magnitude bits of the canonical NaN, or -1 when the format has none */
} format;

static const format *format_of(hn_numtype t) {
    static const format e4m3 = {4, 3, 7, 448.0f, 0x7e, 0x7f}, e5m2 = {5, 2, 15, 57344.0f, 0x7b, 0x7e},
                        e3m2 = {3, 2, 3, 28.0f, 0x1f, -1}, e2m1 = {2, 1, 1, 6.0f, 0x7, -1};
    switch (t) {
    case HN_FP8_E4M3: return &e4m3;
    case HN_FP8_E5M2: return &e5m2;
    case HN_FP6_E3M2: return &e3m2;
    case HN_FP4_E2M1: return &e2m1;
    default: return NULL;
    }
}

bool hn_numtype_is_minifloat(hn_numtype t) { return format_of(t) != NULL; }

float hn_minifloat_max(hn_numtype t) {
    const format *f = format_of(t);
    HN_ASSERT(f);
    return f->max;
}

uint8_t hn_minifloat_encode(hn_numtype t, float x) {
    const format *f = format_of(t);
    HN_ASSERT(f);
    int sign_bit = f->ebits + f->mbits;
    uint8_t sign = (uint8_t)(signbit(x) ? 1u << sign_bit : 0);
    if (isnan(x)) return f->nan_code < 0 ? 0 : (uint8_t)f->nan_code;
    float a = fabsf(x);
    if (a >= f->max) return (uint8_t)(sign | f->max_code); /* saturate (infinities too) */
    int emin = 1 - f->bias; /* exponent of the smallest normal, also the subnormals' scale */
    int e;
    if (a == 0) return sign;
    frexpf(a, &e); /* a = m * 2^e, m in [0.5, 1): the leading bit is 2^(e - 1) */
    e = e - 1 < emin ? emin : e - 1;
    /* a / 2^(e - mbits) is exact (a power-of-two scaling), so nearbyint rounds a itself to even */
    float q = nearbyintf(ldexpf(a, f->mbits - e));
    int one = 1 << f->mbits;
    if (q >= 2 * one) q /= 2, e++; /* rounded up into the next binade */
    if (ldexpf(q, e - f->mbits) > f->max) return (uint8_t)(sign | f->max_code); /* rounded past max */
    int qi = (int)q;
    if (qi < one) return (uint8_t)(sign | qi); /* subnormal (e == emin) or zero */
    return (uint8_t)(sign | (e + f->bias) << f->mbits | (qi - one));
}

float hn_minifloat_decode(hn_numtype t, uint8_t code) {
    const format *f = format_of(t);
    HN_ASSERT(f);
    int sign_bit = f->ebits + f->mbits, emask = (1 << f->ebits) - 1, one = 1 << f->mbits;
    int ebits = code >> f->mbits & emask, m = code & (one - 1);
    float s = code >> sign_bit & 1 ? -1.0f : 1.0f;
    int mag = code & ((1 << sign_bit) - 1);
    if (f->nan_code >= 0 && ebits == emask) {
        if (f->nan_code == 0x7e) /* IEEE-like: mantissa 0 is infinity, anything else NaN */
            return m == 0 ? s * INFINITY : NAN;
        if (mag == f->nan_code) return NAN;
    }
    if (ebits == 0) return s * ldexpf((float)m, 1 - f->bias - f->mbits);
    return s * ldexpf((float)(one + m), ebits - f->bias - f->mbits);
}

float hn_minifloat_round(hn_numtype t, float x) { return hn_minifloat_decode(t, hn_minifloat_encode(t, x)); }

hn_qparams hn_fake_quant_params(hn_numtype t, float lo, float hi, hn_qscheme scheme) {
    if (t >= HN_INT2 && t <= HN_INT16) return hn_qparams_from_range(lo, hi, hn_numtype_bits(t), scheme);
    hn_qparams p = {1.0f, 0, 0, 0};
    float amax = fmaxf(fabsf(lo), fabsf(hi));
    if (hn_numtype_is_minifloat(t) && amax > 0) p.scale = amax / hn_minifloat_max(t);
    return p;
}

void hn_fake_quant(hn_numtype t, hn_qparams p, float *x, size_t n) {
    if (t >= HN_INT2 && t <= HN_INT16) {
        const float lo = (float)(p.qmin - p.zero_point), hi = (float)(p.qmax - p.zero_point);
        for (size_t i = 0; i < n; i++) x[i] = hn_q_round(x[i], p.scale, lo, hi) * p.scale; /* dequantize(quantize(x)) */
    } else if (hn_numtype_is_minifloat(t)) {
        for (size_t i = 0; i < n; i++) x[i] = p.scale * hn_minifloat_round(t, x[i] / p.scale);
    }
}
