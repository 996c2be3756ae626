/* Hybrid convolution-attention space (AsCAN's asymmetric layout: convolutions early, where feature
 * maps are large, attention late, where tokens are few), sized for 16..32-pixel images and
 * microcontrollers.
 *
 * Network, for an input of C channels at the searched resolution r x r:
 *   stem     conv3x3 stride 1 to stage 1's channels, BN, ReLU6
 *   conv stages, MBConv blocks exactly as the mbconv space's first three (space_mbconv.c):
 *     1: 16 base channels, 2 blocks, stride 1;  2: 24, 3 blocks, stride 2;  3: 40, 3 blocks, stride 2
 *     the split S in {2, 3} says how many are built
 *   embed    conv3x3 stride 2 (padding 1) to D channels, BN, hard-swish: the tokens
 *   L transformer blocks (pre-norm, as ViT):
 *            x + proj(attention(qkv(layernorm(x))))         qkv: 1x1 conv D -> 3D, proj: 1x1 D -> D
 *            (attention: softmax attention, or ReLU linear attention as EfficientViT and LowFormer)
 *            x + fc2(gelu(fc1(layernorm(x))))               fc1: 1x1 D -> mD, fc2: 1x1 mD -> D
 *   head     layer norm, global average pool, linear classifier (with bias)
 * The 1x1 convolutions of the transformer blocks have a bias (nn.Linear's); the others do not (a batch
 * norm follows). At r = 28 the tokens are 7x7 with S = 2 and 4x4 with S = 3.
 *
 * Genotype, 18 decisions: resolution {16, 20, 24, 28, 32}; the widths of conv stages 1-3 {0.5, 0.75,
 * 1.0, 1.25}; their 8 block ops {k3e1 .. k7e6, skip} (a stage's first block: without skip); the split
 * {2, 3}; the embedding D {32, 48, 64, 96}; heads {1, 2, 4}; MLP ratio m {1, 2, 4}; depth L {1, 2, 3};
 * the attention {softmax, ReLU linear}. With S = 2 stage 3's decisions are unused: parsing sets them
 * to 0, so a string has one genotype. String form: the resolution, the S conv stages as mbconv writes
 * them, then the transformer, "|t:" (softmax attention) or "|r:" (ReLU linear attention):
 *   r28|w1.0:k3e6,skip|w0.75:k5e6,k3e3,skip|t:d64,h4,m2,x2 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hwnas/space.h"
#include "mbconv_stage.h"

enum { NCONV = 3, NBLOCKS = 8, NDIM = 4, NHEADS = 3, NMLP = 3, NDEPTH = 3, MAX_DEPTH = 3 };
enum {
    D_RES = 0, D_WIDTH = 1, D_BLOCK = D_WIDTH + NCONV, D_SPLIT = D_BLOCK + NBLOCKS, D_DIM, D_HEADS, D_MLP, D_DEPTH,
    D_KIND, NDECISIONS
};
/* Quantization-policy slots: stem; expand / depthwise / project of each block; embed; per transformer
 * block qkv, proj, fc1, fc2; classifier. */
enum { SLOT_STEM = 0, SLOT_BLOCK = 1, SLOT_EMBED = SLOT_BLOCK + 3 * NBLOCKS, SLOT_TRANSFORMER, SLOT_CLASSIFIER = SLOT_TRANSFORMER + 4 * MAX_DEPTH, HYBRID_SLOTS };

static const struct {
    int channels, blocks, stride;
} stages[NCONV] = {{16, 2, 1}, {24, 3, 2}, {40, 3, 2}};
static const int dims[NDIM] = {32, 48, 64, 96}, heads[NHEADS] = {1, 2, 4}, mlps[NMLP] = {1, 2, 4};
static const int choices[NDECISIONS] = {MB_NRES, MB_NWIDTH, MB_NWIDTH, MB_NWIDTH, MB_NOPS - 1, MB_NOPS, MB_NOPS - 1,
                                        MB_NOPS, MB_NOPS, MB_NOPS - 1, MB_NOPS, MB_NOPS, 2, NDIM, NHEADS, NMLP, NDEPTH, 2};
static const char kind_letter[2] = {'t', 'r'}; /* softmax attention, ReLU linear attention */

static int split_of(const uint8_t *g) { return 2 + g[D_SPLIT]; }
static int block_offset(int stage) { return stage == 0 ? 0 : stage == 1 ? 2 : 5; }

