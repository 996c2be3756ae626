/* PCG32 random numbers: the one source of randomness, so seeded runs are reproducible. */
#include "hwnas/core.h"

#include <math.h>

void hn_rng_seed(hn_rng *r, uint64_t seed, uint64_t stream) {
    r->state = 0;
    r->inc = (stream << 1u) | 1u;
    hn_rng_u32(r);
    r->state += seed;
    hn_rng_u32(r);
}

uint32_t hn_rng_u32(hn_rng *r) {
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ULL + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

uint32_t hn_rng_below(hn_rng *r, uint32_t n) {
    HN_ASSERT(n >= 1);
    uint32_t threshold = -n % n; /* reject the low values that would bias the modulo */
    for (;;) {
        uint32_t x = hn_rng_u32(r);
        if (x >= threshold) return x % n;
    }
}

float hn_rng_uniform(hn_rng *r) { return (float)(hn_rng_u32(r) >> 8) * (1.0f / 16777216.0f); }

float hn_rng_normal(hn_rng *r) {
    float u1 = hn_rng_uniform(r), u2 = hn_rng_uniform(r);
    if (u1 < 1e-12f) u1 = 1e-12f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.283185307179586f * u2);
}

void hn_rng_shuffle(hn_rng *r, int32_t *perm, int64_t n) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = hn_rng_below(r, (uint32_t)(i + 1));
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}
