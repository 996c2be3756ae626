/* Core: the GEMM kernels chosen, status messages, arena, RNG, tensor files (round trip and every corruption). */
#include <unistd.h>

#include <stdbool.h>
#include <strings.h>

#include "check.h"
#include "hwnas/tensor.h"

static void status_messages(void) {
    CHECK(hn_error(HN_ERR_FORMAT, "%s: bad magic 0x%08x", "f.bin", 0xdeadbeefu) == HN_ERR_FORMAT);
    CHECK(strcmp(hn_last_error(), "f.bin: bad magic 0xdeadbeef") == 0);
    hn_error_prefix(HN_ERR_FORMAT, "loading %s", "net.yaml");
    CHECK(strcmp(hn_last_error(), "loading net.yaml: f.bin: bad magic 0xdeadbeef") == 0);
    CHECK(hn_status_exit_code(HN_OK) == 0 && hn_status_exit_code(HN_ERR_FORMAT) == 2 &&
          hn_status_exit_code(HN_ERR_INVALID) == 2 && hn_status_exit_code(HN_ERR_IO) == 2 &&
          hn_status_exit_code(HN_ERR_NOMEM) == 1);
    CHECK(strcmp(hn_status_str(HN_ERR_SHAPE), "shape mismatch") == 0);
}

static void arena(void) {
    hn_arena *a = hn_arena_new();
    char *p = hn_arena_alloc(a, 10), *q = hn_arena_alloc(a, 1 << 20), *r = hn_arena_alloc(a, 3);
    CHECK(p && q && r && ((uintptr_t)p % 64) == 0 && ((uintptr_t)q % 64) == 0 && ((uintptr_t)r % 64) == 0);
    CHECK(p[0] == 0 && q[(1 << 20) - 1] == 0);
    memset(q, 1, 1 << 20); /* ASan: the large block is really that large */
    CHECK(hn_arena_used(a) >= (1 << 20));
    CHECK(strcmp(hn_arena_strdup(a, "conv1"), "conv1") == 0);
    hn_arena_free(a);
}

static void rng(void) {
    hn_rng a, b;
    hn_rng_seed(&a, 7, 1);
    hn_rng_seed(&b, 7, 1);
    int same = 1, hist[10] = {0};
    for (int i = 0; i < 1000; i++) same &= hn_rng_u32(&a) == hn_rng_u32(&b);
    CHECK(same);
    hn_rng_seed(&b, 8, 1);
    CHECK(hn_rng_u32(&a) != hn_rng_u32(&b));
    double s = 0, ss = 0;
    int out_of_range = 0;
    for (int i = 0; i < 100000; i++) {
        hist[hn_rng_below(&a, 10)]++;
        float u = hn_rng_uniform(&a);
        out_of_range += !(u >= 0 && u < 1);
        float z = hn_rng_normal(&a);
        s += z, ss += z * z;
    }
    CHECK(out_of_range == 0);
    for (int i = 0; i < 10; i++) CHECK_MSG(hist[i] > 9500 && hist[i] < 10500, "bucket %d: %d", i, hist[i]);
    CHECK_NEAR(s / 1e5, 0, 0.02);
    CHECK_NEAR(ss / 1e5, 1, 0.02);
    int32_t perm[100];
    for (int i = 0; i < 100; i++) perm[i] = i;
    hn_rng_shuffle(&a, perm, 100);
    int sum = 0, moved = 0;
    for (int i = 0; i < 100; i++) sum += perm[i], moved += perm[i] != i;
    CHECK(sum == 4950 && moved > 80);
}

static void write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(p, 1, n, f);
    fclose(f);
}

static void tensor_files(void) {
    char path[] = "/tmp/hwnas_test_tensorXXXXXX";
    int fd = mkstemp(path);
    close(fd);
    int64_t sh[2] = {2, 3};
    hn_tensor *t = hn_tensor_new("conv.weight", 2, sh), *u = hn_tensor_new("x", 0, NULL);
    for (int i = 0; i < 6; i++) t->data[i] = (float)i - 2.5f;
    u->data[0] = 42;
    const hn_tensor *both[2] = {t, u};
    CHECK_OK(hn_tensor_file_write(path, 2, both));
    hn_tensor_set s;
    CHECK_OK(hn_tensor_file_read(path, &s));
    CHECK(s.count == 2);
    hn_tensor *r = hn_tensor_set_find(&s, "conv.weight");
    CHECK(r && r->ndim == 2 && r->shape[1] == 3 && r->data[5] == 2.5f);
    CHECK(hn_tensor_set_find(&s, "x")->data[0] == 42 && !hn_tensor_set_find(&s, "nope"));
    hn_tensor_set_free(&s);
    char buf[256];
    CHECK(strcmp(hn_shape_str(4, (int64_t[]){16, 1, 3, 3}, buf, sizeof buf), "16x1x3x3") == 0);

    /* corruptions: read the good file, damage it, expect a named error */
    FILE *f = fopen(path, "rb");
    unsigned char good[512];
    size_t n = fread(good, 1, sizeof good, f);
    fclose(f);
    unsigned char bad[512];
    memcpy(bad, good, n);
    bad[0] = 'X';
    write_bytes(path, bad, n);
    CHECK_ERR(hn_tensor_file_read(path, &s), HN_ERR_FORMAT, "wrong magic");
    memcpy(bad, good, n);
    bad[4] = 9;
    write_bytes(path, bad, n);
    CHECK_ERR(hn_tensor_file_read(path, &s), HN_ERR_FORMAT, "version 9");
    for (size_t cut = 0; cut < n; cut += 7) {
        write_bytes(path, good, cut);
        CHECK_ERR(hn_tensor_file_read(path, &s), HN_ERR_FORMAT, "truncated");
    }
    memcpy(bad, good, n);
    bad[12 + 2 + 11] = 7; /* ndim of the first tensor */
    write_bytes(path, bad, n);
    CHECK_ERR(hn_tensor_file_read(path, &s), HN_ERR_FORMAT, "conv.weight");
    unlink(path);
    CHECK_ERR(hn_tensor_file_read(path, &s), HN_ERR_IO, "cannot open");
    hn_tensor_free(t);
    hn_tensor_free(u);
}

/* The GEMMs run the widest kernels this CPU's features allow (oneDNN reads the features, not the
 * model, so a new CPU or a virtual machine that hides the model changes nothing): AVX-512 where the
 * CPU has AVX-512 F/BW/VL/DQ, AVX2 where it has AVX2 + FMA, unless DNNL_MAX_CPU_ISA lowers it. */
static void gemm_kernels(void) {
    const char *isa = hn_gemm_isa();
    CHECK(isa != NULL);
    if (!isa || getenv("DNNL_MAX_CPU_ISA")) return;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq"))
        CHECK_MSG(!strncmp(isa, "avx512_core", 11), "GEMM kernels '%s' on an AVX-512 CPU", isa);
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        CHECK_MSG(!strncmp(isa, "avx2", 4), "GEMM kernels '%s' on an AVX2 CPU", isa);
}

int main(void) {
    gemm_kernels();
    status_messages();
    arena();
    rng();
    tensor_files();
    return check_report();
}
