/* int8 kernels; see s8_kernels.h. Self-contained C99: copied verbatim into exported models. */
#include "s8_kernels.h"

#include <string.h>

static int32_t clamp32(int32_t x, int32_t lo, int32_t hi) { return x < lo ? lo : x > hi ? hi : x; }

/* high 32 bits of 2 * a * b rounded (ties up, gemmlowp); saturates the one overflowing case */
static int32_t rounding_doubling_high_mul(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    int64_t ab = (int64_t)a * b;
    int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31)); /* C division truncates toward zero */
}

/* x / 2^e rounded to nearest, ties away from zero (gemmlowp's RoundingDivideByPOT) */
static int32_t rounding_divide_by_pot(int32_t x, int e) {
    int32_t mask = (int32_t)(((int64_t)1 << e) - 1), remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + (remainder > threshold ? 1 : 0);
}

int32_t s8_mult_apply(int32_t x, s8_mult m) {
    int left = m.shift > 0 ? m.shift : 0, right = m.shift > 0 ? 0 : -m.shift;
    return rounding_divide_by_pot(rounding_doubling_high_mul((int32_t)((uint32_t)x << left), m.multiplier), right);
}

/* out[r] = sum over i < n of a[i] * w[r * wstride + i] for rows r < rows (1..4) */
static void dot(const uint8_t *a, const int8_t *w, size_t wstride, int n, int rows, int32_t *out) {
    for (int r = 0; r < rows; r++) {
        const int8_t *wr = w + (size_t)r * wstride;
        int32_t acc = 0;
        for (int i = 0; i < n; i++) acc += (int32_t)a[i] * (int32_t)wr[i];
        out[r] = acc;
    }
}

static s8_conv_group_fn conv_group = s8_conv_group_c;

void s8_set_conv_group(s8_conv_group_fn fn) { conv_group = fn ? fn : s8_conv_group_c; }

enum { PIXELS = 16 }; /* output pixels unfolded at a time: scratch stays small on a microcontroller */

size_t s8_conv_scratch_bytes(const s8_conv_params *p) {
    return (size_t)PIXELS * (size_t)(p->cin / p->groups * p->kernel * p->kernel);
}

/* the unfolding of output pixels [p0, p0 + n) of one group's input channels as unsigned values,
 * (n, Cg*K*K): row = one output pixel, so that each output value is one contiguous dot product with a
 * weight row */
static void unfold(const s8_conv_params *p, const int8_t *in, int c0, int cg, int p0, int n, uint8_t *col) {
    int k = p->kernel;
    uint8_t pad = (uint8_t)(p->in_zp + 128);
    for (int i = p0; i < p0 + n; i++) {
        int oy = i / p->ow, ox = i % p->ow;
        for (int c = 0; c < cg; c++) {
            const int8_t *plane = in + (size_t)(c0 + c) * p->h * p->w;
            for (int ky = 0; ky < k; ky++) {
                int iy = oy * p->stride - p->pad + ky;
                for (int kx = 0; kx < k; kx++) {
                    int ix = ox * p->stride - p->pad + kx;
                    *col++ = iy >= 0 && iy < p->h && ix >= 0 && ix < p->w ? (uint8_t)(plane[iy * p->w + ix] + 128) : pad;
                }
            }
        }
    }
}

int8_t s8_requant(int32_t acc, const s8_conv_params *p, int oc) {
    return (int8_t)clamp32(p->out_zp + s8_mult_apply(acc, p->mult[oc]), p->act_min, p->act_max);
}

/* depthwise: one input channel per output channel, direct loops */
static void depthwise(const s8_conv_params *p, const int8_t *in, int8_t *out) {
    int k = p->kernel;
    for (int c = 0; c < p->cout; c++) {
        const int8_t *plane = in + (size_t)c * p->h * p->w, *wt = p->weights + (size_t)c * k * k;
        int8_t *o = out + (size_t)c * p->oh * p->ow;
        for (int oy = 0; oy < p->oh; oy++)
            for (int ox = 0; ox < p->ow; ox++) {
                int32_t acc = p->bias[c];
                for (int ky = 0; ky < k; ky++) {
                    int iy = oy * p->stride - p->pad + ky;
                    for (int kx = 0; kx < k; kx++) {
                        int ix = ox * p->stride - p->pad + kx;
                        int32_t u = (iy >= 0 && iy < p->h && ix >= 0 && ix < p->w ? plane[iy * p->w + ix] : p->in_zp) + 128;
                        acc += u * wt[ky * k + kx];
                    }
                }
                o[oy * p->ow + ox] = s8_requant(acc, p, c);
            }
    }
}

void s8_conv_group_c(const s8_conv_params *p, const int8_t *in, int g, int8_t *out, uint8_t *scratch) {
    int cg = p->cin / p->groups, og = p->cout / p->groups, kg = cg * p->kernel * p->kernel, npix = p->oh * p->ow;
    for (int p0 = 0; p0 < npix; p0 += PIXELS) {
        int n = npix - p0 < PIXELS ? npix - p0 : PIXELS;
        unfold(p, in, g * cg, cg, p0, n, scratch);
        for (int i = 0; i < n; i++) {
            const uint8_t *col = scratch + (size_t)i * kg;
            for (int oc = g * og; oc < (g + 1) * og; oc += 4) {
                int rows = (g + 1) * og - oc < 4 ? (g + 1) * og - oc : 4;
                int32_t acc[4];
                dot(col, p->weights + (size_t)oc * kg, (size_t)kg, kg, rows, acc);
                for (int r = 0; r < rows; r++)
                    out[(size_t)(oc + r) * npix + p0 + i] = s8_requant(p->bias[oc + r] + acc[r], p, oc + r);
            }
        }
    }
}

