/* Hardware cost: counting on the graph (parameters, MACs, activation sizes, the peak activation memory
 * of a sequential schedule, weight bytes). Device models (systolic arrays, MCUs, rooflines, the host)
 * will read the same graph. */
#ifndef HWNAS_HW_H
#define HWNAS_HW_H

#include <stdio.h>

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

/* Per node (index = node id). live_bytes: the activation bytes alive while the node runs (its inputs,
 * its output and every earlier output still to be read): the peak is the largest of them. */
typedef struct {
    int64_t params, macs, activation_bytes, weight_bytes, live_bytes;
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
    double bandwidth;         /* DRAM words per cycle per operand, whole; 0: enough never to stall (CALC) */
    int word_bytes;           /* bytes per word (1 for int8) */
    hn_numtype numtype;       /* the PEs' number type: the MAC energy and area of the tables (energy.c) */
    double clock_hz;
    /* energy per MAC, per word of each SRAM (ifmap, filter, ofmap) and per DRAM word; 0: from the
     * tables, by hn_systolic_fill_energy */
    double mac_pj, sram_pj_per_word[3], dram_pj_per_word;
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

/* Replaces a's array, SRAMs, dataflow and bandwidth with arch's (a co-searched genotype's), keeping
 * its technology: clock, word size, number type and given energies. */
void hn_systolic_apply_arch(hn_systolic *a, const hn_accel *arch);

/* Energies and areas from Horowitz (ISSCC 2014, 45 nm) and a 45 nm SRAM cell, with the power laws
 * between their anchors that src/hw/energy.c documents: a multiply-accumulate of number type t (pJ,
 * um^2), an SRAM access of one word of word_bytes in an SRAM of kb KB, a DRAM word, an SRAM's area. */
double hn_mac_energy_pj(hn_numtype t);
double hn_mac_area_um2(hn_numtype t);
double hn_sram_pj_per_word(double kb, int word_bytes);
double hn_dram_pj_per_word(int word_bytes);
double hn_sram_area_mm2(double kb);
/* Sets a's energies that are 0 from the tables (its numtype, word size and SRAM sizes). */
void hn_systolic_fill_energy(hn_systolic *a);
/* The array's area: rows x cols MACs of its number type and its three SRAMs (mm^2; no registers,
 * control or wiring: a lower bound). */
double hn_systolic_area_mm2(const hn_systolic *a);

/* Models one layer. Exact, against SCALE-Sim v2, for cycles, mapping efficiency, compute utilisation
 * and SRAM traffic; with a limited bandwidth its DRAM traffic and stalls replay SCALE-Sim's buffers,
 * with an unlimited one DRAM traffic is an estimate (docs/hardware.md). Fails with HN_ERR_NOMEM, or
 * HN_ERR_INVALID when a limited bandwidth meets an SRAM of under 2 words (no room to prefetch) or a
 * layer too large to replay. */
hn_status hn_systolic_layer_cost(const hn_systolic *a, const hn_systolic_layer *l, hn_systolic_result *r);
/* Adds r to the running total t (cycles, counts and energy summed; percentages re-weighted). */
void hn_systolic_accumulate(const hn_systolic *a, hn_systolic_result *t, const hn_systolic_result *r);

/* Maps a network onto the array, one node at a time (docs/hardware.md): convolutions as SCALE-Sim
 * layers on their padded input (grouped and depthwise convolutions as one layer per group), linear
 * layers as 1x1 convolutions of a 1x1 input; pooling, additions and batch norms or activations that
 * no producer absorbs run on one row of PEs as a vector unit (cols lanes, one operation per lane per
 * cycle, operands streamed through the SRAMs); fused nodes, concat and zero cost nothing. layers
 * (g->nnodes entries, or NULL) gets each node's result, *total their sum. Fails as
 * hn_systolic_layer_cost does, the message naming the node. */
hn_status hn_systolic_graph(const hn_systolic *a, const hn_graph *g, hn_systolic_result *total,
                            hn_systolic_result *layers);

/* Reads a SCALE-Sim v2 configuration file (.cfg: ArrayHeight, ArrayWidth, IfmapSramSzkB,
 * FilterSramSzkB, OfmapSramSzkB, Dataflow, Bandwidth, InterfaceBandwidth) into *a, keeping *a's
 * other fields. Errors name the file, line and key. */
hn_status hn_scalesim_read_config(const char *path, hn_systolic *a);
/* Reads a SCALE-Sim topology CSV (Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width,
 * Channels, Num Filter, Strides). *layers is allocated with hn_alloc; the caller frees it. */
hn_status hn_scalesim_read_topology(const char *path, hn_systolic_layer **layers, int *n);

/* ---- Device profiles and the cost of a network on a device (src/hw/device.c) ------------------- */

/* Data-type classes of MCU kernels and roofline peaks: a layer computes in the class of its weight
 * and input types (integers of at most 8 bits: int8; 16: int16; fp8/fp6/fp4 minifloats: fp8 where the
 * device has it, else fp16, else fp32; fp32: fp32). */
typedef enum { HN_CLASS_INT8, HN_CLASS_INT16, HN_CLASS_FP8, HN_CLASS_FP16, HN_CLASS_FP32, HN_CLASS_COUNT } hn_dtype_class;
/* Kinds of MCU kernels. */
typedef enum { HN_KERNEL_CONV, HN_KERNEL_DEPTHWISE, HN_KERNEL_POINTWISE, HN_KERNEL_LINEAR, HN_KERNEL_COUNT } hn_kernel_kind;

typedef struct {
    double clock_hz;
    int64_t sram_bytes, flash_bytes;                 /* the device's memories */
    int64_t runtime_sram_bytes, runtime_flash_bytes; /* what the runtime itself takes */
    double macs_per_cycle[HN_CLASS_COUNT][HN_KERNEL_COUNT]; /* sustained; 0: the class is not supported */
    double elementwise_cycles;                       /* cycles per element of pooling, add, activation */
    double power_w;                                  /* active power, for energy = power x latency */
} hn_mcu;

typedef struct {
    double peak_ops[HN_CLASS_COUNT]; /* operations/s (a MAC is 2); 0: not supported */
    double bandwidth_bytes_s;        /* memory bandwidth */
    double layer_overhead_s;         /* fixed cost per layer (kernel launch) */
    double op_pj[HN_CLASS_COUNT];    /* energy per MAC (multiply + accumulate) per class */
    double byte_pj;                  /* energy per byte moved to or from memory */
} hn_roofline;

typedef struct {
    int threads; /* 0: all cores */
    int warmup, runs;
    char lut_path[512]; /* latency lookup table cache ("": none) */
} hn_host;

/* A device profile: a model (one file per model, src/hw/device_KIND.c: its profile fields, its cost
 * function and its description, in a table of functions) and that model's parameters (hn_systolic,
 * hn_mcu, hn_roofline or hn_host for the built-in kinds), held by value so a profile copies freely. */
#define HN_DEVICE_PARAMS_MAX 1024
typedef struct hn_device_model hn_device_model; /* internal: src/hw/models.h */
typedef struct {
    char name[64];
    char description[256];
    char path[512]; /* the profile file */
    const hn_device_model *model;
    _Alignas(16) unsigned char params[HN_DEVICE_PARAMS_MAX]; /* the model's parameters */
} hn_device;

/* The kinds of device ("systolic", "mcu", "roofline", "host"), NULL-terminated. */
const char *const *hn_device_kinds(void);
/* d's kind name. */
const char *hn_device_kind(const hn_device *d);
/* Whether d's model runs the network (host) rather than computing its cost. */
bool hn_device_measured(const hn_device *d);
/* A profile made in code: kind's model with its defaults and no file (HN_ERR_INVALID for an unknown
 * kind). Set the parameters through hn_device_params. */
hn_status hn_device_init(hn_device *d, const char *kind, const char *name);
/* d's parameters if d is of that kind (an hn_mcu for "mcu", ...), else NULL. Points into d. */
void *hn_device_params(hn_device *d, const char *kind);
const void *hn_device_params_const(const hn_device *d, const char *kind);
/* Writes the model's parameters as 'hwnas hw show' prints them (aligned "field  value" lines). */
void hn_device_describe(const hn_device *d, FILE *f);

/* The metrics of a network (or one layer) on a device. Names as configs use them: latency_s,
 * energy_j, area_mm2, edp (energy_j x latency_s, J s), cycles, peak_sram_bytes, flash_bytes, fits,
 * macs, params. */
typedef struct {
    double latency_s, energy_j;
    double area_mm2;         /* systolic: the array's area (hn_systolic_area_mm2); else 0 */
    int64_t cycles;          /* device cycles (systolic, MCU); 0 where the device has no clock model */
    int64_t peak_sram_bytes; /* MCU: activations under the schedule + kernel scratch + runtime */
    int64_t flash_bytes;     /* MCU: deployed weights + runtime */
    bool fits;               /* MCU: peak_sram_bytes <= sram and flash_bytes <= flash; else true */
    int64_t macs, params;
} hn_hw_cost;

/* Reads a device profile (YAML; docs/hardware.md). Errors name the file, line and field. */
hn_status hn_device_load(const char *path, hn_device *d);
/* Finds a profile by name (NAME.yaml) in the directories dirs (NULL-terminated) and in each directory
 * of $HWNAS_DEVICE_PATH (colon-separated, searched first); a name with a '/' or ending in .yaml is a
 * path. Writes the file's path to path. */
hn_status hn_device_find(const char *name, const char *const *dirs, char *path, size_t cap);
/* Costs g (finalized or not; forward pass, one sample) on d. layers (g->nnodes entries, or NULL) gets
 * each node's share; layers that a device fuses into their producer (batch norm, activations) cost 0. */
hn_status hn_device_cost(const hn_device *d, const hn_graph *g, hn_hw_cost *total, hn_hw_cost *layers);
/* ---- The host (src/hw/host.c) -------------------------------------------------------------------- */

/* Measures the forward pass of g (finalized) at batch 1 with the engine's inference executor on h's
 * threads: h->warmup passes, then the median of h->runs (with fastest, the minimum: what a shared
 * machine's interference disturbs least). per_node (g->nnodes entries, or NULL) gets each node's
 * median (minimum) step time (hn_exec_profile; 0 for nodes folded into their producer). */
hn_status hn_host_measure(const hn_host *h, hn_graph *g, bool fastest, double *seconds, double *per_node);

/* A latency lookup table in the style of FBNet and ProxylessNAS: each node is measured once, alone
 * (a graph of just that op on its input shape and types, at batch 1, on h's threads; the fastest of
 * at least h->runs runs and 5 ms, which a shared machine's interference disturbs least), keyed by its op,
 * shapes and attributes, and cached in a file; a network's latency is predicted as the sum of its
 * nodes' entries (nodes the inference engine fuses into their producer count 0). */
typedef struct hn_host_lut hn_host_lut;
/* Opens the table, reading path if it exists (a TSV of key, seconds; "" means no file). */
hn_status hn_host_lut_open(const hn_host *h, const char *path, hn_host_lut **out);
/* Predicts g's latency, measuring the nodes not yet in the table. per_node (g->nnodes, or NULL). */
hn_status hn_host_lut_predict(hn_host_lut *lut, const hn_graph *g, double *seconds, double *per_node);
/* Entries in the table. */
int hn_host_lut_size(const hn_host_lut *lut);
/* Writes the table back to its file (if it has one and grew) and frees it. */
hn_status hn_host_lut_close(hn_host_lut *lut);

/* The value of a named metric of c; false if the name is unknown. */
bool hn_hw_metric(const hn_hw_cost *c, const char *name, double *value);
/* The metric names, NULL-terminated. */
const char *const *hn_hw_metric_names(void);

#ifdef __cplusplus
}
#endif
#endif
