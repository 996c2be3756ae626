/* The dataset readers: IDX (raw or gzip: gzread reads both) and CIFAR binary batches. The first byte
 * picks the reader; for IDX the next two give the length of the images file, the rest is the labels. */
#include "fuzz.h"
#include "hwnas/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    hn_dataset *d = NULL;
    if (data[0] & 1) {
        const char *path = fuzz_file(data + 1, size - 1, ".bin");
        if (!hn_cifar_load(&path, 1, data[0] & 2 ? 2 : 1, data[0] & 2 ? 100 : 10, &d)) hn_dataset_free(d);
        return 0;
    }
    size_t split = (size_t)data[1] | (size_t)data[2] << 8;
    if (split > size - 3) split = size - 3;
    char images[256];
    snprintf(images, sizeof images, "%s", fuzz_file(data + 3, split, "-images.gz"));
    const char *labels = fuzz_file(data + 3 + split, size - 3 - split, "-labels.gz");
    if (!hn_idx_load(images, labels, 10, &d)) hn_dataset_free(d);
    return 0;
}
