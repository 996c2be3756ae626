/* Number types of weights and activations: what a quantization policy chooses per layer, and what
 * counting, the hardware models and the quantizers (quant.h) read.
 *
 *   fp32       IEEE binary32, the engine's own type (the default of every node)
 *   int2 .. int8, int16  two's-complement integers (symmetric or asymmetric: the quantizer decides)
 *   fp8-e4m3   OCP FP8 E4M3 (bias 7, no infinities, one NaN pattern per sign), max 448
 *   fp8-e5m2   OCP FP8 E5M2 (bias 15, IEEE-like infinities and NaNs), max 57344
 *   fp6-e3m2   OCP MX FP6 E3M2 (bias 3, no infinities or NaNs), max 28
 *   fp4-e2m1   OCP MX FP4 E2M1 (bias 1, no infinities or NaNs), max 6 */
#ifndef HWNAS_NUMTYPE_H
#define HWNAS_NUMTYPE_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    HN_FP32 = 0, /* zero, so a zeroed node is float32 */
    HN_INT2,
    HN_INT3,
    HN_INT4,
    HN_INT5,
    HN_INT6,
    HN_INT7,
    HN_INT8,
    HN_INT16,
    HN_FP8_E4M3,
    HN_FP8_E5M2,
    HN_FP6_E3M2,
    HN_FP4_E2M1,
    HN_NUMTYPE_COUNT
} hn_numtype;

/* "fp32", "int8", "fp8-e4m3", ... (the names of policies and configs). */
const char *hn_numtype_name(hn_numtype t);
/* Storage bits of one value: 32, 2 .. 8, 16, 8, 8, 6, 4. */
int hn_numtype_bits(hn_numtype t);
/* Looks a name up; returns HN_NUMTYPE_COUNT if unknown. */
hn_numtype hn_numtype_from_name(const char *name);
/* Like hn_numtype_from_name for the first len bytes of name. */
hn_numtype hn_numtype_from_prefix(const char *name, int len);

#ifdef __cplusplus
}
#endif
#endif