void s8_conv(const s8_conv_params *p, const int8_t *in, int8_t *out, uint8_t *scratch) {
    if (p->groups > 1 && p->groups == p->cin && p->groups == p->cout) {
        depthwise(p, in, out);
        return;
    }
    for (int g = 0; g < p->groups; g++) conv_group(p, in, g, out, scratch);
}

void s8_add(int n, const int8_t *const *in, const int32_t *zp, const s8_mult *mult, size_t len, int32_t out_zp,
            s8_mult out_mult, int32_t act_min, int32_t act_max, int8_t *out) {
    for (size_t i = 0; i < len; i++) {
        int32_t sum = 0;
        for (int k = 0; k < n; k++) sum += s8_mult_apply((in[k][i] - zp[k]) * (1 << 20), mult[k]);
        out[i] = (int8_t)clamp32(out_zp + s8_mult_apply(sum, out_mult), act_min, act_max);
    }
}

void s8_rescale(const int8_t *in, size_t len, int32_t in_zp, s8_mult m, int32_t out_zp, int8_t *out) {
    if (m.multiplier == 1 << 30 && m.shift == 1 && in_zp == out_zp) { /* a multiplier of exactly 1 */
        memmove(out, in, len);
        return;
    }
    for (size_t i = 0; i < len; i++) out[i] = (int8_t)clamp32(out_zp + s8_mult_apply(in[i] - in_zp, m), -128, 127);
}

/* sum / count rounded half away from zero (TFLite's average pool, of the codes themselves) */
static int32_t rounded_div(int32_t sum, int32_t count) {
    return sum >= 0 ? (sum + count / 2) / count : -((-sum + count / 2) / count);
}

void s8_avgpool(const s8_pool_params *p, const int8_t *in, int8_t *out) {
    int k = p->kernel;
    for (int c = 0; c < p->c; c++) {
        const int8_t *plane = in + (size_t)c * p->h * p->w;
        for (int oy = 0; oy < p->oh; oy++)
            for (int ox = 0; ox < p->ow; ox++) {
                int32_t sum = 0, count = 0;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        int iy = oy * p->stride - p->pad + ky, ix = ox * p->stride - p->pad + kx;
                        if (iy >= 0 && iy < p->h && ix >= 0 && ix < p->w) sum += plane[iy * p->w + ix], count++;
                    }
                if (p->count_include_pad) sum += (k * k - count) * p->zp, count = k * k; /* padding is real 0 */
                out[((size_t)c * p->oh + oy) * p->ow + ox] = (int8_t)clamp32(rounded_div(sum, count), -128, 127);
            }
    }
}

void s8_maxpool(const s8_pool_params *p, const int8_t *in, int8_t *out) {
    int k = p->kernel;
    for (int c = 0; c < p->c; c++) {
        const int8_t *plane = in + (size_t)c * p->h * p->w;
        for (int oy = 0; oy < p->oh; oy++)
            for (int ox = 0; ox < p->ow; ox++) {
                int32_t m = -128;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        int iy = oy * p->stride - p->pad + ky, ix = ox * p->stride - p->pad + kx;
                        if (iy >= 0 && iy < p->h && ix >= 0 && ix < p->w && plane[iy * p->w + ix] > m) m = plane[iy * p->w + ix];
                    }
                out[((size_t)c * p->oh + oy) * p->ow + ox] = (int8_t)m;
            }
    }
}

void s8_mean(int c, int hw, const int8_t *in, int8_t *out) {
    for (int k = 0; k < c; k++) {
        int32_t sum = 0;
        for (int i = 0; i < hw; i++) sum += in[(size_t)k * hw + i];
        out[k] = (int8_t)clamp32(rounded_div(sum, hw), -128, 127);
    }
}

void s8_clamp(const int8_t *in, size_t len, int32_t lo, int32_t hi, int8_t *out) {
    for (size_t i = 0; i < len; i++) out[i] = (int8_t)clamp32(in[i], lo, hi);
}

void s8_forward(const s8_node *nodes, int n, int output, const int8_t *in, int8_t *arena, int8_t *out) {
    memcpy(arena + nodes[0].off, in, (size_t)nodes[0].len);
    for (int i = 1; i < n; i++) {
        const s8_node *q = &nodes[i];
        int8_t *y = arena + q->off;
        const int8_t *x = arena + nodes[q->inputs[0]].off;
        switch (q->kind) {
        case S8_CONV: s8_conv(&q->conv, x, y, (uint8_t *)arena + q->scratch); break;
        case S8_CLAMP: s8_clamp(x, (size_t)q->len, q->lo, q->hi, y); break;
        case S8_AVGPOOL: s8_avgpool(&q->pool, x, y); break;
        case S8_MAXPOOL: s8_maxpool(&q->pool, x, y); break;
        case S8_MEAN: s8_mean(q->len, nodes[q->inputs[0]].len / q->len, x, y); break;
        case S8_ZERO: memset(y, (int8_t)q->zp, (size_t)q->len); break;
        case S8_ADD: {
            const int8_t *ins[16];
            for (int k = 0; k < q->ninputs; k++) ins[k] = arena + nodes[q->inputs[k]].off;
            s8_add(q->ninputs, ins, q->in_zp, q->in_mult, (size_t)q->len, q->zp, q->out_mult, q->lo, q->hi, y);
            break;
        }
        case S8_CONCAT:
            for (int k = 0; k < q->ninputs; k++) {
                const s8_node *src = &nodes[q->inputs[k]];
                s8_rescale(arena + src->off, (size_t)src->len, q->in_zp[k], q->in_mult[k], q->zp, y);
                y += src->len;
            }
            break;
        default: break;
        }
    }
    memcpy(out, arena + nodes[output].off, (size_t)nodes[output].len);
}
