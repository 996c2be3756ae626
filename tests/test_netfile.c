/* Network files (every malformation names the file, line and problem) and weight files (round
 * trip, mismatches). */
#include <unistd.h>

#include "check.h"
#include "hwnas/graph.h"
#include "hwnas/space.h"

static char path[] = "/tmp/hwnas_test_netXXXXXX";

static hn_status load_text(const char *text, hn_graph **g) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return hn_graph_load_yaml(path, g);
}

static void good_files(void) {
    char p[1024];
    hn_graph *g = NULL;
    snprintf(p, sizeof p, "%s/../examples/nets/fmnist-cnn.yaml", HWNAS_TEST_DIR);
    CHECK_OK(hn_graph_load_yaml(p, &g));
    if (g) {
        /* the PyTorch peer's count (its README) and the conv/linear MACs */
        CHECK(hn_graph_param_count(g) == 70330);
        CHECK(hn_graph_macs(g) == 16 * 9 * 784 + 32 * 144 * 196 + 32 * 288 * 196 + 64 * 288 * 49 + 64 * 576 * 49 + 640);
        CHECK(g->nodes[g->nnodes - 1].shape.c == 10);
        hn_graph_free(g);
    }
    CHECK_OK(load_text("input: [3, 8, 8]\nlayers:\n  - {op: conv2d, name: a, out: 4, kernel: 3, padding: 1}\n"
                       "  - {op: conv2d, name: b, out: 4, kernel: 1, inputs: input}\n"
                       "  - {op: add, inputs: [a, b]}\n  - {op: avgpool, kernel: 2}\n",
                       &g));
    if (g) {
        CHECK(g->nnodes == 5 && g->nodes[3].ninputs == 2 && g->nodes[2].inputs[0] == 0);
        CHECK(g->nodes[4].shape.h == 4 && g->nodes[4].stride == 2 && g->nodes[4].count_include_pad);
        CHECK(g->nodes[1].bias); /* PyTorch's default */
        hn_graph_free(g);
    }
}

static void bad_files(void) {
    hn_graph *g = NULL;
    CHECK_ERR(hn_graph_load_yaml("/nonexistent/net.yaml", &g), HN_ERR_IO, "/nonexistent/net.yaml: cannot open");
    CHECK_ERR(load_text("input: [1, 28, 28]\nlayers:\n  - {op: conv3d, out: 4}\n", &g), HN_ERR_INVALID,
              ":3: unknown op 'conv3d'");
    CHECK_ERR(load_text("input: [1, 28, 28]\nlayers:\n  - {op: relu}\n  - {op: conv2d, kernel: 3}\n", &g),
              HN_ERR_INVALID, ":4: conv2d layer is missing the field 'out'");
    CHECK_ERR(load_text("input: [1, 28, 28]\nlayers:\n  - {op: maxpool}\n", &g), HN_ERR_INVALID,
              "missing the field 'kernel'");
    CHECK_ERR(load_text("input: [1, 28, 28]\nlayers:\n  - {op: conv2d, out: 4, kernal: 3}\n", &g), HN_ERR_INVALID,
              ":3: unknown field 'kernal'");
    CHECK_ERR(load_text("input: [1, 28, 28]\nlayers:\n  - {op: conv2d, out: -4, kernel: 3}\n", &g), HN_ERR_INVALID,
              "field 'out': expected an integer in [1, 2147483647], got '-4'");
    CHECK_ERR(load_text("input: [1, 28, 28]\nlayers:\n  - {op: conv2d, out: 4, kernel: 3, bias: maybe}\n", &g),
              HN_ERR_INVALID, "field 'bias': expected true or false, got 'maybe'");
    CHECK_ERR(load_text("input: [1, 4, 4]\nlayers:\n  - {op: conv2d, out: 4, kernel: 7}\n", &g), HN_ERR_SHAPE,
              ":3: node 1 (conv2d): kernel 7 is larger than the padded input 4x4");
    CHECK_ERR(load_text("input: [1, 8, 8]\nlayers:\n  - {op: maxpool, name: p, kernel: 2}\n"
                        "  - {op: add, inputs: [p, input]}\n",
                        &g),
              HN_ERR_SHAPE, ":4: node 2 (add): inputs must have the same shape: p is 1x4x4 but input is 1x8x8");
    CHECK_ERR(load_text("input: [1, 8, 8]\nlayers:\n  - {op: linear, out: 10}\n", &g), HN_ERR_SHAPE,
              "add a flatten or global_avgpool");
    CHECK_ERR(load_text("input: [1, 8, 8]\nlayers:\n  - {op: add, inputs: [input, nothere]}\n", &g), HN_ERR_INVALID,
              "no earlier layer is named 'nothere'");
    CHECK_ERR(load_text("input: [1, 8]\nlayers:\n  - {op: relu}\n", &g), HN_ERR_INVALID,
              ":1: field 'input': expected [channels, height, width]");
    CHECK_ERR(load_text("layers:\n  - {op: relu}\n", &g), HN_ERR_INVALID, "missing the field 'input'");
    CHECK_ERR(load_text("input: [1, 8, 8]\nlayers: []\n", &g), HN_ERR_INVALID, "non-empty list");
    CHECK_ERR(load_text("input: [1, 8, 8]\nlayer:\n  - {op: relu}\n", &g), HN_ERR_INVALID,
              "unknown top-level field 'layer'");
    CHECK_ERR(load_text("input: [1, 8, 8]\nlayers:\n  - {op: relu\n", &g), HN_ERR_INVALID, "YAML syntax error");
    CHECK_ERR(load_text("", &g), HN_ERR_INVALID, "empty");
    CHECK_ERR(load_text("input: [1, 8, 8]\nlayers:\n  - relu\n", &g), HN_ERR_INVALID, ":3: a layer must be a mapping");
    CHECK_ERR(load_text("input: [1, 8, 8]\nlayers:\n  - {op: relu, name: a}\n  - {op: relu, name: a}\n", &g),
              HN_ERR_INVALID, "already used");
    CHECK(g == NULL);
}

