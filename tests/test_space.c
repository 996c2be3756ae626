/* Search spaces: NAS-Bench-201's exact parameter and MAC counts against the reference table
 * (../shared/reference/nb201/nb201-cost-sample.csv, counted in PyTorch) and the published ranges over
 * all 15,625 cells; the MBConv space's counts and output widths against PyTorch
 * (tests/ref/mbconv-counts.csv, written by tests/ref/gen_mbconv.py); quantization policies; genotype
 * properties, bad architecture strings, and a forward and backward pass, for every space. */
#include "check.h"
#include "hwnas/exec.h"
#include "hwnas/hw.h"
#include "hwnas/space.h"

static void nb201_reference_counts(void) {
    char path[1024], line[512];
    snprintf(path, sizeof path, "%s/../../shared/reference/nb201/nb201-cost-sample.csv", HWNAS_TEST_DIR);
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "cannot open %s (../shared must sit beside the repository)", path);
    if (!f) return;
    const hn_space *s = hn_space_find("nb201");
    int rows = 0, exact = 0;
    if (!fgets(line, sizeof line, f)) line[0] = 0; /* header */
    while (fgets(line, sizeof line, f)) {
        char arch[256];
        long long params, macs;
        int index;
        if (sscanf(line, "%d,%255[^,],%lld,%lld", &index, arch, &params, &macs) != 4) continue;
        uint8_t g[6];
        char back[256];
        hn_graph *gr = NULL;
        CHECK_OK(s->parse(s, arch, g));
        s->format(s, g, back, sizeof back);
        CHECK_MSG(strcmp(back, arch) == 0, "format(parse(%s)) = %s", arch, back);
        CHECK_OK(s->to_graph(s, g, &s->defaults, &gr));
        if (gr) {
            bool ok = hn_graph_param_count(gr) == params && hn_graph_macs(gr) == macs;
            CHECK_MSG(ok, "%s: params %lld (want %lld), MACs %lld (want %lld)", arch,
                      (long long)hn_graph_param_count(gr), params, (long long)hn_graph_macs(gr), macs);
            exact += ok;
            hn_graph_free(gr);
        }
        rows++;
    }
    fclose(f);
    CHECK_MSG(rows == 313 && exact == rows, "%d of %d rows exact", exact, rows);
}

/* tests/ref/FILE (written by gen_mbconv.py / gen_hybrid.py from networks built in PyTorch): every
 * row's parameter and MAC counts and logits width exactly; returns the rows read */
static int reference_counts(const char *space, const char *file) {
    char path[1024], line[1024];
    snprintf(path, sizeof path, "%s/ref/%s", HWNAS_TEST_DIR, file);
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "cannot open %s", path);
    if (!f) return 0;
    const hn_space *s = hn_space_find(space);
    int rows = 0, exact = 0;
    if (!fgets(line, sizeof line, f)) line[0] = 0; /* header */
    while (fgets(line, sizeof line, f)) {
        char arch[512], back[512];
        long long params, macs;
        int channels, classes, width;
        if (sscanf(line, "\"%511[^\"]\",%d,%d,%lld,%lld,%d", arch, &channels, &classes, &params, &macs, &width) != 6)
            continue;
        uint8_t g[HN_SPACE_MAX_DECISIONS];
        hn_graph *gr = NULL;
        CHECK_OK(s->parse(s, arch, g));
        s->format(s, g, back, sizeof back);
        CHECK_MSG(strcmp(back, arch) == 0, "format(parse(%s)) = %s", arch, back);
        hn_space_config cfg = {{channels, 28, 28}, classes, 0, 0};
        CHECK_OK(s->to_graph(s, g, &cfg, &gr));
        if (gr) {
            hn_shape o = gr->nodes[gr->nnodes - 1].shape;
            bool ok = hn_graph_param_count(gr) == params && hn_graph_macs(gr) == macs && o.c == width && o.h == 1 &&
                      o.w == 1 && gr->nodes[0].shape.c == channels;
            CHECK_MSG(ok, "%s: params %lld (want %lld), MACs %lld (want %lld), out %dx%dx%d (want %d)", arch,
                      (long long)hn_graph_param_count(gr), params, (long long)hn_graph_macs(gr), macs, o.c, o.h, o.w,
                      width);
            exact += ok;
            hn_graph_free(gr);
        }
        rows++;
    }
    fclose(f);
    CHECK_MSG(exact == rows, "%s: %d of %d rows exact", file, exact, rows);
    return rows;
}

