/* hwnas hw list | show | cost | systolic | validate: device profiles and hardware cost models. */
#include <dirent.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "hwnas/hw.h"
#include "hwnas/provider.h"
#include "hwnas/space.h"

static const char *help =
    "Usage: hwnas hw list\n"
    "       hwnas hw show DEVICE\n"
    "       hwnas hw cost --device DEVICE (--space NAME --arch STRING | --net FILE) [--input CxHxW]\n"
    "                     [--classes K] [--json] [--layers]\n"
    "       hwnas hw systolic --config FILE.cfg --topology FILE.csv [--json]\n"
    "       hwnas hw validate --device host --space NAME [--n N] [--seed S] [--json]\n"
    "\n"
    "Device profiles are YAML files (docs/hardware.md) found by name in $HWNAS_DEVICE_PATH and the\n"
    "shipped devices/ directory, or given by path. 'cost' prints a network's metrics on a device:\n"
    "latency_s, energy_j, cycles, peak_sram_bytes, flash_bytes, fits, macs, params. 'systolic' runs\n"
    "SCALE-Sim's own configuration and topology files through the systolic-array model. 'validate'\n"
    "measures N random architectures on the host and reports the Spearman rank correlation of the\n"
    "latency lookup table's predictions (and of MACs) with the measured latencies.\n"
    "\n"
    "Example:\n"
    "  hwnas hw cost --device cortex-m7 --space mbconv+quant --arch "
    "'r28|w1.0:k3e1,skip|w0.75:k5e6,k3e3,skip|w1.0:k7e6,k3e3,skip|w0.5:k5e3,k5e3,k3e6,skip|w1.0:k3e6,skip,skip#int8/int8'\n";


static hn_status load_device(const char *name, hn_device *d) {
    char path[1024];
    hn_status st = hn_device_find(name, cli_data_dirs("devices"), path, sizeof path);
    return st ? st : hn_device_load(path, d);
}