static void weights(void) {
    char wpath[] = "/tmp/hwnas_test_wXXXXXX";
    close(mkstemp(wpath));
    hn_graph *g = NULL, *h = NULL, *other = NULL;
    const char *net = "input: [2, 6, 6]\nlayers:\n  - {op: conv2d, name: c, out: 3, kernel: 3}\n"
                      "  - {op: batchnorm, name: bn}\n  - {op: global_avgpool}\n  - {op: linear, name: fc, out: 4}\n";
    CHECK_OK(load_text(net, &g));
    CHECK_OK(load_text(net, &h));
    hn_graph_init_params(g, 1);
    hn_graph_init_params(h, 2);
    for (size_t i = 0; i < g->nstate; i++) g->state[i] = (float)i;
    CHECK(memcmp(g->params, h->params, sizeof(float) * g->nparams) != 0);
    CHECK_OK(hn_graph_save_weights(g, wpath));
    CHECK_OK(hn_graph_load_weights(h, wpath));
    CHECK(memcmp(g->params, h->params, sizeof(float) * g->nparams) == 0);
    CHECK(memcmp(g->state, h->state, sizeof(float) * g->nstate) == 0);
    CHECK_OK(load_text("input: [2, 6, 6]\nlayers:\n  - {op: conv2d, name: c, out: 5, kernel: 3}\n"
                       "  - {op: batchnorm, name: bn}\n  - {op: global_avgpool}\n  - {op: linear, name: fc, out: 4}\n",
                       &other));
    CHECK_ERR(hn_graph_load_weights(other, wpath), HN_ERR_FORMAT,
              "tensor 'c.weight' has shape 3x2x3x3 but the network expects 5x2x3x3");
    hn_graph_free(other);
    CHECK_OK(load_text("input: [2, 6, 6]\nlayers:\n  - {op: conv2d, name: c, out: 3, kernel: 3}\n"
                       "  - {op: global_avgpool}\n  - {op: linear, name: fc, out: 4}\n",
                       &other));
    hn_graph_init_params(other, 9);
    float keep = other->params[5];
    CHECK_ERR(hn_graph_load_weights(other, wpath), HN_ERR_FORMAT, "holds 8 tensors but the network has 4");
    CHECK(other->params[5] == keep); /* a refused file changes nothing */
    hn_graph_free(other);
    CHECK_ERR(hn_graph_load_weights(g, path), HN_ERR_FORMAT, "wrong magic number"); /* a YAML file */
    unlink(wpath);
    hn_graph_free(g);
    hn_graph_free(h);
}

