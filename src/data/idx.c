/* The IDX format of MNIST and Fashion-MNIST (LeCun et al.): a big-endian header (magic 0x00000803
 * for images, 0x00000801 for labels, then the dimension sizes) followed by unsigned bytes. zlib's
 * gzread reads gzipped and raw files alike. */
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "hwnas/data.h"

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads an IDX file with the expected magic and ndim dimensions into *data (owned by the caller). */
/* a short read's error: zlib's own where the compressed data is corrupt (a CRC or length that does not
 * match is noticed wherever the read meets the trailer), else what */
static hn_status short_read(gzFile f, const char *path, const char *what) {
    int errnum;
    const char *zmsg = gzerror(f, &errnum);
    if (errnum != Z_OK && errnum != Z_STREAM_END && errnum != Z_BUF_ERROR)
        return hn_error(HN_ERR_FORMAT, "%s: corrupt compressed data (%s): its checksum or length does not match; fetch "
                        "the file again", path, zmsg);
    return hn_error(HN_ERR_FORMAT, "%s: %s", path, what);
}

static hn_status read_idx(const char *path, uint32_t magic, int ndim, uint32_t *dims, uint8_t **data) {
    *data = NULL;
    FILE *probe = fopen(path, "rb");
    if (!probe) return hn_error(HN_ERR_IO, "%s: cannot open (does the file exist?)", path);
    fclose(probe);
    gzFile f = gzopen(path, "rb");
    if (!f) return hn_error(HN_ERR_IO, "%s: cannot open", path);
    hn_status st = HN_OK;
    unsigned char hdr[16];
    int hlen = 4 * (1 + ndim);
    if (gzread(f, hdr, (unsigned)hlen) != hlen) {
        st = short_read(f, path, "truncated header (file too short or not IDX)");
        goto done;
    }
    if (be32(hdr) != magic) {
        st = hn_error(HN_ERR_FORMAT, "%s: wrong magic number 0x%08x (expected 0x%08x for an IDX %s file)", path,
                      be32(hdr), magic, ndim == 1 ? "label" : "image");
        goto done;
    }
    size_t total = 1;
    for (int i = 0; i < ndim; i++) {
        dims[i] = be32(hdr + 4 + 4 * i);
        if (dims[i] == 0 || dims[i] > (1u << 28)) {
            st = hn_error(HN_ERR_FORMAT, "%s: corrupt dimension %d = %u", path, i, dims[i]);
            goto done;
        }
        total *= dims[i];
    }
    if (total > ((size_t)1 << 34)) {
        st = hn_error(HN_ERR_FORMAT, "%s: corrupt header: %zu bytes of data", path, total);
        goto done;
    }
    /* the buffer grows with the data read (doubling from 1 MB): a header that claims gigabytes over a
     * few bytes of data is a truncated file, not a gigabyte allocation (gzip data may expand ~1000x, so
     * the file's size bounds nothing) */
    size_t got = 0, cap = 0;
    while (got < total) {
        if (got == cap) {
            size_t grown_cap = cap ? (2 * cap < total ? 2 * cap : total) : (total < (1u << 20) ? total : (1u << 20));
            uint8_t *grown = hn_alloc(grown_cap);
            if (!grown) {
                st = HN_ERR_NOMEM;
                goto done;
            }
            if (got) memcpy(grown, *data, got);
            hn_free(*data);
            *data = grown, cap = grown_cap;
        }
        unsigned chunk = cap - got > (1u << 30) ? (1u << 30) : (unsigned)(cap - got);
        int r = gzread(f, *data + got, chunk);
        if (r <= 0) break;
        got += (size_t)r;
    }
    char what[128];
    snprintf(what, sizeof what, "truncated: %zu of %zu data bytes", got, total);
    if (got != total) {
        st = short_read(f, path, what);
    } else { /* read on to the end: only there does zlib check the gzip trailer's CRC and length */
        unsigned char extra;
        int r = gzread(f, &extra, 1);
        snprintf(what, sizeof what, "holds more than the %zu data bytes its header describes (not an IDX file of that shape)",
                 total);
        if (r != 0) st = short_read(f, path, what);
    }
done:
    gzclose(f);
    if (st != HN_OK) {
        hn_free(*data);
        *data = NULL;
    }
    return st;
}

hn_status hn_idx_load(const char *images_path, const char *labels_path, int classes, hn_dataset **out) {
    *out = NULL;
    uint32_t idims[3] = {0}, ldims[1] = {0};
    uint8_t *img, *lab;
    hn_status st = read_idx(images_path, 0x00000803u, 3, idims, &img);
    if (st) return st;
    if ((st = read_idx(labels_path, 0x00000801u, 1, ldims, &lab))) {
        hn_free(img);
        return st;
    }
    if (ldims[0] != idims[0]) {
        hn_free(img);
        hn_free(lab);
        return hn_error(HN_ERR_FORMAT, "%s has %u labels but %s has %u images", labels_path, ldims[0], images_path,
                        idims[0]);
    }
    for (uint32_t i = 0; i < ldims[0]; i++)
        if (lab[i] >= classes) {
            hn_error(HN_ERR_FORMAT, "%s: label %u of item %u is out of range (expected 0..%d)", labels_path, lab[i], i,
                     classes - 1);
            hn_free(img);
            hn_free(lab);
            return HN_ERR_FORMAT;
        }
    hn_dataset *d = hn_calloc(sizeof *d);
    if (!d) {
        hn_free(img);
        hn_free(lab);
        return HN_ERR_NOMEM;
    }
    *d = (hn_dataset){.n = (int)idims[0], .c = 1, .h = (int)idims[1], .w = (int)idims[2], .classes = classes,
                      .images = img, .labels = lab, .mean = {0}, .std = {1, 1, 1, 1}};
    *out = d;
    return HN_OK;
}
