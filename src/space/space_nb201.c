/* NAS-Bench-201 (Dong & Yang, ICLR 2020): a cell of 4 nodes whose 6 edges i->j (i < j) each carry
 * one of 5 ops, repeated in a fixed ResNet-like skeleton; 5^6 = 15,625 architectures.
 *
 * Genotype: 6 decisions in the benchmark's edge order (0->1, 0->2, 1->2, 0->3, 1->3, 2->3), values
 * in the benchmark's op order (none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3).
 * String form: the benchmark's own, |op~0|+|op~0|op~1|+|op~0|op~1|op~2|.
 *
 * Skeleton (../shared/reference/nb201/README.md): stem conv3x3 (no bias) + BN; three stages of N
 * cells at C, 2C, 4C channels joined by ResNet basic reduction blocks (ReLU-conv3x3 s2-BN,
 * ReLU-conv3x3-BN, shortcut avg-pool 2x2 then conv1x1, summed); BN, ReLU, global average pool,
 * linear. nor_conv is ReLU -> conv (no bias) -> BN; avg_pool_3x3 is stride 1, padding 1, not counting
 * the padding; none outputs zeros, so a cell whose output is unreachable outputs zeros, as in the
 * benchmark. */
#include <stdio.h>
#include <string.h>

#include "builder.h"
#include "hwnas/space.h"

enum { NB201_NONE, NB201_SKIP, NB201_CONV1, NB201_CONV3, NB201_AVG, NB201_OPS };
static const char *const op_names[NB201_OPS] = {"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3",
                                                "avg_pool_3x3"};
static const int choices[6] = {NB201_OPS, NB201_OPS, NB201_OPS, NB201_OPS, NB201_OPS, NB201_OPS};

/* decision index of edge i -> j */
static int edge(int i, int j) { return j * (j - 1) / 2 + i; }

static size_t format(const hn_space *s, const uint8_t *g, char *buf, size_t cap) {
    (void)s;
    size_t n = 0;
    for (int j = 1; j < 4; j++) {
        if (j > 1) n += (size_t)snprintf(buf + (n < cap ? n : cap), n < cap ? cap - n : 0, "+");
        for (int i = 0; i < j; i++)
            n += (size_t)snprintf(buf + (n < cap ? n : cap), n < cap ? cap - n : 0, "|%s~%d", op_names[g[edge(i, j)]], i);
        n += (size_t)snprintf(buf + (n < cap ? n : cap), n < cap ? cap - n : 0, "|");
    }
    return n;
}

static hn_status parse(const hn_space *s, const char *str, uint8_t *g) {
    (void)s;
    const char *p = str;
#define EXPECT(cond, what)                                                                                  \
    if (!(cond)) return space_parse_error("nb201", str, p, what)
    for (int j = 1; j < 4; j++) {
        if (j > 1) {
            EXPECT(*p == '+', "'+' between nodes");
            p++;
        }
        for (int i = 0; i < j; i++) {
            EXPECT(*p == '|', "'|'");
            p++;
            int op = -1;
            for (int k = 0; k < NB201_OPS; k++) {
                size_t len = strlen(op_names[k]);
                if (strncmp(p, op_names[k], len) == 0 && p[len] == '~') op = k;
            }
            EXPECT(op >= 0, "an op (none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3) followed by '~'");
            p += strlen(op_names[op]) + 1;
            char want[64];
            snprintf(want, sizeof want, "the input node %d of node %d", i, j);
            EXPECT(*p == '0' + i, want);
            p++;
            g[edge(i, j)] = (uint8_t)op;
        }
        EXPECT(*p == '|', "'|' closing the node");
        p++;
    }
    EXPECT(*p == 0, "the end of the string");
#undef EXPECT
    return HN_OK;
}

/* Quantization-policy slots: the cells of a stage share their ops, and so their policy. */
enum { SLOT_STEM = 0, SLOT_CELLS = 1, SLOT_REDUCTION = SLOT_CELLS + 3 * 6, SLOT_CLASSIFIER = SLOT_REDUCTION + 2 * 3,
       NB201_SLOTS };

static int relu_conv_bn(builder *b, int x, int out, int k, int stride, int pad, int qslot) {
    int r = build_op(b, HN_OP_RELU, x);
    return build_op(b, HN_OP_BATCHNORM, build_conv(b, r, out, k, stride, pad, 1, qslot));
}

