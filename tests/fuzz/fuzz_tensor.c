/* Tensor (weight) files (hn_tensor_file_read). */
#include "fuzz.h"
#include "hwnas/tensor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hn_tensor_set set;
    if (!hn_tensor_file_read(fuzz_file(data, size, ".hntf"), &set)) hn_tensor_set_free(&set);
    return 0;
}
