/* Single-precision GEMM: oneDNN's dnnl_sgemm (Debian's libdnnl2).
 *
 * Why oneDNN and not OpenBLAS or BLIS (the other BLAS in Debian): the engine's GEMMs are small-M or
 * small-N ones (a convolution's 16-64 output channels by thousands of pixels, a 1x1 expansion's
 * K = 16), where OpenBLAS 0.3.21 and BLIS 0.9 reach a third to a half of the core's peak and oneDNN's
 * JIT kernels most of it; bench/RESULTS.md has the table ("GEMM library"). oneDNN also picks its
 * kernels from the CPU's feature flags rather than from a table of CPU models, so it needs no
 * help on new CPUs or on virtual machines that hide the model (OpenBLAS fell back to its generic SSE3
 * kernels there, and a loader of the library chose them for it), and DNNL_MAX_CPU_ISA (or
 * dnnl_set_max_cpu_isa) restricts it to an older instruction set, which is how the tests force each
 * kernel set. It shares hwnas's OpenMP runtime (libgomp). */
#include "gemm.h"

#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>

#include "hwnas/core.h"

void hn_sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
              float beta, float *c, int ldc) {
    dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    if (st != dnnl_success) {
        /* only arguments the engine itself computes reach here: a bug, with the arguments to find it */
        fprintf(stderr, "hwnas: internal error: dnnl_sgemm(%c, %c, m %d, n %d, k %d, lda %d, ldb %d, ldc %d) failed "
                        "(status %d)\n", ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, lda, ldb, ldc, (int)st);
        abort();
    }
}

const char *hn_gemm_isa(void) {
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
    }
}
