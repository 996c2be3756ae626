/* hwnas bench: the benchmark protocol of NAS on a tabular benchmark (Yang et al., ICLR 2020): K seeds of
 * T trials per strategy, selecting on one metric and reporting another -- or, with several objectives,
 * the hypervolume of the front found. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hwnas/estimate.h"
#include "hwnas/provider.h"
#include "hwnas/search.h"

/* a printf format: the strategies' names go in */
static const char *help =
    "Usage: hwnas bench --space NAME --table FILE (--optimize METRIC --report METRIC | --objectives LIST)\n"
    "                   [--strategy NAME[,NAME...]] [--trials T] [--seeds K] [--json]\n"
    "\n"
    "Runs each strategy for K seeds (0..K-1) of T trials on a tabular benchmark (a CSV keyed by the\n"
    "space's architecture strings), maximizing --optimize, and reports the --report metric of the\n"
    "architecture each run chose: mean and standard deviation over seeds, the anytime curve (mean\n"
    "best-so-far), the relative improvement over random search (Yang et al. 2020: 100 (m - r) / r),\n"
    "and the microseconds per trial the strategy itself took (ask + tell, not the lookups).\n"
    "\n"
    "--objectives METRIC:max|min,... (2 or 3) reports instead the hypervolume of each run's trials,\n"
    "with every objective scaled to [0, 1] over the whole table and the reference point at 1.1.\n"
    "Metrics: the table's columns, and params and macs counted on each architecture's network.\n"
    "Single-objective strategies (all but nsga2) optimize the first objective.\n"
    "Strategies: %s (default: random, rea, local, nsga2).\n"
    "random always runs: it is the baseline. A table has one fidelity: every evaluation counts as\n"
    "a trial and reads the same row, so multi-fidelity strategies (hyperband, sh) only pay for their\n"
    "re-evaluations here; they save time where fidelity is training time (hwnas search).\n"
    "\n"
    "Examples:\n"
    "  hwnas bench --space nb201 --table ../shared/reference/nb201/nb201-cifar10-12epoch.csv \\\n"
    "              --optimize cifar10-val --report cifar10-test --trials 100 --seeds 20\n"
    "  hwnas bench --space nb201 --table ../shared/reference/nb201/nb201-cifar10-12epoch.csv \\\n"
    "              --objectives cifar10-val:max,macs:min --strategy nsga2 --trials 300 --seeds 20\n";

enum { SRC_PARAMS = -1, SRC_MACS = -2, MAX_OBJ = 3 };

/* what a run reads per trial: objectives (a table column or a count) and, single-objective, a report */
typedef struct {
    const hn_space *space;
    const hn_table *table;
    int m;
    int src[MAX_OBJ];
    double sign[MAX_OBJ];      /* +1 minimize, -1 maximize */
    double lo[MAX_OBJ], hi[MAX_OBJ]; /* each objective's range over the table (multi-objective) */
    int report;                /* table column (single objective) */
} setup;

typedef struct {
    char name[32];
    double mean, std, us_per_trial, ri;
    double *finals, *curve; /* seeds; trials */
} result;

static double metric(const setup *u, const uint8_t *g, const double *row, int src) {
    if (src >= 0) return row[src];
    hn_candidate c;
    if (hn_candidate_build_genotype(u->space, g, &(hn_candidate_spec){.space = u->space->defaults}, &c)) return NAN;
    double v = (double)(src == SRC_MACS ? hn_graph_macs(c.graph) : hn_graph_param_count(c.graph));
    hn_candidate_free(&c);
    return v;
}

/* minimized objective k of g, scaled to [0, 1] in the multi-objective case */
static double objective(const setup *u, const uint8_t *g, const double *row, int k) {
    double v = metric(u, g, row, u->src[k]);
    if (u->m == 1) return u->sign[k] * v;
    double x = (v - u->lo[k]) / (u->hi[k] > u->lo[k] ? u->hi[k] - u->lo[k] : 1);
    return u->sign[k] > 0 ? x : 1 - x;
}

