/* float32 tensors and the versioned tensor file format (see include/hwnas/tensor.h). */
#include "hwnas/tensor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

hn_tensor *hn_tensor_new(const char *name, int ndim, const int64_t *shape) {
    HN_ASSERT(ndim >= 0 && ndim <= HN_TENSOR_MAX_DIMS);
    hn_tensor *t = hn_calloc(sizeof *t);
    if (!t) return NULL;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    if (name) {
        t->name = hn_alloc(strlen(name) + 1);
        if (!t->name) goto fail;
        strcpy(t->name, name);
    }
    t->data = hn_calloc((size_t)hn_tensor_numel(t) * sizeof(float));
    if (!t->data) goto fail;
    return t;
fail:
    hn_tensor_free(t);
    return NULL;
}

void hn_tensor_free(hn_tensor *t) {
    if (!t) return;
    hn_free(t->name);
    hn_free(t->data);
    hn_free(t);
}

int64_t hn_tensor_numel(const hn_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

char *hn_shape_str(int ndim, const int64_t *shape, char *buf, size_t cap) {
    size_t off = 0;
    buf[0] = 0;
    if (ndim == 0) snprintf(buf, cap, "scalar");
    for (int i = 0; i < ndim && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, i ? "x%lld" : "%lld", (long long)shape[i]);
    return buf;
}

static int read_exact(FILE *f, void *p, size_t n) { return fread(p, 1, n, f) == n; }

hn_status hn_tensor_file_read(const char *path, hn_tensor_set *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return hn_error(HN_ERR_IO, "%s: cannot open (does the file exist?)", path);
    /* the file's size bounds every tensor: a corrupt shape is an error, not a huge allocation */
    fseek(f, 0, SEEK_END);
    long file_bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint32_t hdr[3];
    hn_status st = HN_OK;
    if (!read_exact(f, hdr, sizeof hdr)) {
        st = hn_error(HN_ERR_FORMAT, "%s: truncated header (not a hwnas tensor file?)", path);
        goto done;
    }
    if (hdr[0] != HN_TENSOR_FILE_MAGIC) {
        st = hn_error(HN_ERR_FORMAT, "%s: wrong magic number 0x%08x (expected 0x%08x, \"HNTF\"): not a hwnas tensor file",
                      path, hdr[0], HN_TENSOR_FILE_MAGIC);
        goto done;
    }
    if (hdr[1] != HN_TENSOR_FILE_VERSION) {
        st = hn_error(HN_ERR_FORMAT, "%s: tensor file version %u is not supported (this build reads version %u)", path,
                      hdr[1], HN_TENSOR_FILE_VERSION);
        goto done;
    }
    if (hdr[2] > 1000000) {
        st = hn_error(HN_ERR_FORMAT, "%s: corrupt header: %u tensors", path, hdr[2]);
        goto done;
    }
    out->items = hn_calloc(sizeof(hn_tensor *) * (hdr[2] ? hdr[2] : 1));
    if (!out->items) {
        st = HN_ERR_NOMEM;
        goto done;
    }
    for (uint32_t i = 0; i < hdr[2]; i++) {
        uint16_t nlen;
        uint8_t ndim;
        char name[65536];
        int64_t shape[HN_TENSOR_MAX_DIMS];
        if (!read_exact(f, &nlen, 2) || !read_exact(f, name, nlen) || !read_exact(f, &ndim, 1)) {
            st = hn_error(HN_ERR_FORMAT, "%s: truncated in the header of tensor %u", path, i);
            goto done;
        }
        name[nlen] = 0;
        if (ndim > HN_TENSOR_MAX_DIMS || !read_exact(f, shape, 8u * ndim)) {
            st = hn_error(HN_ERR_FORMAT, "%s: tensor '%s': bad or truncated shape (ndim %u)", path, name, ndim);
            goto done;
        }
        int64_t numel = 1, left = (file_bytes - ftell(f)) / (int64_t)sizeof(float); /* floats the file still holds */
        for (int d = 0; d < ndim; d++) {
            if (shape[d] < 0 || shape[d] > ((int64_t)1 << 32)) {
                st = hn_error(HN_ERR_FORMAT, "%s: tensor '%s': corrupt dimension %lld", path, name, (long long)shape[d]);
                goto done;
            }
            if (shape[d] && numel > left / shape[d]) { /* also keeps the product from overflowing */
                st = hn_error(HN_ERR_FORMAT, "%s: truncated in the data of tensor '%s' (its shape %s needs more than the file holds)", path, name,
                              hn_shape_str(ndim, shape, (char[96]){0}, 96));
                goto done;
            }
            numel *= shape[d];
        }
        hn_tensor *t = hn_tensor_new(name, ndim, shape);
        if (!t) {
            st = HN_ERR_NOMEM;
            goto done;
        }
        out->items[out->count++] = t;
        if (!read_exact(f, t->data, sizeof(float) * (size_t)numel)) {
            st = hn_error(HN_ERR_FORMAT, "%s: truncated in the data of tensor '%s'", path, name);
            goto done;
        }
    }
done:
    fclose(f);
    if (st != HN_OK) hn_tensor_set_free(out);
    return st;
}

/* Written under a temporary name and renamed over path once whole: a crash or a full disk never
 * leaves a half file where a good one was. */
hn_status hn_tensor_file_write(const char *path, int count, const hn_tensor *const *tensors) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return hn_error(HN_ERR_INVALID, "%s: the path is too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return hn_error(HN_ERR_IO, "%s: cannot open for writing: %s", path, strerror(errno));
    uint32_t hdr[3] = {HN_TENSOR_FILE_MAGIC, HN_TENSOR_FILE_VERSION, (uint32_t)count};
    int ok = fwrite(hdr, sizeof hdr, 1, f) == 1;
    for (int i = 0; ok && i < count; i++) {
        const hn_tensor *t = tensors[i];
        const char *name = t->name ? t->name : "";
        uint16_t nlen = (uint16_t)strlen(name);
        uint8_t ndim = (uint8_t)t->ndim;
        ok = fwrite(&nlen, 2, 1, f) == 1 && (nlen == 0 || fwrite(name, nlen, 1, f) == 1) &&
             fwrite(&ndim, 1, 1, f) == 1 && (ndim == 0 || fwrite(t->shape, 8u * ndim, 1, f) == 1) &&
             fwrite(t->data, sizeof(float), (size_t)hn_tensor_numel(t), f) == (size_t)hn_tensor_numel(t);
    }
    if (fclose(f) != 0) ok = 0;
    if (ok && rename(tmp, path) == 0) return HN_OK;
    int err = errno;
    unlink(tmp);
    return hn_error(HN_ERR_IO, "%s: %s failed: %s", path, ok ? "renaming the written file" : "writing", strerror(err));
}

hn_tensor *hn_tensor_set_find(const hn_tensor_set *s, const char *name) {
    for (int i = 0; i < s->count; i++)
        if (s->items[i]->name && strcmp(s->items[i]->name, name) == 0) return s->items[i];
    return NULL;
}

void hn_tensor_set_free(hn_tensor_set *s) {
    for (int i = 0; i < s->count; i++) hn_tensor_free(s->items[i]);
    hn_free(s->items);
    memset(s, 0, sizeof *s);
}