/* Two graphs are the same network: every node's op, name, inputs, attributes, shape and types. */
static bool same_graph(const hn_graph *a, const hn_graph *b) {
    if (a->nnodes != b->nnodes || a->nodes[0].atype != b->nodes[0].atype) return false;
    for (int i = 0; i < a->nnodes; i++) {
        const hn_node *x = &a->nodes[i], *y = &b->nodes[i];
        if (x->op != y->op || strcmp(x->name, y->name) || x->ninputs != y->ninputs || x->out != y->out ||
            x->kernel != y->kernel || x->stride != y->stride || x->pad != y->pad || x->groups != y->groups ||
            x->bias != y->bias || x->count_include_pad != y->count_include_pad || x->eps != y->eps ||
            x->momentum != y->momentum || memcmp(&x->shape, &y->shape, sizeof x->shape) ||
            memcmp(x->inputs, y->inputs, sizeof(int) * (size_t)x->ninputs) || (i && x->wtype != y->wtype) ||
            (i && x->atype != y->atype))
            return false;
    }
    return true;
}

/* hn_graph_save_yaml then hn_graph_load_yaml gives the same graph, for networks of every space
 * (quantization policies included) and for names that need quoting. */
static void write_read(void) {
    const char *spaces[] = {"nb201", "mbconv", "mbconv+quant", "nb201+quant"};
    hn_rng r;
    hn_rng_seed(&r, 5, 1);
    for (int k = 0; k < 4; k++) {
        const hn_space *sp = hn_space_find(spaces[k]);
        uint8_t geno[256];
        for (int rep = 0; rep < 10; rep++) {
            hn_space_sample(sp, &r, geno);
            hn_space_config cfg = sp->defaults;
            cfg.width = 4, cfg.cells = 1;
            hn_graph *g, *h = NULL;
            CHECK_OK(sp->to_graph(sp, geno, &cfg, &g));
            CHECK_OK(hn_graph_save_yaml(g, sp->name, path));
            CHECK_OK(hn_graph_load_yaml(path, &h));
            if (h) {
                CHECK(same_graph(g, h));
                CHECK(hn_graph_param_count(g) == hn_graph_param_count(h) && hn_graph_macs(g) == hn_graph_macs(h));
            }
            hn_graph_free(g);
            hn_graph_free(h);
        }
    }
    hn_graph *g, *h = NULL;
    CHECK_OK(load_text("input: [2, 6, 6]\ninput_type: int8\nlayers:\n"
                       "  - {op: conv2d, name: \"a: \\\"odd\\\" name\", out: 3, kernel: 3, groups: 1, bias: false, wtype: int4, atype: int8}\n"
                       "  - {op: batchnorm, eps: 0.001, momentum: 0.25, atype: fp8-e4m3}\n"
                       "  - {op: avgpool, name: p, kernel: 3, stride: 1, padding: 1, count_include_pad: false}\n"
                       "  - {op: concat, inputs: [\"a: \\\"odd\\\" name\", p]}\n",
                       &g));
    if (g) {
        CHECK(!strcmp(g->nodes[1].name, "a: \"odd\" name") && g->nodes[1].wtype == HN_INT4);
        CHECK(g->nodes[0].atype == HN_INT8 && g->nodes[2].atype == HN_FP8_E4M3 && g->nodes[2].eps == 0.001f);
        CHECK_OK(hn_graph_save_yaml(g, "x", path));
        CHECK_OK(hn_graph_load_yaml(path, &h));
        if (h) CHECK(same_graph(g, h));
        hn_graph_free(h);
        hn_graph_free(g);
    }
    CHECK_ERR(load_text("input: [1, 8, 8]\nlayers:\n  - {op: relu, atype: int9}\n", &g), HN_ERR_INVALID,
              ":3: field 'atype': unknown number type 'int9'");
    CHECK_OK(load_text("input: [1, 8, 8]\nlayers:\n  - {op: relu}\n", &g));
    CHECK_ERR(hn_graph_save_yaml(g, NULL, "/nonexistent/dir/net.yaml"), HN_ERR_IO,
              "cannot write the network file '/nonexistent/dir/net.yaml'");
    hn_graph_free(g);
}

int main(void) {
    close(mkstemp(path));
    good_files();
    bad_files();
    weights();
    write_read();
    unlink(path);
    return check_report();
}
