/* float32 tensors and the versioned tensor file that stores them (weights, reference data).
 *
 * Layout: row-major, the last dimension fastest. Images and activations at the public API are
 * (N, C, H, W); weights of conv2d are (C_out, C_in / groups, KH, KW) and of linear (out, in), as in
 * PyTorch, so that reference data can be compared element for element.
 *
 * Tensor file (little-endian): "HNTF" magic (u32 0x46544e48), version u32 (= 1), count u32, then per
 * tensor: name length u16, name bytes (no NUL), ndim u8 (0..4), shape i64 x ndim, float32 data. */
#ifndef HWNAS_TENSOR_H
#define HWNAS_TENSOR_H

#include "hwnas/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HN_TENSOR_MAX_DIMS 4
#define HN_TENSOR_FILE_MAGIC 0x46544e48u /* "HNTF" */
#define HN_TENSOR_FILE_VERSION 1u

typedef struct {
    char *name;                           /* owned; may be NULL */
    int ndim;
    int64_t shape[HN_TENSOR_MAX_DIMS];
    float *data;                          /* owned, numel floats */
} hn_tensor;

/* Allocates a zeroed tensor. Returns NULL (HN_ERR_NOMEM) on failure. Free with hn_tensor_free. */
hn_tensor *hn_tensor_new(const char *name, int ndim, const int64_t *shape);
void hn_tensor_free(hn_tensor *t);
int64_t hn_tensor_numel(const hn_tensor *t);
/* Formats the shape as "16x1x3x3" into buf; returns buf. */
char *hn_shape_str(int ndim, const int64_t *shape, char *buf, size_t cap);

/* A set of named tensors, read from or written to a tensor file. */
typedef struct {
    int count;
    hn_tensor **items; /* owned */
} hn_tensor_set;

/* Reads every tensor of a file. On failure the message names the file and what is wrong (missing,
 * truncated, wrong magic or version). The caller frees the set with hn_tensor_set_free. */
hn_status hn_tensor_file_read(const char *path, hn_tensor_set *out);
/* Writes count tensors (which stay owned by the caller). */
hn_status hn_tensor_file_write(const char *path, int count, const hn_tensor *const *tensors);
/* The tensor with this name, or NULL. */
hn_tensor *hn_tensor_set_find(const hn_tensor_set *s, const char *name);
void hn_tensor_set_free(hn_tensor_set *s);

#ifdef __cplusplus
}
#endif
#endif
