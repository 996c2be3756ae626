/* YAML reading helpers (see yaml_util.h). */
#include "yaml_util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *key;
    size_t len;
    int line;
} ykey;

static int ykey_cmp(const void *a, const void *b) {
    const ykey *x = a, *y = b;
    int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);
    return c ? c : x->len < y->len ? -1 : x->len > y->len ? 1 : x->line - y->line;
}

/* A key given twice in one mapping is an error: libyaml keeps both and every reader would take one
 * silently (a doubled objective, a constraint overridden). Each mapping's scalar keys are sorted, so
 * this is O(k log k) per mapping and linear in the document otherwise. */
static hn_status check_duplicate_keys(yfile *f) {
    hn_status st = HN_OK;
    ykey *keys = NULL;
    size_t cap = 0;
    for (yaml_node_t *n = f->doc.nodes.start; !st && n < f->doc.nodes.top; n++) {
        if (n->type != YAML_MAPPING_NODE) continue;
        size_t k = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start), used = 0;
        if (k < 2) continue;
        if (k > cap) {
            ykey *grown = realloc(keys, sizeof(ykey) * k);
            if (!grown) {
                st = hn_error(HN_ERR_NOMEM, "%s: checking keys", f->path);
                break;
            }
            keys = grown, cap = k;
        }
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *key = ynode(f, p->key);
            if (key && key->type == YAML_SCALAR_NODE)
                keys[used++] = (ykey){(const char *)key->data.scalar.value, key->data.scalar.length, (int)key->start_mark.line + 1};
        }
        qsort(keys, used, sizeof(ykey), ykey_cmp);
        for (size_t i = 1; !st && i < used; i++)
            if (keys[i].len == keys[i - 1].len && !memcmp(keys[i].key, keys[i - 1].key, keys[i].len))
                st = hn_error(HN_ERR_INVALID, "%s:%d: key '%.*s' given twice in one mapping (first at line %d): keep one",
                              f->path, keys[i].line, (int)(keys[i].len < 64 ? keys[i].len : 64), keys[i].key, keys[i - 1].line);
    }
    free(keys);
    return st;
}

/* parses what parser was given into f->doc */
static hn_status parse(yfile *f, yaml_parser_t *parser) {
    hn_status st = HN_OK;
    if (!yaml_parser_load(parser, &f->doc))
        st = hn_error(HN_ERR_INVALID, "%s:%d: YAML syntax error: %s", f->path, (int)parser->problem_mark.line + 1,
                      parser->problem ? parser->problem : "unknown");
    else if (!yroot(f)) {
        yaml_document_delete(&f->doc);
        st = hn_error(HN_ERR_INVALID, "%s: the file is empty", f->path);
    } else if ((st = check_duplicate_keys(f))) {
        yaml_document_delete(&f->doc);
    }
    yaml_parser_delete(parser);
    return st;
}

/* hwnas's files nest a few levels deep; libyaml's scanner re-checks every open flow level at each
 * token, so a file nested 200k levels took minutes. The events are read first and the document is
 * refused past this depth, before the loader builds it. */
enum { MAX_DEPTH = 64, MAX_FILE_BYTES = 64 << 20 };

static hn_status check_depth(const char *text, size_t len, const char *path) {
    yaml_parser_t parser;
    yaml_event_t ev;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    hn_status st = HN_OK;
    for (int depth = 0, done = 0; !st && !done;) {
        if (!yaml_parser_parse(&parser, &ev)) {
            st = hn_error(HN_ERR_INVALID, "%s:%d: YAML syntax error: %s", path, (int)parser.problem_mark.line + 1,
                          parser.problem ? parser.problem : "unknown");
            break;
        }
        if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
            if (++depth > MAX_DEPTH)
                st = hn_error(HN_ERR_INVALID, "%s:%d: YAML nested deeper than %d levels: no hwnas file needs that many",
                              path, (int)ev.start_mark.line + 1, MAX_DEPTH);
        } else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
            depth--;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return st;
}

hn_status yfile_load(yfile *f, const char *path, const char *kind) {
    f->path = path;
    FILE *fp = fopen(path, "rb");
    if (!fp) return hn_error(HN_ERR_IO, "%s: cannot open %s (does it exist?)", path, kind);
    /* the whole file, read once: parsed twice (the depth check, then the document) */
    char *text = NULL;
    size_t len = 0, cap = 0;
    hn_status st = HN_OK;
    for (;;) {
        if (len == cap) {
            if (cap >= MAX_FILE_BYTES) {
                st = hn_error(HN_ERR_INVALID, "%s: larger than %d MB: not a %s", path, MAX_FILE_BYTES >> 20, kind);
                break;
            }
            char *grown = realloc(text, cap ? 2 * cap : 1 << 14);
            if (!grown) {
                st = hn_error(HN_ERR_NOMEM, "%s: reading the %s", path, kind);
                break;
            }
            text = grown, cap = cap ? 2 * cap : 1 << 14;
        }
        size_t got = fread(text + len, 1, cap - len, fp);
        len += got;
        if (got == 0) {
            if (ferror(fp)) st = hn_error(HN_ERR_IO, "%s: cannot read the %s", path, kind);
            break;
        }
    }
    fclose(fp);
    if (!st) st = yfile_parse(f, text ? text : "", len, path);
    free(text);
    return st;
}

hn_status yfile_parse(yfile *f, const char *text, size_t len, const char *path) {
    f->path = path;
    hn_status st = check_depth(text, len, path);
    if (st) return st;
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
