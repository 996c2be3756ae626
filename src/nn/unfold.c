/* im2col / col2im (see unfold.h). Threads split the rows of col (im2col) or the input channels
 * (col2im), so no two threads write the same element. */
#include "unfold.h"

#include <stdint.h>
#include <string.h>

/* Output positions ow whose input column ow*s - p + kj falls inside [0, w): [*lo, *hi). */
static void valid_range(int out, int in, int s, int p, int kj, int *lo, int *hi) {
    int a = p - kj; /* need ow*s >= a */
    *lo = a > 0 ? (a + s - 1) / s : 0;
    int b = in - 1 + p - kj; /* need ow*s <= b */
    *hi = b < 0 ? 0 : b / s + 1;
    if (*hi > out) *hi = out;
    if (*lo > *hi) *lo = *hi;
}

/* Fast unfolding. Row r = (ci, ki, kj) of col holds, for each image, the input sampled at
 * (oh*s - p + ki, ow*s - p + kj) over the output grid. Two common cases make that a *shifted copy of a
 * plane of exactly the output's size*, i.e. one long copy per image plus zeroing the few columns
 * that wrapped around from the neighbouring row:
 *  - stride 1 with "same" padding (OH = H, OW = W): the plane is the input plane itself, shifted by
 *    (ki - p, kj - p);
 *  - stride 2 on an even input with OH = H/2, OW = W/2: the input is first split into its four phase
 *    planes X_ab[i][j] = x[2i + a][2j + b] (one pass), and tap (ki, kj) reads phase
 *    ((ki - p) mod 2, (kj - p) mod 2) shifted by (floor((ki - p)/2), floor((kj - p)/2)).
 * Everything else takes the general per-row path. */
unfold_kind hn_unfold_of(const geom *q) {
    if (q->s == 1 && q->oh == q->h && q->ow == q->w) return UNFOLD_SAME;
    if (q->s == 2 && q->h % 2 == 0 && q->w % 2 == 0 && q->oh == q->h / 2 && q->ow == q->w / 2) return UNFOLD_PHASE2;
    return UNFOLD_GENERAL;
}

/* Floats of the phase buffer for a chunk of nb images (UNFOLD_PHASE2 only). */
size_t hn_phase_floats(const geom *q, int nb) {
    return hn_unfold_of(q) == UNFOLD_PHASE2 ? (size_t)q->cin_g * nb * q->h * q->w : 0;
}

/* Which plane and shift tap (ki, kj) reads: *plane_index (phase 0..3, or 0 for UNFOLD_SAME), and the
 * row/column shift. */
static void tap_shift(const geom *q, unfold_kind u, int ki, int kj, int *phase, int *dh, int *d) {
    int ti = ki - q->p, tj = kj - q->p;
    if (u == UNFOLD_SAME) {
        *phase = 0, *dh = ti, *d = tj;
        return;
    }
    int a = ti & 1, b = tj & 1; /* two's complement: & 1 is the non-negative residue */
    *phase = a * 2 + b, *dh = (ti - a) / 2, *d = (tj - b) / 2;
}

/* nb consecutive planes of H x W (stride H*W) shifted by (dh, d) are one long shifted copy, since a
 * shifted pixel that stays inside its row and column range stays inside its own plane. What lands
 * elsewhere -- rows shifted in from the neighbouring plane and columns wrapped in from the
 * neighbouring row -- is then set to zero, plane by plane. */
static void clear_outside(float *dst, int nb, int H, int W, int dh, int d) {
    const int r0 = dh < 0 ? -dh : 0, r1 = dh > 0 ? H - dh : H;  /* valid rows */
    const int j0 = d > 0 ? W - d : 0, j1 = d > 0 ? W : (d < 0 ? -d : 0); /* wrapped columns */
    for (int b = 0; b < nb; b++) {
        float *p = dst + (size_t)b * H * W;
        for (int t = 0; t < r0 * W; t++) p[t] = 0;
        for (int t = (r1 > r0 ? r1 : r0) * W; t < H * W; t++) p[t] = 0;
        for (int j = j0; j < j1; j++) /* column-wise: a strided loop, not a memset call per row */
            for (int i = r0; i < r1; i++) p[i * W + j] = 0;
    }
}

