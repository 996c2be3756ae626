/* Executing a graph: forward and backward passes over a batch, and the softmax cross-entropy loss.
 *
 * Inside an executor, activations are stored channel-major, (C, N, H, W): each channel of the whole
 * batch is one contiguous run. A convolution is then one GEMM per group over the whole batch,
 * W (C_out, C_in*KH*KW) x im2col (C_in*KH*KW, N*OH*OW), whose result is already the next layer's
 * activation; batch norm reduces contiguous runs; concat is a plain copy. The public calls take and
 * return the usual (N, C, H, W) and convert at the boundary.
 *
 * An executor owns all memory of a pass (activations, gradients, saved statistics, scratch), allocated
 * once for a maximum batch size: the step loop never allocates. */
#ifndef HWNAS_EXEC_H
#define HWNAS_EXEC_H

#include "hwnas/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hn_exec hn_exec;

/* Creates an executor for batches of up to max_batch samples. With_grad allocates what backward
 * needs. Without it the executor is for inference: buffers are reused as soon as possible, and a
 * batch norm that follows a convolution is folded into it (so such an executor runs batch norm in
 * inference mode only). The graph must be finalized and must outlive the executor; parameters may
 * change between passes. Free with hn_exec_free. */
hn_status hn_exec_new(hn_graph *g, int max_batch, bool with_grad, hn_exec **out);
void hn_exec_free(hn_exec *e);

/* Runs the forward pass on x (n, C, H, W), n <= max_batch. training selects batch norm's mode: batch
 * statistics (and running-statistics update) or running statistics. training on an inference
 * executor that folded a batch norm is HN_ERR_INVALID. */
hn_status hn_exec_forward(hn_exec *e, const float *x, int n, bool training);

/* With seconds (g->nnodes entries, the caller's; NULL turns it off), every forward pass writes the
 * wall time of each node's step: the input's layout conversion for node 0, 0 for nodes folded into
 * their producer (their work is in the producer's time). */
void hn_exec_profile(hn_exec *e, double *seconds);

/* A hook sees every value a forward step writes, in place, right after the step: node is the node
 * whose value it is (a step that absorbed a batch norm or activation writes that node's value), values
 * its count floats in the executor's channel-major layout (C, N, H, W), which the hook may change
 * (fake quantization does). The input (node 0) is seen first. NULL removes the hook. */
typedef void (*hn_exec_hook)(void *user, int node, float *values, size_t count);
void hn_exec_set_hook(hn_exec *e, hn_exec_hook hook, void *user);
/* Copies the output of the last forward pass to dst (n, C, H, W). */
void hn_exec_output(const hn_exec *e, float *dst);

/* Copies node id's output of the last forward pass to dst (n, C, H, W). Only an executor with gradients
 * keeps every value; there, the output of a layer whose activation was fused into it is not stored
 * (read the activation's node instead). Both cases are HN_ERR_INVALID. */
hn_status hn_exec_value(const hn_exec *e, int id, float *dst);

/* Softmax cross-entropy of the last forward pass's output (which must be flat: (K, 1, 1)) against
 * labels[0..n), averaged over the batch, with optional label smoothing eps (targets (1-eps) one-hot +
 * eps/K, as PyTorch's label_smoothing). Stores the loss in *loss, the number of correct top-1
 * predictions in *correct (either may be NULL), and keeps dloss/doutput for backward. A label
 * outside [0, K) is HN_ERR_INVALID. */
hn_status hn_exec_loss(hn_exec *e, const int32_t *labels, float smoothing, float *loss, int *correct);

/* Backward pass: writes the gradient of every parameter to g->grads (overwriting) and, if dx is not
 * NULL, the gradient of the input to dx (n, C, H, W). dout (n, C, H, W) is the gradient of the output;
 * NULL means the gradient from the last hn_exec_loss. Requires with_grad and a prior forward pass. */
hn_status hn_exec_backward(hn_exec *e, const float *dout, float *dx);

/* Bytes of memory the executor holds (activations, gradients, scratch). */
size_t hn_exec_bytes(const hn_exec *e);

#ifdef __cplusplus
}
#endif
#endif
