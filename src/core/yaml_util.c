/* YAML reading helpers (see yaml_util.h). */
#include "yaml_util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* parses what parser was given into f->doc */
static hn_status parse(yfile *f, yaml_parser_t *parser) {
    hn_status st = HN_OK;
    if (!yaml_parser_load(parser, &f->doc))
        st = hn_error(HN_ERR_INVALID, "%s:%d: YAML syntax error: %s", f->path, (int)parser->problem_mark.line + 1,
                      parser->problem ? parser->problem : "unknown");
    else if (!yroot(f)) {
        yaml_document_delete(&f->doc);
        st = hn_error(HN_ERR_INVALID, "%s: the file is empty", f->path);
    }
    yaml_parser_delete(parser);
    return st;
}

hn_status yfile_load(yfile *f, const char *path, const char *kind) {
    f->path = path;
    FILE *fp = fopen(path, "rb");
    if (!fp) return hn_error(HN_ERR_IO, "%s: cannot open %s (does it exist?)", path, kind);
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, fp);
    hn_status st = parse(f, &parser);
    fclose(fp);
    return st;
}

hn_status yfile_parse(yfile *f, const char *text, size_t len, const char *path) {
    f->path = path;
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    return parse(f, &parser);
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
