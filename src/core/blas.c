/* OpenBLAS, loaded on first use with a kernel set chosen from the CPU's features.
 *
 * OpenBLAS picks its kernels once, when it is loaded, from the CPU model; on models it does not know
 * (new ones, and virtual machines that hide the model: this project's machines) it falls back to
 * generic SSE3 kernels, 4-5x slower. Its only control is the OPENBLAS_CORETYPE variable, read at that
 * moment. A program linked against OpenBLAS has loaded it before any of its own code runs, so the
 * library loads OpenBLAS itself (dlopen) the first time it needs it: if the user has not set
 * OPENBLAS_CORETYPE, it is set for the load from the features the CPU reports, then removed again,
 * so that the environment the program and its children see is unchanged. Every program using the
 * library, its tests included, gets the same kernels as the CLI.
 *
 * Kernel sets: AVX-512 (F, BW, VL, DQ) -> SkylakeX; AVX2 + FMA -> Zen on AMD, Haswell otherwise;
 * anything older -> OpenBLAS's own detection. */
#include "blas.h"

#include <cblas.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "hwnas/core.h"

#ifndef HWNAS_OPENBLAS_PATH
#define HWNAS_OPENBLAS_PATH "libopenblas.so"
#endif

typedef void sgemm_fn(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, int, int, int, float, const float *,
                      int, const float *, int, float, float *, int);

static struct {
    sgemm_fn *sgemm;
    void (*set_threads)(int);
    char *(*corename)(void);
} blas;
static pthread_once_t loaded = PTHREAD_ONCE_INIT;

static const char *core_for_cpu(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return __builtin_cpu_is("amd") ? "Zen" : "Haswell";
    return NULL;
}

static void *open_blas(void) {
    /* the runtime name first (what libopenblas0 installs), then the file found at build time */
    void *h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    return h ? h : dlopen(HWNAS_OPENBLAS_PATH, RTLD_NOW | RTLD_LOCAL);
}

static void load(void) {
    const char *core = getenv("OPENBLAS_CORETYPE") ? NULL : core_for_cpu();
    if (core) setenv("OPENBLAS_CORETYPE", core, 1);
    void *h = open_blas();
    if (core) unsetenv("OPENBLAS_CORETYPE");
    if (h) {
        blas.sgemm = (sgemm_fn *)dlsym(h, "cblas_sgemm");
        blas.set_threads = (void (*)(int))dlsym(h, "openblas_set_num_threads");
        blas.corename = (char *(*)(void))dlsym(h, "openblas_get_corename");
    }
    if (!blas.sgemm || !blas.set_threads || !blas.corename) {
        /* nothing can compute without it, and a GEMM has no status to return: a clear exit */
        fprintf(stderr, "hwnas: cannot load OpenBLAS (libopenblas.so.0 or %s): %s\n"
                        "hwnas: install it with: apt-get install libopenblas0\n",
                HWNAS_OPENBLAS_PATH, h ? "it lacks cblas_sgemm" : dlerror());
        exit(EXIT_FAILURE);
    }
}

static void ensure(void) { pthread_once(&loaded, load); }

void hn_sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
              float beta, float *c, int ldc) {
    ensure();
    blas.sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b,
               ldb, beta, c, ldc);
}

void hn_blas_set_threads(int n) {
    ensure();
    blas.set_threads(n);
}

const char *hn_blas_core(void) {
    ensure();
    return blas.corename();
}
