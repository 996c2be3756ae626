/* Reports: what a person reads after a study -- trials.csv (every trial), pareto.csv and pareto.json
 * (the front and the chosen model), pareto.svg (accuracy against each cost objective) and report.html
 * (one self-contained page: the question, the answer, the front, the chosen network layer by layer,
 * how the search went, the study file). They read a study snapshot and nothing else.
 *
 * Example (after hn_study_work):
 *     hn_study_snapshot snap;
 *     if (!hn_study_snapshot_take(s, &snap)) hn_report_write(&snap);   // into snap.dir
 *     hn_study_snapshot_free(&snap);
 */
#ifndef HWNAS_REPORT_H
#define HWNAS_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "hwnas/study.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes the trials -- all of them, or only the front with the chosen model -- to f as CSV (one row per
 * trial: trial, genotype, state, fidelity, violation, seconds, every metric, error) or JSON. */
hn_status hn_report_export(const hn_study_snapshot *snap, bool front_only, bool json, FILE *f);

/* Writes trials.csv, pareto.csv, pareto.json, pareto.svg and report.html into snap->dir. Each file is
 * written whole under a temporary name and then renamed, so a reader (or another worker writing the
 * same report) never sees half a file. */
hn_status hn_report_write(const hn_study_snapshot *snap);

#ifdef __cplusplus
}
#endif
#endif
