/* MBConv macro space: MobileNetV2 inverted-residual blocks (Sandler et al. 2018) searched the way
 * ProxylessNAS and FBNet search them, sized for 16..32-pixel images and microcontrollers.
 *
 * Network, for an input of C channels at the searched resolution r x r:
 *   stem     conv3x3 stride 1 to the first stage's channels, BN, ReLU6
 *   stage    base channels  blocks  stride   (the stride is the first block's; the others are 1)
 *     1           16           2       1
 *     2           24           3       2
 *     3           40           3       2
 *     4           80           4       2
 *     5           96           3       1
 *   head     conv1x1 to 256, BN, ReLU6, global average pool, linear classifier (with bias)
 * A stage's channels are base x its width multiplier, rounded as MobileNetV2's _make_divisible(v, 8)
 * does (to the nearest multiple of 8, at least 8, and never more than 10 % below v).
 *
 * A block kKeE with input channels i and output o: if E > 1, conv1x1 i -> i*E, BN, ReLU6; depthwise
 * convKxK (padding K/2, the block's stride) on the hidden channels, BN, ReLU6; conv1x1 -> o, BN; plus
 * the input when the stride is 1 and i = o. Convolutions have no bias. skip is the identity, and
 * removes the block: that is how a stage's depth is searched (1 .. its blocks). The first block of a
 * stage changes the shape and cannot be skipped.
 *
 * Genotype, 21 decisions: resolution {16, 20, 24, 28, 32}; per stage, width {0.5, 0.75, 1.0, 1.25};
 * per block, an op {k3e1, k3e3, k3e6, k5e1, k5e3, k5e6, k7e1, k7e3, k7e6, skip} (first blocks: without
 * skip). Size 5 * 4^5 * 9^5 * 10^10 = 3,023,308,800,000,000,000.
 * String form: the resolution, then per stage its width and its blocks:
 *   r28|w1.0:k3e1,skip|w0.75:k5e6,k3e3,skip|w1.0:k7e6,k3e3,skip|w0.5:k5e3,k5e3,k3e6,skip|w1.0:k3e6,skip,skip
 * The space's input shape gives only the channel count; the resolution is the genotype's (a trainer
 * resizes the images to it). */
#include <stdio.h>
#include <string.h>

#include "hwnas/space.h"
#include "mbconv_stage.h"

enum { NRES = MB_NRES, NWIDTH = MB_NWIDTH, NSTAGES = 5, NBLOCKS = 15, NOPS = MB_NOPS, SKIP = MB_SKIP, HEAD_CHANNELS = 256 };
enum { D_RES = 0, D_WIDTH = 1, D_BLOCK = D_WIDTH + NSTAGES, NDECISIONS = D_BLOCK + NBLOCKS };
/* Quantization-policy slots: stem, then expand / depthwise / project of each block, head, classifier. */
enum { SLOT_STEM = 0, SLOT_BLOCK = 1, SLOT_HEAD = SLOT_BLOCK + 3 * NBLOCKS, SLOT_CLASSIFIER, MBCONV_SLOTS };

static const struct {
    int channels, blocks, stride;
} stages[NSTAGES] = {{16, 2, 1}, {24, 3, 2}, {40, 3, 2}, {80, 4, 2}, {96, 3, 1}};
static const int choices[NDECISIONS] = {NRES,   NWIDTH, NWIDTH, NWIDTH, NWIDTH, NWIDTH, NOPS - 1,
                                        NOPS,   NOPS - 1, NOPS, NOPS,   NOPS - 1, NOPS, NOPS,
                                        NOPS - 1, NOPS, NOPS, NOPS,   NOPS - 1, NOPS, NOPS};

static int stage_channels(int stage, int width) { return mb_stage_channels(stages[stage].channels, width); }

static size_t format(const hn_space *s, const uint8_t *g, char *buf, size_t cap) {
    (void)s;
    size_t n = mb_format_resolution(buf, cap, g[D_RES]);
    for (int st = 0, j = 0; st < NSTAGES; j += stages[st++].blocks)
        n += mb_format_stage(buf + (n < cap ? n : cap), n < cap ? cap - n : 0, g[D_WIDTH + st], g + D_BLOCK + j,
                             stages[st].blocks);
    return n;
}

