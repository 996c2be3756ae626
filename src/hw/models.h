/* What the device models share (internal to src/hw/): which nodes a deployed network fuses away, the
 * data-type class a layer computes in, and each model's graph cost, dispatched by hn_device_cost. */
#ifndef HWNAS_HW_MODELS_H
#define HWNAS_HW_MODELS_H

#include "../core/yaml_util.h"
#include "hwnas/hw.h"

/* A device model: one file each (src/hw/device_KIND.c defines hn_device_model_KIND; the build lists
 * the files, so a new model is one new file). params points at hn_device.params. */
struct hn_device_model {
    const char *kind;
    const char *fields;  /* the profile fields it reads besides name, kind, description (for messages) */
    bool measured;       /* runs the network instead of modelling it */
    size_t params_size;  /* <= HN_DEVICE_PARAMS_MAX */
    void (*defaults)(void *params);
    /* Reads one profile field; *known false if the model has no field key. Errors name f's line. */
    hn_status (*read_field)(void *params, const yfile *f, const char *key, const yaml_node_t *v, bool *known);
    /* The first required field the profile did not give, or NULL. */
    const char *(*missing)(const void *params);
    /* hn_device_cost's model part: total (latency, energy, cycles, memory, fits) and per-layer shares. */
    hn_status (*cost)(const void *params, const hn_graph *g, hn_hw_cost *total, hn_hw_cost *layers);
    void (*describe)(const void *params, FILE *f);
};

/* generated: &hn_device_model_KIND for every src/hw/device_KIND.c, NULL-terminated */
extern const hn_device_model *const hn_builtin_device_models[];

/* Data-type class and kernel names as profiles spell them; the index of s in names (-1 if none). */
extern const char *const hw_class_names[HN_CLASS_COUNT];
int hw_index_of(const char *s, const char *const *names, int n);
/* Profile-reading helpers the models share: an unknown key, a mapping expected, an int64 field. */
hn_status hw_bad_key(const yfile *f, const yaml_node_t *k, const char *where, const char *known);
hn_status hw_expect_map(const yfile *f, const yaml_node_t *n, const char *field);
hn_status hw_read_int64(const yfile *f, const yaml_node_t *n, const char *field, int64_t *out);

/* Which nodes a deployment fuses away: hn_graph_fused (graph.h), shared with the int8 model. */

/* The class a node computes in, from its weight type (if it has weights) and its input's type. */
hn_dtype_class hw_dtype_class(const hn_graph *g, const hn_node *n);

/* Element-wise work of a node without MACs (pooling windows, additions, standalone batch norm or
 * activation), in operations per sample; 0 for views and fused nodes. */
int64_t hw_elementwise_ops(const hn_graph *g, const hn_node *n);

/* Bytes of a node's output at its activation type; elements of its kernel (conv2d, linear; else 0). */
int64_t hw_act_bytes(const hn_node *n);
int64_t hw_kernel_elems(const hn_node *n);

/* The sequential schedule's activation memory: nodes run in order, each writes a buffer of its own
 * -- or, where fused[i] (fused may be NULL), its producer's -- which lives until its last reader has
 * run (the output's until the end). live[i] (may be NULL): bytes alive while node i runs; *peak their
 * maximum. Fails only with HN_ERR_NOMEM. */
hn_status hw_schedule(const hn_graph *g, const bool *fused, int64_t *live, int64_t *peak);

/* A SCALE-Sim layer's output size, as SCALE-Sim rounds it: ceil((ifmap - filter + stride) / stride)
 * in each dimension, one more than an unpadded convolution's floor where the stride does not divide
 * ifmap - filter (that last window reaches past the input: its missing words are null demands). */
void hw_systolic_ofmap(const hn_systolic_layer *l, int64_t *oh, int64_t *ow);

/* A layer's DRAM traffic, stalls and total cycles under a limited bandwidth (a->bandwidth >= 1, whole
 * words per cycle), replaying SCALE-Sim v2's double-buffered SRAMs (systolic_memory.c): sets r's
 * dram_* counts, stall_cycles and total_cycles for one copy of the layer. Fails with HN_ERR_NOMEM,
 * or HN_ERR_INVALID for an ifmap or filter SRAM of under 2 words or a layer too large to replay. */
hn_status hn_systolic_memory(const hn_systolic *a, const hn_systolic_layer *l, hn_systolic_result *r);

hn_status mcu_graph_cost(const hn_mcu *m, const hn_graph *g, hn_hw_cost *total, hn_hw_cost *layers);
hn_status roofline_graph_cost(const hn_roofline *r, const hn_graph *g, hn_hw_cost *total, hn_hw_cost *layers);
hn_status host_graph_cost(const hn_host *h, const hn_graph *g, hn_hw_cost *total, hn_hw_cost *layers);

#endif
