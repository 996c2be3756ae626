/* What the MBConv and hybrid spaces share (mbconv_stage.c): the resolutions, stage widths and block ops
 * of space_mbconv.c's description, MobileNetV2's channel rounding, the inverted-residual block, and the
 * string form of the resolution and of one stage ("|w1.0:k3e6,skip"). Internal to src/space/. */
#ifndef HWNAS_SPACE_MBCONV_STAGE_H
#define HWNAS_SPACE_MBCONV_STAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "builder.h"

enum { MB_NRES = 5, MB_NWIDTH = 4, MB_NOPS = 10, MB_SKIP = 9 };
extern const int mb_resolutions[MB_NRES];     /* 16, 20, 24, 28, 32 */
extern const char *const mb_width_names[MB_NWIDTH]; /* 0.5, 0.75, 1.0, 1.25 */
extern const char *const mb_op_names[MB_NOPS];      /* k3e1 .. k7e6, skip */

/* MobileNetV2's _make_divisible(base x width, 8), exactly */
int mb_stage_channels(int base, int width);
/* conv (no bias) + batch norm (+ ReLU6) */
int mb_conv_bn(builder *b, int x, int out, int k, int stride, int groups, bool relu6, int qslot);
/* block op (not skip) from in to out channels; its three convolutions take qslots slot .. slot + 2 */
int mb_block(builder *b, int x, int in, int out, int stride, int op, int slot);

/* "rR" of resolution choice r, then each stage's "|wW:op,op,..." (nblocks ops); returns the length
 * snprintf would write */
size_t mb_format_resolution(char *buf, size_t cap, int r);
size_t mb_format_stage(char *buf, size_t cap, int width, const uint8_t *ops, int nblocks);
/* The same read at *p (advanced past it); errors name space, the string and the position. */
hn_status mb_parse_resolution(const char *space, const char *str, const char **p, uint8_t *r);
hn_status mb_parse_stage(const char *space, const char *str, const char **p, int stage, int nblocks, uint8_t *width,
                         uint8_t *ops);

#endif
