/* The CIFAR-10 / CIFAR-100 binary format (Krizhevsky, 2009): fixed-size records of label byte(s) and
 * 3x32x32 pixels stored channel by channel (R plane, G plane, B plane), row-major. */
#include <stdio.h>
#include <string.h>

#include "hwnas/data.h"

enum { CIFAR_PIXELS = 3 * 32 * 32 };

hn_status hn_cifar_load(const char *const *paths, int npaths, int label_bytes, int classes, hn_dataset **out) {
    *out = NULL;
    const long rec = label_bytes + CIFAR_PIXELS;
    long sizes[16], total = 0;
    HN_ASSERT(npaths <= 16 && (label_bytes == 1 || label_bytes == 2));
    for (int i = 0; i < npaths; i++) {
        FILE *f = fopen(paths[i], "rb");
        if (!f) return hn_error(HN_ERR_IO, "%s: cannot open (does the file exist?)", paths[i]);
        fseek(f, 0, SEEK_END);
        sizes[i] = ftell(f);
        fclose(f);
        if (sizes[i] <= 0 || sizes[i] % rec)
            return hn_error(HN_ERR_FORMAT, "%s: %ld bytes is not a whole number of %ld-byte CIFAR records (truncated?)",
                            paths[i], sizes[i], rec);
        total += sizes[i] / rec;
    }
    hn_dataset *d = hn_calloc(sizeof *d);
    if (!d) return HN_ERR_NOMEM;
    *d = (hn_dataset){.n = (int)total, .c = 3, .h = 32, .w = 32, .classes = classes, .mean = {0}, .std = {1, 1, 1, 1}};
    d->images = hn_alloc((size_t)total * CIFAR_PIXELS);
    d->labels = hn_alloc((size_t)total);
    unsigned char *buf = hn_alloc((size_t)rec);
    hn_status st = HN_OK;
    if (!d->images || !d->labels || !buf) {
        st = HN_ERR_NOMEM;
        goto done;
    }
    long k = 0;
    for (int i = 0; i < npaths && st == HN_OK; i++) {
        FILE *f = fopen(paths[i], "rb");
        if (!f) {
            st = hn_error(HN_ERR_IO, "%s: cannot open", paths[i]);
            break;
        }
        for (long r = 0; r < sizes[i] / rec; r++, k++) {
            if (fread(buf, 1, (size_t)rec, f) != (size_t)rec) {
                st = hn_error(HN_ERR_FORMAT, "%s: truncated at record %ld", paths[i], r);
                break;
            }
            int label = buf[label_bytes - 1];
            if (label >= classes) {
                st = hn_error(HN_ERR_FORMAT, "%s: label %d of record %ld is out of range (expected 0..%d)", paths[i],
                              label, r, classes - 1);
                break;
            }
            d->labels[k] = (uint8_t)label;
            memcpy(d->images + (size_t)k * CIFAR_PIXELS, buf + label_bytes, CIFAR_PIXELS);
        }
        fclose(f);
    }
done:
    hn_free(buf);
    if (st != HN_OK) {
        hn_dataset_free(d);
        return st;
    }
    *out = d;
    return HN_OK;
}
