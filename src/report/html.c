/* report.html: one self-contained page (no scripts, no outside files) that answers the study's
 * question: the question itself, the chosen network and how it did, the front (the SVG inline and a
 * table), the chosen network's cost layer by layer, how the search went, and the study file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static const char *const style =
    "body{font-family:Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;color:#222;line-height:1.4}"
    "h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ddd}"
    "table{border-collapse:collapse;font-size:.9em}td,th{padding:.2em .6em;border-bottom:1px solid #eee;text-align:right}"
    "td.l,th.l{text-align:left}tr.chosen{background:#fff1e6;font-weight:bold}.q{font-size:1.1em;background:#f6f8fa;"
    "padding:.8em;border-left:4px solid #d9480f}.bar{background:#d9480f;height:.7em;display:inline-block}"
    "pre{background:#f6f8fa;padding:1em;overflow:auto;font-size:.85em}code{font-size:.9em;word-break:break-all}";

static void metric_cell(FILE *f, const char *name, double v) {
    double scale;
    const char *unit;
    report_unit(name, &scale, &unit);
    if (!strcmp(unit, "%")) fprintf(f, "<td>%.2f %%</td>", v);
    else fprintf(f, "<td>%.4g %s</td>", v * scale, unit);
}

/* the question in words */
static void question(FILE *f, const hn_study_config *c) {
    fprintf(f, "<p class=\"q\">Which networks of the <b>");
    report_xml(f, c->space);
    fprintf(f, "</b> space are best on <b>");
    report_xml(f, c->table[0] ? c->table : c->dataset);
    fputs("</b>", f);
    if (c->device[0]) {
        fputs(" for <b>", f);
        report_xml(f, c->device);
        fputs("</b>", f);
    }
    fputs(", ", f);
    for (int i = 0; i < c->nobjectives; i++)
        fprintf(f, "%s%s <b>%s</b>", i ? (i + 1 == c->nobjectives ? " and " : ", ") : "",
                c->objectives[i].maximize ? "maximizing" : "minimizing", c->objectives[i].metric);
    for (int i = 0; i < c->nconstraints; i++) {
        double scale;
        const char *unit;
        report_unit(c->constraints[i].metric, &scale, &unit);
        fprintf(f, "%s %s %s %g %s", i ? "," : ", with", c->constraints[i].metric, c->constraints[i].at_most ? "&le;" : "&ge;",
                c->constraints[i].bound * scale, unit);
    }
    fputs("?</p>\n", f);
}

