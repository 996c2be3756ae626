/* A study's tables: trials.csv (every trial), pareto.csv and pareto.json (the front and the chosen
 * model), written into the study directory. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* every metric name that occurs, in order of first appearance (at most HN_METRICS_MAX) */
static int metric_names(const study_table *t, char names[][32]) {
    int n = 0;
    for (int i = 0; i < t->n; i++)
        for (int k = 0; k < t->metrics[i].n; k++) {
            int j = 0;
            while (j < n && strcmp(names[j], t->metrics[i].name[k])) j++;
            if (j == n && n < HN_METRICS_MAX) snprintf(names[n++], 32, "%s", t->metrics[i].name[k]);
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
static void write_csv(FILE *f, const study_table *t, const int *rows, int n, char names[][32], int nm) {
    fputs("trial,genotype,state,fidelity,violation,seconds", f);
    for (int k = 0; k < nm; k++) fprintf(f, ",%s", names[k]);
    fputs(",error\n", f);
    for (int r = 0; r < n; r++) {
        int i = rows ? rows[r] : r;
        fprintf(f, "%d,", t->id[i]);
        csv_field(f, t->genotype[i]);
        fprintf(f, ",%s,%.6g,%.6g,%.3f", t->state[i], t->fidelity[i], t->violation[i], t->seconds[i]);
        for (int k = 0; k < nm; k++) {
            double v;
            if (hn_metrics_get(&t->metrics[i], names[k], &v)) fprintf(f, ",%.10g", v);
            else fputc(',', f);
        }
        fputc(',', f);
        csv_field(f, t->error[i]);
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

static json_t *trial_json(const study_table *t, int i) {
    json_t *o = json_pack("{s:i, s:s, s:f}", "trial", t->id[i], "genotype", t->genotype[i], "fidelity", t->fidelity[i]);
    json_t *m = json_object();
    for (int k = 0; k < t->metrics[i].n; k++) json_object_set_new(m, t->metrics[i].name[k], json_real(t->metrics[i].value[k]));
    json_object_set_new(o, "metrics", m);
    return o;
}

/* The study's question, its front and the chosen model as one JSON object (pareto.json). */
static json_t *front_json(hn_study *s, const study_table *t, const int *idx, int n) {
    const hn_study_config *c = &s->cfg;
    json_t *root = json_pack("{s:s, s:s, s:s}", "study", c->name, "space", c->space, "device", c->device);
    json_t *objs = json_array(), *front = json_array();
    for (int k = 0; k < c->nobjectives; k++)
        json_array_append_new(objs, json_pack("{s:s, s:s}", "metric", c->objectives[k].metric, "goal",
                                              c->objectives[k].maximize ? "max" : "min"));
    for (int i = 0; i < n; i++) json_array_append_new(front, trial_json(t, idx[i]));
    json_object_set_new(root, "objectives", objs);
    json_object_set_new(root, "front", front);
    static const char *const keys[] = {"chosen_trial", "final_test_accuracy", "final_epochs", "final_train_seconds",
                                       "final_weights", "final_graph", "final_float_test_accuracy"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        char *v = NULL;
        if (!store_meta_get(&s->db, keys[k], &v) && v) {
            char *end;
            double x = strtod(v, &end);
            json_object_set_new(root, keys[k], *end || !*v                        ? json_string(v)
                                               : x == floor(x) && fabs(x) < 1e15 ? json_integer((json_int_t)x)
                                                                                   : json_real(x));
        }
        hn_free(v);
    }
    return root;
}

hn_status hn_study_export(hn_study *s, bool front_only, bool json, FILE *f) {
    study_table t;
    hn_status st = study_trials_load(s, &t);
    if (st) return st;
    char names[HN_METRICS_MAX][32];
    int nm = metric_names(&t, names);
    int *idx = hn_alloc(sizeof(int) * (size_t)(t.n ? t.n : 1));
    if (!idx) {
        study_trials_free(&t);
        return hn_error(HN_ERR_NOMEM, "export");
    }
    int n = front_only ? study_front(&s->cfg, &t, idx) : t.n;
    if (!front_only)
        for (int i = 0; i < n; i++) idx[i] = i;
    if (json && front_only) {
        json_t *root = front_json(s, &t, idx, n);
        json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        fputc('\n', f);
        json_decref(root);
    } else if (json) {
        json_t *all = json_array();
        for (int i = 0; i < n; i++) {
            json_t *o = trial_json(&t, i);
            json_object_set_new(o, "state", json_string(t.state[i]));
            json_object_set_new(o, "seconds", json_real(t.seconds[i]));
            if (t.error[i][0]) json_object_set_new(o, "error", text_json(t.error[i]));
            json_array_append_new(all, o);
        }
        json_dumpf(all, f, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        fputc('\n', f);
        json_decref(all);
    } else {
        write_csv(f, &t, idx, n, names, nm);
    }
    hn_free(idx);
    study_trials_free(&t);
    return ferror(f) ? hn_error(HN_ERR_IO, "writing the export") : HN_OK;
}

/* path = the study directory's name; one export into it */
static hn_status export_file(hn_study *s, const char *name, bool front_only, bool json) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", s->dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return hn_error(HN_ERR_IO, "%s: cannot write", path);
    hn_status st = hn_study_export(s, front_only, json, f);
    if (fclose(f) && !st) st = hn_error(HN_ERR_IO, "%s: cannot write", path);
    return st ? hn_error_prefix(st, "%s", path) : HN_OK;
}

/* pareto.svg and report.html */
static hn_status write_pictures(hn_study *s) {
    study_table t;
    hn_status st = study_trials_load(s, &t);
    if (st) return st;
    int *idx = hn_alloc(sizeof(int) * (size_t)(t.n ? t.n : 1));
    char *chosen = NULL;
    if (!idx) st = hn_error(HN_ERR_NOMEM, "report");
    if (!st) st = store_meta_get(&s->db, "chosen_trial", &chosen);
    if (!st) {
        report_data d = {&s->cfg, &t, idx, study_front(&s->cfg, &t, idx), chosen ? atoi(chosen) : -1};
        const char *names[2] = {"pareto.svg", "report.html"};
        for (int k = 0; k < 2 && !st; k++) {
            char path[1200];
            snprintf(path, sizeof path, "%s/%s", s->dir, names[k]);
            FILE *f = fopen(path, "w");
            if (!f) {
                st = hn_error(HN_ERR_IO, "%s: cannot write", path);
                break;
            }
            st = k ? report_html(f, s, &d) : report_svg(f, &d);
            if (fclose(f) && !st) st = hn_error(HN_ERR_IO, "%s: cannot write", path);
        }
    }
    hn_free(chosen);
    hn_free(idx);
    study_trials_free(&t);
    return st;
}

hn_status study_write_outputs(hn_study *s) {
    hn_status st = export_file(s, "trials.csv", false, false);
    if (!st) st = export_file(s, "pareto.csv", true, false);
    if (!st) st = export_file(s, "pareto.json", true, true);
    if (!st) st = write_pictures(s);
    return st;
}
