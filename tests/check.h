/* A minimal test harness: CHECK macros that count and report failures with file and line, and a
 * closing "N passed, N failed" line; the process exit status is non-zero when anything failed. */
#ifndef HWNAS_TEST_CHECK_H
#define HWNAS_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_pass, check_fail;

/* writes text to the file path (a test's input file) */
static inline void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) check_pass++;                                                                    \
        else {                                                                                     \
            check_fail++;                                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        if (cond) check_pass++;                                                                    \
        else {                                                                                     \
            check_fail++;                                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* A library call that must succeed. */
#define CHECK_OK(call)                                                                             \
    do {                                                                                           \
        hn_status st_ = (call);                                                                    \
        CHECK_MSG(st_ == HN_OK, "%s -> %s: %s", #call, hn_status_str(st_), hn_last_error());       \
    } while (0)

/* A library call that must fail with status `want` and a message containing `needle`. */
#define CHECK_ERR(call, want, needle)                                                              \
    do {                                                                                           \
        hn_status st_ = (call);                                                                    \
        CHECK_MSG(st_ == (want) && strstr(hn_last_error(), (needle)) != NULL,                      \
                  "%s -> %s (want %s) message '%s' (want it to contain '%s')", #call,              \
                  hn_status_str(st_), hn_status_str(want), hn_last_error(), (needle));             \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                      \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        CHECK_MSG(fabs(a_ - b_) <= (tol), "%s = %.9g, %s = %.9g, tolerance %g", #a, a_, #b, b_,    \
                  (double)(tol));                                                                  \
    } while (0)

static int check_report(void) {
    printf("%d passed, %d failed\n", check_pass, check_fail);
    return check_fail ? 1 : 0;
}

#endif