/* dst (nb planes) <- planes (nb planes of H x W) shifted by (dh, d), zeros outside */
static void shift_copy(float *dst, const float *planes, int nb, int H, int W, int dh, int d) {
    const ptrdiff_t L = (ptrdiff_t)nb * H * W, off = (ptrdiff_t)dh * W + d;
    const ptrdiff_t a = off < 0 ? -off : 0, b = off > 0 ? L - off : L; /* source stays in [0, L) */
    if (b <= a) {
        memset(dst, 0, sizeof(float) * L);
        return;
    }
    memset(dst, 0, sizeof(float) * a);
    memcpy(dst + a, planes + a + off, sizeof(float) * (b - a));
    memset(dst + b, 0, sizeof(float) * (L - b));
    clear_outside(dst, nb, H, W, dh, d);
}

/* planes (nb planes of H x W) += src shifted back by (dh, d). src is scratch: what would land outside
 * its own plane is zeroed first, so one long add does the rest. */
static void shift_add(float *planes, float *src, int nb, int H, int W, int dh, int d) {
    const ptrdiff_t L = (ptrdiff_t)nb * H * W, off = (ptrdiff_t)dh * W + d;
    const ptrdiff_t a = off < 0 ? -off : 0, b = off > 0 ? L - off : L;
    clear_outside(src, nb, H, W, dh, d);
    float *restrict dst = planes + off;
    const float *restrict s = src;
    for (ptrdiff_t t = a; t < b; t++) dst[t] += s[t];
}

/* phase (cin_g, 4, pn, OH, OW) <- the four phase planes of images [n0, n0+nb) of group grp, at image
 * indices [pi, pi+nb); for one channel and phase the images' planes are consecutive, as shift_copy
 * wants. */
static void phase_split(const geom *q, const float *x, int N, int grp, int n0, int nb, float *phase, int pn, int pi) {
    const int HW = q->h * q->w, OW = q->ow;
    const size_t P = (size_t)q->oh * q->ow;
#pragma omp parallel for collapse(2) schedule(static)
    for (int ci = 0; ci < q->cin_g; ci++)
        for (int b = 0; b < nb; b++) {
            const float *xi = x + ((size_t)(grp * q->cin_g + ci) * N + n0 + b) * HW;
            float *ph = phase + (size_t)ci * 4 * pn * P + (size_t)(pi + b) * P; /* phase 0 of this image */
            for (int i = 0; i < q->oh; i++)
                for (int a = 0; a < 2; a++) {
                    const float *restrict row = xi + (size_t)(2 * i + a) * q->w;
                    float *restrict e = ph + (size_t)(a * 2) * pn * P + (size_t)i * OW, *restrict o = e + pn * P;
                    for (int j = 0; j < OW; j++) e[j] = row[2 * j], o[j] = row[2 * j + 1];
                }
        }
}

/* The inverse: dx (C_in, N, H, W) of images [n0, n0+nb) (+)= interleaved phase planes. */
static void phase_merge(const geom *q, const float *phase, int N, int grp, int n0, int nb, float *dx, bool acc) {
    const int HW = q->h * q->w, OW = q->ow;
    const size_t P = (size_t)q->oh * q->ow;
#pragma omp parallel for collapse(2) schedule(static)
    for (int ci = 0; ci < q->cin_g; ci++)
        for (int b = 0; b < nb; b++) {
            float *xi = dx + ((size_t)(grp * q->cin_g + ci) * N + n0 + b) * HW;
            const float *ph = phase + (size_t)ci * 4 * nb * P + (size_t)b * P;
            for (int i = 0; i < q->oh; i++)
                for (int a = 0; a < 2; a++) {
                    float *restrict row = xi + (size_t)(2 * i + a) * q->w;
                    const float *restrict e = ph + (size_t)(a * 2) * nb * P + (size_t)i * OW, *restrict o = e + nb * P;
                    if (acc)
                        for (int j = 0; j < OW; j++) row[2 * j] += e[j], row[2 * j + 1] += o[j];
                    else
                        for (int j = 0; j < OW; j++) row[2 * j] = e[j], row[2 * j + 1] = o[j];
                }
        }
}

