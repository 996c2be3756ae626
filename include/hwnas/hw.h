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

/* ---- Systolic arrays (src/hw/systolic.c), in SCALE-Sim's terms -------------------------------- */

typedef enum { HN_DATAFLOW_OS, HN_DATAFLOW_WS, HN_DATAFLOW_IS } hn_dataflow;

typedef struct {
    int rows, cols;           /* processing elements: rows x cols */
    hn_dataflow dataflow;     /* output-, weight- or input-stationary */
    double ifmap_sram_kb, filter_sram_kb, ofmap_sram_kb; /* double-buffered operand SRAMs */
    double bandwidth;         /* DRAM words per cycle per operand; 0: enough never to stall (CALC) */
    int word_bytes;           /* bytes per word (1 for int8) */
    double clock_hz;
    double mac_pj, sram_pj_per_word, dram_pj_per_word; /* energy per MAC and per word moved */
} hn_systolic;

/* A layer as a SCALE-Sim topology row: an unpadded convolution (a padded one is described by its
 * padded input), which the array computes as the GEMM ifmap (Sr x T) . filter (T x Sc) with Sr the
 * output pixels, T = filter_h * filter_w * channels and Sc = filters. repeats > 1 runs that many
 * independent copies one after another (grouped and depthwise convolutions: one per group). */
typedef struct {
    char name[64];
    int ifmap_h, ifmap_w, filter_h, filter_w, channels, filters, stride;
    int repeats;
} hn_systolic_layer;

typedef struct {
    int64_t total_cycles, stall_cycles;
    double mapping_efficiency, compute_utilization, overall_utilization; /* percent, as SCALE-Sim's */
    int64_t macs;
    int64_t sram_ifmap_reads, sram_filter_reads, sram_ofmap_writes;  /* words */
    int64_t dram_ifmap_reads, dram_filter_reads, dram_ofmap_writes;  /* words */
    double energy_j;
} hn_systolic_result;

/* Models one layer. Exact, against SCALE-Sim v2, for cycles, mapping efficiency, compute utilisation
 * and SRAM traffic; DRAM traffic and stalls are an approximation (docs/hardware.md). */
void hn_systolic_layer_cost(const hn_systolic *a, const hn_systolic_layer *l, hn_systolic_result *r);
/* Adds r to the running total t (cycles, counts and energy summed; percentages re-weighted). */
void hn_systolic_accumulate(const hn_systolic *a, hn_systolic_result *t, const hn_systolic_result *r);

/* Reads a SCALE-Sim v2 configuration file (.cfg: ArrayHeight, ArrayWidth, IfmapSramSzkB,
 * FilterSramSzkB, OfmapSramSzkB, Dataflow, Bandwidth, InterfaceBandwidth) into *a, keeping *a's
 * other fields. Errors name the file, line and key. */
hn_status hn_scalesim_read_config(const char *path, hn_systolic *a);
/* Reads a SCALE-Sim topology CSV (Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width,
 * Channels, Num Filter, Strides). *layers is allocated with hn_alloc; the caller frees it. */
hn_status hn_scalesim_read_topology(const char *path, hn_systolic_layer **layers, int *n);

#ifdef __cplusplus
}
#endif
#endif
