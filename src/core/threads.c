/* Thread count for OpenMP loops and OpenBLAS, and the monotonic clock. */
#include "hwnas/core.h"

#include <stdbool.h>
#include <strings.h>

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* OpenBLAS's own functions; declared here so that the header of whichever OpenBLAS flavour is
 * installed does not matter. */
extern void openblas_set_num_threads(int);
extern char *openblas_get_corename(void);

static int n_threads;

void hn_set_threads(int n) {
    if (n <= 0) n = omp_get_num_procs();
    n_threads = n;
    omp_set_num_threads(n);
    omp_set_max_active_levels(1); /* kernels split work at one level; nested regions run on one thread */
    openblas_set_num_threads(n);
}

int hn_get_threads(void) { return n_threads > 0 ? n_threads : omp_get_max_threads(); }

double hn_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *hn_blas_core(void) { return openblas_get_corename(); }

const char *hn_blas_better_core(void) {
    if (getenv("OPENBLAS_CORETYPE")) return NULL;
    const char *core = openblas_get_corename();
    /* the generic x86-64 kernel sets, chosen when OpenBLAS does not know the CPU model */
    static const char *generic[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Sandybridge", "Unknown"};
    bool is_generic = false;
    for (size_t i = 0; i < sizeof generic / sizeof *generic; i++) is_generic |= strcasecmp(core, generic[i]) == 0;
    if (!is_generic) return NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
    return NULL;
}
