/* What the report writers share (internal to src/report/): a study's trials, front and chosen model,
 * and drawing helpers. */
#ifndef HWNAS_REPORT_H
#define HWNAS_REPORT_H

#include <stdio.h>

#include "../study/study_internal.h"

typedef struct {
    const hn_study_config *cfg;
    const study_table *t;
    const int *front; /* indices into t, most accurate first */
    int nfront;
    int chosen;       /* trial id, or -1 */
} report_data;

/* The unit a metric is shown in: value x scale, labelled label ("KB", "ms", ...). */
void report_unit(const char *metric, double *scale, const char **label);
/* s with &, <, >, " escaped for XML and HTML. */
void report_xml(FILE *f, const char *s);
/* pareto.svg (src/report/svg.c). */
hn_status report_svg(FILE *f, const report_data *d);
/* report.html (src/report/html.c): self-contained, the SVG inline. */
hn_status report_html(FILE *f, hn_study *s, const report_data *d);

#endif