static hn_status parse(const hn_space *s, const char *str, uint8_t *g) {
    (void)s;
    const char *p = str;
    hn_status st = mb_parse_resolution("mbconv", str, &p, &g[D_RES]);
    for (int k = 0, j = 0; !st && k < NSTAGES; j += stages[k++].blocks)
        st = mb_parse_stage("mbconv", str, &p, k, stages[k].blocks, &g[D_WIDTH + k], g + D_BLOCK + j);
    if (!st && *p) st = space_parse_error("mbconv", str, p, "the end of the string");
    return st;
}

static hn_status to_graph(const hn_space *s, const uint8_t *geno, const hn_space_config *cfg, hn_graph **out) {
    *out = NULL;
    if (cfg->classes < 1 || cfg->input.c < 1)
        return hn_error(HN_ERR_INVALID, "mbconv: %d input channels and %d classes must be positive", cfg->input.c,
                        cfg->classes);
    for (int d = 0; d < NDECISIONS; d++)
        if (geno[d] >= s->choices[d])
            return hn_error(HN_ERR_INVALID, "mbconv: decision %d has value %d (0..%d)", d, geno[d], s->choices[d] - 1);
    int r = mb_resolutions[geno[D_RES]];
    builder b = {NULL, hn_graph_new((hn_shape){cfg->input.c, r, r}, &b.g)};
    if (b.st) return b.st;
    int c = stage_channels(0, geno[D_WIDTH]);
    int x = mb_conv_bn(&b, 0, c, 3, 1, 1, true, SLOT_STEM);
    for (int st = 0, j = 0; st < NSTAGES; st++) {
        int o = stage_channels(st, geno[D_WIDTH + st]);
        for (int k = 0; k < stages[st].blocks; k++, j++) {
            if (geno[D_BLOCK + j] == SKIP) continue;
            x = mb_block(&b, x, c, o, k ? 1 : stages[st].stride, geno[D_BLOCK + j], SLOT_BLOCK + 3 * j);
            c = o;
        }
    }
    x = mb_conv_bn(&b, x, HEAD_CHANNELS, 1, 1, 1, true, SLOT_HEAD);
    x = build_op(&b, HN_OP_FLATTEN, build_op(&b, HN_OP_GLOBAL_AVGPOOL, x));
    build_linear(&b, x, cfg->classes, SLOT_CLASSIFIER);
    if (b.st) {
        hn_graph_free(b.g);
        return hn_error_prefix(b.st, "mbconv network on %dx%dx%d", cfg->input.c, r, r);
    }
    *out = b.g;
    return HN_OK;
}

static void qslot_name(const hn_space *s, int slot, char *buf, size_t cap) {
    (void)s;
    static const char *const parts[3] = {"expand", "depthwise", "project"};
    if (slot == SLOT_STEM) {
        snprintf(buf, cap, "stem conv");
    } else if (slot < SLOT_HEAD) {
        int j = (slot - SLOT_BLOCK) / 3, st = 0;
        while (j >= stages[st].blocks) j -= stages[st++].blocks;
        snprintf(buf, cap, "stage %d block %d %s", st + 1, j + 1, parts[(slot - SLOT_BLOCK) % 3]);
    } else {
        snprintf(buf, cap, slot == SLOT_HEAD ? "head conv" : "classifier");
    }
}

const hn_space hn_space_mbconv = {
    .name = "mbconv",
    .description = "MBConv macro space: resolution {16..32}, 5 stages of 2-4 blocks {k3,k5,k7} x {e1,e3,e6} or "
                   "skip, width {0.5..1.25} per stage",
    .ndecisions = NDECISIONS,
    .choices = choices,
    .format = format,
    .parse = parse,
    .to_graph = to_graph,
    .nqslots = MBCONV_SLOTS,
    .qslot_name = qslot_name,
    .defaults = {{1, 28, 28}, 10, 0, 0},
    .largest = "r32|w1.25:k7e6,k7e6|w1.25:k7e6,k7e6,k7e6|w1.25:k7e6,k7e6,k7e6|w1.25:k7e6,k7e6,k7e6,k7e6|"
               "w1.25:k7e6,k7e6,k7e6",
    .smallest = "r16|w0.5:k3e1,skip|w0.5:k3e1,skip,skip|w0.5:k3e1,skip,skip|w0.5:k3e1,skip,skip,skip|"
                "w0.5:k3e1,skip,skip",
    .resolution_decision = D_RES,
};
