/* Resizing a dataset's images (see include/hwnas/data.h). */
#include "hwnas/data.h"

/* One axis of bilinear sampling with half-pixel centres (PyTorch's align_corners=False): output
 * pixel o reads source pixels i0[o] and i1[o] with weights 1 - t[o] and t[o]. */
static void axis(int in, int out, int *i0, int *i1, float *t) {
    double scale = (double)in / out;
    for (int o = 0; o < out; o++) {
        double src = (o + 0.5) * scale - 0.5;
        if (src < 0) src = 0;
        int lo = (int)src;
        if (lo > in - 1) lo = in - 1;
        i0[o] = lo;
        i1[o] = lo + 1 < in ? lo + 1 : in - 1;
        t[o] = (float)(src - lo);
    }
}

hn_status hn_dataset_resize(hn_dataset *d, int h, int w) {
    if (h < 1 || w < 1) return hn_error(HN_ERR_INVALID, "resizing images to %dx%d: sizes must be positive", h, w);
    if (h == d->h && w == d->w) return HN_OK;
    size_t planes = (size_t)d->n * d->c;
    uint8_t *out = hn_alloc(planes * (size_t)h * w);
    int *y0 = hn_alloc(sizeof(int) * (size_t)(2 * h + 2 * w));
    float *ty = hn_alloc(sizeof(float) * (size_t)(h + w));
    if (!out || !y0 || !ty) {
        hn_free(out), hn_free(y0), hn_free(ty);
        return hn_error_prefix(HN_ERR_NOMEM, "resizing %d images to %dx%d", d->n, h, w);
    }
    int *y1 = y0 + h, *x0 = y1 + h, *x1 = x0 + w;
    float *tx = ty + h;
    axis(d->h, h, y0, y1, ty);
    axis(d->w, w, x0, x1, tx);
    for (size_t p = 0; p < planes; p++) {
        const uint8_t *src = d->images + p * (size_t)d->h * d->w;
        uint8_t *dst = out + p * (size_t)h * w;
        for (int oy = 0; oy < h; oy++) {
            const uint8_t *r0 = src + (size_t)y0[oy] * d->w, *r1 = src + (size_t)y1[oy] * d->w;
            for (int ox = 0; ox < w; ox++) {
                float top = r0[x0[ox]] + tx[ox] * (r0[x1[ox]] - r0[x0[ox]]);
                float bottom = r1[x0[ox]] + tx[ox] * (r1[x1[ox]] - r1[x0[ox]]);
                dst[(size_t)oy * w + ox] = (uint8_t)(top + ty[oy] * (bottom - top) + 0.5f); /* half up */
            }
        }
    }
    hn_free(d->images);
    hn_free(y0);
    hn_free(ty);
    d->images = out;
    d->h = h, d->w = w;
    return HN_OK;
}
