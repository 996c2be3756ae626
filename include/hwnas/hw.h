/* Hardware cost: counting on the graph (parameters, MACs, activation sizes, the peak activation memory
 * of a sequential schedule, weight bytes). Device models (systolic arrays, MCUs, rooflines, the host)
 * will read the same graph. */
#ifndef HWNAS_HW_H
#define HWNAS_HW_H

#include "hwnas/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Costs of one forward pass of one sample. */
typedef struct {
    int64_t params;                /* trainable parameters */
    int64_t macs;                  /* multiply-accumulates of convolutions and linear layers */
    int64_t activation_bytes;      /* sum of every node's output (the input included) */
    int64_t peak_activation_bytes; /* the most bytes alive at once in a sequential schedule */
    int64_t weight_bytes;          /* kernels at their weight type, the rest (biases, batch norm) at 32 bits */
} hn_cost;

/* Per node (index = node id). */
typedef struct {
    int64_t params, macs, activation_bytes, weight_bytes;
} hn_layer_cost;

/* Counts g (finalized or not). Each node's output takes the bits of its activation type (atype) per
 * value; the kernels of convolutions and linear layers take the bits of their weight type (wtype),
 * and biases, batch-norm parameters and running statistics 32 bits each (as trained: a deployment
 * folds batch norm, and the device models count that form). Types are fp32 unless a quantization
 * policy (a "+quant" space) or hn_graph_set_numtypes set them. The schedule runs the nodes in
 * order; a node's output buffer is alive from its step to its last reader's step (the output to the
 * end), and no op runs in place -- an identity, flatten or zero writes a buffer of its own -- so the
 * peak is an upper bound for runtimes that alias those. layers may be NULL, else has g->nnodes
 * entries. Fails only with HN_ERR_NOMEM (graphs over 1024 nodes need a work array). */
hn_status hn_count(const hn_graph *g, hn_cost *total, hn_layer_cost *layers);

#ifdef __cplusplus
}
#endif
#endif
