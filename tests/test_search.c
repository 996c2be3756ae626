/* Search: the strategies' contract (deterministic for a seed, valid proposals, no repeats, REA's
 * aging, constraint order), that they learn on the NAS-Bench-201 table, the tabular evaluator, and
 * the zero-cost proxies' numerics (their values against PyTorch are in test_ref). */
#include "../src/search/strategy.h"
#include "check.h"
#include "hwnas/estimate.h"
#include "hwnas/search.h"

static const char *table_path(void) {
    static char path[1024];
    snprintf(path, sizeof path, "%s/../../shared/reference/nb201/nb201-cifar10-12epoch.csv", HWNAS_TEST_DIR);
    return path;
}

/* a made-up objective: the sum of the decisions (minimized) */
static double toy(const hn_space *s, const uint8_t *g) {
    double v = 0;
    for (int i = 0; i < s->ndecisions; i++) v += g[i];
    return v;
}

static void contract(const char *name, const hn_space *space) {
    enum { T = 150 }; /* past REA's population, several NSGA-II generations and BO batches */
    static uint8_t a[T][HN_SPACE_MAX_DECISIONS], b[T][HN_SPACE_MAX_DECISIONS];
    static double fa[T], fb[T];
    for (int run = 0; run < 2; run++) {
        hn_strategy *s;
        CHECK_OK(hn_strategy_new(name, space, NULL, 1, 7, &s));
        if (!s) return;
        for (int t = 0; t < T; t++) {
            uint8_t *g = run ? b[t] : a[t];
            double *f = run ? &fb[t] : &fa[t];
            CHECK_OK(hn_strategy_ask(s, g, f));
            double v = toy(space, g);
            CHECK_OK(hn_strategy_tell(s, g, *f, &v, 0));
        }
        hn_strategy_free(s);
    }
    int same = 0, invalid = 0, repeats = 0, below = 0;
    for (int t = 0; t < T; t++) {
        same += !memcmp(a[t], b[t], (size_t)space->ndecisions) && fa[t] == fb[t];
        for (int i = 0; i < space->ndecisions; i++) invalid += a[t][i] >= space->choices[i];
        invalid += !(fa[t] > 0 && fa[t] <= 1);
        below += fa[t] < 1;
        for (int u = 0; u < t; u++) /* a multi-fidelity strategy re-evaluates at a higher fidelity */
            repeats += !memcmp(a[t], a[u], (size_t)space->ndecisions) && fa[t] <= fa[u];
    }
    CHECK_MSG(same == T, "%s on %s: %d of %d proposals repeat for the same seed", name, space->name, same, T);
    CHECK_MSG(invalid == 0 && repeats == 0, "%s on %s: %d invalid decisions or fidelities, %d repeated proposals", name,
              space->name, invalid, repeats);
    hn_strategy *s;
    CHECK_OK(hn_strategy_new(name, space, NULL, 1, 7, &s));
    CHECK((below > 0) == hn_strategy_multi_fidelity(s));
    hn_strategy_free(s);
}

/* Resuming: a strategy that replays the first 60 told trials (ask, discard, tell the recorded one)
 * proposes what the original proposes next. */
static void replay(const char *name, const hn_space *space) {
    enum { T = 60, NEXT = 20 };
    static uint8_t rec[T][HN_SPACE_MAX_DECISIONS];
    static double fid[T];
    hn_strategy *a, *b;
    CHECK_OK(hn_strategy_new(name, space, NULL, 1, 11, &a));
    CHECK_OK(hn_strategy_new(name, space, NULL, 1, 11, &b));
    if (!a || !b) return;
    for (int t = 0; t < T; t++) {
        hn_strategy_ask(a, rec[t], &fid[t]);
        double v = toy(space, rec[t]);
        hn_strategy_tell(a, rec[t], fid[t], &v, 0);
    }
    for (int t = 0; t < T; t++) {
        uint8_t g[HN_SPACE_MAX_DECISIONS];
        double f;
        hn_strategy_ask(b, g, &f);
        double v = toy(space, rec[t]);
        hn_strategy_tell(b, rec[t], fid[t], &v, 0);
    }
    int differ = 0;
    for (int t = 0; t < NEXT; t++) {
        uint8_t ga[HN_SPACE_MAX_DECISIONS], gb[HN_SPACE_MAX_DECISIONS];
        double fa, fb;
        hn_strategy_ask(a, ga, &fa);
        hn_strategy_ask(b, gb, &fb);
        differ += memcmp(ga, gb, (size_t)space->ndecisions) != 0 || fa != fb;
        double v = toy(space, ga);
        hn_strategy_tell(a, ga, fa, &v, 0);
        hn_strategy_tell(b, gb, fb, &v, 0);
    }
    CHECK_MSG(differ == 0, "%s: %d of %d proposals differ after a replay", name, differ, NEXT);
    hn_strategy_free(a);
    hn_strategy_free(b);
}