static size_t format(const hn_space *s, const uint8_t *g, char *buf, size_t cap) {
    (void)s;
    size_t n = mb_format_resolution(buf, cap, g[D_RES]);
#define AT buf + (n < cap ? n : cap), n < cap ? cap - n : 0
    for (int st = 0; st < split_of(g); st++)
        n += mb_format_stage(AT, g[D_WIDTH + st], g + D_BLOCK + block_offset(st), stages[st].blocks);
    n += (size_t)snprintf(AT, "|%c:d%d,h%d,m%d,x%d", kind_letter[g[D_KIND]], dims[g[D_DIM]], heads[g[D_HEADS]],
                          mlps[g[D_MLP]], 1 + g[D_DEPTH]);
#undef AT
    return n;
}

/* "<key><one of values>" at *p followed by `end`: the value's index into *out */
static hn_status parse_choice(const char *str, const char **p, char key, const int *values, int n, char end,
                              const char *what, uint8_t *out) {
    char *stop;
    long v = **p == key ? strtol(*p + 1, &stop, 10) : -1;
    for (int k = 0; v >= 0 && k < n; k++)
        if (values[k] == v && *stop == end && stop > *p + 1 && (*p)[1] >= '0' && (*p)[1] <= '9') {
            *out = (uint8_t)k;
            *p = end ? stop + 1 : stop;
            return HN_OK;
        }
    return space_parse_error("hybrid", str, *p, what);
}

static hn_status parse(const hn_space *s, const char *str, uint8_t *g) {
    (void)s;
    memset(g, 0, NDECISIONS);
    const char *p = str;
    hn_status st = mb_parse_resolution("hybrid", str, &p, &g[D_RES]);
    int split = 0;
    while (!st && split < NCONV && (split < 2 || (p[0] == '|' && p[1] == 'w'))) {
        st = mb_parse_stage("hybrid", str, &p, split, stages[split].blocks, &g[D_WIDTH + split], g + D_BLOCK + block_offset(split));
        split++;
    }
    if (st) return st;
    g[D_SPLIT] = (uint8_t)(split - 2);
    static const int depths[NDEPTH] = {1, 2, 3};
    if (p[0] != '|' || (p[1] != 't' && p[1] != 'r') || p[2] != ':')
        return space_parse_error("hybrid", str, p,
                                 split < NCONV ? "'|w' and conv stage 3, or '|t:' or '|r:' and the transformer"
                                               : "'|t:' or '|r:' and the transformer (there are at most 3 conv stages)");
    g[D_KIND] = p[1] == 'r';
    p += 3;
    if (!(st = parse_choice(str, &p, 'd', dims, NDIM, ',', "'d' and the embedding 32, 48, 64 or 96, then ','", &g[D_DIM])) &&
        !(st = parse_choice(str, &p, 'h', heads, NHEADS, ',', "'h' and the heads 1, 2 or 4, then ','", &g[D_HEADS])) &&
        !(st = parse_choice(str, &p, 'm', mlps, NMLP, ',', "'m' and the MLP ratio 1, 2 or 4, then ','", &g[D_MLP])))
        st = parse_choice(str, &p, 'x', depths, NDEPTH, 0, "'x' and the depth 1, 2 or 3 at the end", &g[D_DEPTH]);
    return st;
}

/* a 1x1 convolution with a bias: the token-wise linear layer of a transformer block */
static int token_linear(builder *b, int x, int out, int qslot) {
    hn_node_spec s = hn_spec(HN_OP_CONV2D, x);
    s.out = out, s.kernel = 1, s.bias = true;
    int id = build_add(b, &s);
    if (!b->st && qslot >= 0) b->g->nodes[id].qslot = qslot;
    return id;
}

static int residual(builder *b, int y, int x) {
    int ids[2] = {y, x};
    return build_sum(b, ids, 2);
}

static int transformer_block(builder *b, int x, int dim, int nheads, int mlp, hn_op attention, int slot) {
    int y = token_linear(b, build_op(b, HN_OP_LAYERNORM, x), 3 * dim, slot);
    hn_node_spec a = hn_spec(attention, y);
    a.heads = nheads;
    y = token_linear(b, build_add(b, &a), dim, slot + 1);
    x = residual(b, y, x);
    y = token_linear(b, build_op(b, HN_OP_LAYERNORM, x), mlp * dim, slot + 2);
    y = token_linear(b, build_op(b, HN_OP_GELU, y), dim, slot + 3);
    return residual(b, y, x);
}

