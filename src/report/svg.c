/* pareto.svg: accuracy against each cost objective, one panel per cost objective. Every trial with an
 * accuracy is a point (lighter at lower fidelity), the front is drawn as a staircase with its points
 * ringed and labelled by trial, the chosen network is starred. Axes carry nice ticks and units. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

enum { PANEL_W = 460, PANEL_H = 340, LEFT = 64, RIGHT = 16, TOP = 40, BOTTOM = 52 };

void report_xml(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '&') fputs("&amp;", f);
        else if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

void report_unit(const char *metric, double *scale, const char **label) {
    size_t n = strlen(metric);
    *scale = 1, *label = "";
    if (!strcmp(metric, "accuracy")) *label = "%";
    else if (n > 6 && !strcmp(metric + n - 6, "_bytes")) *scale = 1.0 / 1024, *label = "KB";
    else if (!strcmp(metric, "latency_s") || !strcmp(metric, "train_seconds")) *scale = 1e3, *label = "ms";
    else if (!strcmp(metric, "energy_j")) *scale = 1e3, *label = "mJ";
    else if (!strcmp(metric, "macs") || !strcmp(metric, "params")) *scale = 1e-6, *label = "millions";
}

/* ticks at 1, 2 or 5 times a power of ten, about 5 across [lo, hi] */
static double tick_step(double lo, double hi) {
    double raw = (hi - lo) / 5, p = pow(10, floor(log10(raw > 0 ? raw : 1))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void panel(FILE *f, const hn_study_snapshot *d, int x_metric, int ox) {
    const char *xname = d->config->objectives[x_metric].metric;
    double xs, ys;
    const char *xu, *yu;
    report_unit(xname, &xs, &xu);
    report_unit("accuracy", &ys, &yu);
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int i = 0; i < d->ntrials; i++) {
        double x, y;
        if (!hn_metrics_get(&d->trials[i].metrics, xname, &x) || !hn_metrics_get(&d->trials[i].metrics, "accuracy", &y)) continue;
        x *= xs, y *= ys;
        x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, y), y1 = fmax(y1, y);
    }
    if (!isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 100;
    double xpad = (x1 - x0) * 0.06 + 1e-12, ypad = (y1 - y0) * 0.06 + 1e-9;
    x0 -= xpad, x1 += xpad, y0 -= ypad, y1 += ypad;
    const double pw = PANEL_W - LEFT - RIGHT, ph = PANEL_H - TOP - BOTTOM;
#define PX(v) (ox + LEFT + ((v) - x0) / (x1 - x0) * pw)
#define PY(v) (TOP + (1 - ((v) - y0) / (y1 - y0)) * ph)
    fprintf(f, "<g class=\"panel\">\n<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"#fbfbfb\" stroke=\"#ccc\"/>\n",
            ox + LEFT, TOP, pw, ph);
    fprintf(f, "<text x=\"%.1f\" y=\"22\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">accuracy vs %s</text>\n",
            ox + LEFT + pw / 2, xname);
    /* ticks and grid */
    double step = tick_step(x0, x1);
    for (double v = ceil(x0 / step) * step; v <= x1; v += step)
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#e4e4e4\"/><text x=\"%.1f\" y=\"%.0f\" "
                "text-anchor=\"middle\" font-size=\"11\">%g</text>\n",
                PX(v), TOP, PX(v), TOP + ph, PX(v), TOP + ph + 15, v);
    step = tick_step(y0, y1);
    for (double v = ceil(y0 / step) * step; v <= y1; v += step)
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/><text x=\"%d\" y=\"%.1f\" "
                "text-anchor=\"end\" font-size=\"11\">%g</text>\n",
                ox + LEFT, PY(v), ox + LEFT + pw, PY(v), ox + LEFT - 5, PY(v) + 4, v);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"12\">%s (%s, %s)</text>\n", ox + LEFT + pw / 2,
            PANEL_H - 14, xname, xu, d->config->objectives[x_metric].maximize ? "higher is better" : "lower is better");
    fprintf(f, "<text transform=\"translate(%d %.1f) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">accuracy (%s)</text>\n",
            ox + 16, TOP + ph / 2, yu);
    /* every trial with an accuracy */
    for (int i = 0; i < d->ntrials; i++) {
        double x, y;
        if (!hn_metrics_get(&d->trials[i].metrics, xname, &x) || !hn_metrics_get(&d->trials[i].metrics, "accuracy", &y)) continue;
        fprintf(f, "<circle class=\"trial\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#6a8caf\" fill-opacity=\"%.2f\"><title>trial %d: ",
                PX(x * xs), PY(y * ys), 0.25 + 0.6 * d->trials[i].fidelity, d->trials[i].id);
        report_xml(f, d->trials[i].genotype);
        fprintf(f, ", fidelity %.3g</title></circle>\n", d->trials[i].fidelity);
    }
    /* the front, as a staircase in x order */
    int order[4096], n = d->nfront < 4096 ? d->nfront : 4096;
    for (int i = 0; i < n; i++) order[i] = d->front[i];
    for (int a = 1; a < n; a++)
        for (int b = a; b > 0; b--) {
            double va = 0, vb = 0;
            hn_metrics_get(&d->trials[order[b]].metrics, xname, &va);
            hn_metrics_get(&d->trials[order[b - 1]].metrics, xname, &vb);
            if (va >= vb) break;
            int tmp = order[b];
            order[b] = order[b - 1], order[b - 1] = tmp;
        }
    if (n > 1) {
        fputs("<polyline fill=\"none\" stroke=\"#d9480f\" stroke-width=\"1.5\" points=\"", f);
        for (int i = 0; i < n; i++) {
            double x = 0, y = 0;
            hn_metrics_get(&d->trials[order[i]].metrics, xname, &x);
            hn_metrics_get(&d->trials[order[i]].metrics, "accuracy", &y);
            fprintf(f, "%.1f,%.1f ", PX(x * xs), PY(y * ys));
        }
        fputs("\"/>\n", f);
    }
    for (int i = 0; i < n; i++) {
        int k = order[i];
        double x = 0, y = 0;
        hn_metrics_get(&d->trials[k].metrics, xname, &x);
        hn_metrics_get(&d->trials[k].metrics, "accuracy", &y);
        bool chosen = k == d->chosen;
        fprintf(f, "<circle class=\"front\" cx=\"%.1f\" cy=\"%.1f\" r=\"%d\" fill=\"%s\" stroke=\"#d9480f\" stroke-width=\"2\"><title>trial %d: ",
                PX(x * xs), PY(y * ys), chosen ? 7 : 5, chosen ? "#d9480f" : "#fff", d->trials[k].id);
        report_xml(f, d->trials[k].genotype);
        fputs("</title></circle>\n", f);
        bool right = PX(x * xs) > ox + LEFT + pw * 0.7; /* labels near the right edge go to the left */
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"#9c3a0a\" text-anchor=\"%s\">%s%d</text>\n",
                PX(x * xs) + (right ? -9 : 7), PY(y * ys) - 6, right ? "end" : "start", chosen ? "chosen: " : "", d->trials[k].id);
    }
    fputs("</g>\n", f);
#undef PX
#undef PY
}

hn_status report_svg(FILE *f, const hn_study_snapshot *d) {
    int costs[HN_STUDY_MAX_OBJECTIVES], nc = 0;
    for (int k = 0; k < d->config->nobjectives; k++)
        if (strcmp(d->config->objectives[k].metric, "accuracy")) costs[nc++] = k;
    int panels = nc ? nc : 1;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "font-family=\"Helvetica, Arial, sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n",
            PANEL_W * panels, PANEL_H + 24, PANEL_W * panels, PANEL_H + 24);
    for (int p = 0; p < nc; p++) panel(f, d, costs[p], p * PANEL_W);
    if (!nc)
        fprintf(f, "<text x=\"20\" y=\"40\" font-size=\"13\">the study has no cost objective to plot accuracy against</text>\n");
    fprintf(f,
            "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#555\">dots: trials (fainter: lower fidelity); "
            "rings: the front at full fidelity; filled: chosen</text>\n</svg>\n",
            LEFT, PANEL_H + 16);
    return ferror(f) ? hn_error(HN_ERR_IO, "writing the plot") : HN_OK;
}
