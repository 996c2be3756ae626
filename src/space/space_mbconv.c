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

#include "builder.h"
#include "hwnas/space.h"

enum { NRES = 5, NWIDTH = 4, NSTAGES = 5, NBLOCKS = 15, NOPS = 10, SKIP = 9, HEAD_CHANNELS = 256 };
enum { D_RES = 0, D_WIDTH = 1, D_BLOCK = D_WIDTH + NSTAGES, NDECISIONS = D_BLOCK + NBLOCKS };
/* Quantization-policy slots: stem, then expand / depthwise / project of each block, head, classifier. */
enum { SLOT_STEM = 0, SLOT_BLOCK = 1, SLOT_HEAD = SLOT_BLOCK + 3 * NBLOCKS, SLOT_CLASSIFIER, MBCONV_SLOTS };

static const int resolutions[NRES] = {16, 20, 24, 28, 32};
static const char *const width_names[NWIDTH] = {"0.5", "0.75", "1.0", "1.25"};
static const int width_quarters[NWIDTH] = {2, 3, 4, 5}; /* the multiplier x 4, so rounding is exact */
static const struct {
    int channels, blocks, stride;
} stages[NSTAGES] = {{16, 2, 1}, {24, 3, 2}, {40, 3, 2}, {80, 4, 2}, {96, 3, 1}};
static const char *const op_names[NOPS] = {"k3e1", "k3e3", "k3e6", "k5e1", "k5e3",
                                           "k5e6", "k7e1", "k7e3", "k7e6", "skip"};
static const int choices[NDECISIONS] = {NRES,   NWIDTH, NWIDTH, NWIDTH, NWIDTH, NWIDTH, NOPS - 1,
                                        NOPS,   NOPS - 1, NOPS, NOPS,   NOPS - 1, NOPS, NOPS,
                                        NOPS - 1, NOPS, NOPS, NOPS,   NOPS - 1, NOPS, NOPS};

static int op_kernel(int op) { return 3 + 2 * (op / 3); }
static int op_expansion(int op) { return (int[]){1, 3, 6}[op % 3]; }

/* MobileNetV2's _make_divisible(base * quarters / 4, 8) in integers */
static int stage_channels(int stage, int width) {
    int v4 = stages[stage].channels * width_quarters[width]; /* 4 v */
    int c = (v4 + 16) / 32 * 8;                             /* int(v + 4) // 8 * 8 */
    if (c < 8) c = 8;
    if (10 * 4 * c < 9 * v4) c += 8; /* c < 0.9 v */
    return c;
}

static size_t format(const hn_space *s, const uint8_t *g, char *buf, size_t cap) {
    (void)s;
    size_t n = 0;
#define PUT(...) n += (size_t)snprintf(buf + (n < cap ? n : cap), n < cap ? cap - n : 0, __VA_ARGS__)
    PUT("r%d", resolutions[g[D_RES]]);
    for (int st = 0, j = 0; st < NSTAGES; st++) {
        PUT("|w%s:", width_names[g[D_WIDTH + st]]);
        for (int b = 0; b < stages[st].blocks; b++, j++) PUT("%s%s", b ? "," : "", op_names[g[D_BLOCK + j]]);
    }
#undef PUT
    return n;
}

/* Matches one of names[0..n) at p followed by a byte in `ends` (or, if at_end, the string's end);
 * returns its index or -1. */
static int match(const char *p, const char *const *names, int n, const char *ends, bool at_end) {
    for (int k = 0; k < n; k++) {
        size_t len = strlen(names[k]);
        /* strchr would find the terminating NUL in ends too */
        if (strncmp(p, names[k], len) == 0 && (p[len] ? strchr(ends, p[len]) != NULL : at_end)) return k;
    }
    return -1;
}

