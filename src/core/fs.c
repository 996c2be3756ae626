/* Directories: hn_make_dirs (include/hwnas/core.h). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "hwnas/core.h"

hn_status hn_make_dirs(const char *path) {
    char dir[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof dir) return hn_error(HN_ERR_IO, "cannot create '%s': the path is empty or too long", path);
    memcpy(dir, path, n + 1);
    for (size_t i = 1; i <= n; i++) { /* each prefix ending before a '/', then the whole path */
        if (dir[i] != '/' && dir[i] != 0) continue;
        char keep = dir[i];
        dir[i] = 0;
        struct stat sb;
        if (mkdir(dir, 0777) && !(errno == EEXIST && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))) {
            int e = errno == EEXIST ? ENOTDIR : errno;
            return hn_error(HN_ERR_IO, "cannot create '%s': %s", dir, strerror(e));
        }
        dir[i] = keep;
    }
    return HN_OK;
}