static int distance(const uint8_t *a, const uint8_t *b, int n) {
    int d = 0;
    for (int i = 0; i < n; i++) d += a[i] != b[i];
    return d;
}

/* REA with a population of 2: the excellent first trial ages out after two more, and the children
 * are then one decision from one of the two survivors (which differ from it everywhere). */
static void rea_aging(void) {
    const hn_space *sp = &hn_space_nb201;
    hn_strategy_options o = {.population = 2, .sample = 2, .mutations = 1};
    hn_strategy *s;
    CHECK_OK(hn_strategy_new("rea", sp, &o, 1, 3, &s));
    if (!s) return;
    uint8_t A[6] = {0, 0, 0, 0, 0, 0}, B[6] = {3, 3, 3, 3, 3, 3}, C[6] = {4, 4, 4, 4, 4, 3}, g[6];
    double best = -100, ok = -1, worse = -0.5;
    for (int k = 0; k < 3; k++) CHECK_OK(hn_strategy_ask(s, g, NULL)); /* proposals are random while filling */
    CHECK_OK(hn_strategy_tell(s, A, 1, &best, 0));
    CHECK_OK(hn_strategy_tell(s, B, 1, &ok, 0));
    CHECK_OK(hn_strategy_ask(s, g, NULL));
    CHECK(distance(g, A, 6) == 1 || distance(g, B, 6) == 1); /* A is in the population */
    CHECK_OK(hn_strategy_tell(s, C, 1, &worse, 0));             /* A dies */
    int bad = 0;
    for (int k = 0; k < 50; k++) {
        CHECK_OK(hn_strategy_ask(s, g, NULL));
        bad += distance(g, B, 6) != 1 && distance(g, C, 6) != 1;
    }
    CHECK_MSG(bad == 0, "%d children of a dead parent", bad);
    hn_strategy_free(s);
}

/* Hyperband with eta 3 down to 1/9 (Li et al.'s table): bracket 2 evaluates 9 genotypes at 1/9, the
 * best 3 at 1/3 and the best one at 1; bracket 1: 5 at 1/3, then 1 at 1; bracket 0: 3 at 1; then
 * bracket 2 again. Successive halving repeats bracket 2. With nothing told, proposals run ahead into
 * the next bracket instead of waiting. */
static void hyperband_schedule(void) {
    const hn_space *sp = &hn_space_nb201;
    const int want_n[] = {9, 3, 1, 5, 1, 3, 9}, want_sh[] = {9, 3, 1, 9, 3, 1};
    const double want_f[] = {1.0 / 9, 1.0 / 3, 1, 1.0 / 3, 1, 1, 1.0 / 9};
    for (int sh = 0; sh < 2; sh++) {
        hn_strategy *s;
        CHECK_OK(hn_strategy_new(sh ? "sh" : "hyperband", sp, NULL, 1, 5, &s));
        if (!s) return;
        int bad = 0, not_best = 0;
        double first[9];
        for (int r = 0; r < (sh ? 6 : 7); r++) {
            int n = sh ? want_sh[r] : want_n[r];
            double f = sh ? want_f[r % 3] : want_f[r];
            uint8_t g[9][HN_SPACE_MAX_DECISIONS];
            double got_f = 0, v[9];
            for (int k = 0; k < n; k++) {
                CHECK_OK(hn_strategy_ask(s, g[k], &got_f));
                bad += fabs(got_f - f) > 1e-12;
                v[k] = toy(sp, g[k]);
                if (r == 0) first[k] = v[k];
                if (r == 1) { /* a promoted genotype is among the 3 best of the first rung */
                    int better = 0;
                    for (int j = 0; j < 9; j++) better += first[j] < v[k];
                    not_best += better >= 3;
                }
            }
            for (int k = 0; k < n; k++) CHECK_OK(hn_strategy_tell(s, g[k], got_f, &v[k], 0));
        }
        CHECK_MSG(bad == 0 && not_best == 0, "%s: %d proposals at the wrong fidelity, %d promotions not of the best",
                  sh ? "sh" : "hyperband", bad, not_best);
        hn_strategy_free(s);
    }
    hn_strategy *s;
    CHECK_OK(hn_strategy_new("hyperband", sp, NULL, 1, 5, &s));
    uint8_t g[HN_SPACE_MAX_DECISIONS];
    double f = 0;
    for (int k = 0; k < 9; k++) CHECK_OK(hn_strategy_ask(s, g, &f));
    CHECK_OK(hn_strategy_ask(s, g, &f));
    CHECK(f == 1.0 / 3); /* bracket 1 opened while bracket 2 waits */
    CHECK_ERR(hn_strategy_ask(s, g, NULL), HN_ERR_INVALID, "asks at a fidelity");
    hn_strategy_free(s);
    hn_strategy_options o = {.eta = 1};
    CHECK_ERR(hn_strategy_new("sh", sp, &o, 1, 0, &s), HN_ERR_INVALID, "sh: eta 1");
}

