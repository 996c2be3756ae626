/* hwnas cost --space S --arch STRING: counts of one architecture (params, MACs, activation memory). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hwnas/hw.h"

static const char *help =
    "Usage: hwnas cost --space NAME --arch STRING [--input CxHxW] [--classes K] [--json] [--layers]\n"
    "\n"
    "Counts the network of an architecture: parameters, MACs (convolutions and linear layers), the\n"
    "activation bytes of every tensor and the peak of a sequential schedule, and weight bytes. Values\n"
    "are float32 unless the space carries a quantization policy (NAME+quant, e.g. ARCH#int8/int8).\n"
    "--layers adds one line (or JSON entry) per node, with its weight and output types.\n"
    "\n"
    "Example:\n"
    "  hwnas cost --space mbconv+quant --arch 'r28|w1.0:k3e1,skip|w0.75:k5e6,k3e3,skip|w1.0:k7e6,k3e3,skip|"
    "w0.5:k5e3,k5e3,k3e6,skip|w1.0:k3e6,skip,skip#int8/int8'\n";

int cmd_cost(int argc, char **argv) {
    enum { O_SPACE = 256, O_ARCH, O_INPUT, O_CLASSES, O_JSON, O_LAYERS, O_HELP };
    static const struct option opts[] = {{"space", required_argument, 0, O_SPACE}, {"arch", required_argument, 0, O_ARCH},
                                         {"input", required_argument, 0, O_INPUT}, {"classes", required_argument, 0, O_CLASSES},
                                         {"json", no_argument, 0, O_JSON},         {"layers", no_argument, 0, O_LAYERS},
                                         {"help", no_argument, 0, O_HELP},         {0, 0, 0, 0}};
    const char *space = NULL, *arch = NULL, *input = NULL;
    long classes = 0;
    bool json = false, per_layer = false;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_SPACE: space = optarg; break;
        case O_ARCH: arch = optarg; break;
        case O_INPUT: input = optarg; break;
        case O_CLASSES: if (!cli_int("cost", "--classes", optarg, 1, 1000000, &classes)) return 2; break;
        case O_JSON: json = true; break;
        case O_LAYERS: per_layer = true; break;
        case O_HELP: fputs(help, stdout); return 0;
        default: return cli_usage_error("cost", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("cost", "unexpected argument '%s'", argv[optind]);
    if (!space || !arch) return cli_usage_error("cost", "--space NAME and --arch STRING are required");
    hn_graph *g;
    hn_status st = cli_space_graph(space, arch, input, (int)classes, &g);
    if (st) return cli_fail(st);
    hn_cost t;
    hn_layer_cost *layers = hn_alloc(sizeof(hn_layer_cost) * (size_t)g->nnodes);
    if (!layers || (st = hn_count(g, &t, layers))) {
        hn_free(layers);
        hn_graph_free(g);
        return cli_fail(layers ? st : HN_ERR_NOMEM);
    }
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "space", space, "arch", arch, "params",
                              (json_int_t)t.params, "macs", (json_int_t)t.macs, "activation_bytes",
                              (json_int_t)t.activation_bytes, "peak_activation_bytes",
                              (json_int_t)t.peak_activation_bytes, "weight_bytes", (json_int_t)t.weight_bytes);
        if (per_layer) {
            json_t *arr = json_array();
            for (int i = 0; i < g->nnodes; i++) {
                const hn_node *n = &g->nodes[i];
                json_array_append_new(
                    arr, json_pack("{s:s, s:s, s:[i,i,i], s:s, s:s, s:I, s:I, s:I, s:I}", "name", n->name, "op",
                                   hn_op_name(n->op), "shape", n->shape.c, n->shape.h, n->shape.w, "weight_type",
                                   hn_numtype_name(n->wtype), "activation_type", hn_numtype_name(n->atype), "params",
                                   (json_int_t)layers[i].params, "macs", (json_int_t)layers[i].macs,
                                   "activation_bytes", (json_int_t)layers[i].activation_bytes, "weight_bytes",
                                   (json_int_t)layers[i].weight_bytes));
            }
            json_object_set_new(o, "layers", arr);
        }
        char *s = json_dumps(o, 0);
        puts(s);
        free(s);
        json_decref(o);
    } else {
        if (per_layer) {
            printf("%-14s %-15s %-11s %-18s %9s %10s %10s %9s\n", "node", "op", "shape", "types (w/a)", "params", "MACs",
                   "act bytes", "w bytes");
            for (int i = 0; i < g->nnodes; i++) {
                const hn_node *n = &g->nodes[i];
                char shape[48], types[48];
                snprintf(shape, sizeof shape, "%dx%dx%d", n->shape.c, n->shape.h, n->shape.w);
                bool weights = n->op == HN_OP_CONV2D || n->op == HN_OP_LINEAR;
                snprintf(types, sizeof types, "%s/%s", weights ? hn_numtype_name(n->wtype) : "-",
                         hn_numtype_name(n->atype));
                printf("%-14s %-15s %-11s %-18s %9lld %10lld %10lld %9lld\n", n->name, hn_op_name(n->op), shape, types,
                       (long long)layers[i].params, (long long)layers[i].macs, (long long)layers[i].activation_bytes,
                       (long long)layers[i].weight_bytes);
            }
            printf("\n");
        }
        printf("params                 %lld\n", (long long)t.params);
        printf("macs                   %lld\n", (long long)t.macs);
        printf("activation bytes       %lld\n", (long long)t.activation_bytes);
        printf("peak activation bytes  %lld\n", (long long)t.peak_activation_bytes);
        printf("weight bytes           %lld\n", (long long)t.weight_bytes);
    }
    hn_free(layers);
    hn_graph_free(g);
    return 0;
}