/* Runs one strategy over all seeds; fills r (finals and curve allocated by the caller). */
static hn_status run(const char *name, const setup *u, int trials, int seeds, result *r) {
    double strategy_s = 0, *points = hn_alloc(sizeof(double) * (size_t)trials * (size_t)u->m);
    const double ref[MAX_OBJ] = {1.1, 1.1, 1.1};
    if (!points) return hn_error_prefix(HN_ERR_NOMEM, "bench");
    memset(r->curve, 0, sizeof(double) * (size_t)trials);
    hn_status st = HN_OK;
    for (int seed = 0; seed < seeds && !st; seed++) {
        hn_strategy *s;
        if ((st = hn_strategy_new(name, u->space, NULL, u->m, (uint64_t)seed, &s))) break;
        double best = INFINITY, best_report = NAN, hv = 0;
        for (int t = 0; t < trials && !st; t++) {
            uint8_t g[HN_SPACE_MAX_DECISIONS];
            double t0 = hn_now(), fidelity;
            hn_strategy_ask(s, g, &fidelity);
            strategy_s += hn_now() - t0;
            const double *row = hn_table_lookup(u->table, g);
            if (!row) {
                char arch[4096];
                u->space->format(u->space, g, arch, sizeof arch);
                st = hn_error(HN_ERR_INVALID, "the table has no row for %s (strategy %s proposed it)", arch, name);
                break;
            }
            double *v = points + (size_t)t * u->m;
            for (int k = 0; k < u->m; k++) v[k] = objective(u, g, row, k);
            t0 = hn_now();
            st = hn_strategy_tell(s, g, fidelity, v, 0);
            strategy_s += hn_now() - t0;
            if (u->m == 1) {
                if (v[0] < best) best = v[0], best_report = row[u->report];
                r->curve[t] += best_report / seeds;
            } else if (!st) {
                st = hn_hypervolume(points, t + 1, u->m, ref, &hv);
                r->curve[t] += hv / seeds;
            }
        }
        r->finals[seed] = u->m == 1 ? best_report : hv;
        hn_strategy_free(s);
    }
    hn_free(points);
    if (st) return st;
    double mean = 0, var = 0;
    for (int i = 0; i < seeds; i++) mean += r->finals[i] / seeds;
    for (int i = 0; i < seeds; i++) var += (r->finals[i] - mean) * (r->finals[i] - mean) / seeds;
    r->mean = mean, r->std = sqrt(var);
    r->us_per_trial = 1e6 * strategy_s / ((double)trials * seeds);
    snprintf(r->name, sizeof r->name, "%s", name);
    return HN_OK;
}

static int column(const hn_table *t, const char *path, const char *name, bool counts, int *src) {
    if (counts && !strcmp(name, "params")) return *src = SRC_PARAMS, 0;
    if (counts && !strcmp(name, "macs") && hn_table_metric_index(t, "macs") < 0) return *src = SRC_MACS, 0;
    if ((*src = hn_table_metric_index(t, name)) >= 0) return 0;
    char known[1024] = "";
    for (int i = 0; i < hn_table_metrics(t); i++)
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "", hn_table_metric_name(t, i));
    return cli_usage_error("bench", "%s: no column '%s' (metrics: %s%s)", path, name, known, counts ? ", params, macs" : "");
}

/* "val:max,macs:min" into u; returns 0 or the exit code of a usage error */
static int parse_objectives(const char *list, const char *path, setup *u) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    u->m = 0;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(tok, ':');
        if (!colon || (strcmp(colon, ":max") && strcmp(colon, ":min")))
            return cli_usage_error("bench", "--objectives: '%s' is not METRIC:max or METRIC:min", tok);
        if (u->m == MAX_OBJ) return cli_usage_error("bench", "--objectives: at most %d objectives", MAX_OBJ);
        *colon = 0;
        u->sign[u->m] = !strcmp(colon + 1, "max") ? -1 : 1;
        int rc = column(u->table, path, tok, true, &u->src[u->m]);
        if (rc) return rc;
        u->m++;
    }
    if (u->m < 2) return cli_usage_error("bench", "--objectives needs 2 or 3 objectives (one: use --optimize)");
    /* the ranges that scale each objective: over every architecture of the table */
    for (int k = 0; k < u->m; k++) u->lo[k] = INFINITY, u->hi[k] = -INFINITY;
    for (int i = 0; i < hn_table_rows(u->table); i++) {
        const uint8_t *g = hn_table_genotype(u->table, i);
        const double *row = hn_table_lookup(u->table, g);
        for (int k = 0; k < u->m; k++) {
            double v = metric(u, g, row, u->src[k]);
            if (v < u->lo[k]) u->lo[k] = v;
            if (v > u->hi[k]) u->hi[k] = v;
        }
    }
    return 0;
}

