/* im2col and col2im for conv2d on channel-major activations (C, N, H, W): the unfolding of a chunk
 * of images into col (C_in/g*K*K, nb*OH*OW) and the folding back of a gradient. Private to src/nn. */
#ifndef HWNAS_NN_UNFOLD_H
#define HWNAS_NN_UNFOLD_H

#include <stdbool.h>
#include <stddef.h>

/* A convolution's geometry: input (cin, h, w), output (cout, oh, ow), square kernel k, stride s,
 * padding p, groups, channels per group, and kdim = cin_g*k*k rows of the unfolding. */
typedef struct {
    int cin, h, w, cout, oh, ow, k, s, p, groups, cin_g, cout_g, kdim;
} geom;

/* How a geometry is unfolded (see unfold.c): shifted copies of whole planes for stride 1 with
 * "same" padding and for stride 2 on even inputs (through phase planes), element by element else. */
typedef enum { UNFOLD_GENERAL, UNFOLD_SAME, UNFOLD_PHASE2 } unfold_kind;
unfold_kind hn_unfold_of(const geom *q);

/* Floats of phase scratch that im2col/col2im need for a chunk of nb images (0 unless UNFOLD_PHASE2). */
size_t hn_phase_floats(const geom *q, int nb);

/* Phase planes for UNFOLD_PHASE2: buf holds (cin_g, 4, pn, OH, OW), planes for pn images, and the
 * chunk's first image n0 is at index pi. A chunk's scratch is {buf, nb, 0}; a whole batch's planes
 * kept from forward for backward are {buf, N, n0}. ready: the planes are already split. */
typedef struct {
    float *buf;
    int pn, pi;
    bool ready;
} hn_phases;

/* col (kdim, nb*OH*OW) <- unfolding of images [n0, n0+nb) of group grp of x (C_in, N, H, W). For
 * UNFOLD_PHASE2, the unfolding reads phase planes from phs (splitting them there first unless
 * phs->ready); phs is unused otherwise and may be NULL. */
void hn_im2col(const geom *q, const float *x, int N, int grp, int n0, int nb, float *col, const hn_phases *phs);

/* dx (C_in, N, H, W) of images [n0, n0+nb) of group grp = (acc ? dx + : ) folding of col. col is
 * scratch and is modified. phase: as for im2col. */
void hn_col2im(const geom *q, float *col, int N, int grp, int n0, int nb, float *dx, bool acc, float *phase);

#endif
