/* hwnas study: inspecting study directories -- list them, show one (trials by state, the front, the
 * chosen model), export its trials as CSV or JSON. */
#include <dirent.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "hwnas/report.h"
#include "hwnas/study.h"

static const char *help =
    "Usage: hwnas study list [DIR]\n"
    "       hwnas study show STUDY_DIR [--json]\n"
    "       hwnas study export STUDY_DIR [--front] [--format csv|json]\n"
    "\n"
    "list    the studies in DIR (default: the current directory): name, trials, best accuracy, state\n"
    "show    one study: its question, trials by state, the Pareto front and the chosen model\n"
    "        (--json: the front and the chosen model as pareto.json holds them)\n"
    "export  every trial (--front: the front only) as CSV (default) or JSON on stdout\n";

static hn_status open_study(const char *dir, hn_study **s) { return hn_study_open(dir, cli_data_dirs("devices"), s); }

static int list(const char *root) {
    DIR *d = opendir(root);
    if (!d) return cli_fail(hn_error(HN_ERR_IO, "%s: cannot open the directory", root));
    printf("%-40s %-16s %9s %10s  %s\n", "directory", "study", "trials", "accuracy", "state");
    struct dirent *e;
    int shown = 0;
    while ((e = readdir(d))) {
        char path[2048], db[2100];
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", root, e->d_name);
        snprintf(db, sizeof db, "%s/study.db", path);
        struct stat sb;
        if (stat(db, &sb)) continue;
        hn_study *s;
        hn_study_status ss;
        if (open_study(path, &s)) {
            printf("%-40s %-16s %9s %10s  unreadable: %s\n", e->d_name, "?", "?", "?", hn_last_error());
            continue;
        }
        if (!hn_study_get_status(s, &ss)) {
            const hn_study_progress *p = &ss.counts;
            char trials[32], acc[32] = "-";
            snprintf(trials, sizeof trials, "%d/%d", p->done + p->failed + p->pruned, p->budget);
            double a = !isnan(ss.final_test_accuracy) ? ss.final_test_accuracy : p->best_accuracy;
            if (!isnan(a)) snprintf(acc, sizeof acc, "%.2f %%", a);
            printf("%-40s %-16s %9s %10s  %s\n", e->d_name, hn_study_get_config(s)->name, trials, acc,
                   ss.finished ? "finished" : p->running ? "running" : "stopped (hwnas search --resume)");
            shown++;
        }
        hn_study_close(s);
    }
    closedir(d);
    if (!shown) printf("(no studies in %s)\n", root);
    return 0;
}

/* the trials (or the front) to stdout, as the report's tables hold them */
static hn_status export_trials(hn_study *s, bool front_only, bool json) {
    hn_study_snapshot snap;
    hn_status st = hn_study_snapshot_take(s, &snap);
    if (!st) st = hn_report_export(&snap, front_only, json, stdout);
    hn_study_snapshot_free(&snap);
    return st;
}

static int show(const char *dir, bool json) {
    hn_study *s;
    hn_status st = open_study(dir, &s);
    if (st) return cli_fail(st);
    if (json) {
        st = export_trials(s, true, true);
        hn_study_close(s);
        return st ? cli_fail(st) : 0;
    }
    const hn_study_config *c = hn_study_get_config(s);
    hn_study_status ss;
    if ((st = hn_study_get_status(s, &ss))) {
        hn_study_close(s);
        return cli_fail(st);
    }
    printf("study        %s (%s)\n", c->name, c->path);
    printf("space        %s\n", c->space);
    if (c->dataset[0]) printf("dataset      %s\n", c->dataset);
    for (int i = 0; i < hn_study_providers(s); i++) { /* the evaluation pipeline, in the order it runs */
        const hn_provider *pr = hn_study_provider_at(s, i, NULL);
        printf("%-12s %-9s %s\n", i ? "" : "pipeline", hn_tier_name(pr->tier), pr->description);
    }
    printf("objectives  ");
    for (int i = 0; i < c->nobjectives; i++) printf(" %s %s", c->objectives[i].maximize ? "max" : "min", c->objectives[i].metric);
    printf("\nconstraints %s", c->nconstraints ? "" : " none");
    for (int i = 0; i < c->nconstraints; i++)
        printf(" %s %s %g%s", c->constraints[i].metric, c->constraints[i].at_most ? "<=" : ">=", c->constraints[i].bound,
               i + 1 < c->nconstraints ? "," : "");
    const hn_study_progress *p = &ss.counts;
    printf("\nstrategy     %s, budget %d trials", c->strategy, c->trials);
    if (c->time_s > 0)
        printf(" or %.0f s of search: %.0f s used, %.0f s left", c->time_s, p->elapsed_s,
               p->elapsed_s < c->time_s ? c->time_s - p->elapsed_s : 0);
    else if (p->elapsed_s > 0) /* a store from before the workers table has no record of it */
        printf(" (%.0f s of search so far)", p->elapsed_s);
    printf("\n");
    printf("trials       %d done, %d pruned, %d failed, %d running, %d queued\n", p->done, p->pruned, p->failed,
           p->running, p->queued);
    if (ss.chosen_trial >= 0) {
        printf("chosen       trial %d", ss.chosen_trial);
        if (!isnan(ss.final_test_accuracy)) printf(", %.2f %% test accuracy after the final training", ss.final_test_accuracy);
        printf("\n");
    }
    printf("state        %s\n\nPareto front (%d trials):\n", ss.finished ? "finished" : "not finished", p->front);
    st = export_trials(s, true, false);
    hn_study_close(s);
    return st ? cli_fail(st) : 0;
}

int cmd_study(int argc, char **argv) {
    enum { O_JSON = 256, O_FRONT, O_FORMAT, O_HELP };
    static const struct option opts[] = {{"json", no_argument, 0, O_JSON},
                                         {"front", no_argument, 0, O_FRONT},
                                         {"format", required_argument, 0, O_FORMAT},
                                         {"help", no_argument, 0, O_HELP},
                                         {0, 0, 0, 0}};
    if (argc < 2) return cli_usage_error("study", "give list, show or export");
    const char *sub = argv[1];
    bool json = false, front = false;
    const char *format = "csv";
    int c;
    opterr = 0;
    optind = 2;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_JSON: json = true; break;
        case O_FRONT: front = true; break;
        case O_FORMAT: format = optarg; break;
        case O_HELP: fputs(help, stdout); return 0;
        default: return cli_usage_error("study", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (!strcmp(sub, "--help")) return fputs(help, stdout), 0;
    const char *dir = optind < argc ? argv[optind] : NULL;
    if (optind + 1 < argc) return cli_usage_error("study", "unexpected argument '%s'", argv[optind + 1]);
    if (!strcmp(sub, "list")) return list(dir ? dir : ".");
    if (!dir) return cli_usage_error("study", "%s needs a study directory", sub);
    if (!strcmp(sub, "show")) return show(dir, json);
    if (!strcmp(sub, "export")) {
        if (strcmp(format, "csv") && strcmp(format, "json"))
            return cli_usage_error("study", "--format '%s': expected csv or json", format);
        hn_study *s;
        hn_status st = open_study(dir, &s);
        if (!st) st = export_trials(s, front, !strcmp(format, "json"));
        hn_study_close(s);
        return st ? cli_fail(st) : 0;
    }
    return cli_usage_error("study", "unknown subcommand '%s' (list, show, export)", sub);
}