static void constraint_order(void) {
    CHECK(strategy_better(5, 0, -5, 1));  /* feasible beats infeasible, whatever the values */
    CHECK(!strategy_better(-5, 1, 5, 0));
    CHECK(strategy_better(9, 0.5, -9, 2)); /* two infeasible: less violation */
    CHECK(strategy_better(1, 0, 2, 0));
}

/* On the NB201 table over 10 seeds, REA, local search, NSGA-II and BO beat random search's mean at 100
 * and 300 trials. Every run is deterministic, so the margins (0.2 points) hold run after run. */
static void learns(const hn_table *t) {
    int val = hn_table_metric_index(t, "cifar10-val"), test = hn_table_metric_index(t, "cifar10-test");
    CHECK(val >= 0 && test >= 0);
    const char *names[5] = {"random", "rea", "local", "nsga2", "bo"};
    double mean[5][2] = {{0}};
    const int trials[2] = {100, 300};
    for (int k = 0; k < 5; k++)
        for (int m = 0; m < 2; m++)
            for (int seed = 0; seed < 10; seed++) {
                hn_strategy *s;
                CHECK_OK(hn_strategy_new(names[k], &hn_space_nb201, NULL, 1, (uint64_t)seed, &s));
                double best = -1, report = 0;
                for (int i = 0; i < trials[m]; i++) {
                    uint8_t g[6];
                    hn_strategy_ask(s, g, NULL);
                    const double *row = hn_table_lookup(t, g);
                    double loss = -row[val];
                    hn_strategy_tell(s, g, 1, &loss, 0);
                    if (row[val] > best) best = row[val], report = row[test];
                }
                mean[k][m] += report / 10;
                hn_strategy_free(s);
            }
    for (int k = 1; k < 5; k++)
        for (int m = 0; m < 2; m++)
            CHECK_MSG(mean[k][m] > mean[0][m] + 0.2, "%s at %d trials: %.3f, random %.3f", names[k], trials[m], mean[k][m],
                      mean[0][m]);
}

/* Fronts by hand: points (1,4) (2,2) (4,1) are the front; (3,3) is dominated by (2,2); (5,5) by all;
 * an infeasible (0,0) comes after every feasible point. */
