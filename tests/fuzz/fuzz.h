/* What every fuzz harness shares: LLVMFuzzerTestOneInput's signature, a scratch file the input is
 * written to for parsers that read a path, and a main for builds without libFuzzer (gcc, the ordinary
 * and ASan test suites) that runs the harness on each file named on its command line -- the committed
 * seeds and the regression inputs of crashes found. */
#ifndef HWNAS_FUZZ_H
#define HWNAS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hwnas/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* data written to a per-process scratch file named with suffix (a parser may look at the name); returns
 * its path (static storage: valid until the next call). */
static inline const char *fuzz_file(const uint8_t *data, size_t size, const char *suffix) {
    static char path[256];
    snprintf(path, sizeof path, "/tmp/hwnas-fuzz-%ld%s", (long)getpid(), suffix);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    return path;
}

/* data as a NUL-terminated string (hn_alloc'd; caller frees) */
static inline char *fuzz_string(const uint8_t *data, size_t size) {
    char *s = hn_alloc(size + 1);
    if (!s) abort();
    memcpy(s, data, size);
    s[size] = 0;
    return s;
}

#ifndef HWNAS_LIBFUZZER
int main(int argc, char **argv) {
    hn_log_set_level(HN_LOG_ERROR);
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            fprintf(stderr, "%s: cannot open\n", argv[i]);
            return 1;
        }
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *buf = malloc((size_t)n + 1);
        if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) return 1;
        fclose(f);
        LLVMFuzzerTestOneInput(buf, (size_t)n);
        free(buf);
    }
    printf("%d inputs, no crash\n", argc - 1);
    return 0;
}
#endif

#endif
