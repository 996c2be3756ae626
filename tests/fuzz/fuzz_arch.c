/* Architecture strings of every space: "SPACE\nSTRING" (the space by name, so the seeds keep their
 * space when spaces are added); a string that parses is formatted again and must parse to the same
 * genotype. */
#include "fuzz.h"
#include "hwnas/space.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nl = memchr(data, '\n', size);
    char name[64];
    if (!nl || nl - data >= (ptrdiff_t)sizeof name) return 0;
    memcpy(name, data, (size_t)(nl - data));
    name[nl - data] = 0;
    const hn_space *s = hn_space_find(name);
    if (!s) return 0;
    char *str = fuzz_string(nl + 1, size - (size_t)(nl + 1 - data));
    uint8_t g[HN_SPACE_MAX_DECISIONS], again[HN_SPACE_MAX_DECISIONS];
    if (!s->parse(s, str, g)) {
        char text[8192];
        s->format(s, g, text, sizeof text);
        if (s->parse(s, text, again) || memcmp(g, again, (size_t)s->ndecisions)) abort();
    }
    hn_free(str);
    return 0;
}
