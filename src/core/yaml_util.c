/* YAML reading helpers (see yaml_util.h). */
#include "yaml_util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

hn_status yfile_load(yfile *f, const char *path, const char *kind) {
    f->path = path;
    FILE *fp = fopen(path, "rb");
    if (!fp) return hn_error(HN_ERR_IO, "%s: cannot open %s (does it exist?)", path, kind);
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, fp);
    hn_status st = HN_OK;
    if (!yaml_parser_load(&parser, &f->doc))
        st = hn_error(HN_ERR_INVALID, "%s:%d: YAML syntax error: %s", path, (int)parser.problem_mark.line + 1,
                      parser.problem ? parser.problem : "unknown");
    yaml_parser_delete(&parser);
    fclose(fp);
    return st;
}

void yfile_free(yfile *f) { yaml_document_delete(&f->doc); }

hn_status ydouble(const yfile *f, const yaml_node_t *n, const char *field, double lo, double hi, double *out) {
    const char *s = yscalar(n);
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : 0;
    if (!s || *s == 0 || *end || errno || !isfinite(v) || v < lo || v > hi)
        return hn_error(HN_ERR_INVALID, "%s:%d: field '%s': expected a number in [%g, %g], got '%s'", f->path, yline(n),
                        field, lo, hi, s ? s : "(not a scalar)");
    *out = v;
    return HN_OK;
}

hn_status yint(const yfile *f, const yaml_node_t *n, const char *field, long lo, long hi, long *out) {
    const char *s = yscalar(n);
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || *s == 0 || *end || errno || v < lo || v > hi)
        return hn_error(HN_ERR_INVALID, "%s:%d: field '%s': expected an integer in [%ld, %ld], got '%s'", f->path,
                        yline(n), field, lo, hi, s ? s : "(not a scalar)");
    *out = v;
    return HN_OK;
}

hn_status ybool(const yfile *f, const yaml_node_t *n, const char *field, bool *out) {
    const char *s = yscalar(n);
    if (s && (!strcmp(s, "true") || !strcmp(s, "yes"))) *out = true;
    else if (s && (!strcmp(s, "false") || !strcmp(s, "no"))) *out = false;
    else
        return hn_error(HN_ERR_INVALID, "%s:%d: field '%s': expected true or false, got '%s'", f->path, yline(n), field,
                        s ? s : "(not a scalar)");
    return HN_OK;
}
