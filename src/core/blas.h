/* Single-precision GEMM through OpenBLAS, loaded by blas.c on first use (see there for why).
 * Private to the library. */
#ifndef HWNAS_CORE_BLAS_H
#define HWNAS_CORE_BLAS_H

#include <stdbool.h>

/* Row-major C (m, n) = alpha op(A) op(B) + beta C, op(X) = X^T when its flag is set: cblas_sgemm. */
void hn_sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
              float beta, float *c, int ldc);

/* OpenBLAS's own thread count (the library calls it single-threaded inside its OpenMP regions). */
void hn_blas_set_threads(int n);

#endif