static hn_status parse(const hn_space *s, const char *str, uint8_t *g) {
    (void)s;
    const char *p = str;
#define EXPECT(cond, what)                                                                                  \
    if (!(cond)) return space_parse_error("mbconv", str, p, what)
    EXPECT(*p == 'r', "'r' and the resolution (r16, r20, r24, r28 or r32)");
    p++;
    static const char *const res_names[NRES] = {"16", "20", "24", "28", "32"};
    int r = match(p, res_names, NRES, "|", true); /* the next check names a missing "|w" */
    EXPECT(r >= 0, "a resolution of 16, 20, 24, 28 or 32 followed by '|'");
    g[D_RES] = (uint8_t)r;
    p += strlen(res_names[r]);
    for (int st = 0, j = 0; st < NSTAGES; st++) {
        char what[96];
        snprintf(what, sizeof what, "'|w' and the width of stage %d (0.5, 0.75, 1.0 or 1.25)", st + 1);
        EXPECT(p[0] == '|' && p[1] == 'w', what);
        p += 2;
        int w = match(p, width_names, NWIDTH, ":", false);
        EXPECT(w >= 0, "a width of 0.5, 0.75, 1.0 or 1.25 followed by ':'");
        g[D_WIDTH + st] = (uint8_t)w;
        p += strlen(width_names[w]) + 1;
        for (int b = 0; b < stages[st].blocks; b++, j++) {
            if (b > 0) {
                snprintf(what, sizeof what, "',' and block %d of stage %d (stage %d has %d blocks)", b + 1, st + 1,
                         st + 1, stages[st].blocks);
                EXPECT(*p == ',', what);
                p++;
            }
            int op = match(p, op_names, NOPS, ",|", true);
            snprintf(what, sizeof what, "block %d of stage %d: k3e1 .. k7e6%s", b + 1, st + 1, b ? " or skip" : "");
            EXPECT(op >= 0, what);
            EXPECT(op != SKIP || b > 0, "an MBConv op: the first block of a stage changes the shape, so it cannot be skip");
            g[D_BLOCK + j] = (uint8_t)op;
            p += strlen(op_names[op]);
        }
    }
    EXPECT(*p == 0, "the end of the string");
#undef EXPECT
    return HN_OK;
}

static int conv_bn(builder *b, int x, int out, int k, int stride, int groups, bool relu6, int qslot) {
    x = build_op(b, HN_OP_BATCHNORM, build_conv(b, x, out, k, stride, k / 2, groups, qslot));
    return relu6 ? build_op(b, HN_OP_RELU6, x) : x;
}

/* block j (0..14) with op, from in to out channels */
static int block(builder *b, int x, int in, int out, int stride, int op, int j) {
    int hidden = in * op_expansion(op), k = op_kernel(op), slot = SLOT_BLOCK + 3 * j;
    int y = op_expansion(op) > 1 ? conv_bn(b, x, hidden, 1, 1, 1, true, slot) : x;
    y = conv_bn(b, y, hidden, k, stride, hidden, true, slot + 1);
    y = conv_bn(b, y, out, 1, 1, 1, false, slot + 2);
    if (stride == 1 && in == out) {
        int ids[2] = {y, x};
        y = build_sum(b, ids, 2);
    }
    return y;
}

static hn_status to_graph(const hn_space *s, const uint8_t *geno, const hn_space_config *cfg, hn_graph **out) {
    *out = NULL;
    if (cfg->classes < 1 || cfg->input.c < 1)
        return hn_error(HN_ERR_INVALID, "mbconv: %d input channels and %d classes must be positive", cfg->input.c,
                        cfg->classes);
    for (int d = 0; d < NDECISIONS; d++)
        if (geno[d] >= s->choices[d])
            return hn_error(HN_ERR_INVALID, "mbconv: decision %d has value %d (0..%d)", d, geno[d], s->choices[d] - 1);
    int r = resolutions[geno[D_RES]];
    builder b = {NULL, hn_graph_new((hn_shape){cfg->input.c, r, r}, &b.g)};
    if (b.st) return b.st;
    int c = stage_channels(0, geno[D_WIDTH]);
    int x = conv_bn(&b, 0, c, 3, 1, 1, true, SLOT_STEM);
    for (int st = 0, j = 0; st < NSTAGES; st++) {
        int o = stage_channels(st, geno[D_WIDTH + st]);
        for (int k = 0; k < stages[st].blocks; k++, j++) {
            if (geno[D_BLOCK + j] == SKIP) continue;
            x = block(&b, x, c, o, k ? 1 : stages[st].stride, geno[D_BLOCK + j], j);
            c = o;
        }
    }
    x = conv_bn(&b, x, HEAD_CHANNELS, 1, 1, 1, true, SLOT_HEAD);
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