static int cell(builder *b, const uint8_t *geno, int x, int C, int stage) {
    int nodes[4] = {x, -1, -1, -1};
    for (int j = 1; j < 4; j++) {
        int terms[3];
        for (int i = 0; i < j; i++) {
            int in = nodes[i];
            switch (geno[edge(i, j)]) {
            case NB201_NONE: terms[i] = build_op(b, HN_OP_ZERO, in); break;
            case NB201_SKIP: terms[i] = in; break;
            case NB201_CONV1: terms[i] = relu_conv_bn(b, in, C, 1, 1, 0, SLOT_CELLS + 6 * stage + edge(i, j)); break;
            case NB201_CONV3: terms[i] = relu_conv_bn(b, in, C, 3, 1, 1, SLOT_CELLS + 6 * stage + edge(i, j)); break;
            default: {
                hn_node_spec s = hn_spec(HN_OP_AVGPOOL, in);
                s.kernel = 3, s.stride = 1, s.pad = 1, s.count_include_pad = false;
                terms[i] = build_add(b, &s);
            }
            }
        }
        nodes[j] = build_sum(b, terms, j);
    }
    return nodes[3];
}

static int reduction(builder *b, int x, int out, int r) {
    int slot = SLOT_REDUCTION + 3 * r;
    int a = relu_conv_bn(b, x, out, 3, 2, 1, slot);
    int c = relu_conv_bn(b, a, out, 3, 1, 1, slot + 1);
    hn_node_spec p = hn_spec(HN_OP_AVGPOOL, x);
    p.kernel = 2, p.stride = 2;
    int ids[2] = {build_conv(b, build_add(b, &p), out, 1, 1, 0, 1, slot + 2), c};
    return build_sum(b, ids, 2);
}

static hn_status to_graph(const hn_space *s, const uint8_t *geno, const hn_space_config *cfg, hn_graph **out) {
    (void)s;
    *out = NULL;
    if (cfg->width < 1 || cfg->cells < 1 || cfg->classes < 1)
        return hn_error(HN_ERR_INVALID, "nb201: width %d, cells %d and classes %d must be positive", cfg->width,
                        cfg->cells, cfg->classes);
    for (int e = 0; e < 6; e++)
        if (geno[e] >= NB201_OPS) return hn_error(HN_ERR_INVALID, "nb201: edge %d has op %d (0..4)", e, geno[e]);
    builder b = {NULL, hn_graph_new(cfg->input, &b.g)};
    if (b.st) return b.st;
    int x = build_op(&b, HN_OP_BATCHNORM, build_conv(&b, 0, cfg->width, 3, 1, 1, 1, SLOT_STEM));
    int C = cfg->width;
    for (int stage = 0; stage < 3; stage++) {
        if (stage > 0) x = reduction(&b, x, C *= 2, stage - 1);
        for (int k = 0; k < cfg->cells; k++) x = cell(&b, geno, x, C, stage);
    }
    x = build_op(&b, HN_OP_RELU, build_op(&b, HN_OP_BATCHNORM, x));
    x = build_op(&b, HN_OP_FLATTEN, build_op(&b, HN_OP_GLOBAL_AVGPOOL, x));
    build_linear(&b, x, cfg->classes, SLOT_CLASSIFIER);
    if (b.st) {
        hn_graph_free(b.g);
        return hn_error_prefix(b.st, "nb201 skeleton on %dx%dx%d", cfg->input.c, cfg->input.h, cfg->input.w);
    }
    *out = b.g;
    return HN_OK;
}

static void qslot_name(const hn_space *s, int slot, char *buf, size_t cap) {
    (void)s;
    static const char *const edges[6] = {"0->1", "0->2", "1->2", "0->3", "1->3", "2->3"};
    static const char *const convs[3] = {"conv_a", "conv_b", "shortcut"};
    if (slot == SLOT_STEM) snprintf(buf, cap, "stem conv");
    else if (slot < SLOT_REDUCTION)
        snprintf(buf, cap, "stage %d cells, edge %s conv", (slot - SLOT_CELLS) / 6 + 1, edges[(slot - SLOT_CELLS) % 6]);
    else if (slot < SLOT_CLASSIFIER)
        snprintf(buf, cap, "reduction %d %s", (slot - SLOT_REDUCTION) / 3 + 1, convs[(slot - SLOT_REDUCTION) % 3]);
    else snprintf(buf, cap, "classifier");
}

const hn_space hn_space_nb201 = {
    .name = "nb201",
    .description = "NAS-Bench-201 cell: 6 edges x {none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3} "
                   "in the benchmark's 3-stage skeleton (15,625 architectures)",
    .ndecisions = 6,
    .choices = choices,
    .format = format,
    .parse = parse,
    .to_graph = to_graph,
    .nqslots = NB201_SLOTS,
    .qslot_name = qslot_name,
    .defaults = {{3, 32, 32}, 10, 16, 5},
    .resolution_decision = -1,
};