static void pareto(void) {
    const double p[] = {1, 4, 2, 2, 4, 1, 3, 3, 5, 5, 0, 0};
    const double viol[] = {0, 0, 0, 0, 0, 2};
    int rank[6];
    CHECK(hn_pareto_rank(p, viol, 6, 2, rank) == 4);
    CHECK(rank[0] == 0 && rank[1] == 0 && rank[2] == 0 && rank[3] == 1 && rank[4] == 2 && rank[5] == 3);
    CHECK(hn_pareto_rank(p, NULL, 6, 2, rank) == 4); /* feasible, (0,0) dominates all */
    CHECK(rank[5] == 0 && rank[0] == 1 && rank[3] == 2 && rank[4] == 3);
    /* crowding of the front (1,4) (2,2) (4,1): the ends infinite; the middle (4-1)/3 + (4-1)/3 = 2 */
    int idx[3] = {0, 1, 2};
    double d[3];
    hn_pareto_crowding(p, 2, idx, 3, d);
    CHECK(isinf(d[0]) && isinf(d[2]) && fabs(d[1] - 2) < 1e-12);
    /* hypervolume to (5,5): strips 1x1 + 2x3 + 1x4 ... = union of [1,5]x[4,5], [2,5]x[2,5], [4,5]x[1,5]
     * = 4*1 + 3*2 + 1*1 = 11; the dominated (3,3) and the point on the reference add nothing */
    double hv;
    CHECK_OK(hn_hypervolume(p, 5, 2, (const double[]){5, 5}, &hv));
    CHECK_MSG(fabs(hv - 11) < 1e-12, "2-D hypervolume %g", hv);
    /* 3-D: a single point (1,1,1) to (2,3,4): 1*2*3 = 6; with (0,2,0): box 2*1*4 = 8, overlap
     * [1,2]x[2,3]x[1,4] = 3: 6 + 8 - 3 = 11 */
    const double q[] = {1, 1, 1, 0, 2, 0};
    CHECK_OK(hn_hypervolume(q, 1, 3, (const double[]){2, 3, 4}, &hv));
    CHECK(fabs(hv - 6) < 1e-12);
    CHECK_OK(hn_hypervolume(q, 2, 3, (const double[]){2, 3, 4}, &hv));
    CHECK_MSG(fabs(hv - 11) < 1e-12, "3-D hypervolume %g", hv);
    CHECK_ERR(hn_hypervolume(q, 1, 4, (const double[]){1, 1, 1, 1}, &hv), HN_ERR_INVALID, "exact only for 2 or 3");
}

