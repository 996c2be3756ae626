/* Quantization: integer and minifloat number formats, calibration of activation ranges, and
 * fixed-point requantization as TFLite specifies it. docs/quantization.md describes the choices.
 *
 *     hn_qparams p = hn_qparams_from_range(-1.5f, 3.0f, 8, HN_QASYMMETRIC);  // per-tensor activations
 *     int32_t q = hn_quantize(0.7f, p);             // round half to even, then clamp
 *     float y = hn_dequantize(q, p);                 // (q - zero_point) * scale
 *     uint8_t c = hn_minifloat_encode(HN_FP8_E4M3, 0.3f);   // round to nearest even, saturating
 */
#ifndef HWNAS_QUANT_H
#define HWNAS_QUANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hwnas/core.h"
#include "hwnas/data.h"
#include "hwnas/numtype.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- integers of 2..8 (and 16) bits ------------------------------------------------------------ */

typedef enum {
    HN_QSYMMETRIC,  /* zero point 0, narrow range [-(2^(b-1) - 1), 2^(b-1) - 1]: weights (TFLite) */
    HN_QASYMMETRIC, /* full range [-2^(b-1), 2^(b-1) - 1] with a zero point: activations */
} hn_qscheme;

/* Affine quantization of one tensor (or one output channel): real = (q - zero_point) * scale, with
 * q in [qmin, qmax]. zero_point is always inside [qmin, qmax], so real 0 is exact (zero padding). */
typedef struct {
    float scale;
    int32_t zero_point, qmin, qmax;
} hn_qparams;

/* Parameters covering the real range [lo, hi] (widened to include 0) at bits in 2..16. Symmetric:
 * scale = max(|lo|, |hi|) / qmax. Asymmetric: scale = (hi - lo) / (qmax - qmin) and the zero point
 * qmin - lo / scale rounded (TFLite's nudging). An empty range (lo = hi = 0) gets scale 1. */
hn_qparams hn_qparams_from_range(float lo, float hi, int bits, hn_qscheme scheme);
/* clamp(round_half_even(x / scale) + zero_point, qmin, qmax) */
int32_t hn_quantize(float x, hn_qparams p);
float hn_dequantize(int32_t q, hn_qparams p);

/* A real multiplier in (0, 1) as TFLite keeps it: multiplier * 2^(shift - 31), multiplier a Q31
 * value in [2^30, 2^31), shift <= 0 for multipliers below 1 (QuantizeMultiplier). Multipliers >= 1
 * (shift > 0) are allowed too. real = 0 gives multiplier 0. */
typedef struct {
    int32_t multiplier;
    int shift;
} hn_qmult;
hn_qmult hn_qmult_from_real(double real);
/* round(x * real) in TFLite's arithmetic: SaturatingRoundingDoublingHighMul(x * 2^max(shift, 0),
 * multiplier), then a rounding right shift by -min(shift, 0) (ties away from zero). */
int32_t hn_qmult_apply(int32_t x, hn_qmult m);

/* ---- minifloats ------------------------------------------------------------------------------- */

/* The four minifloats of numtype.h (OCP FP8 and MX formats):
 *   fp8-e4m3  bias 7, subnormals, max 448, no infinities, S.1111.111 is NaN
 *   fp8-e5m2  bias 15, subnormals, max 57344, IEEE infinities (S.11111.00) and NaNs
 *   fp6-e3m2  bias 3, subnormals, max 28, every code a number
 *   fp4-e2m1  bias 1, subnormals, max 6, every code a number (0, 0.5, 1, 1.5, 2, 3, 4, 6)
 * Encoding rounds to nearest, ties to even, and saturates: |x| above max (infinities included)
 * becomes +-max. NaN becomes the format's NaN (S.1111.111 / 0.11111.11) or, in the formats without
 * one, +0. The code's sign bit is bit (bits - 1); the sign of zero is kept. */
bool hn_numtype_is_minifloat(hn_numtype t);
float hn_minifloat_max(hn_numtype t);
uint8_t hn_minifloat_encode(hn_numtype t, float x);
float hn_minifloat_decode(hn_numtype t, uint8_t code);
/* decode(encode(x)): the nearest value of the format. */
float hn_minifloat_round(hn_numtype t, float x);

/* ---- fake quantization -------------------------------------------------------------------------- */

/* Rounds n values in place to what type t represents at the given scale: an integer type rounds to
 * the grid of p (p.scale, zero point, range); a minifloat to scale * round_t(x / scale) with
 * scale = amax / max_t chosen by the caller (hn_fake_quant_scale); fp32 leaves x unchanged. */
