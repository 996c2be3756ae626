/* Device profiles (hn_device_load) of every kind. */
#include "fuzz.h"
#include "hwnas/hw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hn_device d;
    hn_device_load(fuzz_file(data, size, ".yaml"), &d);
    return 0;
}
