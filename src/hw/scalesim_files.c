/* SCALE-Sim v2's input files (include/hwnas/hw.h): the .cfg configuration and the topology CSV, so
 * that its users can run their own files through the systolic model. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hwnas/hw.h"

/* trims leading and trailing white space in place */
static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

static bool number(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == 0 || *end || errno || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* keys of SCALE-Sim's configuration that do not change this model */
static const char *const ignored[] = {"run_name",        "IfmapOffset",        "FilterOffset",       "OfmapOffset",
                                      "MemoryBanks",     "ReadRequestBuffer",  "WriteRequestBuffer", "UseRamulatorTrace",
                                      "SparsitySupport", "SparseRep",          "OptimizedMapping",   "BlockSize",
                                      "RandomNumberGeneratorSeed", "IfmapCustomLayout", "IfmapSRAMBankBandwidth",
                                      "IfmapSRAMBankNum", "IfmapSRAMBankPort", "FilterCustomLayout",
                                      "FilterSRAMBankBandwidth", "FilterSRAMBankNum", "FilterSRAMBankPort"};

hn_status hn_scalesim_read_config(const char *path, hn_systolic *a) {
    FILE *f = fopen(path, "r");
    if (!f) return hn_error(HN_ERR_IO, "%s: cannot open SCALE-Sim configuration (does it exist?)", path);
    char buf[512];
    int line = 0;
    bool have_rows = false, have_cols = false, have_dataflow = false, calc = true;
    double bandwidth = 0;
    hn_status st = HN_OK;
    while (!st && fgets(buf, sizeof buf, f)) {
        line++;
        char *s = trim(buf);
        if (*s == 0 || *s == '#' || *s == ';' || *s == '[') continue; /* blank, comment, section */
        char *sep = strpbrk(s, ":=");
        if (!sep) {
            st = hn_error(HN_ERR_INVALID, "%s:%d: expected 'Key: value', got '%s'", path, line, s);
            break;
        }
        *sep = 0;
        char *key = trim(s), *val = trim(sep + 1);
        double v;
        if (!strcasecmp(key, "ArrayHeight") || !strcasecmp(key, "ArrayWidth")) {
            if (!number(val, 1, 65536, &v) || v != (int)v) goto bad;
            if (!strcasecmp(key, "ArrayHeight")) a->rows = (int)v, have_rows = true;
            else a->cols = (int)v, have_cols = true;
        } else if (!strcasecmp(key, "IfmapSramSzkB") || !strcasecmp(key, "FilterSramSzkB") ||
                   !strcasecmp(key, "OfmapSramSzkB")) {
            if (!number(val, 0.001, 1e9, &v)) goto bad;
            *(!strcasecmp(key, "IfmapSramSzkB") ? &a->ifmap_sram_kb
              : !strcasecmp(key, "FilterSramSzkB") ? &a->filter_sram_kb : &a->ofmap_sram_kb) = v;
        } else if (!strcasecmp(key, "Dataflow")) {
            if (!strcasecmp(val, "os")) a->dataflow = HN_DATAFLOW_OS;
            else if (!strcasecmp(val, "ws")) a->dataflow = HN_DATAFLOW_WS;
            else if (!strcasecmp(val, "is")) a->dataflow = HN_DATAFLOW_IS;
            else goto bad;
            have_dataflow = true;
        } else if (!strcasecmp(key, "Bandwidth")) {
            if (!number(val, 1, 1e9, &bandwidth) || bandwidth != (double)(long long)bandwidth) goto bad;
        } else if (!strcasecmp(key, "InterfaceBandwidth")) {
            if (!strcasecmp(val, "CALC")) calc = true;
            else if (!strcasecmp(val, "USER")) calc = false;
            else goto bad;
        } else {
            bool known = false;
            for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) known |= !strcasecmp(key, ignored[i]);
            if (!known) {
                st = hn_error(HN_ERR_INVALID,
                              "%s:%d: unknown key '%s' (known: ArrayHeight, ArrayWidth, IfmapSramSzkB, FilterSramSzkB, "
                              "OfmapSramSzkB, Dataflow, Bandwidth, InterfaceBandwidth, and SCALE-Sim's offsets, banks "
                              "and sparsity keys, which do not change the model)",
                              path, line, key);
            }
        }
        continue;
    bad:
        st = hn_error(HN_ERR_INVALID, "%s:%d: %s: bad value '%s' (%s)", path, line, key, val,
                      !strcasecmp(key, "Dataflow")             ? "os, ws or is"
                      : !strcasecmp(key, "InterfaceBandwidth") ? "CALC or USER"
                      : !strcasecmp(key, "Bandwidth")          ? "a whole number of words per cycle, at least 1"
                                                               : "a positive number");
    }
    fclose(f);
    if (st) return st;
    if (!have_rows || !have_cols || !have_dataflow)
        return hn_error(HN_ERR_INVALID, "%s: missing %s", path,
                        !have_rows ? "ArrayHeight" : !have_cols ? "ArrayWidth" : "Dataflow");
    if (!calc && bandwidth <= 0)
        return hn_error(HN_ERR_INVALID, "%s: InterfaceBandwidth is USER but no Bandwidth is given", path);
    a->bandwidth = calc ? 0 : bandwidth;
    return HN_OK;
}

