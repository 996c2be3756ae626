/* Energy per operation and area of an accelerator's parts (include/hwnas/hw.h), from published 45 nm
 * figures, so that a systolic design has joules and mm^2 without the user looking them up.
 *
 * Source of every anchor: M. Horowitz, "Computing's energy problem (and what we can do about it)",
 * ISSCC 2014, table of 45 nm, 0.9 V energies and areas:
 *   integer add     8 bit 0.03 pJ,  36 um^2;   32 bit 0.1 pJ,  137 um^2
 *   integer mult    8 bit 0.2 pJ,  282 um^2;   32 bit 3.1 pJ, 3495 um^2
 *   float add      16 bit 0.4 pJ, 1360 um^2;   32 bit 0.9 pJ, 4184 um^2
 *   float mult     16 bit 1.1 pJ, 1640 um^2;   32 bit 3.7 pJ, 7700 um^2
 *   SRAM read (64 bit)  8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ;   DRAM 1.3-2.6 nJ per 64 bits
 * Between and beyond the anchors (widths Horowitz does not list) the values follow power laws fitted
 * through the two anchors of each row: an integer multiplier grows as bits^1.98 in energy and
 * bits^1.82 in area (8 -> 32 bits), a float multiplier as significand bits^1.55 and ^1.98 (fp16 ->
 * fp32), adders linearly in bits, an SRAM access log-log between the three sizes. A MAC is a multiply
 * plus an accumulate: into 32 bits for integers of 8 bits and more, 16 bits below; into fp32 for
 * fp32, fp16 for the minifloats (the usual mixed-precision accumulators).
 *
 * SRAM area: the 45 nm 6T cell of 0.346 um^2 (K. Mistry et al., Intel, IEDM 2007) at an assumed 70 %
 * array efficiency (decoders, sense amplifiers): 0.00405 mm^2 per KB. DRAM energy: 2.0 nJ per 64 bits,
 * inside Horowitz's range. A PE's area here is its multiplier and adder; registers and control are not
 * counted, so array areas are lower bounds of a layout's. */
#include <math.h>

#include "models.h"

/* power law through (x0, y0) and (x1, y1), at x */
static double through(double x0, double y0, double x1, double y1, double x) {
    return y0 * pow(x / x0, log(y1 / y0) / log(x1 / x0));
}
static double linear(double x0, double y0, double x1, double y1, double x) { return y0 + (x - x0) * (y1 - y0) / (x1 - x0); }

/* significand bits (with the hidden one) of a float type */
static int significand_bits(hn_numtype t) {
    switch (t) {
    case HN_FP8_E4M3: return 4;
    case HN_FP8_E5M2: return 3;
    case HN_FP6_E3M2: return 3;
    case HN_FP4_E2M1: return 2;
    default: return 24;
    }
}

static bool is_float(hn_numtype t) { return t == HN_FP32 || t >= HN_FP8_E4M3; }

/* multiply and accumulate, energy (pJ) or area (um^2) */
static double mac(hn_numtype t, bool area) {
    if (is_float(t)) {
        const double s = significand_bits(t);
        double mul = area ? through(11, 1640, 24, 7700, s) : through(11, 1.1, 24, 3.7, s);
        double add = t == HN_FP32 ? (area ? 4184 : 0.9) : (area ? 1360 : 0.4);
        return mul + add;
    }
    const double bits = hn_numtype_bits(t), acc = bits >= 8 ? 32 : 16;
    double mul = area ? through(8, 282, 32, 3495, bits) : through(8, 0.2, 32, 3.1, bits);
    double add = area ? linear(8, 36, 32, 137, acc) : linear(8, 0.03, 32, 0.1, acc);
    return mul + add;
}

double hn_mac_energy_pj(hn_numtype t) { return mac(t, false); }
double hn_mac_area_um2(hn_numtype t) { return mac(t, true); }

double hn_sram_pj_per_word(double kb, int word_bytes) {
    const double per64 = kb <= 32 ? through(8, 10, 32, 20, kb) : through(32, 20, 1024, 100, kb);
    return per64 * word_bytes / 8.0;
}

double hn_dram_pj_per_word(int word_bytes) { return 2000.0 * word_bytes / 8.0; }

double hn_sram_area_mm2(double kb) { return kb * 1024 * 8 * 0.346e-6 / 0.70; }

void hn_systolic_fill_energy(hn_systolic *a) {
    const double kb[3] = {a->ifmap_sram_kb, a->filter_sram_kb, a->ofmap_sram_kb};
    if (!(a->mac_pj > 0)) a->mac_pj = hn_mac_energy_pj(a->numtype);
    for (int i = 0; i < 3; i++)
        if (!(a->sram_pj_per_word[i] > 0)) a->sram_pj_per_word[i] = hn_sram_pj_per_word(kb[i], a->word_bytes);
    if (!(a->dram_pj_per_word > 0)) a->dram_pj_per_word = hn_dram_pj_per_word(a->word_bytes);
}

double hn_systolic_area_mm2(const hn_systolic *a) {
    return (double)a->rows * a->cols * hn_mac_area_um2(a->numtype) * 1e-6 +
           hn_sram_area_mm2(a->ifmap_sram_kb + a->filter_sram_kb + a->ofmap_sram_kb);
}