void hn_fake_quant(hn_numtype t, hn_qparams p, float *x, size_t n);
/* The parameters fake quantization of type t uses for the range [lo, hi]: integers through
 * hn_qparams_from_range with scheme; minifloats scale = max(|lo|, |hi|) / max_t, zero point 0. */
hn_qparams hn_fake_quant_params(hn_numtype t, float lo, float hi, hn_qscheme scheme);

/* The top-1 accuracy (percent) on test of g quantized as its nodes' number types say (wtype of conv2d
 * and linear layers, atype of every value; hn_graph_set_numtypes or a "+quant" space sets them), by
 * fake quantization on the float engine: weights per output channel (symmetric), every value a
 * deployment forms per tensor (asymmetric integers; minifloats scaled to the range), over min/max
 * ranges calibrated on the first ncalib images of calib. g's weights are restored afterwards. */
struct hn_graph;
hn_status hn_fake_quant_evaluate(struct hn_graph *g, const hn_dataset *calib, int ncalib, const hn_dataset *test,
                                 double *accuracy);

/* Quantization-aware training (fine-tuning, usually from trained weights): hn_train with the rounding of
 * g's number types in the loop -- weights rounded per channel before each forward pass and the update
 * applied to the float weights (straight-through estimator), every value a deployment forms rounded
 * over a moving-average range. res->test_accuracy is then the quantized network's on test
 * (hn_fake_quant_evaluate, calibrated on 1000 training images); NAN without test. */
struct hn_train_config;
struct hn_train_result;
hn_status hn_qat_train(struct hn_graph *g, const hn_dataset *train, const hn_dataset *test,
                       const struct hn_train_config *cfg, struct hn_train_result *res);

/* Fake quantization of one training pass of a network copy that is thrown away after the step (a
 * supernet's sub-network, supernet.h): hn_fake_quant_step_new rounds g's weights per channel in place
 * for their types (not restored: the gradient of the rounded copy is the straight-through estimate
 * for the float weights it came from), and the hook (exec.h; user = the step) rounds every value a
 * deployment forms over that batch's own minimum and maximum. Free with hn_fake_quant_step_free. */
typedef struct hn_fake_quant_step hn_fake_quant_step;
hn_status hn_fake_quant_step_new(struct hn_graph *g, hn_fake_quant_step **out);
void hn_fake_quant_step_hook(void *user, int node, float *values, size_t count);
void hn_fake_quant_step_free(hn_fake_quant_step *q);

/* ---- calibration ranges --------------------------------------------------------------------------- */

typedef enum {
    HN_RANGE_MINMAX,     /* the observed minimum and maximum */
    HN_RANGE_PERCENTILE, /* the given percentiles of the magnitude (e.g. 99.99) */
    HN_RANGE_MSE,        /* the clipping range that minimises the mean squared quantization error */
} hn_range_method;

/* A histogram of values, for calibration over many batches: the first pass records min and max
 * (hn_histogram_observe with bins not yet laid out), hn_histogram_layout fixes 2048 bins over
 * [min, max], a second pass fills them. Owned by the caller; hn_histogram_free releases it. */
typedef struct {
    double lo, hi;  /* observed range */
    int nbins;      /* 0 until laid out */
    double *bins;   /* nbins counts over [lo, hi] */
    double count;
} hn_histogram;
void hn_histogram_init(hn_histogram *h);
void hn_histogram_observe(hn_histogram *h, const float *x, size_t n);
hn_status hn_histogram_layout(hn_histogram *h);
void hn_histogram_free(hn_histogram *h);
/* The range to quantize to with method (percentile: p in (50, 100]; MSE: for type t and scheme). A
 * histogram without bins only supports HN_RANGE_MINMAX. */
void hn_histogram_range(const hn_histogram *h, hn_range_method method, double p, hn_numtype t, hn_qscheme scheme,
                        float *lo, float *hi);

/* ---- the int8 engine ---------------------------------------------------------------------------- */


/* Calibration: the real range [lo[i], hi[i]] of every node i's value on the images x (n, C, H, W),
 * with batch norm in inference mode. lo and hi have g->nnodes entries (the caller's). Percentile and
 * MSE ranges take a second pass over x; MSE assumes each node's activation type (int8 when float).
 * g must be finalized. */