hn_status hn_scalesim_read_topology(const char *path, hn_systolic_layer **layers, int *n) {
    *layers = NULL;
    *n = 0;
    FILE *f = fopen(path, "r");
    if (!f) return hn_error(HN_ERR_IO, "%s: cannot open SCALE-Sim topology (does it exist?)", path);
    static const char *const fields[7] = {"IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
                                          "Channels",     "Num Filter",  "Strides"};
    char buf[1024];
    int line = 0, cap = 0;
    hn_status st = HN_OK;
    while (!st && fgets(buf, sizeof buf, f)) {
        line++;
        char *s = trim(buf);
        if (*s == 0 || *s == '#') continue;
        if (line == 1 && !strncasecmp(s, "Layer", 5)) continue; /* the header */
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            hn_systolic_layer *grown = hn_alloc(sizeof(hn_systolic_layer) * (size_t)cap);
            if (!grown) {
                st = hn_error_prefix(HN_ERR_NOMEM, "%s:%d", path, line);
                break;
            }
            if (*layers) memcpy(grown, *layers, sizeof(hn_systolic_layer) * (size_t)*n);
            hn_free(*layers);
            *layers = grown;
        }
        hn_systolic_layer *l = &(*layers)[*n];
        memset(l, 0, sizeof *l);
        char *save = NULL, *tok = strtok_r(s, ",", &save);
        if (!tok) { /* commas only */
            st = hn_error(HN_ERR_INVALID, "%s:%d: a line of commas only: expected a layer name and 7 fields", path, line);
            break;
        }
        snprintf(l->name, sizeof l->name, "%s", trim(tok));
        int *dst[7] = {&l->ifmap_h, &l->ifmap_w, &l->filter_h, &l->filter_w, &l->channels, &l->filters, &l->stride};
        for (int i = 0; i < 7 && !st; i++) {
            tok = strtok_r(NULL, ",", &save);
            double v;
            if (!tok || !number(trim(tok), 1, 1 << 24, &v) || v != (int)v)
                st = hn_error(HN_ERR_INVALID, "%s:%d: layer '%s': field '%s': expected a positive integer, got '%s'",
                              path, line, l->name, fields[i], tok ? trim(tok) : "(missing)");
            else *dst[i] = (int)v;
        }
        if (st) break;
        if (l->filter_h > l->ifmap_h || l->filter_w > l->ifmap_w)
            st = hn_error(HN_ERR_INVALID, "%s:%d: layer '%s': the %dx%d filter is larger than the %dx%d input", path,
                          line, l->name, l->filter_h, l->filter_w, l->ifmap_h, l->ifmap_w);
        l->repeats = 1;
        (*n)++;
    }
    fclose(f);
    if (!st && *n == 0) st = hn_error(HN_ERR_INVALID, "%s: no layers", path);
    if (st) {
        hn_free(*layers);
        *layers = NULL;
        *n = 0;
    }
    return st;
}
