/* What the two C exporters share (export_c.c: the engine's portable kernels; export_cmsis.c: CMSIS-NN's):
 * constant tables, the kernels' source, model.h and the test program main.c. */
#ifndef HWNAS_EXPORT_C_INTERNAL_H
#define HWNAS_EXPORT_C_INTERNAL_H

#include <stdio.h>

#include "../quant/qmodel_internal.h"
#include "hwnas/export.h"

typedef struct {
    FILE *f;
    size_t bytes; /* of constant tables written */
} hn_c_out;

/* `static const TYPE name[n] = {...};`, counted in o->bytes */
void hn_c_int8_table(hn_c_out *o, const char *name, const int8_t *v, size_t n);
void hn_c_int32_table(hn_c_out *o, const char *type, const char *name, const int32_t *v, size_t n);
/* the int8 kernels' header and source (src/quant/s8_kernels.{h,c}) as one block of C */
void hn_c_kernels(FILE *f);
/* dir/name opened for writing (path receives it), and closed with a check of every write */
hn_status hn_c_open(const char *dir, const char *name, FILE **f, char *path, size_t cap);
hn_status hn_c_close(FILE *f, const char *path);
/* dir/model.h: hn_model_run and the input/output sizes, scales and zero points */
hn_status hn_c_write_header(const hn_qmodel *m, const char *dir, const char *source, size_t arena);
/* dir/main.c: the n samples, the engine's outputs on them and the program that compares */
hn_status hn_c_write_main(const hn_qmodel *m, const char *dir, const int8_t *samples, const int32_t *labels, int n);

/* An export of m into dir: main.c (the engine's outputs on the n samples), then the arena laid out for
 * the target kernels' scratch (scratch_of: bytes per plan step), then write's model.c, then model.h */
typedef size_t (*hn_c_scratch_fn)(const s8_node *p);
typedef hn_status (*hn_c_model_fn)(const hn_qmodel *m, const char *dir, const char *source, hn_export_info *info);
hn_status hn_c_export(hn_qmodel *m, const char *dir, const int8_t *samples, const int32_t *labels, int n,
                      const char *source, hn_export_info *info, hn_c_scratch_fn scratch_of, hn_c_model_fn write);

#endif
