/* The microcontroller model (docs/hardware.md): latency from sustained MACs per cycle per data-type
 * class and kernel kind, SRAM from the fused network's buffer schedule plus the running kernel's
 * scratch buffer, flash from the deployed weights. */
#include <string.h>

#include "models.h"

static hn_kernel_kind kernel_of(const hn_graph *g, const hn_node *n) {
    if (n->op == HN_OP_LINEAR) return HN_KERNEL_LINEAR;
    int cin = g->nodes[n->inputs[0]].shape.c;
    if (n->groups > 1 && n->groups == cin) return HN_KERNEL_DEPTHWISE;
    if (n->kernel == 1 && n->groups == 1) return HN_KERNEL_POINTWISE;
    return HN_KERNEL_CONV;
}

/* Scratch of CMSIS-NN's kernels (their _get_buffer_size functions, DSP extension, GCC): a convolution
 * unfolds two columns of int16, 4 x cin x k x k bytes with cin x k x k rounded up to 4; a depthwise
 * one (multiplier 1), cin x k x k x 2 bytes, but none at 3x3 with padding <= 1 (its own kernel); 1x1
 * convolutions and linear layers need none. Float kernels unfold floats: twice that. Checked against
 * firmware built with CMSIS-NN (bench/firmware_vs_mcu_model). */
static int64_t scratch_bytes(const hn_graph *g, const hn_node *n, hn_kernel_kind kind, hn_dtype_class c) {
    if (n->op == HN_OP_ATTENTION) { /* int8 (s8_attention): one query's int32 scores and int8 probabilities;
                                       float: one head's T x T scores. Either way the token buffers around it,
                                       not the weights, fill the SRAM (MCUFormer's point) */
        int64_t T = (int64_t)n->shape.h * n->shape.w;
        return c == HN_CLASS_INT8 ? 5 * T : 4 * T * T;
    }
    if (n->op == HN_OP_LINEAR_ATTENTION) { /* one head's d x d sums of values by keys and the d key sums */
        int64_t d = n->shape.c / n->heads;
        return 4 * (d * d + d);
    }
    if (n->op == HN_OP_SOFTMAX) return c == HN_CLASS_INT8 ? 4 * (int64_t)n->shape.c : 0; /* a pixel's channels, int32 */
    if (kind == HN_KERNEL_LINEAR || kind == HN_KERNEL_POINTWISE) return 0;
    int64_t cin = g->nodes[n->inputs[0]].shape.c / n->groups, kk = (int64_t)n->kernel * n->kernel, bytes = 0;
    if (kind == HN_KERNEL_CONV) bytes = 4 * ((cin * kk + 3) / 4 * 4);
    if (kind == HN_KERNEL_DEPTHWISE && n->out == n->groups && !(n->kernel == 3 && n->pad <= 1)) bytes = 2 * (int64_t)n->groups * kk;
    return c == HN_CLASS_FP32 ? 2 * bytes : bytes;
}

/* Deployed weights: the kernel at its type, and per output channel a 32-bit bias plus, for integer
 * kernels, a 32-bit requantisation multiplier and shift (batch norm folded in); a batch norm that
 * nothing absorbs keeps a 32-bit scale and shift per channel, a layer norm its gain and shift (int8:
 * a multiplier and a bias, s8_layernorm), an int8 GELU or hard-swish its 256-code table. */
static int64_t flash_bytes(const hn_graph *g, const hn_node *n, bool fused) {
    if (n->op == HN_OP_CONV2D || n->op == HN_OP_LINEAR) {
        hn_dtype_class c = hw_dtype_class(g, n);
        return (hw_kernel_elems(n) * hn_numtype_bits(n->wtype) + 7) / 8 +
               (int64_t)n->out * (c == HN_CLASS_INT8 || c == HN_CLASS_INT16 ? 12 : 4);
    }
    bool int8 = hw_dtype_class(g, n) == HN_CLASS_INT8;
    if (n->op == HN_OP_LAYERNORM) /* gain and shift per channel; int8: a multiplier (8 bytes) and a bias */
        return (int8 ? 12 : 8) * (int64_t)n->shape.c;
    if (int8 && (n->op == HN_OP_GELU || n->op == HN_OP_HARDSWISH)) return 256; /* the table of the codes */
    return n->op == HN_OP_BATCHNORM && !fused ? 8 * (int64_t)n->shape.c : 0;
}

