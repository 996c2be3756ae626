/* What the exporters read of an int8 model (src/export/): the kernels' node table in order, the node
 * of the output, and the bytes of the arena's value slots (with the scratch in them once laid out).
 * Pointers alias the model. */
#ifndef HWNAS_QMODEL_INTERNAL_H
#define HWNAS_QMODEL_INTERNAL_H

#include <math.h>

#include "hwnas/graph.h"
#include "hwnas/quant.h"
#include "s8_kernels.h"

/* round_half_even(x / scale) clamped to [lo, hi], NaN to 0: hn_quantize's rounding relative to the
 * zero point, inline so that the loops over every activation (fake quantization, input quantization)
 * vectorise. */
static inline float hn_q_round(float x, float scale, float lo, float hi) {
    float r = nearbyintf(x / scale); /* ties to even under the default rounding mode */
    return r < lo ? lo : r > hi ? hi : r == r ? r : 0.0f;
}

/* hn_qmodel_share_memory with scratch[i] bytes for plan step i's kernel, any kind of step (an
 * exporter's target kernels; NULL: the engine's, convolutions only): plan[i].scratch gets its offset.
 * With scratch given the engine no longer runs m (hn_qmodel_run refuses). */
hn_status hn_qmodel_layout(hn_qmodel *m, const size_t *scratch);
const s8_node *hn_qmodel_plan(const hn_qmodel *m, int *n, int *output, size_t *values_bytes);
/* Of plan node i: its value's shape (C, H, W) and parameters, for a convolution the weights' scale per
 * output channel (else NULL), and (op may be NULL) the op of the graph node it computes first. */
void hn_qmodel_node_info(const hn_qmodel *m, int i, hn_shape *shape, hn_qparams *q, const float **w_scale, hn_op *op);
/* The bias (cout values) of convolution p as TFLite and CMSIS-NN store it: the kernels' bias without
 * their -(in_zp + 128) * sum(weights) term (s8_kernels.h). */
void hn_q_conv_bias(const s8_conv_params *p, int32_t *bias);
/* The weights of convolution p in the order of the NHWC runtimes (TFLite, CMSIS-NN): (cout, k, k,
 * cin/groups); depthwise (k, k, cout); a linear layer (linear: true) reading the value of shape in
 * (C, H, W) has its columns in (H, W, C) order. out holds cout * cin/groups * k * k values. */
void hn_q_weights_nhwc(const s8_conv_params *p, hn_shape in, bool linear, int8_t *out);
/* The fused node (hn_graph_fused: a folded batch norm or an applied activation) that reads node id, or
 * -1: where it exists, a deployment never forms id's own value. */
int hn_q_fused_reader(const hn_graph *g, const bool *fused, int id);
/* Rounds the weights of every convolution and linear layer of g to its wtype, per output channel
 * (symmetric), in place (fakequant.c). */
void hn_q_fake_quant_weights(hn_graph *g);
/* Per node of g: whether a deployment forms its value with a quantized type (not a view, not read by
 * a fused batch norm or activation, atype not fp32); formed has g->nnodes entries (fakequant.c). */
hn_status hn_q_formed_values(const hn_graph *g, bool *formed);
/* The weights of convolution p in the layout the SIMD direct convolution reads (stride 1 or 2, not
 * depthwise), allocated in a; NULL where it does not apply (s8_simd.c). */
const int8_t *hn_s8_simd_pack(const s8_conv_params *p, hn_arena *a);
/* Scratch the SIMD convolution of this CPU family needs (s8_simd.c; 0 where there is none). */
size_t hn_s8_simd_scratch_bytes(const s8_conv_params *p);

#endif
