/* The MBConv stages both MBConv spaces build (mbconv_stage.h; the block is described in space_mbconv.c). */
#include "mbconv_stage.h"

#include <stdio.h>
#include <string.h>

const int mb_resolutions[MB_NRES] = {16, 20, 24, 28, 32};
const char *const mb_width_names[MB_NWIDTH] = {"0.5", "0.75", "1.0", "1.25"};
const char *const mb_op_names[MB_NOPS] = {"k3e1", "k3e3", "k3e6", "k5e1", "k5e3", "k5e6", "k7e1", "k7e3", "k7e6", "skip"};
static const int width_quarters[MB_NWIDTH] = {2, 3, 4, 5}; /* the multiplier x 4, so rounding is exact */

static int op_kernel(int op) { return 3 + 2 * (op / 3); }
static int op_expansion(int op) { return (int[]){1, 3, 6}[op % 3]; }

int mb_stage_channels(int base, int width) {
    int v4 = base * width_quarters[width]; /* 4 v */
    int c = (v4 + 16) / 32 * 8;             /* int(v + 4) // 8 * 8 */
    if (c < 8) c = 8;
    if (10 * 4 * c < 9 * v4) c += 8; /* c < 0.9 v */
    return c;
}

int mb_conv_bn(builder *b, int x, int out, int k, int stride, int groups, bool relu6, int qslot) {
    x = build_op(b, HN_OP_BATCHNORM, build_conv(b, x, out, k, stride, k / 2, groups, qslot));
    return relu6 ? build_op(b, HN_OP_RELU6, x) : x;
}

int mb_block(builder *b, int x, int in, int out, int stride, int op, int slot) {
    int hidden = in * op_expansion(op), k = op_kernel(op);
    int y = op_expansion(op) > 1 ? mb_conv_bn(b, x, hidden, 1, 1, 1, true, slot) : x;
    y = mb_conv_bn(b, y, hidden, k, stride, hidden, true, slot + 1);
    y = mb_conv_bn(b, y, out, 1, 1, 1, false, slot + 2);
    if (stride == 1 && in == out) {
        int ids[2] = {y, x};
        y = build_sum(b, ids, 2);
    }
    return y;
}

size_t mb_format_resolution(char *buf, size_t cap, int r) { return (size_t)snprintf(buf, cap, "r%d", mb_resolutions[r]); }

size_t mb_format_stage(char *buf, size_t cap, int width, const uint8_t *ops, int nblocks) {
    size_t n = 0;
#define PUT(...) n += (size_t)snprintf(buf + (n < cap ? n : cap), n < cap ? cap - n : 0, __VA_ARGS__)
    PUT("|w%s:", mb_width_names[width]);
    for (int b = 0; b < nblocks; b++) PUT("%s%s", b ? "," : "", mb_op_names[ops[b]]);
#undef PUT
    return n;
}

/* Matches one of names[0..n) at p followed by a byte in `ends` (or, if at_end, the string's end);
 * returns its index or -1. */
static int match(const char *p, const char *const *names, int n, const char *ends, bool at_end) {
    for (int k = 0; k < n; k++) {
        size_t len = strlen(names[k]);
        /* strchr would find the terminating NUL in ends too */
        if (strncmp(p, names[k], len) == 0 && (p[len] ? strchr(ends, p[len]) != NULL : at_end)) return k;
    }
    return -1;
}

#define EXPECT(cond, what)                                                                                  \
    if (!(cond)) return space_parse_error(space, str, *p, what)

hn_status mb_parse_resolution(const char *space, const char *str, const char **p, uint8_t *r) {
    EXPECT(**p == 'r', "'r' and the resolution (r16, r20, r24, r28 or r32)");
    (*p)++;
    static const char *const res_names[MB_NRES] = {"16", "20", "24", "28", "32"};
    int k = match(*p, res_names, MB_NRES, "|", true); /* the next check names a missing "|w" */
    EXPECT(k >= 0, "a resolution of 16, 20, 24, 28 or 32 followed by '|'");
    *r = (uint8_t)k;
    *p += strlen(res_names[k]);
    return HN_OK;
}

hn_status mb_parse_stage(const char *space, const char *str, const char **p, int stage, int nblocks, uint8_t *width,
                         uint8_t *ops) {
    char what[96];
    snprintf(what, sizeof what, "'|w' and the width of stage %d (0.5, 0.75, 1.0 or 1.25)", stage + 1);
    EXPECT((*p)[0] == '|' && (*p)[1] == 'w', what);
    *p += 2;
    int w = match(*p, mb_width_names, MB_NWIDTH, ":", false);
    EXPECT(w >= 0, "a width of 0.5, 0.75, 1.0 or 1.25 followed by ':'");
    *width = (uint8_t)w;
    *p += strlen(mb_width_names[w]) + 1;
    for (int b = 0; b < nblocks; b++) {
        if (b > 0) {
            snprintf(what, sizeof what, "',' and block %d of stage %d (stage %d has %d blocks)", b + 1, stage + 1, stage + 1,
                     nblocks);
            EXPECT(**p == ',', what);
            (*p)++;
        }
        int op = match(*p, mb_op_names, MB_NOPS, ",|", true);
        snprintf(what, sizeof what, "block %d of stage %d: k3e1 .. k7e6%s", b + 1, stage + 1, b ? " or skip" : "");
        EXPECT(op >= 0, what);
        EXPECT(op != MB_SKIP || b > 0, "an MBConv op: the first block of a stage changes the shape, so it cannot be skip");
        ops[b] = (uint8_t)op;
        *p += strlen(mb_op_names[op]);
    }
    return HN_OK;
}
