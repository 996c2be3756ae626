/* Single-precision GEMM through oneDNN (gemm.c says why this library). Private to the library. */
#ifndef HWNAS_CORE_GEMM_H
#define HWNAS_CORE_GEMM_H

#include <stdbool.h>

/* Row-major C (m, n) = alpha op(A) op(B) + beta C, op(X) = X^T when its flag is set. Called outside
 * an OpenMP region it uses hn_set_threads' threads; inside one (the kernels' per-thread slices) it
 * runs on the calling thread. */
void hn_sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
              float beta, float *c, int ldc);

#endif
