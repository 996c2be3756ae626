/* hwnas bench: the benchmark protocol of NAS on a tabular benchmark (Yang et al., ICLR 2020): K seeds of
 * T trials per strategy, selecting on one metric and reporting another. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hwnas/estimate.h"
#include "hwnas/search.h"

static const char *help =
    "Usage: hwnas bench --space NAME --table FILE --optimize METRIC --report METRIC\n"
    "                   [--strategy NAME[,NAME...]] [--trials T] [--seeds K] [--json]\n"
    "\n"
    "Runs each strategy for K seeds (0..K-1) of T trials on a tabular benchmark (a CSV keyed by the\n"
    "space's architecture strings), maximizing --optimize, and reports the --report metric of the\n"
    "architecture each run chose: mean and standard deviation over seeds, the anytime curve (mean\n"
    "best-so-far), the relative improvement over random search (Yang et al. 2020: 100 (m - r) / r),\n"
    "and the microseconds per trial the strategy itself took (ask + tell, not the lookups).\n"
    "Strategies: random, rea, local (default: all).\n"
    "\n"
    "Example:\n"
    "  hwnas bench --space nb201 --table ../shared/reference/nb201/nb201-cifar10-12epoch.csv \\\n"
    "              --optimize cifar10-val --report cifar10-test --trials 100 --seeds 20\n";

typedef struct {
    char name[32];
    double mean, std, us_per_trial, ri;
    double *finals, *curve; /* seeds; trials */
} result;

/* Runs one strategy over all seeds; fills r (finals and curve allocated by the caller). */
static hn_status run(const char *name, const hn_space *space, const hn_table *table, int opt, int rep, int trials,
                     int seeds, result *r) {
    double strategy_s = 0;
    memset(r->curve, 0, sizeof(double) * (size_t)trials);
    for (int seed = 0; seed < seeds; seed++) {
        hn_strategy *s;
        hn_status st = hn_strategy_new(name, space, NULL, 1, (uint64_t)seed, &s);
        if (st) return st;
        double best = -INFINITY, best_report = NAN;
        for (int t = 0; t < trials; t++) {
            uint8_t g[HN_SPACE_MAX_DECISIONS];
            double t0 = hn_now();
            hn_strategy_ask(s, g);
            strategy_s += hn_now() - t0;
            const double *row = hn_table_lookup(table, g);
            if (!row) {
                char arch[4096];
                space->format(space, g, arch, sizeof arch);
                hn_strategy_free(s);
                return hn_error(HN_ERR_INVALID, "the table has no row for %s (strategy %s proposed it)", arch, name);
            }
            double loss = -row[opt];
            t0 = hn_now();
            st = hn_strategy_tell(s, g, &loss, 0);
            strategy_s += hn_now() - t0;
            if (st) {
                hn_strategy_free(s);
                return st;
            }
            if (row[opt] > best) best = row[opt], best_report = row[rep];
            r->curve[t] += best_report / seeds;
        }
        r->finals[seed] = best_report;
        hn_strategy_free(s);
    }
    double m = 0, v = 0;
    for (int i = 0; i < seeds; i++) m += r->finals[i] / seeds;
    for (int i = 0; i < seeds; i++) v += (r->finals[i] - m) * (r->finals[i] - m) / seeds;
    r->mean = m, r->std = sqrt(v);
    r->us_per_trial = 1e6 * strategy_s / ((double)trials * seeds);
    snprintf(r->name, sizeof r->name, "%s", name);
    return HN_OK;
}

int cmd_bench(int argc, char **argv) {
    enum { O_SPACE = 256, O_TABLE, O_OPT, O_REP, O_STRAT, O_TRIALS, O_SEEDS, O_JSON, O_HELP };
    static const struct option opts[] = {
        {"space", required_argument, 0, O_SPACE},  {"table", required_argument, 0, O_TABLE},
        {"optimize", required_argument, 0, O_OPT}, {"report", required_argument, 0, O_REP},
        {"strategy", required_argument, 0, O_STRAT}, {"trials", required_argument, 0, O_TRIALS},
        {"seeds", required_argument, 0, O_SEEDS},  {"json", no_argument, 0, O_JSON},
        {"help", no_argument, 0, O_HELP},          {0, 0, 0, 0}};
    const char *space_name = NULL, *table_path = NULL, *optimize = NULL, *report = NULL, *strategies = "random,rea,local";
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
        case O_STRAT: strategies = optarg; break;
        case O_TRIALS: if (!cli_int("bench", "--trials", optarg, 1, 10000000, &trials)) return 2; break;
        case O_SEEDS: if (!cli_int("bench", "--seeds", optarg, 1, 100000, &seeds)) return 2; break;
        case O_JSON: json = true; break;
        case O_HELP: fputs(help, stdout); return 0;
        default: return cli_usage_error("bench", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("bench", "unexpected argument '%s'", argv[optind]);
    if (!space_name || !table_path || !optimize || !report)
        return cli_usage_error("bench", "--space, --table, --optimize and --report are required");
    const hn_space *space = hn_space_find(space_name);
    if (!space) return cli_usage_error("bench", "unknown space '%s' (see 'hwnas space list')", space_name);
    hn_table *table;
    hn_status st = hn_table_load(table_path, space, &table);
    if (st) return cli_fail(st);
    int opt = hn_table_metric_index(table, optimize), rep = hn_table_metric_index(table, report);
    if (opt < 0 || rep < 0) {
        char known[1024] = "";
        for (int i = 0; i < hn_table_metrics(table); i++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "", hn_table_metric_name(table, i));
        hn_table_free(table);
        return cli_usage_error("bench", "%s: no column '%s' (metrics: %s)", table_path, opt < 0 ? optimize : report, known);
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
        st = run(names[i], space, table, opt, rep, (int)trials, (int)seeds, &res[i]);
        res[i].ri = 100 * (res[i].mean - res[0].mean) / res[0].mean;
    }
    cli_progress_end(&bar);
    hn_table_free(table);
    if (st) {
        hn_free(res), hn_free(mem);
        return cli_fail(st);
    }
    bool asked_random = false;
    for (char *p = strstr(strategies, "random"); p; p = strstr(p + 1, "random"))
        asked_random |= (p == strategies || p[-1] == ',') && (p[6] == 0 || p[6] == ',');
    if (!json)
        printf("%s on %s: select on %s, report %s, %ld trials, %ld seeds\n\n%-10s %8s %6s %9s %10s   %s\n", space_name,
               table_path, optimize, report, trials, seeds, "strategy", "mean", "std", "RI(%)", "us/trial",
               "best-so-far mean at 10 / 25 / 50 / 100 / 300 trials");
    for (int i = asked_random ? 0 : 1; i < n; i++) {
        const result *r = &res[i];
        if (json) {
            json_t *finals = json_array(), *curve = json_array();
            for (long k = 0; k < seeds; k++) json_array_append_new(finals, json_real(r->finals[k]));
            for (long k = 0; k < trials; k++) json_array_append_new(curve, json_real(r->curve[k]));
            json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:f, s:f, s:o, s:o, s:f, s:f}", "strategy", r->name,
                                  "space", space_name, "optimize", optimize, "report", report, "trials",
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
            for (int k = 0; k < 5 && marks[k] <= trials; k++) printf(" %s%.2f", k ? "/ " : "", r->curve[marks[k] - 1]);
            printf("\n");
        }
    }
    hn_free(res);
    hn_free(mem);
    return 0;
}
