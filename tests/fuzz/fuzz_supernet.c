/* Supernet files (hn_supernet_load) for the MBConv space at its defaults. */
#include "fuzz.h"
#include "hwnas/space.h"
#include "hwnas/supernet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const hn_space *s = hn_space_find("mbconv");
    hn_supernet *sn = NULL;
    if (!hn_supernet_load(fuzz_file(data, size, ".hnsn"), s, &s->defaults, &sn)) hn_supernet_free(sn);
    return 0;
}
