/* Search spaces: NAS-Bench-201's exact parameter and MAC counts against the reference table
 * (../shared/reference/nb201/nb201-cost-sample.csv, counted in PyTorch), the published ranges over
 * all 15,625 cells, genotype properties, bad architecture strings, and a forward pass. */
#include "check.h"
#include "hwnas/exec.h"
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

static void properties(const hn_space *s) {
    hn_rng r;
    hn_rng_seed(&r, 1, 2);
    int n = s->ndecisions, bad = 0, seen[HN_SPACE_MAX_DECISIONS][16] = {{0}};
    uint8_t a[HN_SPACE_MAX_DECISIONS], b[HN_SPACE_MAX_DECISIONS], c[HN_SPACE_MAX_DECISIONS];
    for (int t = 0; t < 500; t++) {
        hn_space_sample(s, &r, a);
        hn_space_sample(s, &r, b);
        char str[1024];
        s->format(s, a, str, sizeof str);
        bad += s->parse(s, str, c) != HN_OK || memcmp(a, c, n) != 0;
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
    for (int i = 0; i < n; i++)
        for (int v = 0; v < s->choices[i]; v++) CHECK_MSG(seen[i][v] > 0, "%s: decision %d never took %d", s->name, i, v);
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

static void bad_strings(void) {
    const hn_space *s = &hn_space_nb201;
    uint8_t g[6];
    CHECK_ERR(s->parse(s, "|conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", g), HN_ERR_INVALID,
              "at position 1: expected an op");
    CHECK_ERR(s->parse(s, "|none~0|+|none~0|none~1|", g), HN_ERR_INVALID, "at position 24: expected '+'");
    CHECK_ERR(s->parse(s, "|none~0|+|none~1|none~1|+|none~0|none~1|none~2|", g), HN_ERR_INVALID,
              "at position 15: expected the input node 0 of node 2");
    CHECK_ERR(s->parse(s, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|x", g), HN_ERR_INVALID,
              "expected the end of the string");
    CHECK_ERR(s->parse(s, "", g), HN_ERR_INVALID, "at position 0");
}

static void forward_runs(void) {
    const hn_space *s = &hn_space_nb201;
    hn_space_config cfg = {{1, 28, 28}, 10, 4, 1};
    hn_rng r;
    hn_rng_seed(&r, 3, 3);
    for (int t = 0; t < 5; t++) {
        uint8_t g[6];
        hn_space_sample(s, &r, g);
        if (t == 0) memset(g, 0, sizeof g); /* all none: the cells output zeros */
        hn_graph *gr = NULL;
        hn_exec *e = NULL;
        CHECK_OK(s->to_graph(s, g, &cfg, &gr));
        if (!gr) continue;
        CHECK_OK(hn_graph_finalize(gr));
        hn_graph_init_params(gr, 1);
        float x[2 * 784], loss = 0;
        int32_t y[2] = {1, 7};
        for (int i = 0; i < 2 * 784; i++) x[i] = hn_rng_normal(&r);
        CHECK_OK(hn_exec_new(gr, 2, true, &e));
        CHECK_OK(hn_exec_forward(e, x, 2, true));
        CHECK_OK(hn_exec_loss(e, y, 0, &loss, NULL));
        CHECK_OK(hn_exec_backward(e, NULL, NULL));
        CHECK(isfinite(loss) && loss > 0);
        hn_exec_free(e);
        hn_graph_free(gr);
    }
}

int main(void) {
    hn_set_threads(1);
    nb201_reference_counts();
    nb201_all();
    properties(&hn_space_nb201);
    bad_strings();
    forward_runs();
    return check_report();
}
