/* Logging to stderr; stdout belongs to the CLI's results. */
#include "hwnas/core.h"

#include <stdio.h>

static hn_log_level level = HN_LOG_WARN;

void hn_log_set_level(hn_log_level l) { level = l; }
hn_log_level hn_log_get_level(void) { return level; }

void hn_log(hn_log_level l, const char *fmt, ...) {
    static const char *names[] = {"error", "warning", "info", "debug"};
    if (l > level) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "hwnas: %s: ", names[l]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
