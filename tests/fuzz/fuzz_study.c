/* Study files (hn_study_config_parse): any bytes give a study or a clear error. */
#include "fuzz.h"
#include "hwnas/study.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hn_study_config cfg;
    hn_study_config_parse((const char *)data, size, "fuzz.yaml", &cfg);
    return 0;
}
