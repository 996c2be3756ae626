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

/* out = lut[x + 128]: an elementwise function as a table of the 256 codes (GELU, hard-swish) */
void s8_lut(const int8_t *in, size_t len, const int8_t *lut, int8_t *out);

/* Softmax as TFLite's int8 reference kernel computes it (gemmlowp fixed point: the differences from
 * the row's largest value in Q5.26 via beta, exp_on_negative_values, a Q12.19 sum, its reciprocal), of
 * n <= 256 int32 values x[0..n): out[0], out[stride], ... in TFLite's fixed output quantization, scale
 * 1/256 and zero point -128. beta = input scale x 2^26 as a multiplier; differences below diff_min
 * give exp 0 (and cannot overflow the rescaling). */
typedef struct {
    int c, hw; /* s8_softmax: the channels and pixels of the value; in attention, the tokens and 1 */
    s8_mult beta;
    int32_t diff_min;
} s8_softmax_params;
void s8_softmax_row(const s8_softmax_params *p, const int32_t *x, int n, int8_t *out, int stride);
/* softmax over the c channels of each of hw pixels of a (C, H, W) value; row: c int32 of scratch */
void s8_softmax(const s8_softmax_params *p, const int8_t *in, int8_t *out, int32_t *row);

/* Layer norm over the c channels of each of hw tokens (TFLite has no int8 layer norm; this is
 * hwnas's, all integer): with S = sum q, d = c q - S, V = sum d^2, a token's normalised values in
 * Q16 are n = round(d 2^24 / isqrt(V 2^16 / c + eps)) (eps = c^2 x eps / s_in^2 x 2^16), and
 * out = clamp(out_zp + round(n x mult[ch]) + bias[ch]), mult = gamma / (s_out 2^16) (negative where
 * gamma is: the one multiplier of s8_mult that may be), bias = round(beta / s_out). c <= 1024. */
typedef struct {
    int c, hw;
    int32_t out_zp;
    int64_t eps;
    const s8_mult *mult;
    const int32_t *bias;
} s8_norm_params;
void s8_layernorm(const s8_norm_params *p, const int8_t *in, int8_t *out);

/* Multi-head self-attention (op_attention.c's) on a (3 dim, T) value of queries, keys and values
 * (one scale and zero point in_zp), as TFLite runs the decomposed graph: per head and query, the
 * scores sum (q - zp)(k - zp) in int32, softmax of them (beta from scale^2 / sqrt(dim / heads)) to
 * int8 P, then out = clamp(out_zp + round(sum (v - zp)(P + 128) x out_mult)). Scratch: T int32 scores
 * and T int8 probabilities (s8_attention_scratch_bytes). */
typedef struct {
    int dim, tokens, heads;
    int32_t in_zp, out_zp;
    s8_softmax_params softmax;
    s8_mult out_mult;
} s8_attn_params;
size_t s8_attention_scratch_bytes(const s8_attn_params *p);
void s8_attention(const s8_attn_params *p, const int8_t *in, int8_t *out, uint8_t *scratch);
/* ReLU linear attention (op_linear_attention.c's) on the same input, its softmax unused: per head, with
 * phi(x) = max(x - zp, 0), A = sum_u (v - zp) phi(k) and z = sum_u phi(k) in int32, each token's
 * num = A phi(q) and den = z . phi(q) in int64, out = clamp(out_zp + round(round(num 2^16 / den) x
 * out_mult)), out_mult = scale / (s_out 2^16); den = 0 (then num = 0) gives out_zp. The float op's eps
 * (1e-6) is left out. At most 32768 tokens (int32 sums). Scratch: a head's A and z, 4 (d^2 + d) bytes. */
size_t s8_linear_attention_scratch_bytes(const s8_attn_params *p);
void s8_linear_attention(const s8_attn_params *p, const int8_t *in, int8_t *out, uint8_t *scratch);

/* ---- a whole network ---- */

enum { S8_INPUT, S8_CONV, S8_ADD, S8_CONCAT, S8_AVGPOOL, S8_MAXPOOL, S8_MEAN, S8_CLAMP, S8_ZERO, S8_LUT, S8_SOFTMAX,
       S8_LAYERNORM, S8_ATTENTION, S8_LINEAR_ATTENTION };

/* One value of the network and the kernel that computes it from earlier ones. Arrays are the
 * caller's (constant tables in an exported model). */
typedef struct {
    int kind;             /* S8_* */
    int ninputs;
    const int *inputs;    /* indices of earlier nodes */
    int32_t len, off;     /* values per image, offset of the value in the arena */
    int32_t scratch;      /* S8_CONV, S8_SOFTMAX, S8_*ATTENTION: offset of its kernel's scratch in the arena */
    int32_t zp;           /* the value's zero point */
    s8_conv_params conv;  /* S8_CONV */
    s8_pool_params pool;  /* S8_AVGPOOL, S8_MAXPOOL */
    int32_t lo, hi;       /* S8_CLAMP, S8_ADD: the output's clamp */
    const int32_t *in_zp; /* S8_ADD, S8_CONCAT: the inputs' zero points and multipliers */
    const s8_mult *in_mult;
    s8_mult out_mult;     /* S8_ADD */
    /* the kinds added for attention (issue 20) by pointer: the node table of every model stays small */
    const int8_t *lut;                /* S8_LUT: 256 entries */
    const s8_softmax_params *softmax; /* S8_SOFTMAX */
    const s8_norm_params *norm;       /* S8_LAYERNORM */
    const s8_attn_params *attn;       /* S8_ATTENTION, S8_LINEAR_ATTENTION */
} s8_node;

/* the scratch node kind's kernel needs in the arena (bytes) */
size_t s8_node_scratch_bytes(const s8_node *q);

/* Runs nodes[0..n) in order on one image: in is copied to node 0's slot, every other node's kernel
 * reads its inputs' slots and writes its own, out receives node `output`'s value. The arena holds
 * the slots and each kernel's scratch (at arena + its node's scratch, 4-byte aligned). */
void s8_forward(const s8_node *nodes, int n, int output, const int8_t *in, int8_t *arena, int8_t *out);

#endif
