/* hwnas core: status codes with context, memory (arena + fault-injectable allocator), a seeded RNG,
 * threads and logging. Every other module builds on these. */
#ifndef HWNAS_CORE_H
#define HWNAS_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HN_VERSION_STRING "0.1.0"

/* ---- status --------------------------------------------------------------------------------- */

/* Every fallible library call returns an hn_status. On failure it also leaves a message with context
 * (file, line, field, value) in a thread-local buffer that hn_last_error() returns. */
typedef enum {
    HN_OK = 0,
    HN_ERR_INVALID,     /* bad argument or bad value in an input file (usage error) */
    HN_ERR_IO,          /* a file could not be opened, read or written */
    HN_ERR_FORMAT,      /* a file is truncated, corrupt, or has the wrong magic/version */
    HN_ERR_SHAPE,       /* tensor shapes that do not connect */
    HN_ERR_NOMEM,       /* an allocation failed */
    HN_ERR_UNSUPPORTED, /* a valid request this build cannot serve */
    HN_ERR_INTERNAL,    /* a bug: an invariant did not hold */
    HN_ERR_INTERRUPTED  /* the caller asked a long operation to stop (a stop flag) */
} hn_status;

/* Short fixed name of a status ("invalid input", ...). Static string; never NULL. */
const char *hn_status_str(hn_status s);

/* The context message of the last failure on this thread. Owned by the library; valid until the next
 * failing call on this thread. Empty string if none. */
const char *hn_last_error(void);

/* Records a printf-style message for hn_last_error() and returns s, so that callers can write
 * `return hn_error(HN_ERR_FORMAT, "%s: bad magic 0x%08x", path, magic);`. */
hn_status hn_error(hn_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepends "prefix: " to the current message (adds outer context as an error travels up). */
hn_status hn_error_prefix(hn_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Creates directory path and any missing parents (mkdir -p); an existing directory is fine. Errors
 * (HN_ERR_IO) name the directory that could not be made and why. */
hn_status hn_make_dirs(const char *path);

/* The process exit code the CLI uses for a status: 0 ok, 2 bad usage or input, 1 anything else. */
int hn_status_exit_code(hn_status s);

/* Programming errors (violated invariants) abort with file and line, as GGML_ASSERT does. */
#define HN_ASSERT(x)                                                                               \
    do {                                                                                           \
        if (!(x)) hn_assert_fail(__FILE__, __LINE__, #x);                                          \
    } while (0)
void hn_assert_fail(const char *file, int line, const char *expr) __attribute__((noreturn));

/* ---- memory --------------------------------------------------------------------------------- */

/* All library allocations go through these, so tests can inject failures. hn_alloc returns memory
 * aligned to 64 bytes (or NULL with HN_ERR_NOMEM recorded); release it with hn_free. */
void *hn_alloc(size_t bytes);
void *hn_calloc(size_t bytes);
void hn_free(void *p);

/* Test hook: the n-th allocation from now (1-based) and every later one fail; n = 0 disables. */
void hn_alloc_fail_after(long n);

/* An arena owns many small and large blocks and frees them all at once (a graph's memory). Blocks
 * are 64-byte aligned and never move. */
typedef struct hn_arena hn_arena;
hn_arena *hn_arena_new(void);
/* Returns zeroed memory owned by the arena, or NULL (HN_ERR_NOMEM recorded). */
void *hn_arena_alloc(hn_arena *a, size_t bytes);
char *hn_arena_strdup(hn_arena *a, const char *s);
size_t hn_arena_used(const hn_arena *a);
void hn_arena_free(hn_arena *a);

/* ---- random numbers ----------------------------------------------------------------------- */

/* PCG32 (O'Neill, 2014): small state, good statistics, and the same stream on every platform, so a
 * seeded run is reproducible bit for bit. */
typedef struct {
    uint64_t state, inc;
} hn_rng;

void hn_rng_seed(hn_rng *r, uint64_t seed, uint64_t stream);
uint32_t hn_rng_u32(hn_rng *r);
/* Uniform integer in [0, n), without modulo bias. n >= 1. */
uint32_t hn_rng_below(hn_rng *r, uint32_t n);
/* Uniform float in [0, 1) with 24 random bits. */
float hn_rng_uniform(hn_rng *r);
/* Standard normal (Box-Muller). */
float hn_rng_normal(hn_rng *r);
/* Fisher-Yates shuffle of perm[0..n). */
void hn_rng_shuffle(hn_rng *r, int32_t *perm, int64_t n);

/* ---- threads ------------------------------------------------------------------------------ */

/* Sets the number of threads used by OpenMP loops and GEMMs. n <= 0 means all cores. */
void hn_set_threads(int n);
int hn_get_threads(void);

/* The instruction set of the GEMM kernels in use ("avx512_core", "avx2", "sse41", ...): oneDNN's
 * choice from the CPU's features, or the older one DNNL_MAX_CPU_ISA restricts it to. */
const char *hn_gemm_isa(void);

/* Wall-clock seconds from a monotonic clock. */
double hn_now(void);

/* FNV-1a of n bytes: the key hash of the library's open-addressing tables (genotypes, latency keys). */
uint64_t hn_hash(const void *data, size_t n);

/* Spearman's rank correlation of a[0..n) and b[0..n) (ties get their average rank); NaN when n < 2,
 * when a sequence is constant, or when its scratch (3n values) cannot be allocated. */
double hn_spearman(const double *a, const double *b, int n);
/* Kendall's tau-b of a[0..n) and b[0..n): (concordant - discordant pairs) over the geometric mean of
 * the pairs untied in a and in b (O(n^2)); NaN when n < 2 or a sequence is constant. */
double hn_kendall(const double *a, const double *b, int n);

/* ---- logging ------------------------------------------------------------------------------ */

typedef enum { HN_LOG_ERROR = 0, HN_LOG_WARN, HN_LOG_INFO, HN_LOG_DEBUG } hn_log_level;

/* Messages at or below the level go to stderr ("hwnas: warning: ..."). Default HN_LOG_WARN. */
void hn_log_set_level(hn_log_level l);
hn_log_level hn_log_get_level(void);
void hn_log(hn_log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif
#endif
