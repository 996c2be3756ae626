/* SCALE-Sim inputs: a config file (first byte even) or a topology CSV (odd). */
#include "fuzz.h"
#include "hwnas/hw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    if (data[0] & 1) {
        hn_systolic_layer *layers = NULL;
        int n = 0;
        if (!hn_scalesim_read_topology(fuzz_file(data + 1, size - 1, ".csv"), &layers, &n)) hn_free(layers);
    } else {
        hn_systolic a;
        hn_scalesim_read_config(fuzz_file(data + 1, size - 1, ".cfg"), &a);
    }
    return 0;
}