hn_status mcu_graph_cost(const hn_mcu *m, const hn_graph *g, hn_hw_cost *total, hn_hw_cost *layers) {
    const int nn = g->nnodes;
    bool *fused = hn_alloc(sizeof(bool) * (size_t)nn);
    int64_t *live = hn_alloc(sizeof(int64_t) * (size_t)nn), peak;
    hn_status st = fused && live ? HN_OK : hn_error_prefix(HN_ERR_NOMEM, "costing %d nodes", nn);
    if (!st) st = hn_graph_fused(g, fused);
    if (!st) st = hw_schedule(g, fused, live, &peak);
    int64_t cycles = 0, sram = 0, flash = m->runtime_flash_bytes;
    for (int i = 0; !st && i < nn; i++) {
        const hn_node *n = &g->nodes[i];
        int64_t cyc = 0, scratch = 0, fl = flash_bytes(g, n, fused[i]);
        bool attention = n->op == HN_OP_ATTENTION || n->op == HN_OP_LINEAR_ATTENTION;
        if (n->op == HN_OP_CONV2D || n->op == HN_OP_LINEAR || attention) {
            hn_kernel_kind kind = attention ? HN_KERNEL_LINEAR : kernel_of(g, n); /* matrix products */
            hn_dtype_class c = hw_dtype_class(g, n);
            if (m->macs_per_cycle[c][kind] <= 0) c = HN_CLASS_FP32; /* emulated: e.g. minifloats decoded to float */
            if (m->macs_per_cycle[c][kind] <= 0) {
                st = hn_error(HN_ERR_INVALID, "node '%s': the device has no %s kernel for this data type or fp32",
                              n->name, (const char *const[]){"conv", "depthwise", "pointwise", "linear"}[kind]);
                break;
            }
            cyc = (int64_t)((double)hn_node_macs(g, i) / m->macs_per_cycle[c][kind] + 0.5);
            if (attention) cyc += (int64_t)((double)hw_elementwise_ops(g, n) * m->elementwise_cycles + 0.5);
            scratch = scratch_bytes(g, n, kind, c);
        } else if (!fused[i]) {
            cyc = (int64_t)((double)hw_elementwise_ops(g, n) * m->elementwise_cycles + 0.5);
            scratch = scratch_bytes(g, n, HN_KERNEL_LINEAR, hw_dtype_class(g, n));
        }
        if (live[i] + scratch > sram) sram = live[i] + scratch;
        cycles += cyc;
        flash += fl;
        if (layers)
            layers[i] = (hn_hw_cost){.latency_s = (double)cyc / m->clock_hz, .energy_j = m->power_w * (double)cyc / m->clock_hz,
                                     .cycles = cyc, .peak_sram_bytes = live[i] + scratch, .flash_bytes = fl, .fits = true,
                                     .macs = hn_node_macs(g, i), .params = (int64_t)n->nparams};
    }
    hn_free(fused);
    hn_free(live);
    if (st) return st;
    total->cycles = cycles;
    total->latency_s = (double)cycles / m->clock_hz;
    total->energy_j = m->power_w * total->latency_s;
    total->peak_sram_bytes = sram + m->runtime_sram_bytes;
    total->flash_bytes = flash;
    total->fits = total->peak_sram_bytes <= m->sram_bytes && total->flash_bytes <= m->flash_bytes;
    return HN_OK;
}
