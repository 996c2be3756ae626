/* hwnas space list | show NAME | sample NAME [--n N] [--seed S]: the search spaces. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "hwnas/space.h"

static const char *help =
    "Usage: hwnas space list\n"
    "       hwnas space show NAME\n"
    "       hwnas space sample NAME [--n N] [--seed S]\n"
    "\n"
    "Lists the search spaces, describes one (decisions, choices, size, default skeleton), or prints\n"
    "N uniformly sampled architectures in the space's string form (one per line).\n";

/* "15625" or, beyond 64 bits, "about 10^126" */
static const char *size_text(const hn_space *s, char *buf, size_t cap) {
    uint64_t n = hn_space_size(s);
    if (n < UINT64_MAX) snprintf(buf, cap, "%llu", (unsigned long long)n);
    else snprintf(buf, cap, "about 10^%.0f", hn_space_log10_size(s));
    return buf;
}

static int show(const hn_space *s) {
    char buf[4096];
    printf("name        %s\n", s->name);
    printf("description %s\n", s->description);
    printf("decisions   %d\n", s->ndecisions);
    printf("choices    ");
    for (int i = 0; i < s->ndecisions; i++) printf(" %d", s->choices[i]);
    printf("\nsize        %s\n", size_text(s, buf, sizeof buf));
    const hn_space *arch = s->base ? s->base : s;
    const hn_space_config *d = &s->defaults;
    if (!strcmp(arch->name, "nb201"))
        printf("defaults    input %dx%dx%d, %d classes, width %d, %d cells per stage\n", d->input.c, d->input.h,
               d->input.w, d->classes, d->width, d->cells);
    else
        printf("defaults    input channels %d (the resolution is searched), %d classes\n", d->input.c, d->classes);
    uint8_t g[HN_SPACE_MAX_DECISIONS] = {0};
    s->format(s, g, buf, sizeof buf);
    printf("example     %s\n", buf);
    printf("quantization slots (%d; a policy sets a weight and an output type per slot in %s+quant):\n", arch->nqslots,
           arch->name);
    for (int i = 0; i < arch->nqslots; i++) {
        arch->qslot_name(arch, i, buf, sizeof buf);
        printf("  %2d %s\n", i, buf);
    }
    return 0;
}

int cmd_space(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help")) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "list")) {
        char buf[64];
        for (const hn_space *const *s = hn_space_list(); *s; s++)
            printf("%-21s %s architectures: %s\n", (*s)->name, size_text(*s, buf, sizeof buf), (*s)->description);
        return 0;
    }
    if (strcmp(sub, "show") && strcmp(sub, "sample")) return cli_usage_error("space", "unknown subcommand '%s'", sub);
    if (argc < 3) return cli_usage_error("space", "%s needs a space name (see 'hwnas space list')", sub);
    const hn_space *s = hn_space_find(argv[2]);
    if (!s) return cli_usage_error("space", "unknown space '%s' (see 'hwnas space list')", argv[2]);
    if (!strcmp(sub, "show")) return show(s);
    static const struct option opts[] = {{"n", required_argument, 0, 'n'}, {"seed", required_argument, 0, 's'}, {0, 0, 0, 0}};
    long n = 1, seed = 0;
    int c;
    opterr = 0;
    optind = 3;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n': if (!cli_int("space", "--n", optarg, 1, 10000000, &n)) return 2; break;
        case 's': if (!cli_int("space", "--seed", optarg, 0, 0x7fffffffL, &seed)) return 2; break;
        default: return cli_usage_error("space", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("space", "unexpected argument '%s'", argv[optind]);
    hn_rng r;
    hn_rng_seed(&r, (uint64_t)seed, 0x2545f4914f6cdd1dULL);
    uint8_t g[HN_SPACE_MAX_DECISIONS];
    char buf[8192];
    for (long i = 0; i < n; i++) {
        hn_space_sample(s, &r, g);
        s->format(s, g, buf, sizeof buf);
        puts(buf);
    }
    return 0;
}
