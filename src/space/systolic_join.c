/* An accelerator space joined to a network space: "NAME+systolic" (NASAIC, DANCE and ArchGym's
 * DNN-accelerator case search the network and the systolic array it runs on together).
 *
 * Genotype: the network space's decisions (an architecture space's, or one joined with a
 * quantization policy), then six of the array: rows, cols, the ifmap, filter and ofmap SRAM sizes,
 * the dataflow and the DRAM bandwidth, each an index into the menus below. to_graph sets the
 * network's hn_graph.accel, which the systolic device model maps the network onto in place of its
 * profile's array (the profile keeps the technology: clock, word size, number type, energies).
 * String form: the network's string, '@', then ROWSxCOLS,DATAFLOW,IFMAP/FILTER/OFMAP KB,bwWORDS:
 *     |nor_conv_3x3~0|+...|@32x16,ws,64/32/16KB,bw8 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder.h"
#include "hwnas/space.h"

static const int sides[] = {4, 8, 16, 32, 64, 128};
static const int sram_kb[] = {8, 16, 32, 64, 128, 256};
static const char *const dataflows[] = {"os", "ws", "is"}; /* hn_dataflow's order (hw.h) */
static const int bandwidths[] = {4, 8, 16, 32, 64};        /* DRAM words per cycle per operand */
enum { NSIDES = 6, NSRAM = 6, NDF = 3, NBW = 5, NACCEL = 7 };

static const int accel_choices[NACCEL] = {NSIDES, NSIDES, NSRAM, NSRAM, NSRAM, NDF, NBW};

static hn_accel accel_of(const uint8_t *a) {
    return (hn_accel){.rows = sides[a[0]], .cols = sides[a[1]], .ifmap_sram_kb = sram_kb[a[2]],
                      .filter_sram_kb = sram_kb[a[3]], .ofmap_sram_kb = sram_kb[a[4]], .dataflow = a[5],
                      .bandwidth = bandwidths[a[6]]};
}

static size_t format(const hn_space *s, const uint8_t *g, char *buf, size_t cap) {
    const hn_space *net = s->network;
    size_t n = net->format(net, g, buf, cap);
    const hn_accel x = accel_of(g + net->ndecisions);
    n += (size_t)snprintf(buf + (n < cap ? n : cap), n < cap ? cap - n : 0, "@%dx%d,%s,%g/%g/%gKB,bw%g", x.rows, x.cols,
                          dataflows[x.dataflow], x.ifmap_sram_kb, x.filter_sram_kb, x.ofmap_sram_kb, x.bandwidth);
    return n;
}

/* the index of the integer at *p in menu (n entries), moving *p past it; -1 if none */
static int menu_int(const char **p, const int *menu, int n) {
    char *end;
    long v = strtol(*p, &end, 10);
    if (end == *p) return -1;
    for (int i = 0; i < n; i++)
        if (menu[i] == v) {
            *p = end;
            return i;
        }
    return -1;
}

static hn_status parse(const hn_space *s, const char *str, uint8_t *g) {
    const hn_space *net = s->network;
    const char *at = strrchr(str, '@');
    hn_status st = space_parse_head(s, net, str, at, "the network, '@' and the array (e.g. @32x32,ws,64/64/64KB,bw16)", g);
    if (st) return st;
    uint8_t *a = g + net->ndecisions;
    const char *p = at + 1;
    int v;
    const char *const side_menu = "rows: 4, 8, 16, 32, 64 or 128", *const sram_menu = "8, 16, 32, 64, 128 or 256";
    char what[160];
    if ((v = menu_int(&p, sides, NSIDES)) < 0 || *p != 'x') {
        snprintf(what, sizeof what, "the array's %s, then 'x'", side_menu);
        return space_parse_error(s->name, str, p, what);
    }
    a[0] = (uint8_t)v, p++;
    if ((v = menu_int(&p, sides, NSIDES)) < 0 || *p != ',')
        return space_parse_error(s->name, str, p, "the array's cols: 4, 8, 16, 32, 64 or 128, then ','");
    a[1] = (uint8_t)v, p++;
    for (v = 0; v < NDF && strncmp(p, dataflows[v], 2); v++) {}
    if (v == NDF || p[2] != ',') return space_parse_error(s->name, str, p, "a dataflow: os, ws or is, then ','");
    a[5] = (uint8_t)v, p += 3;
    for (int k = 0; k < 3; k++) {
        const char *sep = k < 2 ? "/" : "KB,";
        if ((v = menu_int(&p, sram_kb, NSRAM)) < 0 || strncmp(p, sep, strlen(sep))) {
            snprintf(what, sizeof what, "the %s SRAM in KB (%s), then '%s'", (const char *const[]){"ifmap", "filter", "ofmap"}[k],
                     sram_menu, sep);
            return space_parse_error(s->name, str, p, what);
        }
        a[2 + k] = (uint8_t)v, p += strlen(sep);
    }
    if (strncmp(p, "bw", 2)) return space_parse_error(s->name, str, p, "'bw' and the DRAM words per cycle (4, 8, 16, 32 or 64)");
    p += 2;
    if ((v = menu_int(&p, bandwidths, NBW)) < 0 || *p)
        return space_parse_error(s->name, str, p, "the DRAM words per cycle: 4, 8, 16, 32 or 64, then the end");
    a[6] = (uint8_t)v;
    return HN_OK;
}

static hn_status to_graph(const hn_space *s, const uint8_t *g, const hn_space_config *cfg, hn_graph **out) {
    hn_status st = s->network->to_graph(s->network, g, cfg, out);
    if (!st) (*out)->accel = accel_of(g + s->network->ndecisions);
    return st;
}

static void qslot_name(const hn_space *s, int slot, char *buf, size_t cap) {
    s->network->qslot_name(s->network, slot, buf, cap);
}

void space_join_systolic(const hn_space *net, hn_space *out, int *choices, char *name, size_t name_cap, char *description,
                         size_t description_cap) {
    HN_ASSERT(net->ndecisions + NACCEL <= HN_SPACE_MAX_DECISIONS);
    snprintf(name, name_cap, "%s+systolic", net->name);
    snprintf(description, description_cap,
             "%s, with the systolic array it runs on: rows and cols 4-128, ifmap/filter/ofmap SRAMs 8-256 KB, "
             "dataflow os/ws/is, DRAM 4-64 words/cycle",
             net->name);
    memcpy(choices, net->choices, sizeof(int) * (size_t)net->ndecisions);
    memcpy(choices + net->ndecisions, accel_choices, sizeof accel_choices);
    *out = (hn_space){.name = name,
                      .description = description,
                      .ndecisions = net->ndecisions + NACCEL,
                      .choices = choices,
                      .format = format,
                      .parse = parse,
                      .to_graph = to_graph,
                      .defaults = net->defaults,
                      .nqslots = net->nqslots,
                      .qslot_name = net->qslot_name ? qslot_name : NULL,
                      .resolution_decision = -1,
                      .base = net->base, /* a policy's space stays one: its accuracy is the quantized network's */
                      .menu = net->menu,
                      .network = net};
}
