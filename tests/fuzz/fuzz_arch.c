/* Architecture strings of every space: the first byte picks the space (of hn_space_list), the rest is
 * the string; one that parses is formatted again and must parse to the same genotype. */
#include "fuzz.h"
#include "hwnas/space.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const hn_space *const *all = hn_space_list();
    int n = 0;
    while (all[n]) n++;
    const hn_space *s = all[data[0] % n];
    char *str = fuzz_string(data + 1, size - 1);
    uint8_t g[HN_SPACE_MAX_DECISIONS], again[HN_SPACE_MAX_DECISIONS];
    if (!s->parse(s, str, g)) {
        char text[8192];
        s->format(s, g, text, sizeof text);
        if (s->parse(s, text, again) || memcmp(g, again, (size_t)s->ndecisions)) abort();
    }
    hn_free(str);
    return 0;
}