static void mbconv_reference_counts(void) {
    CHECK(reference_counts("mbconv", "mbconv-counts.csv") == 62);
    CHECK(hn_space_size(&hn_space_mbconv) == 3023308800000000000ULL);
}

static void nb201_all(void) {
    const hn_space *s = &hn_space_nb201;
    CHECK(hn_space_size(s) == 15625);
    int64_t pmin = INT64_MAX, pmax = 0, mmin = INT64_MAX, mmax = 0;
    double t0 = hn_now();
    for (uint64_t i = 0; i < hn_space_size(s); i++) {
        uint8_t g[6];
        hn_graph *gr = NULL;
        hn_space_decode(s, i, g);
        if (s->to_graph(s, g, &s->defaults, &gr) != HN_OK) {
            CHECK_MSG(0, "genotype %llu: %s", (unsigned long long)i, hn_last_error());
            break;
        }
        int64_t p = hn_graph_param_count(gr), m = hn_graph_macs(gr);
        pmin = p < pmin ? p : pmin, pmax = p > pmax ? p : pmax;
        mmin = m < mmin ? m : mmin, mmax = m > mmax ? m : mmax;
        hn_graph_free(gr);
    }
    fprintf(stderr, "nb201: built and counted 15,625 graphs in %.3f s\n", hn_now() - t0);
    CHECK_MSG(pmin == 73306 && pmax == 1531546, "params %lld..%lld", (long long)pmin, (long long)pmax);
    CHECK_MSG(mmin == 7783040 && mmax == 220119680, "MACs %lld..%lld", (long long)mmin, (long long)mmax);
}

static bool has_unused_decisions(const hn_space *s) { return strncmp(s->name, "hybrid", 6) == 0; }

static void properties(const hn_space *s) {
    hn_rng r;
    hn_rng_seed(&r, 1, 2);
    int n = s->ndecisions, bad = 0, seen[HN_SPACE_MAX_DECISIONS][16] = {{0}};
    uint8_t a[HN_SPACE_MAX_DECISIONS], b[HN_SPACE_MAX_DECISIONS], c[HN_SPACE_MAX_DECISIONS];
    for (int t = 0; t < 500; t++) {
        hn_space_sample(s, &r, a);
        hn_space_sample(s, &r, b);
        /* the string form round-trips; where a decision is unused (hybrid's stage 3 under a split of
         * 2) the string leaves it out and parsing sets it to 0, so only the parsed genotype is
         * required to round-trip exactly, and every other space's sample too */
        char str[4096], back[4096];
        s->format(s, a, str, sizeof str);
        bad += s->parse(s, str, c) != HN_OK;
        s->format(s, c, back, sizeof back);
        bad += strcmp(str, back) != 0 || (!has_unused_decisions(s) && memcmp(a, c, n) != 0);
        uint8_t d[HN_SPACE_MAX_DECISIONS];
        bad += s->parse(s, back, d) != HN_OK || memcmp(c, d, n) != 0;
        for (int i = 0; i < n; i++) seen[i][a[i]]++;
        for (int k = 1; k <= n; k++) {
            hn_space_mutate(s, &r, a, k, c);
            int diff = 0;
            for (int i = 0; i < n; i++) diff += a[i] != c[i] && c[i] < s->choices[i];
            bad += diff != k;
        }
        hn_space_crossover(s, &r, a, b, c);
        for (int i = 0; i < n; i++) bad += c[i] != a[i] && c[i] != b[i];
    }
    CHECK_MSG(bad == 0, "%s: %d property violations", s->name, bad);
    int unseen = 0;
    for (int i = 0; i < n; i++)
        for (int v = 0; v < s->choices[i]; v++) unseen += seen[i][v] == 0;
    CHECK_MSG(unseen == 0, "%s: %d choices never sampled", s->name, unseen);
    int count = hn_space_neighbours(s, a, NULL), expect = 0;
    for (int i = 0; i < n; i++) expect += s->choices[i] - 1;
    CHECK(count == expect);
    uint8_t *nb = malloc((size_t)count * n);
    hn_space_neighbours(s, a, nb);
    int wrong = 0;
    for (int k = 0; k < count; k++) {
        int diff = 0;
        for (int i = 0; i < n; i++) diff += nb[k * n + i] != a[i];
        wrong += diff != 1;
    }
    CHECK(wrong == 0);
    free(nb);
}