static void front_table(FILE *f, const hn_study_snapshot *d) {
    const hn_study_config *c = d->config;
    const char *cols[HN_STUDY_MAX_OBJECTIVES + HN_STUDY_MAX_CONSTRAINTS + 2];
    int nc = 0;
    cols[nc++] = "accuracy";
    for (int i = 0; i < c->nobjectives; i++) cols[nc++] = c->objectives[i].metric;
    for (int i = 0; i < c->nconstraints; i++) cols[nc++] = c->constraints[i].metric;
    cols[nc++] = "macs";
    fputs("<table><tr><th>trial</th>", f);
    for (int k = 0; k < nc; k++) {
        bool dup = false;
        for (int j = 0; j < k; j++) dup |= !strcmp(cols[j], cols[k]);
        if (!dup) fprintf(f, "<th>%s</th>", cols[k]);
    }
    fputs("<th class=\"l\">genotype</th></tr>\n", f);
    for (int r = 0; r < d->nfront; r++) {
        int i = d->front[r];
        fprintf(f, "<tr%s><td>%d</td>", i == d->chosen ? " class=\"chosen\"" : "", d->trials[i].id);
        for (int k = 0; k < nc; k++) {
            bool dup = false;
            for (int j = 0; j < k; j++) dup |= !strcmp(cols[j], cols[k]);
            double v;
            if (dup) continue;
            if (hn_metrics_get(&d->trials[i].metrics, cols[k], &v)) metric_cell(f, cols[k], v);
            else fputs("<td>-</td>", f);
        }
        fputs("<td class=\"l\"><code>", f);
        report_xml(f, d->trials[i].genotype);
        fputs("</code></td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* the chosen network layer by layer: on the device if the study has one, else its counts */
static void layers_table(FILE *f, const hn_study_chosen_cost *cc) {
    if (!cc->graph) {
        fputs("<p>(", f);
        report_xml(f, cc->error);
        fputs(")</p>\n", f);
        return;
    }
    const hn_graph *net = cc->graph;
    const hn_hw_cost *hc = cc->hw_layers, *ht = &cc->hw_total;
    fprintf(f, "<p>%lld parameters, %.2f M MACs", (long long)cc->total.params, (double)cc->total.macs / 1e6);
    if (hc) {
        fprintf(f, "; on %s: %.3f ms", cc->device->name, ht->latency_s * 1e3);
        if (!isnan(ht->energy_j)) fprintf(f, ", %.4g mJ", ht->energy_j * 1e3); /* a measured device gives none */
        fprintf(f, ", peak SRAM %.1f KB, flash %.1f KB", (double)ht->peak_sram_bytes / 1024, (double)ht->flash_bytes / 1024);
    }
    fputs(".</p>\n<table><tr><th class=\"l\">layer</th><th class=\"l\">op</th><th>output</th><th>params</th><th>MACs</th>"
          "<th>live bytes</th>", f);
    if (hc) fputs("<th>latency</th><th>energy</th><th class=\"l\">share of latency</th>", f);
    fputs("</tr>\n", f);
    for (int i = 1; i < net->nnodes; i++) {
        const hn_node *n = &net->nodes[i];
        const hn_layer_cost *lc = &cc->layers[i];
        if (hc && hc[i].latency_s == 0 && lc->macs == 0) continue; /* fused into its producer (batch norm, activations) */
        fprintf(f, "<tr><td class=\"l\">%s</td><td class=\"l\">%s</td><td>%dx%dx%d</td><td>%lld</td><td>%lld</td><td>%lld</td>",
                n->name, hn_op_name(n->op), n->shape.c, n->shape.h, n->shape.w, (long long)lc->params, (long long)lc->macs,
                (long long)lc->live_bytes);
        if (hc) {
            double share = ht->latency_s > 0 ? hc[i].latency_s / ht->latency_s : 0;
            char uj[32] = "-";
            if (!isnan(hc[i].energy_j)) snprintf(uj, sizeof uj, "%.3g uJ", hc[i].energy_j * 1e6);
            fprintf(f, "<td>%.4f ms</td><td>%s</td><td class=\"l\"><span class=\"bar\" style=\"width:%.0fpx\"></span> %.1f %%</td>",
                    hc[i].latency_s * 1e3, uj, 200 * share, 100 * share);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

hn_status report_html(FILE *f, const hn_study_snapshot *d) {
    const hn_study_config *c = d->config;
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>hwnas study ");
    report_xml(f, c->name);
    fprintf(f, "</title><style>%s</style></head><body>\n<h1>hwnas study: ", style);
    report_xml(f, c->name);
    fputs("</h1>\n", f);
    question(f, c);

    /* the answer */
    fputs("<h2>Answer</h2>\n", f);
    if (d->chosen >= 0) {
        fprintf(f, "<p>The chosen network is <b>trial %d</b>, the most accurate of the front: <code>", d->trials[d->chosen].id);
        report_xml(f, d->trials[d->chosen].genotype);
        fputs("</code>", f);
        if (!isnan(d->final_test_accuracy))
            fprintf(f, "<br>%s on every training image for %d epochs (%.1f s), it reaches "
                       "<b>%.2f %% test accuracy</b>; its network file is <code>%s</code> and its weights <code>%s</code>.",
                    d->final_inherited ? "Fine-tuned from the supernet's weights" : "Retrained from scratch",
                    d->final_epochs, d->final_train_seconds, d->final_test_accuracy, d->final_graph, d->final_weights);
        fputs("</p>\n", f);
    } else {
        fputs("<p>No network met the constraints (see the trials below and trials.csv).</p>\n", f);
    }

    fprintf(f, "<h2>Pareto front</h2>\n");
    report_svg(f, d);
    fprintf(f, "<p>%d networks on the front (done, feasible, at full fidelity, not dominated):</p>\n", d->nfront);
    front_table(f, d);

    if (d->chosen >= 0) {
        fputs("<h2>The chosen network, layer by layer</h2>\n", f);
        layers_table(f, &d->chosen_cost);
    }

    /* how it went */
    int counts[5] = {0};
    static const char *const states[5] = {"done", "pruned", "failed", "running", "queued"};
    double busy = 0;
    for (int i = 0; i < d->ntrials; i++) {
        for (int k = 0; k < 5; k++) counts[k] += !strcmp(d->trials[i].state, states[k]);
        busy += d->trials[i].seconds;
    }
    fprintf(f, "<h2>How the search went</h2>\n<p>Strategy <b>%s</b>, budget %d trials%s. %d trials: %d done, %d pruned "
               "by a constraint before training, %d failed, %d unfinished. Evaluating them took %.0f s",
            c->strategy, c->trials, c->time_s > 0 ? " or the time limit" : "", d->ntrials, counts[0], counts[1], counts[2],
            counts[3] + counts[4], busy);
    if (!isnan(d->final_train_seconds)) fprintf(f, "; the final training %.1f s", d->final_train_seconds);
    fputs(".</p>\n", f);

    fputs("<h2>Study file</h2>\n<pre>", f);
    if (d->study_text) report_xml(f, d->study_text);
    fputs("</pre>\n<p>Written by hwnas " HN_VERSION_STRING ". Every trial: <code>trials.csv</code>; the front: "
          "<code>pareto.csv</code>, <code>pareto.json</code>.</p>\n</body></html>\n", f);
    return ferror(f) ? hn_error(HN_ERR_IO, "writing the report") : HN_OK;
}
