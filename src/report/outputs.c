/* A study's outputs (include/hwnas/report.h): trials.csv (every trial), pareto.csv and pareto.json (the
 * front and the chosen model), pareto.svg and report.html, each written whole and renamed into place. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

/* every metric name that occurs, in order of first appearance (at most HN_METRICS_MAX) */
static int metric_names(const hn_study_snapshot *t, char names[][HN_METRIC_NAME]) {
    int n = 0;
    for (int i = 0; i < t->ntrials; i++) {
        const hn_metrics *m = &t->trials[i].metrics;
        for (int k = 0; k < m->n; k++) {
            int j = 0;
            while (j < n && strcmp(names[j], m->name[k])) j++;
            if (j == n && n < HN_METRICS_MAX) snprintf(names[n++], HN_METRIC_NAME, "%s", m->name[k]);
        }
    }
    return n;
}

/* a CSV field, quoted when it holds a comma or a quote (RFC 4180) */
static void csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* the rows (indices into t; NULL: all) as CSV */
static void write_csv(FILE *f, const hn_study_snapshot *t, const int *rows, int n, char names[][HN_METRIC_NAME], int nm) {
    fputs("trial,genotype,state,fidelity,violation,seconds", f);
    for (int k = 0; k < nm; k++) fprintf(f, ",%s", names[k]);
    fputs(",error\n", f);
    for (int r = 0; r < n; r++) {
        const hn_study_trial *x = &t->trials[rows ? rows[r] : r];
        fprintf(f, "%d,", x->id);
        csv_field(f, x->genotype);
        fprintf(f, ",%s,%.6g,%.6g,%.3f", x->state, x->fidelity, x->violation, x->seconds);
        for (int k = 0; k < nm; k++) {
            double v;
            if (hn_metrics_get(&x->metrics, names[k], &v)) fprintf(f, ",%.10g", v);
            else fputc(',', f);
        }
        fputc(',', f);
        csv_field(f, x->error);
        fputc('\n', f);
    }
}

/* text as a JSON string; bytes that are not UTF-8 (a trainer's output cut mid-character) become '?' */
static json_t *text_json(const char *text) {
    json_t *j = json_string(text);
    if (j) return j;
    char buf[512];
    size_t i = 0;
    for (; text[i] && i + 1 < sizeof buf; i++) buf[i] = (unsigned char)text[i] < 0x80 ? text[i] : '?';
    buf[i] = 0;
    return json_string(buf);
}

static json_t *trial_json(const hn_study_trial *t) {
    json_t *o = json_pack("{s:i, s:s, s:f}", "trial", t->id, "genotype", t->genotype, "fidelity", t->fidelity);
    json_t *m = json_object();
    for (int k = 0; k < t->metrics.n; k++) json_object_set_new(m, t->metrics.name[k], json_real(t->metrics.value[k]));
    json_object_set_new(o, "metrics", m);
    return o;
}

/* The study's question, its front and the chosen model as one JSON object (pareto.json). */
static json_t *front_json(const hn_study_snapshot *t) {
    const hn_study_config *c = t->config;
    json_t *root = json_pack("{s:s, s:s, s:s}", "study", c->name, "space", c->space, "device", c->device);
    json_t *objs = json_array(), *front = json_array();
    for (int k = 0; k < c->nobjectives; k++)
        json_array_append_new(objs, json_pack("{s:s, s:s}", "metric", c->objectives[k].metric, "goal",
                                              c->objectives[k].maximize ? "max" : "min"));
    for (int i = 0; i < t->nfront; i++) json_array_append_new(front, trial_json(&t->trials[t->front[i]]));
    json_object_set_new(root, "objectives", objs);
    json_object_set_new(root, "front", front);
    if (t->chosen >= 0) json_object_set_new(root, "chosen_trial", json_integer(t->trials[t->chosen].id));
    if (!isnan(t->final_test_accuracy)) {
        json_object_set_new(root, "final_test_accuracy", json_real(t->final_test_accuracy));
        json_object_set_new(root, "final_epochs", json_integer(t->final_epochs));
        json_object_set_new(root, "final_start", json_string(t->final_inherited ? "inherited" : "scratch"));
        json_object_set_new(root, "final_train_seconds", json_real(t->final_train_seconds));
        json_object_set_new(root, "final_weights", json_string(t->final_weights));
    }
    if (!isnan(t->final_float_test_accuracy))
        json_object_set_new(root, "final_float_test_accuracy", json_real(t->final_float_test_accuracy));
    if (t->final_graph[0]) json_object_set_new(root, "final_graph", json_string(t->final_graph));
    return root;
}

hn_status hn_report_export(const hn_study_snapshot *t, bool front_only, bool json, FILE *f) {
    if (json && front_only) {
        json_t *root = front_json(t);
        json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        fputc('\n', f);
        json_decref(root);
    } else if (json) {
        json_t *all = json_array();
        for (int i = 0; i < t->ntrials; i++) {
            const hn_study_trial *x = &t->trials[i];
            json_t *o = trial_json(x);
            json_object_set_new(o, "state", json_string(x->state));
            json_object_set_new(o, "seconds", json_real(x->seconds));
            if (x->error[0]) json_object_set_new(o, "error", text_json(x->error));
            json_array_append_new(all, o);
        }
        json_dumpf(all, f, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        fputc('\n', f);
        json_decref(all);
    } else {
        char names[HN_METRICS_MAX][HN_METRIC_NAME];
        int nm = metric_names(t, names);
        write_csv(f, t, front_only ? t->front : NULL, front_only ? t->nfront : t->ntrials, names, nm);
    }
    return ferror(f) ? hn_error(HN_ERR_IO, "writing the export") : HN_OK;
}

static hn_status trials_csv(FILE *f, const hn_study_snapshot *t) { return hn_report_export(t, false, false, f); }
static hn_status front_csv(FILE *f, const hn_study_snapshot *t) { return hn_report_export(t, true, false, f); }
static hn_status front_json_file(FILE *f, const hn_study_snapshot *t) { return hn_report_export(t, true, true, f); }

/* One output file of the report: written as dir/.name.PID, then renamed to dir/name. */
static hn_status write_file(const hn_study_snapshot *t, const char *name,
                            hn_status (*writer)(FILE *, const hn_study_snapshot *)) {
    char path[1200], tmp[1240];
    snprintf(path, sizeof path, "%s/%s", t->dir, name);
    snprintf(tmp, sizeof tmp, "%s/.%s.%ld", t->dir, name, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return hn_error(HN_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    hn_status st = writer(f, t);
    if (fclose(f) && !st) st = hn_error(HN_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    if (!st && rename(tmp, path)) st = hn_error(HN_ERR_IO, "%s: cannot rename to %s: %s", tmp, name, strerror(errno));
    if (st) unlink(tmp);
    return st ? hn_error_prefix(st, "%s", path) : HN_OK;
}

hn_status hn_report_write(const hn_study_snapshot *t) {
    static const struct {
        const char *name;
        hn_status (*writer)(FILE *, const hn_study_snapshot *);
    } files[] = {{"trials.csv", trials_csv}, {"pareto.csv", front_csv}, {"pareto.json", front_json_file},
                 {"pareto.svg", report_svg}, {"report.html", report_html}};
    hn_status st = HN_OK;
    for (size_t k = 0; k < sizeof files / sizeof files[0] && !st; k++) st = write_file(t, files[k].name, files[k].writer);
    return st;
}
