/* Exporting a network for deployment: a self-contained C99 program of the int8 model (export_c.c),
 * the int8 model as TFLite (export_tflite.cc), and the float network as ONNX (export_onnx.c).
 *
 *     hn_qmodel *m;  hn_ptq(g, train, 1000, HN_RANGE_MINMAX, 0, &m);
 *     hn_export_c(m, "out", samples, labels, 10, "fmnist-cnn.yaml", &info);   // out/model.{c,h}, out/main.c
 */
#ifndef HWNAS_EXPORT_H
#define HWNAS_EXPORT_H

#include "hwnas/quant.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    size_t arena_bytes;  /* the static activation arena: the schedule's peak of values plus kernel scratch */
    size_t weight_bytes; /* constant tables: int8 weights, int32 biases, multipliers */
} hn_export_info;

/* Writes dir/model.h, dir/model.c and dir/main.c (dir must exist):
 *   model.c  the int8 kernels (the engine's own source) and the network as constant tables, one static
 *            arena for every activation and the kernels' scratch (sharing it by liveness: this lays m's
 *            memory out for the portable kernels, after which the engine no longer runs m), no malloc, nothing beyond <stdint.h> and <string.h>; C99, clean under -Wall -Werror
 *   model.h  void hn_model_run(const int8_t *in, int8_t *out) and the input/output sizes, scales and
 *            zero points (HN_MODEL_*)
 *   main.c   a test program: runs the n sample images (n x input values, quantized) and compares every
 *            output with the engine's (expected, computed here); prints the predictions and the labels
 *            (may be NULL), exits 1 on any difference
 * source names the network in the generated comments. info (may be NULL) gets the sizes. */
hn_status hn_export_c(hn_qmodel *m, const char *dir, const int8_t *samples, const int32_t *labels, int n,
                      const char *source, hn_export_info *info);

/* hn_export_c for CMSIS-NN (Arm's int8 kernels for Cortex-M, built with the exported files from its
 * Include/ and Source/): model.c calls arm_convolve_wrapper_s8, arm_depthwise_conv_wrapper_s8,
 * arm_elementwise_add_s8, arm_avgpool_s8 and arm_max_pool_s8 on NHWC activations, and the engine's
 * portable kernels for the elementwise rest; outputs equal the engine's. HN_ERR_UNSUPPORTED: average
 * pooling that counts its padding (CMSIS-NN divides by the real pixels). The arena holds each kernel's
 * scratch as CMSIS-NN built by GCC or Clang for the DSP extension asks for it (Cortex-M4, M7, M33);
 * a build that asks for more (MVE, Arm Compiler) is detected at run time: outputs zero. */
hn_status hn_export_c_cmsis(hn_qmodel *m, const char *dir, const int8_t *samples, const int32_t *labels, int n,
                            const char *source, hn_export_info *info);

struct hn_graph;
/* Writes the float network g (finalized, with its weights) to path as an ONNX model (opset 10, IR 5):
 * input "input" (N, C, H, W), output (N, K) for a flat output, batch norm in inference mode. name
 * (may be NULL) names the graph. Written with protobuf-c from the ONNX schema. */
hn_status hn_export_onnx(const struct hn_graph *g, const char *path, const char *name);
/* Writes the int8 model m as a QDQ ONNX graph (opset 13, IR 7): every value the model forms is a
 * QuantizeLinear / DequantizeLinear pair at its scale and zero point, weights are int8 initializers
 * dequantized per output channel, biases int32 at scale s_in * s_w, fused activations are Clips at the
 * codes' bounds, batch norms folded. Runtimes that fuse QDQ patterns run it in int8. */
hn_status hn_export_onnx_qdq(const hn_qmodel *m, const char *path, const char *name);

/* Writes the int8 model m to path as a TFLite flatbuffer (schema version 3): int8 per-channel weights,
 * int32 biases, per-tensor int8 activations, fused ReLU/ReLU6, NHWC tensors; operators CONV_2D,
 * DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, CONCATENATION, AVERAGE_POOL_2D (also the global mean),
 * MAX_POOL_2D, RELU, RELU6, RESHAPE, CONCATENATION with constants or SLICEs (padding TFLite's SAME
 * cannot place), SPLIT (grouped
 * convolutions) and QUANTIZE (requantizing a concatenation's inputs). float_io: a float32 input and
 * output through QUANTIZE / DEQUANTIZE; else the model's input and output are the int8 tensors. The
 * file computes the engine's codes exactly but for additions of more than two inputs (a chain of
 * ADDs, each rounding) and, with float_io, input ties (TFLite rounds half away from zero). name (may be
 * NULL) goes into the model's description. HN_ERR_UNSUPPORTED names a step the format cannot express. */
hn_status hn_export_tflite(const hn_qmodel *m, const char *path, const char *name, bool float_io);

#ifdef __cplusplus
}
#endif
#endif
