/* Thread count for OpenMP loops (oneDNN's GEMM follows it), and the monotonic clock. */
#include "hwnas/core.h"

#include <omp.h>
#include <time.h>

static int n_threads;

void hn_set_threads(int n) {
    if (n <= 0) n = omp_get_num_procs();
    n_threads = n;
    omp_set_num_threads(n);
    omp_set_max_active_levels(1); /* kernels split work at one level; nested regions run on one thread */
}

int hn_get_threads(void) { return n_threads > 0 ? n_threads : omp_get_max_threads(); }

double hn_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
