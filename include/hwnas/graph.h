/* The graph IR: a DAG of nodes (op, attributes, inputs) with inferred shapes. Training, counting,
 * hardware models and export all read this one representation.
 *
 * Shapes are per sample, (C, H, W); the batch size is chosen when the graph is executed. A flat
 * vector (after flatten, global average pool or linear) is (F, 1, 1). Node 0 is always the input.
 *
 * Building a graph allocates nothing per node beyond the node array, so spaces can build and count
 * thousands of genotypes a second; hn_graph_finalize allocates the parameters.
 *
 * Parameters of all nodes live in one contiguous block of floats owned by the graph (llm.c style),
 * so that an optimizer step is one loop and saving weights is one write. Per node, its parameters are
 * [weight, bias] (conv2d, linear) or [gamma, beta] (batchnorm); batch norm's running mean and
 * variance live in a second block, `state`, which is saved but not trained.
 *
 * Example:
 *     hn_graph *g; hn_graph_new((hn_shape){1, 28, 28}, &g);
 *     int x = 0, id;
 *     hn_node_spec c = hn_spec(HN_OP_CONV2D, x); c.out = 16; c.kernel = 3; c.pad = 1;
 *     hn_graph_add(g, &c, &id);   ...
 *     hn_graph_finalize(g);       // allocates parameters
 *     hn_graph_init_params(g, seed);
 *     hn_graph_free(g);           // frees everything the graph owns
 */
#ifndef HWNAS_GRAPH_H
#define HWNAS_GRAPH_H

#include <stdbool.h>

#include "hwnas/core.h"
#include "hwnas/numtype.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    HN_OP_INPUT = 0,
    HN_OP_CONV2D,
    HN_OP_BATCHNORM,
    HN_OP_RELU,
    HN_OP_RELU6,
    HN_OP_AVGPOOL,
    HN_OP_MAXPOOL,
    HN_OP_GLOBAL_AVGPOOL,
    HN_OP_LINEAR,
    HN_OP_ADD,
    HN_OP_CONCAT,
    HN_OP_ZERO,
    HN_OP_IDENTITY,
    HN_OP_FLATTEN,
    /* attention and its parts: a (C, H, W) feature map is a sequence of H*W tokens of C features */
    HN_OP_LAYERNORM, /* over the channels of each token (nn.LayerNorm(C) on the token axis) */
    HN_OP_GELU,      /* the tanh form (F.gelu(approximate='tanh')) */
    HN_OP_HARDSWISH,
    HN_OP_SOFTMAX,   /* over the channels of each token */
    HN_OP_ATTENTION, /* multi-head self-attention: input (3D, H, W) = queries, keys, values stacked on
                        channels (a 1x1 conv makes them), output (D, H, W); heads divide D */
    HN_OP_LINEAR_ATTENTION, /* ReLU linear attention (EfficientViT, LowFormer): the same input and output,
                               cost linear in the tokens; HN_LINEAR_ATTENTION_EPS in its denominator */
    HN_OP_COUNT
} hn_op;

/* Linear attention's O_t = A phi(Q_t) / (z . phi(Q_t) + HN_LINEAR_ATTENTION_EPS): what keeps a token whose
 * features are all zero after the ReLU finite. */
#define HN_LINEAR_ATTENTION_EPS 1e-6f

/* The op's name in network files and messages ("conv2d", "batchnorm", ...). */
const char *hn_op_name(hn_op op);
/* Looks an op up by name; returns HN_OP_COUNT if unknown. */
hn_op hn_op_from_name(const char *name);
/* The function of one value of an elementwise op with no parameters (gelu, hardswish: the float
 * engine's own, which the int8 model tabulates), or NULL for any other op. */
typedef float (*hn_elementwise_fn)(float x);
hn_elementwise_fn hn_op_elementwise(hn_op op);

typedef struct {
    int c, h, w;
} hn_shape;

/* Elements of a tensor of shape s (one sample). */
static inline size_t hn_shape_numel(hn_shape s) { return (size_t)s.c * (size_t)s.h * (size_t)s.w; }

#define HN_MAX_INPUTS 16
#define HN_NAME_MAX 48 /* node names are at most HN_NAME_MAX - 1 bytes */

/* What a caller fills to add a node. Fields an op does not use are ignored. */
typedef struct {
    hn_op op;
    const char *name;         /* optional, < HN_NAME_MAX bytes; default "<op><index>" */
    int ninputs;
    int inputs[HN_MAX_INPUTS]; /* node ids, each < the new node's id */
    int out;                  /* conv2d: output channels; linear: output features */
    int kernel, stride, pad;  /* conv2d and pooling (square); stride defaults to 1 (0 means 1) */
    int groups;               /* conv2d; 0 means 1; depthwise: groups = in channels = out */
    bool bias;                /* conv2d, linear */
    bool count_include_pad;   /* avgpool: divide by the full window (PyTorch's default) */
    float eps, momentum;      /* batchnorm, layernorm; 0 means PyTorch's defaults 1e-5 and 0.1 */
    int heads;                /* attention: 0 means 1 */
} hn_node_spec;

/* A spec with op and one input; everything else zero (defaults). */
hn_node_spec hn_spec(hn_op op, int input);

