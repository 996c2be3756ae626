/* What the report writers share (internal to src/report/): drawing and formatting helpers. They read
 * a study snapshot (include/hwnas/study.h) and nothing of the study's internals. */
#ifndef HWNAS_REPORT_INTERNAL_H
#define HWNAS_REPORT_INTERNAL_H

#include <stdio.h>

#include "hwnas/report.h"

/* The unit a metric is shown in: value x scale, labelled label ("KB", "ms", ...). */
void report_unit(const char *metric, double *scale, const char **label);
/* s with &, <, >, " escaped for XML and HTML. */
void report_xml(FILE *f, const char *s);
/* pareto.svg (src/report/svg.c). */
hn_status report_svg(FILE *f, const hn_study_snapshot *d);
/* report.html (src/report/html.c): self-contained, the SVG inline. */
hn_status report_html(FILE *f, const hn_study_snapshot *d);

#endif
