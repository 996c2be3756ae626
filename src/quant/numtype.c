/* Names and widths of the number types (see include/hwnas/numtype.h). */
#include "hwnas/numtype.h"

#include <string.h>

static const struct {
    const char *name;
    int bits;
} types[HN_NUMTYPE_COUNT] = {
    [HN_FP32] = {"fp32", 32},        [HN_INT2] = {"int2", 2},         [HN_INT3] = {"int3", 3},
    [HN_INT4] = {"int4", 4},         [HN_INT5] = {"int5", 5},         [HN_INT6] = {"int6", 6},
    [HN_INT7] = {"int7", 7},         [HN_INT8] = {"int8", 8},         [HN_INT16] = {"int16", 16},
    [HN_FP8_E4M3] = {"fp8-e4m3", 8},
    [HN_FP8_E5M2] = {"fp8-e5m2", 8}, [HN_FP6_E3M2] = {"fp6-e3m2", 6}, [HN_FP4_E2M1] = {"fp4-e2m1", 4},
};

const char *hn_numtype_name(hn_numtype t) { return t < HN_NUMTYPE_COUNT ? types[t].name : "?"; }

int hn_numtype_bits(hn_numtype t) { return t < HN_NUMTYPE_COUNT ? types[t].bits : 0; }

hn_numtype hn_numtype_from_prefix(const char *name, int len) {
    for (int t = 0; t < HN_NUMTYPE_COUNT; t++)
        if ((int)strlen(types[t].name) == len && strncmp(types[t].name, name, (size_t)len) == 0) return (hn_numtype)t;
    return HN_NUMTYPE_COUNT;
}

hn_numtype hn_numtype_from_name(const char *name) { return hn_numtype_from_prefix(name, (int)strlen(name)); }
