/* hwnas: the command-line tool. Dispatches to one file per subcommand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char *usage =
    "hwnas " HN_VERSION_STRING " - hardware-aware neural architecture search\n"
    "\n"
    "Usage: hwnas COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  train     train a network (a file, or an architecture of a space) and report accuracy and speed\n"
    "  space     list, describe and sample the search spaces\n"
    "  cost      count an architecture: parameters, MACs, activation and weight memory\n"
    "  hw        device profiles and hardware models: latency, energy, memory on a device\n"
    "  bench     benchmark search strategies on a tabular benchmark (NAS-Bench-201), many seeds\n"
    "  search    run a study: search a space for a device, train the chosen network (the main job)\n"
    "  study     list studies, show one (its front, the chosen model), export its trials\n"
    "  providers the ways a study measures a candidate (training, a table, a proxy, a predictor, a command)\n"
    "  proxy     zero-cost proxies of an untrained network (synflow, snip, grad_norm, jacob_cov, naswot)\n"
    "  eval      a trained network's accuracy and speed, in float32 and quantized to int8\n"
    "  export    a trained network as deployable code: a dependency-free C program of its int8 model\n"
    "\n"
    "Options:\n"
    "  --help      show this help (hwnas COMMAND --help for a command's options)\n"
    "  --version   print the version\n"
    "\n"
    "Examples:\n"
    "  hwnas search                  # the default study: MBConv on Fashion-MNIST for a Cortex-M7\n"
    "  hwnas train --net examples/nets/fmnist-cnn.yaml --epochs 1\n"
    "  hwnas hw cost --device cortex-m7 --space mbconv+quant --arch \"$(hwnas space sample mbconv)#int8/int8\"\n";

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("hwnas %s\n", HN_VERSION_STRING);
        return 0;
    }
    if (!strcmp(cmd, "train")) return cmd_train(argc - 1, argv + 1);
    if (!strcmp(cmd, "space")) return cmd_space(argc - 1, argv + 1);
    if (!strcmp(cmd, "cost")) return cmd_cost(argc - 1, argv + 1);
    if (!strcmp(cmd, "hw")) return cmd_hw(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench")) return cmd_bench(argc - 1, argv + 1);
    if (!strcmp(cmd, "proxy")) return cmd_proxy(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval")) return cmd_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "export")) return cmd_export(argc - 1, argv + 1);
    if (!strcmp(cmd, "search")) return cmd_search(argc - 1, argv + 1);
    if (!strcmp(cmd, "study")) return cmd_study(argc - 1, argv + 1);
    if (!strcmp(cmd, "providers")) return cmd_providers(argc - 1, argv + 1);
    fprintf(stderr, "hwnas: unknown command '%s'\nTry 'hwnas --help'.\n", cmd);
    return 2;
}
