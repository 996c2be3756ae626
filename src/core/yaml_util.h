/* Reading YAML files (network files, device profiles, study files) with errors that name the file,
 * the line and the field. Internal to the library. A yfile owns its parsed document. */
#ifndef HWNAS_YAML_UTIL_H
#define HWNAS_YAML_UTIL_H

#include <stdbool.h>
#include <yaml.h>

#include "hwnas/core.h"

typedef struct {
    const char *path; /* borrowed: the caller's string outlives the yfile */
    yaml_document_t doc;
} yfile;

/* Parses path; kind names the file in messages ("network file"). On success free with yfile_free. */
hn_status yfile_load(yfile *f, const char *path, const char *kind);
/* The same from text (len bytes) in memory; path names it in messages. An empty document is an error. */
hn_status yfile_parse(yfile *f, const char *text, size_t len, const char *path);
void yfile_free(yfile *f);

static inline int yline(const yaml_node_t *n) { return (int)n->start_mark.line + 1; }
static inline const char *yscalar(const yaml_node_t *n) {
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}
/* libyaml's getters take a non-const document but do not change it */
static inline yaml_node_t *ynode(const yfile *f, int id) { return yaml_document_get_node((yaml_document_t *)&f->doc, id); }
static inline yaml_node_t *yroot(const yfile *f) { return yaml_document_get_root_node((yaml_document_t *)&f->doc); }

/* A scalar field as a number in [lo, hi], an integer, or a boolean (true/false/yes/no). */
hn_status ydouble(const yfile *f, const yaml_node_t *n, const char *field, double lo, double hi, double *out);
hn_status yint(const yfile *f, const yaml_node_t *n, const char *field, long lo, long hi, long *out);
hn_status ybool(const yfile *f, const yaml_node_t *n, const char *field, bool *out);

#endif
