/* hwnas: the command-line tool. Dispatches to one file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *usage =
    "hwnas " HN_VERSION_STRING " - hardware-aware neural architecture search\n"
    "\n"
    "Usage: hwnas COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  train     train a network (a YAML network file) on a dataset and report accuracy and speed\n"
    "\n"
    "Options:\n"
    "  --help      show this help (hwnas COMMAND --help for a command's options)\n"
    "  --version   print the version\n"
    "\n"
    "Example:\n"
    "  hwnas train --net examples/nets/fmnist-cnn.yaml --epochs 1\n";

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
    fprintf(stderr, "hwnas: unknown command '%s'\nTry 'hwnas --help'.\n", cmd);
    return 2;
}
