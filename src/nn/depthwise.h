/* Depthwise convolution (one K x K filter per channel: groups = in = out channels) for conv2d.
 * Private to src/nn; conv2d dispatches here when its geometry is depthwise. */
#ifndef HWNAS_NN_DEPTHWISE_H
#define HWNAS_NN_DEPTHWISE_H

#include "op.h"
#include "unfold.h"

/* Floats of scratch per thread. */
size_t hn_dw_scratch_floats(const geom *q);

/* out = the convolution of in[0], plus the bias, the folded affine epilogue and the activation
 * epilogue when the context asks for them (all of conv2d's forward for this geometry). */
void hn_dw_forward(const hn_op_ctx *c, const geom *q);

/* dw (the filters; not the bias) and, when dx is not NULL, dx (= or += when acc) from dout. */
void hn_dw_backward(const hn_op_ctx *c, const geom *q, float *dx, bool acc);

#endif