static void table_files(void) {
    hn_table *t = NULL;
    CHECK_OK(hn_table_load(table_path(), &hn_space_nb201, &t));
    if (!t) return;
    CHECK(hn_table_rows(t) == 15625 && hn_table_metrics(t) == 3); /* arch_index, cifar10-val, cifar10-test */
    uint8_t g[6];
    hn_space_nb201.parse(&hn_space_nb201, "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", g);
    const double *row = hn_table_lookup(t, g);
    CHECK(row && row[hn_table_metric_index(t, "cifar10-test")] > 80);
    learns(t);
    hn_table_free(t);

    const char *tmp = "test_search_table.csv";
    struct {
        const char *text, *want;
        hn_status st;
    } bad[] = {
        {"a,b\n1,2\n", "test_search_table.csv:2: no column holds a nb201 architecture string", HN_ERR_FORMAT},
        {"arch,acc\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,0.5\n|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|,x\n",
         "test_search_table.csv:3: column 'acc': expected a finite number, got 'x'", HN_ERR_FORMAT},
        /* NaN and Inf (issue 19): a study could never store them */
        {"arch,acc\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,0.5\n|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|,NaN\n",
         "test_search_table.csv:3: column 'acc': expected a finite number, got 'NaN'", HN_ERR_FORMAT},
        {"arch,acc\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,-inf\n",
         "test_search_table.csv:2: column 'acc': expected a finite number, got '-inf'", HN_ERR_FORMAT},
        {"arch,acc\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,1\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,2\n",
         "test_search_table.csv:3: architecture '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|' is already in row 1",
         HN_ERR_FORMAT},
        {"arch,acc\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,1\n\"|none~0|,2\n",
         "test_search_table.csv:3: a quote is not closed", HN_ERR_FORMAT},
        {"arch,acc\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,1\n|conv~0|,2\n",
         "test_search_table.csv:3: column 'arch': nb201 architecture '|conv~0|': at position 1", HN_ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FILE *f = fopen(tmp, "w");
        fputs(bad[i].text, f);
        fclose(f);
        CHECK_ERR(hn_table_load(tmp, &hn_space_nb201, &t), bad[i].st, bad[i].want);
    }
    /* the MBConv reference counts: quoted architecture strings with commas */
    char path[1024];
    snprintf(path, sizeof path, "%s/ref/mbconv-counts.csv", HWNAS_TEST_DIR);
    CHECK_OK(hn_table_load(path, &hn_space_mbconv, &t));
    if (t) CHECK(hn_table_rows(t) == 62 && hn_table_metric_index(t, "macs") >= 0);
    hn_table_free(t);
    remove(tmp);
}

/* synflow where float overflows: 45 x (1x1 conv 16->16, ReLU) and a linear 16->1, every weight 0.5, no
 * biases. Each layer multiplies the all-ones input by 8, so R = 8^46 = 2^138 (> FLT_MAX), and each of
 * the 46 layers is homogeneous of degree 1 in its weights: sum w dR/dw = R per layer, synflow = 46 R.
 * Every value is a power of two, so the scaled passes must give it exactly (the sum of 2 outputs
 * doubles it). A network that ignores its input has an undefined jacob_cov. */
static void synflow_overflow(void) {
    hn_graph *g;
    int id = 0;
    CHECK_OK(hn_graph_new((hn_shape){16, 1, 1}, &g));
    for (int l = 0; l < 45; l++) {
        hn_node_spec c = hn_spec(HN_OP_CONV2D, id);
        c.out = 16, c.kernel = 1;
        CHECK_OK(hn_graph_add(g, &c, &id));
        hn_node_spec r = hn_spec(HN_OP_RELU, id);
        CHECK_OK(hn_graph_add(g, &r, &id));
    }
    hn_node_spec fc = hn_spec(HN_OP_LINEAR, id);
    fc.out = 2;
    CHECK_OK(hn_graph_add(g, &fc, &id));
    CHECK_OK(hn_graph_finalize(g));
    for (size_t i = 0; i < g->nparams; i++) g->params[i] = -0.5f; /* synflow takes absolute values */
    float x[2 * 16];
    int32_t y[2] = {0, 1};
    for (int i = 0; i < 32; i++) x[i] = (float)(i % 7) - 3;
    double v[HN_PROXY_COUNT];
    CHECK_OK(hn_proxies(g, x, y, 2, v));
    CHECK_MSG(v[HN_PROXY_SYNFLOW] == 2 * 46 * ldexp(1, 138), "synflow %.17g, want 2 x 46 x 2^138", v[HN_PROXY_SYNFLOW]);
    CHECK(isfinite(v[HN_PROXY_SNIP]) && isfinite(v[HN_PROXY_GRAD_NORM]));
    CHECK(g->params[0] == -0.5f);
    hn_graph_free(g);
    /* an all-"none" NB201 cell: the output is a constant */
    uint8_t geno[HN_SPACE_MAX_DECISIONS] = {0};
    const hn_space *nb = &hn_space_nb201;
    CHECK_OK(nb->parse(nb, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", geno));
    hn_space_config cfg = nb->defaults;
    cfg.width = 4, cfg.cells = 1, cfg.input = (hn_shape){3, 8, 8};
    CHECK_OK(nb->to_graph(nb, geno, &cfg, &g));
    CHECK_OK(hn_graph_finalize(g));
    hn_graph_init_params(g, 1);
    float img[4 * 3 * 64];
    int32_t lab[4] = {0, 1, 2, 3};
    for (int i = 0; i < 4 * 3 * 64; i++) img[i] = (float)((i * 37) % 11) - 5;
    CHECK_OK(hn_proxies(g, img, lab, 4, v));
    CHECK(isnan(v[HN_PROXY_JACOB_COV]) && v[HN_PROXY_SYNFLOW] >= 0);
    CHECK_ERR(hn_proxies(g, img, lab, 1, v), HN_ERR_INVALID, "batch of 1 images");
    hn_graph_free(g);
    CHECK(hn_proxy_from_name("naswot") == HN_PROXY_NASWOT && hn_proxy_from_name("zen") == HN_PROXY_COUNT);
}

int main(void) {
    const hn_space *spaces[] = {&hn_space_nb201, &hn_space_mbconv, hn_space_find("mbconv+quant")};
    for (const char *const *n = hn_strategy_names(); *n; n++) {
        for (int i = 0; i < 3; i++) contract(*n, spaces[i]);
        replay(*n, &hn_space_nb201);
    }
    rea_aging();
    hyperband_schedule();
    constraint_order();
    pareto();
    table_files();
    synflow_overflow();
    CHECK_ERR(hn_strategy_new("tpe", &hn_space_nb201, NULL, 1, 0, &(hn_strategy *){NULL}), HN_ERR_INVALID,
              "unknown strategy 'tpe'");
    hn_strategy_options o = {.population = 5, .sample = 9};
    CHECK_ERR(hn_strategy_new("rea", &hn_space_nb201, &o, 1, 0, &(hn_strategy *){NULL}), HN_ERR_INVALID,
              "rea: population 5, sample 9");
    return check_report();
}