hn_status hn_quant_calibrate(struct hn_graph *g, const float *x, int n, hn_range_method method, double percentile,
                             float *lo, float *hi);

/* An int8 model of a float graph (post-training quantization, TFLite's scheme): batch norms folded
 * into the convolution or linear layer before them (a lone batch norm becomes a 1x1 depthwise
 * convolution), ReLU/ReLU6 fused into their producer's clamp, per-channel symmetric int8 weights,
 * int32 biases, per-tensor asymmetric int8 activations with the ranges given (hn_quant_calibrate),
 * fixed-point requantization. Pooling, ReLU, identity and flatten keep their input's parameters;
 * additions and concatenations requantize to their own. in_means (NULL: none) enables bias correction:
 * in_means[i], for a convolution, linear layer or batch norm i, holds the means of its input's channels
 * (of each flat feature for a linear layer) over calibration images (hn_quant_input_means), and the
 * layer's bias absorbs the mean shift its weights' rounding causes. The model copies what it needs: g
 * may be freed afterwards. Free with hn_qmodel_free. */
typedef struct hn_qmodel hn_qmodel;
hn_status hn_qmodel_new(const struct hn_graph *g, const float *lo, const float *hi, const float *const *in_means,
                        hn_qmodel **out);
/* For bias correction: per node of g, the means over the n images x (n, C, H, W) of the input channels
 * of every convolution, linear layer (per flat feature) and batch norm (NULL for other nodes), in one
 * block the caller frees with hn_free(*means) -- the array and its rows. */
hn_status hn_quant_input_means(struct hn_graph *g, const float *x, int n, float ***means);
void hn_qmodel_free(hn_qmodel *m);
hn_qparams hn_qmodel_input_params(const hn_qmodel *m);
hn_qparams hn_qmodel_output_params(const hn_qmodel *m);
/* values per image of the input (C*H*W) and of the output (K) */
size_t hn_qmodel_input_len(const hn_qmodel *m);
size_t hn_qmodel_output_len(const hn_qmodel *m);

/* One image: in (C, H, W) int8 -> out (K) int8, using arena (hn_qmodel_arena_bytes bytes, the
 * caller's) for every intermediate value and the kernels' scratch. Allocates nothing. */
size_t hn_qmodel_arena_bytes(const hn_qmodel *m);
void hn_qmodel_forward(const hn_qmodel *m, const int8_t *in, int8_t *arena, int8_t *out);
/* After hn_qmodel_forward with arena: node id's value (C, H, W) inside arena and its parameters; NULL
 * for a node whose value the model never forms (one folded into the layer after it). */
const int8_t *hn_qmodel_value(const hn_qmodel *m, const int8_t *arena, int node, hn_qparams *q);
/* Lets values share arena slots once no later node reads them, each convolution's scratch living only
 * during its step (placed greedily, largest first, as TFLite Micro's offline planner does), so the
 * arena holds about the schedule's peak instead of every value: what a deployment wants. Afterwards
 * hn_qmodel_value returns NULL. */
hn_status hn_qmodel_share_memory(hn_qmodel *m);
/* n images (n, C, H, W) -> (n, K), spread over the threads (hn_set_threads). */
hn_status hn_qmodel_run(const hn_qmodel *m, const int8_t *in, int n, int8_t *out);
/* Quantizes n float images (n, C, H, W) with the input's parameters. */
void hn_qmodel_quantize_input(const hn_qmodel *m, const float *x, int n, int8_t *out);

/* The int8 kernels' instruction set: "avx512vnni", "avx2" or "c" (portable). The best the CPU has is
 * chosen on first use; hn_quant_set_kernels picks one (for tests and benchmarks: all give identical
 * results) and fails with a message if the CPU lacks it. Not to be changed while a model runs. */
const char *hn_quant_kernels(void);
hn_status hn_quant_set_kernels(const char *name);

/* Post-training quantization in one call: calibrates g on the first n images of calib (normalised as
 * for training) with method, optionally corrects the biases, and builds the int8 model. */
hn_status hn_ptq(struct hn_graph *g, const hn_dataset *calib, int n, hn_range_method method, double percentile,
                 bool bias_correction, hn_qmodel **out);
/* Top-1 accuracy (percent) of the int8 model on d (the argmax of the int8 outputs; ties to the lowest
 * class) and images/s, counting the quantization of the input. */
hn_status hn_qmodel_evaluate(const hn_qmodel *m, const hn_dataset *d, double *accuracy, double *images_per_s);

#ifdef __cplusplus
}
#endif
#endif