static hn_status to_graph(const hn_space *s, const uint8_t *geno, const hn_space_config *cfg, hn_graph **out) {
    *out = NULL;
    if (cfg->classes < 1 || cfg->input.c < 1)
        return hn_error(HN_ERR_INVALID, "hybrid: %d input channels and %d classes must be positive", cfg->input.c,
                        cfg->classes);
    for (int d = 0; d < NDECISIONS; d++)
        if (geno[d] >= s->choices[d])
            return hn_error(HN_ERR_INVALID, "hybrid: decision %d has value %d (0..%d)", d, geno[d], s->choices[d] - 1);
    int r = mb_resolutions[geno[D_RES]];
    builder b = {NULL, hn_graph_new((hn_shape){cfg->input.c, r, r}, &b.g)};
    if (b.st) return b.st;
    int c = mb_stage_channels(stages[0].channels, geno[D_WIDTH]);
    int x = mb_conv_bn(&b, 0, c, 3, 1, 1, true, SLOT_STEM);
    for (int st = 0; st < split_of(geno); st++) {
        int o = mb_stage_channels(stages[st].channels, geno[D_WIDTH + st]);
        for (int k = 0; k < stages[st].blocks; k++) {
            int j = block_offset(st) + k, op = geno[D_BLOCK + j];
            if (op == MB_SKIP) continue;
            x = mb_block(&b, x, c, o, k ? 1 : stages[st].stride, op, SLOT_BLOCK + 3 * j);
            c = o;
        }
    }
    int dim = dims[geno[D_DIM]];
    x = build_op(&b, HN_OP_HARDSWISH, build_op(&b, HN_OP_BATCHNORM, build_conv(&b, x, dim, 3, 2, 1, 1, SLOT_EMBED)));
    for (int k = 0; k <= geno[D_DEPTH]; k++)
        x = transformer_block(&b, x, dim, heads[geno[D_HEADS]], mlps[geno[D_MLP]],
                              geno[D_KIND] ? HN_OP_LINEAR_ATTENTION : HN_OP_ATTENTION, SLOT_TRANSFORMER + 4 * k);
    x = build_op(&b, HN_OP_FLATTEN, build_op(&b, HN_OP_GLOBAL_AVGPOOL, build_op(&b, HN_OP_LAYERNORM, x)));
    build_linear(&b, x, cfg->classes, SLOT_CLASSIFIER);
    if (b.st) {
        hn_graph_free(b.g);
        return hn_error_prefix(b.st, "hybrid network on %dx%dx%d", cfg->input.c, r, r);
    }
    *out = b.g;
    return HN_OK;
}

static void qslot_name(const hn_space *s, int slot, char *buf, size_t cap) {
    (void)s;
    static const char *const parts[3] = {"expand", "depthwise", "project"}, *const tparts[4] = {"qkv", "proj", "fc1", "fc2"};
    if (slot == SLOT_STEM) {
        snprintf(buf, cap, "stem conv");
    } else if (slot < SLOT_EMBED) {
        int j = (slot - SLOT_BLOCK) / 3, st = 0;
        while (j >= stages[st].blocks) j -= stages[st++].blocks;
        snprintf(buf, cap, "stage %d block %d %s", st + 1, j + 1, parts[(slot - SLOT_BLOCK) % 3]);
    } else if (slot == SLOT_EMBED) {
        snprintf(buf, cap, "embed conv");
    } else if (slot < SLOT_CLASSIFIER) {
        snprintf(buf, cap, "transformer block %d %s", (slot - SLOT_TRANSFORMER) / 4 + 1, tparts[(slot - SLOT_TRANSFORMER) % 4]);
    } else {
        snprintf(buf, cap, "classifier");
    }
}

const hn_space hn_space_hybrid = {
    .name = "hybrid",
    .description = "hybrid convolution-attention space: resolution {16..32}, 2-3 MBConv stages, then 1-3 transformer "
                   "blocks (embedding {32..96}, heads {1,2,4}, MLP ratio {1,2,4}, softmax or ReLU linear attention)",
    .ndecisions = NDECISIONS,
    .choices = choices,
    .format = format,
    .parse = parse,
    .to_graph = to_graph,
    .nqslots = HYBRID_SLOTS,
    .qslot_name = qslot_name,
    .defaults = {{1, 28, 28}, 10, 0, 0},
    .resolution_decision = D_RES,
};
