/* Genotypes per second for building and counting architectures on one core (the inner loop of a
 * constrained search): every architecture of a space of at most 10^6, else 100,000 sampled ones
 * (seed 1). Usage: bench_space_count [SPACE=nb201] [REPEATS=5] */
#include <stdio.h>
#include <stdlib.h>

#include "hwnas/hw.h"
#include "hwnas/provider.h"
#include "hwnas/space.h"

int main(int argc, char **argv) {
    const hn_space *s = hn_space_find(argc > 1 ? argv[1] : "nb201");
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    if (!s || repeats < 1) {
        fprintf(stderr, "usage: bench_space_count [SPACE] [REPEATS]\n");
        return 2;
    }
    hn_set_threads(1);
    uint64_t size = hn_space_size(s), n = size <= 1000000 ? size : 100000;
    double best = 1e30;
    int64_t checksum = 0;
    for (int r = 0; r < repeats; r++) {
        hn_rng rng;
        hn_rng_seed(&rng, 1, 1);
        double t0 = hn_now();
        for (uint64_t i = 0; i < n; i++) {
            uint8_t g[HN_SPACE_MAX_DECISIONS];
            hn_candidate cand;
            if (n == size) hn_space_decode(s, i, g);
            else hn_space_sample(s, &rng, g);
            if (hn_candidate_build_genotype(s, g, &(hn_candidate_spec){.space = s->defaults}, &cand) != HN_OK) {
                fprintf(stderr, "%s\n", hn_last_error());
                return 1;
            }
            hn_cost c;
            if (hn_count(cand.graph, &c, NULL) != HN_OK) {
                fprintf(stderr, "%s\n", hn_last_error());
                return 1;
            }
            checksum += c.params + c.macs + c.peak_activation_bytes;
            hn_candidate_free(&cand);
        }
        double dt = hn_now() - t0;
        if (dt < best) best = dt;
    }
    printf("%s: %llu %s genotypes built and counted in %.3f s (best of %d, 1 core): %.0f genotypes/s (checksum %lld)\n",
           s->name, (unsigned long long)n, n == size ? "(all)" : "sampled", best, repeats, n / best,
           (long long)checksum);
    return 0;
}