typedef struct {
    const char *tail, *want;
} bad_tail;

/* each of n strings head + bad[k].tail is refused by s with a message containing bad[k].want */
static void refused(const hn_space *s, const char *head, const bad_tail *bad, size_t n) {
    uint8_t g[HN_SPACE_MAX_DECISIONS];
    char str[4096];
    for (size_t k = 0; k < n; k++) {
        snprintf(str, sizeof str, "%s%s", head, bad[k].tail);
        CHECK_MSG(s->parse(s, str, g) == HN_ERR_INVALID && strstr(hn_last_error(), bad[k].want), "%s: %s", str,
                  hn_last_error());
    }
}

static void bad_strings(void) {
    const hn_space *s = &hn_space_nb201;
    uint8_t g[HN_SPACE_MAX_DECISIONS];
    CHECK_ERR(s->parse(s, "|conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", g), HN_ERR_INVALID,
              "at position 1: expected an op");
    CHECK_ERR(s->parse(s, "|none~0|+|none~0|none~1|", g), HN_ERR_INVALID, "at position 24: expected '+'");
    CHECK_ERR(s->parse(s, "|none~0|+|none~1|none~1|+|none~0|none~1|none~2|", g), HN_ERR_INVALID,
              "at position 15: expected the input node 0 of node 2");
    CHECK_ERR(s->parse(s, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|x", g), HN_ERR_INVALID,
              "expected the end of the string");
    CHECK_ERR(s->parse(s, "", g), HN_ERR_INVALID, "at position 0");

    s = &hn_space_mbconv;
    const char *ok = "r28|w1.0:k3e1,skip|w0.75:k5e6,k3e3,skip|w1.0:k7e6,k3e3,skip|w0.5:k5e3,k5e3,k3e6,skip|w1.0:k3e6,skip,skip";
    CHECK_OK(s->parse(s, ok, g));
    CHECK_ERR(s->parse(s, "r29|w1.0:k3e1,skip", g), HN_ERR_INVALID, "at position 1: expected a resolution of 16, 20");
    CHECK_ERR(s->parse(s, "r28|w0.6:k3e1,skip", g), HN_ERR_INVALID, "at position 5: expected a width of 0.5");
    CHECK_ERR(s->parse(s, "r28|w1.0:k9e1,skip", g), HN_ERR_INVALID, "at position 9: expected block 1 of stage 1");
    CHECK_ERR(s->parse(s, "r28|w1.0:skip,skip", g), HN_ERR_INVALID, "the first block of a stage changes the shape");
    CHECK_ERR(s->parse(s, "r28|w1.0:k3e1|w1.0:k3e1", g), HN_ERR_INVALID,
              "at position 13: expected ',' and block 2 of stage 1 (stage 1 has 2 blocks)");
    CHECK_ERR(s->parse(s, "r28|w1.0:k3e1,k3e1,k3e1|w1.0", g), HN_ERR_INVALID,
              "at position 18: expected '|w' and the width of stage 2");
    char longer[256];
    snprintf(longer, sizeof longer, "%s,skip", ok);
    CHECK_ERR(s->parse(s, longer, g), HN_ERR_INVALID, "at position 104: expected the end of the string");
    CHECK_ERR(s->parse(s, "r28", g), HN_ERR_INVALID, "at position 3: expected '|w' and the width of stage 1");

    s = hn_space_find("mbconv+quant");
    char q[512];
    snprintf(q, sizeof q, "%s#int8/int9", ok);
    CHECK_ERR(s->parse(s, q, g), HN_ERR_INVALID, "expected an activation type (fp32, int2");
    snprintf(q, sizeof q, "%s#int8", ok);
    CHECK_ERR(s->parse(s, q, g), HN_ERR_INVALID, "expected a weight type (fp32");
    snprintf(q, sizeof q, "%s#int8/int8,int4/int4", ok);
    CHECK_ERR(s->parse(s, q, g), HN_ERR_INVALID, "expected 1 or 48 WEIGHT/ACTIVATION pairs (one per slot), got 2");
    CHECK_ERR(s->parse(s, ok, g), HN_ERR_INVALID, "expected the architecture, '#' and a quantization policy");
    /* the mixed-precision menu: int4, int8, fp8-e4m3 only, as decisions 0..2 */
    s = hn_space_find("mbconv+mixed");
    CHECK(s && s->base == &hn_space_mbconv && s->choices[s->ndecisions - 1] == 3);
    if (!s) return;
    snprintf(q, sizeof q, "%s#int2/int8", ok);
    CHECK_ERR(s->parse(s, q, g), HN_ERR_INVALID, "expected a weight type (int4, int8, fp8-e4m3) followed by '/'");
    snprintf(q, sizeof q, "%s#fp8-e4m3/int4", ok);
    CHECK_OK(s->parse(s, q, g));
    CHECK(g[s->base->ndecisions] == 2 && g[s->base->ndecisions + 1] == 0);
    char back[512];
    s->format(s, g, back, sizeof back);
    CHECK_MSG(!strcmp(back, q), "format(parse(%s)) = %s", q, back);
    s = hn_space_find("hybrid");
    const char *conv = "r28|w1.0:k3e3,skip|w0.75:k7e3,k7e1,k7e3", *three = "|w1.0:k3e3,skip,skip";
    char str[256];
    snprintf(str, sizeof str, "%s|t:d64,h2,m2,x1", conv);
    CHECK_OK(s->parse(s, str, g));
    CHECK_ERR(s->parse(s, "r28|w1.0:k3e3,skip|t:d64,h2,m2,x1", g), HN_ERR_INVALID, "expected '|w' and the width of stage 2");
    static const bad_tail bad[] = {{"|t:d65,h2,m2,x1", "at position 42: expected 'd' and the embedding 32, 48, 64 or 96"},
                                   {"|t:d64,h3,m2,x1", "expected 'h' and the heads 1, 2 or 4"},
                                   {"|t:d64,h2,m8,x1", "expected 'm' and the MLP ratio 1, 2 or 4"},
                                   {"|t:d64,h2,m2,x4", "expected 'x' and the depth 1, 2 or 3 at the end"},
                                   {"|t:d64,h2,m2,x1z", "expected 'x' and the depth 1, 2 or 3 at the end"},
                                   {"|x", "expected '|w' and conv stage 3, or '|t:' or '|r:' and the transformer"},
                                   {"|q:d64,h2,m2,x1", "or '|t:' or '|r:' and the transformer"}};
    refused(s, conv, bad, sizeof bad / sizeof bad[0]);
    snprintf(str, sizeof str, "%s%s%s|t:d64,h2,m2,x1", conv, three, three);
    CHECK_ERR(s->parse(s, str, g), HN_ERR_INVALID, "expected '|t:' or '|r:' and the transformer (there are at most 3 conv stages)");
}

/* A policy reaches the layers of its slots, and counting reads it. */
static void quant_policy(void) {
    const hn_space *s = hn_space_find("mbconv+quant"), *base = &hn_space_mbconv;
    CHECK(s && s->base == base && s->ndecisions == base->ndecisions + 2 * 48 && s->nqslots == 48);
    if (!s) return;
    const char *arch = "r16|w0.5:k3e3,skip|w0.5:k3e1,skip,skip|w0.5:k3e1,skip,skip|w0.5:k3e1,skip,skip,skip|"
                       "w0.5:k3e1,skip,skip";
    char str[4096], back[4096];
    uint8_t g[HN_SPACE_MAX_DECISIONS];
    snprintf(str, sizeof str, "%s#int8/int8", arch);
    CHECK_OK(s->parse(s, str, g));
    s->format(s, g, back, sizeof back);
    CHECK_MSG(strcmp(str, back) == 0, "a uniform policy formats as one pair: %s", back);
    /* slot 0 (stem) int2/int4, slot 1 (block 1 expand) fp8-e4m3/fp8-e5m2, slot 3 (its project) fp4-e2m1/int16 */
    int n = snprintf(str, sizeof str, "%s#int2/int4,fp8-e4m3/fp8-e5m2,int8/int8,fp4-e2m1/int16", arch);
    for (int i = 4; i < 48; i++) n += snprintf(str + n, sizeof str - (size_t)n, ",fp6-e3m2/fp32");
    CHECK_OK(s->parse(s, str, g));
    s->format(s, g, back, sizeof back);
    CHECK_MSG(strcmp(str, back) == 0, "format(parse(%s)) = %s", str, back);
    hn_graph *gr = NULL;
    CHECK_OK(s->to_graph(s, g, &s->defaults, &gr));
    if (!gr) return;
    /* input; stem conv, bn, relu6; block 1: expand conv (4), bn, relu6, depthwise (7), bn, relu6, project (10) */
    const hn_node *nd = gr->nodes;
    CHECK(nd[1].qslot == 0 && nd[1].wtype == HN_INT2 && nd[1].atype == HN_INT4);
    CHECK(nd[0].atype == HN_INT4 && nd[2].atype == HN_INT4 && nd[3].atype == HN_INT4);
    CHECK(nd[4].qslot == 1 && nd[4].wtype == HN_FP8_E4M3 && nd[4].atype == HN_FP8_E5M2);
    CHECK(nd[10].qslot == 3 && nd[10].wtype == HN_FP4_E2M1 && nd[10].atype == HN_INT16);
    CHECK(nd[gr->nnodes - 1].qslot == 47 && nd[gr->nnodes - 1].wtype == HN_FP6_E3M2);
    hn_cost c, c32;
    CHECK_OK(hn_count(gr, &c, NULL));
    hn_graph_set_numtypes(gr, HN_FP32, HN_FP32);
    CHECK_OK(hn_count(gr, &c32, NULL));
    CHECK(c.params == c32.params && c.macs == c32.macs && c.weight_bytes < c32.weight_bytes &&
          c.activation_bytes < c32.activation_bytes);
    /* the stem's kernel: 1 x 8 x 3 x 3 = 72 weights at 2 bits */
    hn_layer_cost l[512];
    CHECK(gr->nnodes <= 512);
    hn_graph_free(gr);
    CHECK_OK(s->to_graph(s, g, &s->defaults, &gr));
    CHECK_OK(hn_count(gr, &c, l));
    CHECK_MSG(l[1].weight_bytes == 18 && l[1].activation_bytes == 8 * 16 * 16 / 2, "stem: %lld weight bytes, %lld act",
              (long long)l[1].weight_bytes, (long long)l[1].activation_bytes);
    hn_graph_free(gr);
    char name[64];
    base->qslot_name(base, 46, name, sizeof name);
    CHECK(strcmp(name, "head conv") == 0);
    base->qslot_name(base, 1 + 3 * 5 + 1, name, sizeof name); /* block 6 (of 15) = stage 3 block 1, depthwise */
    CHECK_MSG(strcmp(name, "stage 3 block 1 depthwise") == 0, "%s", name);
}

/* Every sampled genotype of every space builds a graph that trains one step. */
static void forward_runs(const hn_space *s) {
    hn_space_config cfg = s->defaults;
    if (!strcmp(s->base ? s->base->name : s->name, "nb201")) cfg = (hn_space_config){{1, 28, 28}, 10, 4, 1};
    hn_rng r;
    hn_rng_seed(&r, 3, 3);
    for (int t = 0; t < 5; t++) {
        uint8_t g[HN_SPACE_MAX_DECISIONS];
        hn_space_sample(s, &r, g);
        if (t == 0 && s == &hn_space_nb201) memset(g, 0, 6); /* all none: the cells output zeros */
        hn_graph *gr = NULL;
        hn_exec *e = NULL;
        CHECK_OK(s->to_graph(s, g, &cfg, &gr));
        if (!gr) continue;
        CHECK_OK(hn_graph_finalize(gr));
        hn_graph_init_params(gr, 1);
        hn_shape in = gr->nodes[0].shape;
        int nx = 2 * in.c * in.h * in.w;
        float *x = malloc(sizeof(float) * (size_t)nx), loss = 0;
        int32_t y[2] = {1, 7};
        for (int i = 0; i < nx; i++) x[i] = hn_rng_normal(&r);
        CHECK_OK(hn_exec_new(gr, 2, true, &e));
        CHECK_OK(hn_exec_forward(e, x, 2, true));
        CHECK_OK(hn_exec_loss(e, y, 0, &loss, NULL));
        CHECK_OK(hn_exec_backward(e, NULL, NULL));
        CHECK_MSG(isfinite(loss) && loss > 0, "%s: loss %g", s->name, loss);
        free(x);
        hn_exec_free(e);
        hn_graph_free(gr);
    }
}

/* The accelerator join: the array's string form reaches the graph, and bad array strings name what
 * was expected where. */
static void systolic_join(void) {
    const hn_space *s = hn_space_find("mbconv+quant+systolic"), *q = hn_space_find("mbconv+quant");
    CHECK(s && q && s->network == q && s->base == q->base && s->menu == q->menu && s->ndecisions == q->ndecisions + 7);
    if (!s || !q) return;
    const char *net = "r28|w1.0:k3e1,skip|w0.75:k5e6,k3e3,skip|w1.0:k7e6,k3e3,skip|w0.5:k5e3,k5e3,k3e6,skip|w1.0:k3e6,skip,skip#int8/int8";
    char str[4096], back[4096];
    snprintf(str, sizeof str, "%s@64x16,is,256/8/32KB,bw32", net);
    uint8_t g[HN_SPACE_MAX_DECISIONS];
    CHECK_OK(s->parse(s, str, g));
    s->format(s, g, back, sizeof back);
    CHECK_MSG(!strcmp(back, str), "format(parse(%s)) = %s", str, back);
    hn_graph *gr = NULL;
    CHECK_OK(s->to_graph(s, g, &s->defaults, &gr));
    if (gr) {
        const hn_accel *a = &gr->accel;
        CHECK(a->rows == 64 && a->cols == 16 && a->dataflow == 2 && a->ifmap_sram_kb == 256 && a->filter_sram_kb == 8 &&
              a->ofmap_sram_kb == 32 && a->bandwidth == 32);
        CHECK(gr->nodes[1].wtype == HN_INT8); /* the policy still applies */
    }
    hn_graph_free(gr);
    static const bad_tail bad[] = {
        {"", "expected the network, '@' and the array"},
        {"@48x16,is,256/8/32KB,bw32", "expected the array's rows: 4, 8, 16, 32, 64 or 128, then 'x'"},
        {"@64x16,xs,256/8/32KB,bw32", "expected a dataflow: os, ws or is"},
        {"@64x16,is,256/9/32KB,bw32", "expected the filter SRAM in KB (8, 16, 32, 64, 128 or 256), then '/'"},
        {"@64x16,is,256/8/32KB,bw3", "expected the DRAM words per cycle: 4, 8, 16, 32 or 64, then the end"}};
    refused(s, net, bad, sizeof bad / sizeof bad[0]);
}

int main(void) {
    hn_set_threads(1);
    systolic_join();
    nb201_reference_counts();
    nb201_all();
    mbconv_reference_counts();
    CHECK(reference_counts("hybrid", "hybrid-counts.csv") == 62);
    bad_strings();
    quant_policy();
    for (const hn_space *const *s = hn_space_list(); *s; s++) {
        properties(*s);
        forward_runs(*s);
    }
    return check_report();
}