typedef struct {
    hn_op op;
    char name[HN_NAME_MAX];   /* "<op><index>" ("relu6_3" after a digit) unless the spec named it */
    int ninputs;
    int inputs[HN_MAX_INPUTS];
    int out, kernel, stride, pad, groups, heads;
    bool bias, count_include_pad;
    float eps, momentum;
    hn_shape shape;           /* inferred output shape */
    size_t param_off, nparams; /* this node's slice of the graph's parameter block */
    size_t state_off, nstate;  /* this node's slice of the state block (batch norm statistics) */
    int qslot;                 /* conv2d, linear: the quantization-policy slot a space gave it, or -1 */
    hn_numtype wtype, atype;   /* number types of the weights and of the output (HN_FP32 unless set) */
} hn_node;

/* The systolic array a co-searched genotype maps its network onto (spaces "NAME+systolic";
 * hn_systolic_apply_arch); rows 0: none, a device profile's own array. dataflow: an hn_dataflow
 * (hw.h); bandwidth: DRAM words per cycle per operand, 0 unlimited. */
typedef struct {
    int rows, cols, dataflow;
    double ifmap_sram_kb, filter_sram_kb, ofmap_sram_kb, bandwidth;
} hn_accel;

typedef struct hn_graph {
    hn_arena *arena;     /* owns the parameter, gradient and state blocks */
    int nnodes, cap;
    hn_node *nodes;      /* nodes[0] is the input; the output is the last node */
    bool finalized;
    size_t nparams, nstate;
    float *params;       /* nparams floats, all trainable parameters */
    float *grads;        /* nparams floats, gradients (written by a backward pass) */
    float *state;        /* nstate floats, batch-norm running statistics */
    hn_accel accel;      /* the co-searched accelerator, if any */
} hn_graph;

/* Creates a graph whose node 0 is an input of the given shape. The caller frees it with hn_graph_free. */
hn_status hn_graph_new(hn_shape input, hn_graph **out);
void hn_graph_free(hn_graph *g);

/* Adds a node, infers its shape and stores its id in *id. Impossible shapes (a kernel larger than
 * the padded input, channels not divisible by groups, add of different shapes, ...) return
 * HN_ERR_SHAPE with a message naming the node; the graph is unchanged then. */
hn_status hn_graph_add(hn_graph *g, const hn_node_spec *spec, int *id);

/* Allocates the parameter, gradient and state blocks. No node can be added afterwards. */
hn_status hn_graph_finalize(hn_graph *g);

/* PyTorch's default initialisation: conv2d and linear weights and biases uniform in
 * +-1/sqrt(fan_in) (kaiming_uniform with a = sqrt(5)); batch norm gamma 1, beta 0, running mean 0,
 * running variance 1. Deterministic for a seed. */
void hn_graph_init_params(hn_graph *g, uint64_t seed);

/* Sets every node's weight type to w and output type to a: a uniform policy such as int8/int8. */
void hn_graph_set_numtypes(hn_graph *g, hn_numtype w, hn_numtype a);
/* After the layers with weights (conv2d, linear) got their types: every other node takes the type of
 * its widest input (it passes values through), and the input node the output type of the first layer
 * with weights (a quantized network is fed in the type its first layer computes in). */
void hn_graph_propagate_numtypes(hn_graph *g);

/* For every node, whether a deployment runs it inside its producer at no cost -- the rule the
 * hardware models cost and the int8 model (quant.h) builds by: a batch norm whose input is a
 * convolution or linear layer read by nothing else (folded into the weights); a relu/relu6 whose input
 * is read by nothing else and is a convolution, linear layer, batch norm or add (applied as the
 * producer writes its output); flatten, identity and the input are views. fused has g->nnodes
 * entries. Fails only with HN_ERR_NOMEM. */
hn_status hn_graph_fused(const hn_graph *g, bool *fused);

/* Index of the node named name, or -1. */
int hn_graph_find(const hn_graph *g, const char *name);

/* Parameters (trainable) and MACs of one forward pass of one sample (convolutions and linear layers;
 * the convention NAS papers call FLOPs). */
int64_t hn_graph_param_count(const hn_graph *g);
int64_t hn_graph_macs(const hn_graph *g);
int64_t hn_node_macs(const hn_graph *g, int id);

/* The tensors of node id's parameters and state, PyTorch-shaped and named "<node>.weight",
 * "<node>.bias", "<node>.running_mean", "<node>.running_var". Fills up to 4 entries and returns
 * how many. Pointers alias the graph's blocks. */
typedef struct {
    char name[96];
    int ndim;
    int64_t shape[4];
    float *data;
    bool trainable;
} hn_param_view;
int hn_node_params(const hn_graph *g, int id, hn_param_view views[4]);

/* Saves all parameters and state as a tensor file; loading checks that names and shapes match the
 * graph and names the first mismatch. */
hn_status hn_graph_save_weights(const hn_graph *g, const char *path);
hn_status hn_graph_load_weights(hn_graph *g, const char *path);

/* Reads a network file (YAML; see docs/network-files.md). Errors name the file, line and field. */
hn_status hn_graph_load_yaml(const char *path, hn_graph **out);
/* Writes g as a network file that hn_graph_load_yaml reads back into the same nodes (names,
 * attributes, number types); name (optional) becomes the file's `name:`. Weights are not written. */
hn_status hn_graph_save_yaml(const hn_graph *g, const char *name, const char *path);

#ifdef __cplusplus
}
#endif
#endif