int cmd_bench(int argc, char **argv) {
    enum { O_SPACE = 256, O_TABLE, O_OPT, O_REP, O_OBJ, O_STRAT, O_TRIALS, O_SEEDS, O_JSON, O_HELP };
    static const struct option opts[] = {
        {"space", required_argument, 0, O_SPACE},  {"table", required_argument, 0, O_TABLE},
        {"optimize", required_argument, 0, O_OPT}, {"report", required_argument, 0, O_REP},
        {"objectives", required_argument, 0, O_OBJ}, {"strategy", required_argument, 0, O_STRAT},
        {"trials", required_argument, 0, O_TRIALS}, {"seeds", required_argument, 0, O_SEEDS},
        {"json", no_argument, 0, O_JSON},          {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0}};
    const char *space_name = NULL, *table_path = NULL, *optimize = NULL, *report = NULL, *objectives = NULL,
               *strategies = "random,rea,local,nsga2";
    long trials = 100, seeds = 10;
    bool json = false;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_SPACE: space_name = optarg; break;
        case O_TABLE: table_path = optarg; break;
        case O_OPT: optimize = optarg; break;
        case O_REP: report = optarg; break;
        case O_OBJ: objectives = optarg; break;
        case O_STRAT: strategies = optarg; break;
        case O_TRIALS: if (!cli_int("bench", "--trials", optarg, 1, 1000000, &trials)) return 2; break;
        case O_SEEDS: if (!cli_int("bench", "--seeds", optarg, 1, 100000, &seeds)) return 2; break;
        case O_JSON: json = true; break;
        case O_HELP: printf(help, hn_strategy_known()); return 0;
        default: return cli_usage_error("bench", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("bench", "unexpected argument '%s'", argv[optind]);
    if (!space_name || !table_path || (!objectives && (!optimize || !report)) || (objectives && (optimize || report)))
        return cli_usage_error("bench", "give --space, --table, and either --optimize and --report or --objectives");
    const hn_space *space = hn_space_find(space_name);
    if (!space) return cli_usage_error("bench", "unknown space '%s' (see 'hwnas space list')", space_name);
    setup u = {.space = space, .m = 1, .sign = {-1}};
    hn_table *table;
    hn_status st = hn_table_load(table_path, space, &table);
    if (st) return cli_fail(st);
    u.table = table;
    int rc = objectives ? parse_objectives(objectives, table_path, &u)
                        : column(table, table_path, optimize, false, &u.src[0]) ||
                              column(table, table_path, report, false, &u.report);
    if (rc) {
        hn_table_free(table);
        return 2;
    }
    /* random always runs first: the others' relative improvement is measured against it */
    char list[512];
    snprintf(list, sizeof list, "random,%s", strategies);
    char *names[16];
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok && n < 16; tok = strtok_r(NULL, ",", &save)) {
        bool dup = false;
        for (int i = 0; i < n; i++) dup |= !strcmp(names[i], tok);
        if (!dup) names[n++] = tok;
    }
    result *res = hn_calloc(sizeof(result) * (size_t)n);
    double *mem = hn_alloc(sizeof(double) * (size_t)n * (size_t)(seeds + trials));
    if (!res || !mem) {
        hn_free(res), hn_free(mem), hn_table_free(table);
        return cli_fail(HN_ERR_NOMEM);
    }
    cli_progress bar;
    cli_progress_init(&bar);
    for (int i = 0; i < n && !st; i++) {
        res[i].finals = mem + (size_t)i * (seeds + trials);
        res[i].curve = res[i].finals + seeds;
        cli_progress_draw(&bar, "benchmarking", i, n, names[i]);
        st = run(names[i], &u, (int)trials, (int)seeds, &res[i]);
        res[i].ri = 100 * (res[i].mean - res[0].mean) / res[0].mean;
    }
    cli_progress_end(&bar);
    hn_table_free(table);
    if (st) {
        hn_free(res), hn_free(mem);
        return cli_fail(st);
    }
    bool asked_random = false;
    for (const char *p = strstr(strategies, "random"); p; p = strstr(p + 1, "random"))
        asked_random |= (p == strategies || p[-1] == ',') && (p[6] == 0 || p[6] == ',');
    const char *what = u.m == 1 ? "mean" : "HV mean";
    if (!json) {
        if (u.m == 1)
            printf("%s on %s: select on %s, report %s, %ld trials, %ld seeds\n\n", space_name, table_path, optimize,
                   report, trials, seeds);
        else
            printf("%s on %s: objectives %s, hypervolume (scaled, reference 1.1), %ld trials, %ld seeds\n\n",
                   space_name, table_path, objectives, trials, seeds);
        printf("%-10s %8s %6s %9s %10s   %s\n", "strategy", what, "std", "RI(%)", "us/trial",
               u.m == 1 ? "best-so-far mean at 10 / 25 / 50 / 100 / 300 trials" : "mean at 10 / 25 / 50 / 100 / 300 trials");
    }
    for (int i = asked_random ? 0 : 1; i < n; i++) {
        const result *r = &res[i];
        if (json) {
            json_t *finals = json_array(), *curve = json_array();
            for (long k = 0; k < seeds; k++) json_array_append_new(finals, json_real(r->finals[k]));
            for (long k = 0; k < trials; k++) json_array_append_new(curve, json_real(r->curve[k]));
            json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:f, s:f, s:o, s:o, s:f, s:f}", "strategy", r->name,
                                  "space", space_name, "measure", u.m == 1 ? report : "hypervolume", "trials",
                                  (json_int_t)trials, "seeds", (json_int_t)seeds, "mean", r->mean, "std", r->std,
                                  "finals", finals, "curve", curve, "relative_improvement", r->ri, "us_per_trial",
                                  r->us_per_trial);
            char *s = json_dumps(o, 0);
            puts(s);
            free(s);
            json_decref(o);
        } else {
            printf("%-10s %8.3f %6.3f %+9.3f %10.2f  ", r->name, r->mean, r->std, r->ri, r->us_per_trial);
            const long marks[5] = {10, 25, 50, 100, 300};
            for (int k = 0; k < 5 && marks[k] <= trials; k++)
                printf(u.m == 1 ? " %s%.2f" : " %s%.4f", k ? "/ " : "", r->curve[marks[k] - 1]);
            printf("\n");
        }
    }
    hn_free(res);
    hn_free(mem);
    return 0;
}
