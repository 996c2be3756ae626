/* Tabular benchmark CSVs (hn_table_load) for NAS-Bench-201. */
#include "fuzz.h"
#include "hwnas/estimate.h"
#include "hwnas/space.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hn_table *t = NULL;
    if (!hn_table_load(fuzz_file(data, size, ".csv"), hn_space_find("nb201"), &t)) hn_table_free(t);
    return 0;
}