void hn_im2col(const geom *q, const float *x, int N, int grp, int n0, int nb, float *col, const hn_phases *phs) {
    const int P = q->oh * q->ow, kk = q->k * q->k, HW = q->h * q->w;
    const unfold_kind u = hn_unfold_of(q);
    const float *phase = u == UNFOLD_PHASE2 ? phs->buf + (size_t)phs->pi * P : NULL; /* image n0, ci 0, phase 0 */
    const int pn = u == UNFOLD_PHASE2 ? phs->pn : 0;
    if (u == UNFOLD_PHASE2 && !phs->ready) phase_split(q, x, N, grp, n0, nb, phs->buf, phs->pn, phs->pi);
#pragma omp parallel for schedule(static)
    for (int r = 0; r < q->kdim; r++) {
        int ci = r / kk, ki = (r % kk) / q->k, kj = r % q->k;
        float *row = col + (size_t)r * nb * P;
        if (u != UNFOLD_GENERAL) {
            int ph, dh, d;
            tap_shift(q, u, ki, kj, &ph, &dh, &d);
            const float *planes = u == UNFOLD_SAME ? x + ((size_t)(grp * q->cin_g + ci) * N + n0) * HW
                                                   : phase + ((size_t)ci * 4 + ph) * pn * P;
            shift_copy(row, planes, nb, q->oh, q->ow, dh, d);
            continue;
        }
        const float *xc = x + ((size_t)(grp * q->cin_g + ci) * N) * HW;
        int lo, hi;
        valid_range(q->ow, q->w, q->s, q->p, kj, &lo, &hi);
        for (int b = 0; b < nb; b++) {
            const float *xi = xc + (size_t)(n0 + b) * HW;
            for (int oh = 0; oh < q->oh; oh++) {
                float *dst = row + (size_t)b * P + (size_t)oh * q->ow;
                int ih = oh * q->s - q->p + ki;
                if (ih < 0 || ih >= q->h) {
                    memset(dst, 0, sizeof(float) * q->ow);
                    continue;
                }
                const float *src = xi + (size_t)ih * q->w - q->p + kj;
                for (int ow = 0; ow < lo; ow++) dst[ow] = 0;
                for (int ow = lo; ow < hi; ow++) dst[ow] = src[ow * q->s];
                for (int ow = hi; ow < q->ow; ow++) dst[ow] = 0;
            }
        }
    }
}

/* dx (C_in, N, H, W) of images [n0, n0+nb) (+)= folding of col (acc: add; else overwrite). Each
 * thread owns whole input channels, so no two threads write the same element. col is scratch and is
 * modified. phase: scratch of hn_phase_floats(q, nb) floats (UNFOLD_PHASE2). */
void hn_col2im(const geom *q, float *col, int N, int grp, int n0, int nb, float *dx, bool acc, float *phase) {
    const int P = q->oh * q->ow, kk = q->k * q->k, HW = q->h * q->w;
    const unfold_kind u = hn_unfold_of(q);
#pragma omp parallel for schedule(static)
    for (int ci = 0; ci < q->cin_g; ci++) {
        float *xc = dx + ((size_t)(grp * q->cin_g + ci) * N) * HW;
        /* the planes this channel accumulates into: its dx planes, or its phase planes */
        float *planes = u == UNFOLD_PHASE2 ? phase + (size_t)ci * 4 * nb * P : xc + (size_t)n0 * HW;
        if (u == UNFOLD_PHASE2 || !acc) memset(planes, 0, sizeof(float) * (size_t)nb * (u == UNFOLD_PHASE2 ? 4 * P : HW));
        for (int kr = 0; kr < kk; kr++) {
            int ki = kr / q->k, kj = kr % q->k;
            float *row = col + (size_t)(ci * kk + kr) * nb * P;
            if (u != UNFOLD_GENERAL) {
                int ph, dh, d;
                tap_shift(q, u, ki, kj, &ph, &dh, &d);
                shift_add(planes + (u == UNFOLD_PHASE2 ? (size_t)ph * nb * P : 0), row, nb, q->oh, q->ow, dh, d);
                continue;
            }
            int lo, hi;
            valid_range(q->ow, q->w, q->s, q->p, kj, &lo, &hi);
            for (int b = 0; b < nb; b++) {
                float *xi = xc + (size_t)(n0 + b) * HW;
                for (int oh = 0; oh < q->oh; oh++) {
                    int ih = oh * q->s - q->p + ki;
                    if (ih < 0 || ih >= q->h) continue;
                    const float *src = row + (size_t)b * P + (size_t)oh * q->ow;
                    float *dst = xi + (size_t)ih * q->w - q->p + kj;
                    for (int ow = lo; ow < hi; ow++) dst[ow * q->s] += src[ow];
                }
            }
        }
    }
    if (u == UNFOLD_PHASE2) phase_merge(q, phase, N, grp, n0, nb, dx, acc);
}