static int list(void) {
    const char *const *dirs = cli_data_dirs("devices");
    int shown = 0;
    char seen[64][64];
    for (int i = 0; dirs[i]; i++) {
        DIR *dir = opendir(dirs[i]);
        if (!dir) continue;
        struct dirent *e;
        char names[64][256];
        int n = 0;
        while ((e = readdir(dir)) && n < 64) {
            size_t len = strlen(e->d_name);
            if (len > 5 && !strcmp(e->d_name + len - 5, ".yaml")) snprintf(names[n++], 256, "%s", e->d_name);
        }
        closedir(dir);
        qsort(names, (size_t)n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
        for (int j = 0; j < n; j++) {
            char path[PATH_MAX + 300];
            if (snprintf(path, sizeof path, "%s/%s", dirs[i], names[j]) >= (int)sizeof path) continue;
            hn_device d;
            if (hn_device_load(path, &d)) {
                fprintf(stderr, "hwnas: warning: %s\n", hn_last_error());
                continue;
            }
            bool dup = false;
            for (int k = 0; k < shown; k++) dup |= !strcmp(seen[k], d.name);
            if (dup || shown == 64) continue;
            snprintf(seen[shown++], 64, "%s", d.name);
            printf("%-16s %-9s %s\n", d.name, hn_device_kind(&d), d.description);
        }
    }
    if (!shown) fprintf(stderr, "hwnas: no device profiles found (set HWNAS_DEVICE_PATH)\n");
    return shown ? 0 : 1;
}

static int show(const char *name) {
    hn_device d;
    hn_status st = load_device(name, &d);
    if (st) return cli_fail(st);
    printf("name        %s\nkind        %s\ndescription %s\nfile        %s\n", d.name, hn_device_kind(&d), d.description,
           d.path);
    hn_device_describe(&d, stdout);
    return 0;
}

/* a number, or null where the device gives none (a measured device's energy is NaN) */
static json_t *number(double v) { return isnan(v) ? json_null() : json_real(v); }

static json_t *cost_json(const hn_hw_cost *c) {
    return json_pack("{s:f, s:o, s:f, s:o, s:I, s:I, s:I, s:b, s:I, s:I}", "latency_s", c->latency_s, "energy_j",
                     number(c->energy_j), "area_mm2", c->area_mm2, "edp", number(c->energy_j * c->latency_s), "cycles",
                     (json_int_t)c->cycles, "peak_sram_bytes", (json_int_t)c->peak_sram_bytes, "flash_bytes",
                     (json_int_t)c->flash_bytes, "fits", c->fits, "macs", (json_int_t)c->macs, "params",
                     (json_int_t)c->params);
}

static void print_json(json_t *o) {
    char *s = json_dumps(o, 0);
    puts(s);
    free(s);
    json_decref(o);
}

/* the network of --space/--arch or --net, finalized (with initial parameters) if measure */
static hn_status build(const char *space, const char *arch, const char *net, const char *input, int classes,
                       bool measure, hn_graph **g) {
    hn_status st = net ? hn_graph_load_yaml(net, g) : cli_space_graph(space, arch, input, classes, g);
    if (st || !measure || (*g)->finalized) return st;
    if ((st = hn_graph_finalize(*g))) {
        hn_graph_free(*g);
        *g = NULL;
        return st;
    }
    hn_graph_init_params(*g, 1);
    return HN_OK;
}

static int cost(const char *device, const char *space, const char *arch, const char *net, const char *input,
                int classes, bool json, bool per_layer) {
    hn_device d;
    hn_graph *g = NULL;
    hn_status st = load_device(device, &d);
    if (!st) st = build(space, arch, net, input, classes, hn_device_measured(&d), &g);
    if (st) return cli_fail(st);
    hn_hw_cost t, *layers = per_layer ? hn_alloc(sizeof(hn_hw_cost) * (size_t)g->nnodes) : NULL;
    if (per_layer && !layers) st = HN_ERR_NOMEM;
    if (!st) st = hn_device_cost(&d, g, &t, layers);
    if (st) {
        hn_free(layers);
        hn_graph_free(g);
        return cli_fail(st);
    }
    if (json) {
        json_t *o = cost_json(&t);
        json_object_set_new(o, "device", json_string(d.name));
        if (layers) {
            json_t *arr = json_array();
            for (int i = 0; i < g->nnodes; i++) {
                json_t *l = cost_json(&layers[i]);
                json_object_set_new(l, "name", json_string(g->nodes[i].name));
                json_object_set_new(l, "op", json_string(hn_op_name(g->nodes[i].op)));
                json_array_append_new(arr, l);
            }
            json_object_set_new(o, "layers", arr);
        }
        print_json(o);
    } else {
        if (layers) {
            printf("%-14s %-15s %12s %12s %12s %12s %10s\n", "node", "op", "latency_s", "energy_j", "cycles", "sram_bytes",
                   "flash");
            for (int i = 0; i < g->nnodes; i++) {
                const hn_hw_cost *l = &layers[i];
                printf("%-14s %-15s %12.4g %12.4g %12lld %12lld %10lld\n", g->nodes[i].name, hn_op_name(g->nodes[i].op),
                       l->latency_s, l->energy_j, (long long)l->cycles, (long long)l->peak_sram_bytes,
                       (long long)l->flash_bytes);
            }
            printf("\n");
        }
        printf("device           %s (%s)\n", d.name, hn_device_kind(&d));
        printf("latency_s        %.6g\n", t.latency_s);
        if (isnan(t.energy_j)) printf("energy_j         - (a measured device gives no energy)\n");
        else printf("energy_j         %.6g\n", t.energy_j);
        if (t.area_mm2 > 0) printf("area_mm2         %.6g\nedp              %.6g\n", t.area_mm2, t.energy_j * t.latency_s);
        if (t.cycles) printf("cycles           %lld\n", (long long)t.cycles);
        const hn_mcu *mcu = hn_device_params_const(&d, "mcu");
        if (mcu) {
            printf("peak_sram_bytes  %lld of %lld\nflash_bytes      %lld of %lld\nfits             %s\n",
                   (long long)t.peak_sram_bytes, (long long)mcu->sram_bytes, (long long)t.flash_bytes,
                   (long long)mcu->flash_bytes, t.fits ? "yes" : "no");
        }
        printf("macs             %lld\nparams           %lld\n", (long long)t.macs, (long long)t.params);
    }
    hn_free(layers);
    hn_graph_free(g);
    return 0;
}

static json_t *systolic_json(const char *name, const hn_systolic_result *r) {
    json_t *o = name ? json_pack("{s:s}", "layer", name) : json_object();
    json_t *m = json_pack("{s:I, s:I, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "total_cycles",
                          (json_int_t)r->total_cycles, "stall_cycles", (json_int_t)r->stall_cycles, "mapping_efficiency",
                          r->mapping_efficiency, "compute_utilization", r->compute_utilization, "overall_utilization",
                          r->overall_utilization, "sram_ifmap_reads", (json_int_t)r->sram_ifmap_reads,
                          "sram_filter_reads", (json_int_t)r->sram_filter_reads, "sram_ofmap_writes",
                          (json_int_t)r->sram_ofmap_writes, "dram_ifmap_reads", (json_int_t)r->dram_ifmap_reads,
                          "dram_filter_reads", (json_int_t)r->dram_filter_reads, "dram_ofmap_writes",
                          (json_int_t)r->dram_ofmap_writes, "energy_j", r->energy_j);
    json_object_update(o, m); /* after "layer" */
    json_decref(m);
    return o;
}

static int systolic(const char *config, const char *topology, bool json) {
    hn_systolic a = {.word_bytes = 1, .numtype = HN_INT8, .clock_hz = 1e9};
    hn_systolic_layer *layers = NULL;
    int n = 0;
    hn_status st = hn_scalesim_read_config(config, &a);
    if (!st) st = hn_scalesim_read_topology(topology, &layers, &n);
    if (st) return cli_fail(st);
    hn_systolic_fill_energy(&a); /* int8 words, energies from the tables */
    hn_systolic_result total, r;
    memset(&total, 0, sizeof total);
    json_t *arr = json ? json_array() : NULL;
    if (!json)
        printf("%-12s %12s %12s %8s %8s %8s %11s %11s %11s %11s %11s %11s\n", "layer", "total_cycles", "stall_cycles",
               "overall%", "mapping%", "compute%", "sram_ifmap", "sram_filter", "sram_ofmap", "dram_ifmap", "dram_filter",
               "dram_ofmap");
    for (int i = 0; i < n; i++) {
        if ((st = hn_systolic_layer_cost(&a, &layers[i], &r))) {
            st = hn_error_prefix(st, "%s: layer %s", config, layers[i].name);
            json_decref(arr), hn_free(layers);
            return cli_fail(st);
        }
        hn_systolic_accumulate(&a, &total, &r);
        if (json) json_array_append_new(arr, systolic_json(layers[i].name, &r));
        else
            printf("%-12s %12lld %12lld %8.2f %8.2f %8.2f %11lld %11lld %11lld %11lld %11lld %11lld\n", layers[i].name,
                   (long long)r.total_cycles, (long long)r.stall_cycles, r.overall_utilization, r.mapping_efficiency,
                   r.compute_utilization, (long long)r.sram_ifmap_reads, (long long)r.sram_filter_reads,
                   (long long)r.sram_ofmap_writes, (long long)r.dram_ifmap_reads, (long long)r.dram_filter_reads,
                   (long long)r.dram_ofmap_writes);
    }
    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "layers", arr);
        json_object_set_new(o, "total", systolic_json(NULL, &total));
        print_json(o);
    } else {
        printf("%-12s %12lld %12lld %8.2f %8.2f %8.2f %11lld %11lld %11lld %11lld %11lld %11lld\n", "total",
               (long long)total.total_cycles, (long long)total.stall_cycles, total.overall_utilization,
               total.mapping_efficiency, total.compute_utilization, (long long)total.sram_ifmap_reads,
               (long long)total.sram_filter_reads, (long long)total.sram_ofmap_writes, (long long)total.dram_ifmap_reads,
               (long long)total.dram_filter_reads, (long long)total.dram_ofmap_writes);
    }
    hn_free(layers);
    return 0;
}

