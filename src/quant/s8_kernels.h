/* int8 kernels of the quantized engine, in plain C99 with no dependency but <stdint.h> and <string.h>:
 * the library runs them, and the C exporter copies this header and s8_kernels.c into every generated
 * model.c, so the engine and an exported model compute bit for bit the same.
 *
 * Tensors are one image, channel-major (C, H, W), int8. Real value = (q - zero_point) * scale; the
 * scales only reach the kernels as fixed-point multipliers (TFLite's arithmetic, include/hwnas/quant.h).
 * Kernels never allocate: convolutions take a scratch buffer of s8_conv_scratch_bytes bytes. No kernel
 * overflows: int32 sums stay below 2^31 for layers of up to 2^16 products per output. The weights
 * array must be readable 4 bytes past its end (SIMD paths read whole groups of 4). */
#ifndef HWNAS_S8_KERNELS_H
#define HWNAS_S8_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* multiplier * 2^(shift - 31), multiplier a Q31 value in [2^30, 2^31) or 0 */
typedef struct {
    int32_t multiplier;
    int32_t shift;
} s8_mult;

/* round(x * m) as TFLite computes it (SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT) */
int32_t s8_mult_apply(int32_t x, s8_mult m);

/* Convolution (and linear layers: a 1x1 convolution of a 1x1 image). weights (cout, cin/groups, k, k).
 * The input is read as unsigned, u = x + 128, so that products are uint8 x int8 (what VNNI's dot
 * product takes); bias (cout) therefore holds the layer's quantized bias minus
 * (in_zp + 128) * sum(weights of the channel): padding with u = in_zp + 128 (real 0) and plain products
 * then give exactly sum((x - in_zp) * w) + bias. Per output channel:
 * out = clamp(out_zp + round(acc * mult[c]), act_min, act_max). */
typedef struct {
    int cin, h, w, cout, oh, ow, kernel, stride, pad, groups;
    int32_t in_zp, out_zp, act_min, act_max;
    const int8_t *weights;
    const int32_t *bias;
    const s8_mult *mult;
    const int8_t *packed; /* optional (NULL in exported models): the weights in a SIMD kernel's layout */
} s8_conv_params;
size_t s8_conv_scratch_bytes(const s8_conv_params *p);
void s8_conv(const s8_conv_params *p, const int8_t *in, int8_t *out, uint8_t *scratch);

/* The work of one group of a (non-depthwise) convolution: unfold, multiply, requantize into out. The
 * portable version is the default; a host library may install a faster one with identical results
 * (s8_simd.c: AVX-512 VNNI, which needs more scratch: hn_s8_simd_scratch_bytes). The portable one
 * unfolds 16 output pixels at a time into scratch (s8_conv_scratch_bytes). */
typedef void (*s8_conv_group_fn)(const s8_conv_params *p, const int8_t *in, int group, int8_t *out, uint8_t *scratch);
void s8_conv_group_c(const s8_conv_params *p, const int8_t *in, int group, int8_t *out, uint8_t *scratch);
void s8_set_conv_group(s8_conv_group_fn fn); /* NULL: the portable one */
/* clamp(out_zp + round(acc * mult[oc]), act_min, act_max): the end of every convolution output */
int8_t s8_requant(int32_t acc, const s8_conv_params *p, int oc);

/* Sum of n tensors of len values (TFLite's ADD, for any number of inputs): each (x - zp[i]) * 2^20 is
 * scaled by mult[i] (its scale over twice the largest input scale), the sum by out_mult. */
void s8_add(int n, const int8_t *const *in, const int32_t *zp, const s8_mult *mult, size_t len, int32_t out_zp,
            s8_mult out_mult, int32_t act_min, int32_t act_max, int8_t *out);

/* out = out_zp + round((x - in_zp) * m), saturated to int8: a change of scale (concat's inputs) */
void s8_rescale(const int8_t *in, size_t len, int32_t in_zp, s8_mult m, int32_t out_zp, int8_t *out);

/* Pooling keeps the input's scale and zero point. Average: (sum of the codes x) / count rounded half
 * away from zero, as TFLite (and CMSIS-NN) round it; count the whole window (padding counts as real 0,
 * the code zp) or only its real pixels. Max: padding never wins. */
typedef struct {
    int c, h, w, oh, ow, kernel, stride, pad, count_include_pad;
    int32_t zp;
} s8_pool_params;
void s8_avgpool(const s8_pool_params *p, const int8_t *in, int8_t *out);
void s8_maxpool(const s8_pool_params *p, const int8_t *in, int8_t *out);
/* Mean of each of c channels of hw values, as the average pool. */
void s8_mean(int c, int hw, const int8_t *in, int8_t *out);

/* clamp to [lo, hi]: ReLU (lo = zero point) and ReLU6 (hi = the code of 6) */
void s8_clamp(const int8_t *in, size_t len, int32_t lo, int32_t hi, int8_t *out);

/* ---- a whole network ---- */

enum { S8_INPUT, S8_CONV, S8_ADD, S8_CONCAT, S8_AVGPOOL, S8_MAXPOOL, S8_MEAN, S8_CLAMP, S8_ZERO };

/* One value of the network and the kernel that computes it from earlier ones. Arrays are the
 * caller's (constant tables in an exported model). */
typedef struct {
    int kind;             /* S8_* */
    int ninputs;
    const int *inputs;    /* indices of earlier nodes */
    int32_t len, off;     /* values per image, offset of the value in the arena */
    int32_t scratch;      /* S8_CONV: offset of its kernel's scratch in the arena */
    int32_t zp;           /* the value's zero point */
    s8_conv_params conv;  /* S8_CONV */
    s8_pool_params pool;  /* S8_AVGPOOL, S8_MAXPOOL */
    int32_t lo, hi;       /* S8_CLAMP, S8_ADD: the output's clamp */
    const int32_t *in_zp; /* S8_ADD, S8_CONCAT: the inputs' zero points and multipliers */
    const s8_mult *in_mult;
    s8_mult out_mult;     /* S8_ADD */
} s8_node;

/* Runs nodes[0..n) in order on one image: in is copied to node 0's slot, every other node's kernel
 * reads its inputs' slots and writes its own, out receives node `output`'s value. The arena holds
 * the slots and each convolution's scratch (at arena + its node's scratch). */
void s8_forward(const s8_node *nodes, int n, int output, const int8_t *in, int8_t *arena, int8_t *out);

#endif
