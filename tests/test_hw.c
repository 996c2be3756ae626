/* Counting on the graph: parameters, MACs, activation sizes, the peak of a sequential schedule and
 * weight bytes, against hand-computed values. */
#include "check.h"
#include "hwnas/hw.h"

static int add(hn_graph *g, hn_node_spec s) {
    int id = -1;
    CHECK_OK(hn_graph_add(g, &s, &id));
    return id;
}

static void chain(void) {
    /* input 1x4x4 (64 B) -> conv3x3 p1 2ch (128 B, 18 params, 288 MACs) -> relu (128 B)
     * -> gap (8 B) -> flatten (8 B) -> linear 3 (12 B, 9 params, 6 MACs).
     * Live bytes per step: 64, 64+128, 128+128 (peak 256), 128+8, 8+8, 8+12. */
    hn_graph *g;
    CHECK_OK(hn_graph_new((hn_shape){1, 4, 4}, &g));
    hn_node_spec c = hn_spec(HN_OP_CONV2D, 0);
    c.out = 2, c.kernel = 3, c.pad = 1;
    int x = add(g, c);
    x = add(g, hn_spec(HN_OP_RELU, x));
    x = add(g, hn_spec(HN_OP_GLOBAL_AVGPOOL, x));
    x = add(g, hn_spec(HN_OP_FLATTEN, x));
    hn_node_spec l = hn_spec(HN_OP_LINEAR, x);
    l.out = 3, l.bias = true;
    add(g, l);
    hn_cost t;
    hn_layer_cost layers[8];
    CHECK_OK(hn_count(g, &t, layers));
    CHECK(t.params == 27 && t.macs == 288 + 6);
    CHECK(t.activation_bytes == 64 + 128 + 128 + 8 + 8 + 12);
    CHECK_MSG(t.peak_activation_bytes == 256, "peak %lld", (long long)t.peak_activation_bytes);
    CHECK(t.weight_bytes == 27 * 4);
    CHECK(layers[1].params == 18 && layers[1].macs == 288 && layers[5].activation_bytes == 12);
    hn_graph_set_numtypes(g, HN_INT4, HN_INT8); /* int8 activations, 4-bit weights */
    CHECK_OK(hn_count(g, &t, NULL));
    /* conv: 18 weights, 9 B; linear: 6 weights, 3 B, and 3 biases at 32 bits, 12 B */
    CHECK_MSG(t.peak_activation_bytes == 64 && t.weight_bytes == 9 + 3 + 12, "peak %lld, weights %lld",
              (long long)t.peak_activation_bytes, (long long)t.weight_bytes);
    /* per layer: the conv keeps fp8 weights and writes int4; relu, pool and flatten pass int4 on; the
     * input takes the first layer's type; the classifier writes fp32 (32 + 64 + 64 + 4 + 4 + 96 bits) */
    hn_graph_set_numtypes(g, HN_FP32, HN_FP32);
    g->nodes[1].wtype = HN_FP8_E4M3, g->nodes[1].atype = HN_INT4;
    hn_graph_propagate_numtypes(g);
    CHECK(g->nodes[0].atype == HN_INT4 && g->nodes[4].atype == HN_INT4 && g->nodes[5].atype == HN_FP32);
    CHECK_OK(hn_count(g, &t, NULL));
    CHECK_MSG(t.activation_bytes == 8 + 16 + 16 + 1 + 1 + 12 && t.weight_bytes == 18 + 24 + 12, "act %lld, weights %lld",
              (long long)t.activation_bytes, (long long)t.weight_bytes);
    hn_graph_free(g);
}

static void dag(void) {
    /* input 1x2x2 (16 B); a = conv1x1 2ch (32 B); b = conv1x1 2ch of input (32 B); add(a, b) (32 B).
     * Steps: 16; 16+32; 16+32+32 = 80 (peak), input dies; 32+32+32 = 96 (peak). */
    hn_graph *g;
    CHECK_OK(hn_graph_new((hn_shape){1, 2, 2}, &g));
    hn_node_spec c = hn_spec(HN_OP_CONV2D, 0);
    c.out = 2, c.kernel = 1;
    int a = add(g, c), b = add(g, c);
    hn_node_spec s = hn_spec(HN_OP_ADD, a);
    s.ninputs = 2, s.inputs[1] = b;
    add(g, s);
    hn_cost t;
    CHECK_OK(hn_count(g, &t, NULL));
    CHECK_MSG(t.peak_activation_bytes == 96, "peak %lld", (long long)t.peak_activation_bytes);
    CHECK(t.activation_bytes == 16 + 32 * 3 && t.params == 4 && t.macs == 16);
    hn_graph_free(g);
}

/* A graph larger than the count's stack array: correct without injected failures, and an allocation
 * that fails is an error, not a crash. Peak: two relu outputs of 4 bytes alive at once. */
static void long_graph(void) {
    hn_graph *g;
    CHECK_OK(hn_graph_new((hn_shape){1, 1, 1}, &g));
    int x = 0;
    for (int i = 0; i < 1500; i++) x = add(g, hn_spec(HN_OP_RELU, x));
    hn_cost t;
    CHECK_OK(hn_count(g, &t, NULL));
    CHECK(t.peak_activation_bytes == 8 && t.activation_bytes == 1501 * 4);
    hn_alloc_fail_after(1);
    CHECK_ERR(hn_count(g, &t, NULL), HN_ERR_NOMEM, "counting a graph of 1501 nodes");
    hn_alloc_fail_after(0);
    hn_graph_free(g);
}

int main(void) {
    chain();
    dag();
    long_graph();
    return check_report();
}