static hn_status space_net(const hn_space *s, const uint8_t *geno, hn_graph **g) {
    hn_candidate c;
    hn_status st = hn_candidate_build_genotype(s, geno, &(hn_candidate_spec){.space = s->defaults}, &c);
    if (!st) st = hn_candidate_params(&c);
    if (st) {
        hn_candidate_free(&c);
        return st;
    }
    hn_graph_init_params(c.graph, 1);
    *g = c.graph; /* the caller owns the graph: c holds nothing else */
    return HN_OK;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* N random architectures measured on the host, against the lookup table's predictions and MACs.
 * A shared machine drifts: every network is measured in PASSES rounds over all of them, and its
 * latency is the median of its rounds. */
enum { PASSES = 5 };
static int validate(const char *device, const char *space, long n, long seed, bool json) {
    hn_device d;
    hn_status st = load_device(device, &d);
    if (st) return cli_fail(st);
    const hn_host *host = hn_device_params_const(&d, "host");
    if (!host) return cli_usage_error("hw", "validate needs a host device, '%s' is %s", d.name, hn_device_kind(&d));
    const hn_space *s = hn_space_find(space);
    if (!s) return cli_usage_error("hw", "unknown space '%s' (see 'hwnas space list')", space);
    double *rounds = hn_alloc(sizeof(double) * (PASSES + 3) * (size_t)n), *measured = rounds + PASSES * n,
           *predicted = measured + n, *macs = predicted + n;
    uint8_t *genos = hn_alloc((size_t)n * HN_SPACE_MAX_DECISIONS);
    hn_host_lut *lut = NULL;
    if (!rounds || !genos) {
        hn_free(rounds), hn_free(genos);
        return cli_fail(HN_ERR_NOMEM);
    }
    st = hn_host_lut_open(host, host->lut_path, &lut);
    hn_rng r;
    hn_rng_seed(&r, (uint64_t)seed, 0x9e3779b97f4a7c15ULL);
    for (long i = 0; i < n; i++) hn_space_sample(s, &r, genos + i * HN_SPACE_MAX_DECISIONS);
    cli_progress bar;
    cli_progress_init(&bar);
    double t0 = hn_now();
    for (long k = 0; !st && k < (PASSES + 1) * n; k++) { /* the table first, then the rounds */
        long i = k % n, pass = k / n;
        hn_graph *g = NULL;
        if (!(st = space_net(s, genos + i * HN_SPACE_MAX_DECISIONS, &g))) {
            if (pass == 0) {
                macs[i] = (double)hn_graph_macs(g);
                st = hn_host_lut_predict(lut, g, &predicted[i], NULL);
            } else {
                /* a whole pass is at the mercy of preemptions on a shared machine (they land on
                 * random layers of random passes); the sum of each layer's fastest step is not */
                double total, *steps = hn_alloc(sizeof(double) * (size_t)g->nnodes), sum = 0;
                st = steps ? hn_host_measure(host, g, true, &total, steps) : HN_ERR_NOMEM;
                for (int j = 0; !st && j < g->nnodes; j++) sum += steps[j];
                rounds[(pass - 1) * n + i] = sum;
                hn_free(steps);
            }
        }
        hn_graph_free(g);
        char extra[64];
        snprintf(extra, sizeof extra, "%s %ld/%ld, table %d entries", pass ? "round" : "table", pass ? pass : 0L, (long)PASSES,
                 hn_host_lut_size(lut));
        cli_progress_draw(&bar, "measuring", k + 1, (PASSES + 1) * n, extra);
    }
    cli_progress_end(&bar);
    hn_status st2 = hn_host_lut_close(lut);
    if (!st) st = st2;
    for (long i = 0; !st && i < n; i++) {
        double v[PASSES];
        for (int p = 0; p < PASSES; p++) v[p] = rounds[p * n + i];
        qsort(v, PASSES, sizeof(double), cmp_double);
        measured[i] = v[PASSES / 2];
    }
    if (st) {
        hn_free(rounds), hn_free(genos);
        return cli_fail(st);
    }
    double rho_lut = hn_spearman(predicted, measured, (int)n), rho_macs = hn_spearman(macs, measured, (int)n);
    if (json) {
        json_t *archs = json_array(), *meas = json_array(), *pred = json_array(), *mac = json_array();
        for (long i = 0; i < n; i++) {
            char arch[8192];
            s->format(s, genos + i * HN_SPACE_MAX_DECISIONS, arch, sizeof arch);
            json_array_append_new(archs, json_string(arch));
            json_array_append_new(meas, json_real(measured[i]));
            json_array_append_new(pred, json_real(predicted[i]));
            json_array_append_new(mac, json_integer((json_int_t)macs[i]));
        }
        print_json(json_pack("{s:s, s:s, s:I, s:f, s:f, s:f, s:o, s:o, s:o, s:o}", "device", d.name, "space", space,
                             "n", (json_int_t)n, "spearman_lut", rho_lut, "spearman_macs", rho_macs, "seconds",
                             hn_now() - t0, "archs", archs, "measured_s", meas, "predicted_s", pred, "macs", mac));
    } else {
        printf("%ld %s architectures measured on %s (%d thread%s; median of %d rounds of %d runs each)\n", n, space,
               d.name, host->threads, host->threads == 1 ? "" : "s", PASSES, host->runs);
        printf("Spearman rank correlation with the measured latency:\n");
        printf("  lookup table  %.3f\n  MACs          %.3f\n", rho_lut, rho_macs);
    }
    hn_free(rounds);
    hn_free(genos);
    return 0;
}

int cmd_hw(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help")) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "list")) return argc == 2 ? list() : cli_usage_error("hw", "list takes no arguments");
    if (!strcmp(sub, "show")) return argc == 3 ? show(argv[2]) : cli_usage_error("hw", "show takes one device name");
    if (strcmp(sub, "cost") && strcmp(sub, "systolic") && strcmp(sub, "validate"))
        return cli_usage_error("hw", "unknown subcommand '%s'", sub);
    enum { O_DEVICE = 256, O_SPACE, O_ARCH, O_NET, O_INPUT, O_CLASSES, O_JSON, O_LAYERS, O_CONFIG, O_TOPOLOGY, O_N, O_SEED };
    static const struct option opts[] = {
        {"device", required_argument, 0, O_DEVICE}, {"space", required_argument, 0, O_SPACE},
        {"arch", required_argument, 0, O_ARCH},     {"net", required_argument, 0, O_NET},
        {"input", required_argument, 0, O_INPUT},   {"classes", required_argument, 0, O_CLASSES},
        {"json", no_argument, 0, O_JSON},           {"layers", no_argument, 0, O_LAYERS},
        {"config", required_argument, 0, O_CONFIG}, {"topology", required_argument, 0, O_TOPOLOGY},
        {"n", required_argument, 0, O_N},           {"seed", required_argument, 0, O_SEED},
        {0, 0, 0, 0}};
    const char *device = NULL, *space = NULL, *arch = NULL, *net = NULL, *input = NULL, *config = NULL, *topology = NULL;
    long classes = 0, n = 200, seed = 0;
    bool json = false, per_layer = false;
    int c;
    opterr = 0;
    optind = 2;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_DEVICE: device = optarg; break;
        case O_SPACE: space = optarg; break;
        case O_ARCH: arch = optarg; break;
        case O_NET: net = optarg; break;
        case O_INPUT: input = optarg; break;
        case O_CLASSES: if (!cli_int("hw", "--classes", optarg, 1, 1000000, &classes)) return 2; break;
        case O_JSON: json = true; break;
        case O_LAYERS: per_layer = true; break;
        case O_CONFIG: config = optarg; break;
        case O_TOPOLOGY: topology = optarg; break;
        case O_N: if (!cli_int("hw", "--n", optarg, 2, 100000, &n)) return 2; break;
        case O_SEED: if (!cli_int("hw", "--seed", optarg, 0, 0x7fffffffL, &seed)) return 2; break;
        default: return cli_usage_error("hw", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("hw", "unexpected argument '%s'", argv[optind]);
    if (!strcmp(sub, "systolic")) {
        if (!config || !topology) return cli_usage_error("hw", "systolic needs --config FILE.cfg and --topology FILE.csv");
        return systolic(config, topology, json);
    }
    if (!device) return cli_usage_error("hw", "%s needs --device NAME (see 'hwnas hw list')", sub);
    if (!strcmp(sub, "validate")) {
        if (!space) return cli_usage_error("hw", "validate needs --space NAME");
        return validate(device, space, n, seed, json);
    }
    if (!net == !space) return cli_usage_error("hw", "cost needs either --space NAME --arch STRING or --net FILE");
    if (space && !arch) return cli_usage_error("hw", "--space needs --arch STRING");
    return cost(device, space, arch, net, input, (int)classes, json, per_layer);
}
