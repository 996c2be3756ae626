/* Network files (hn_graph_load_yaml), and the network each valid one builds counted. */
#include "fuzz.h"
#include "hwnas/graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hn_graph *g = NULL;
    if (!hn_graph_load_yaml(fuzz_file(data, size, ".yaml"), &g)) {
        hn_graph_macs(g);
        hn_graph_free(g);
    }
    return 0;
}
