/* hwnas providers: the evaluation providers a study file can name (docs/studies.md). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "hwnas/provider.h"

static const char *help =
    "Usage: hwnas providers\n"
    "\n"
    "Lists the providers a study's evaluation pipeline is made of: each turns a candidate network into\n"
    "metrics. A study file names them in 'accuracy: {provider: NAME, ...}' (or the shorthands\n"
    "{command: CMD} and {proxy: NAME}) and in 'estimators: [{provider: NAME, ...}]'; their options are\n"
    "in docs/studies.md.\n";

int cmd_providers(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) return fputs(help, stdout), 0;
    if (argc > 1) return cli_usage_error("providers", "unexpected argument '%s'", argv[1]);
    const hn_provider_type *types[64];
    int n = hn_provider_types(types, 64);
    for (int i = 0; i < n && i < 64; i++) printf("%-10s %s\n", types[i]->name, types[i]->summary);
    return 0;
}
