/* Status codes and the thread-local error message that carries their context. */
#include "hwnas/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char last_msg[2048];

const char *hn_status_str(hn_status s) {
    switch (s) {
    case HN_OK: return "ok";
    case HN_ERR_INVALID: return "invalid input";
    case HN_ERR_IO: return "i/o error";
    case HN_ERR_FORMAT: return "bad file format";
    case HN_ERR_SHAPE: return "shape mismatch";
    case HN_ERR_NOMEM: return "out of memory";
    case HN_ERR_UNSUPPORTED: return "unsupported";
    case HN_ERR_INTERNAL: return "internal error";
    case HN_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}

const char *hn_last_error(void) { return last_msg; }

hn_status hn_error(hn_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_msg, sizeof last_msg, fmt, ap);
    va_end(ap);
    return s;
}

hn_status hn_error_prefix(hn_status s, const char *fmt, ...) {
    char prefix[512], old[sizeof last_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, last_msg, sizeof old);
    /* keep as much of both as fits; truncation of a very long message is acceptable */
    size_t n = strlen(prefix);
    if (n > sizeof last_msg - 3) n = sizeof last_msg - 3;
    memcpy(last_msg, prefix, n);
    memcpy(last_msg + n, ": ", 2);
    size_t m = strlen(old);
    if (m > sizeof last_msg - n - 3) m = sizeof last_msg - n - 3;
    memcpy(last_msg + n + 2, old, m);
    last_msg[n + 2 + m] = 0;
    return s;
}

int hn_status_exit_code(hn_status s) {
    switch (s) {
    case HN_OK: return 0;
    case HN_ERR_INVALID:
    case HN_ERR_IO:
    case HN_ERR_FORMAT:
    case HN_ERR_SHAPE: return 2;
    default: return 1;
    }
}

void hn_assert_fail(const char *file, int line, const char *expr) {
    fprintf(stderr, "hwnas: internal error: %s:%d: assertion failed: %s\n", file, line, expr);
    abort();
}
