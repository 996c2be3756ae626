/* Quantization policies joined to an architecture space: "NAME+quant" (every number type) and
 * "NAME+mixed" (int4, int8, fp8-e4m3: the menu of FLIQS-style mixed-precision searches).
 *
 * Genotype: the base space's decisions, then for each of its quantization slots (hn_space.nqslots)
 * the weight type and the output (activation) type, each an index into the space's menu
 * (hn_space.menu; "+quant": the 13 number types of numtype.h in enum order).
 * String form: the base string, '#', then one WEIGHT/ACTIVATION pair per slot separated by ',' --
 * or a single pair, which sets every slot (and is how a uniform policy is written back):
 *     r28|w1.0:k3e1,skip|...#int8/int8
 *     |nor_conv_3x3~0|+...|#int8/int8,int4/int8,...   (26 pairs for nb201)
 * A slot whose layer the architecture does not build (a skipped block, an edge without a
 * convolution) keeps its decisions but changes nothing. */
#include <stdio.h>
#include <string.h>

#include "builder.h"
#include "hwnas/space.h"

static int menu_size(const hn_space *s) { return s->choices[s->base->ndecisions]; }

/* the menu's names, "a, b, c", into buf */
static void menu_names(const hn_space *s, char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < menu_size(s); i++)
        n += (size_t)snprintf(buf + (n < cap ? n : cap), n < cap ? cap - n : 0, "%s%s", i ? ", " : "",
                              hn_numtype_name(s->menu[i]));
}

static size_t format(const hn_space *s, const uint8_t *g, char *buf, size_t cap) {
    const hn_space *base = s->base;
    const uint8_t *q = g + base->ndecisions;
    size_t n = base->format(base, g, buf, cap);
    bool uniform = true;
    for (int i = 2; i < 2 * base->nqslots; i++) uniform &= q[i] == q[i % 2];
    for (int i = 0; i < (uniform ? 1 : base->nqslots); i++)
        n += (size_t)snprintf(buf + (n < cap ? n : cap), n < cap ? cap - n : 0, "%s%s/%s", i ? "," : "#",
                              hn_numtype_name(s->menu[q[2 * i]]), hn_numtype_name(s->menu[q[2 * i + 1]]));
    return n;
}

/* the menu index of the number type named at p, ending at a byte of ends; its length through *len,
 * or -1 */
static int numtype_at(const hn_space *s, const char *p, const char *ends, int *len) {
    int n = (int)strcspn(p, ends);
    *len = n;
    hn_numtype t = hn_numtype_from_prefix(p, n);
    for (int i = 0; i < menu_size(s); i++)
        if (s->menu[i] == t) return i;
    return -1;
}

static hn_status parse(const hn_space *s, const char *str, uint8_t *g) {
    const hn_space *base = s->base;
    const char *hash = strchr(str, '#');
    hn_status st = space_parse_head(s, base, str, hash, "the architecture, '#' and a quantization policy (e.g. #int8/int8)", g);
    if (st) return st;
    uint8_t *q = g + base->ndecisions;
    const char *p = hash + 1;
    int pairs = 0;
    for (;;) {
        char what[256], types[192];
        menu_names(s, types, sizeof types);
        int len, w = numtype_at(s, p, "/", &len);
        snprintf(what, sizeof what, "a weight type (%s) followed by '/'", types);
        if (w < 0 || p[len] != '/') return space_parse_error(s->name, str, p, what);
        p += len + 1;
        int a = numtype_at(s, p, ",", &len);
        snprintf(what, sizeof what, "an activation type (%s) followed by ',' or the end", types);
        if (a < 0) return space_parse_error(s->name, str, p, what);
        p += len;
        if (pairs == base->nqslots) {
            snprintf(what, sizeof what, "the end: %s has %d quantization slots", base->name, base->nqslots);
            return space_parse_error(s->name, str, p, what);
        }
        q[2 * pairs] = (uint8_t)w, q[2 * pairs + 1] = (uint8_t)a;
        pairs++;
        if (*p == 0) break;
        p++; /* ',' */
    }
    if (pairs == 1) {
        for (int i = 1; i < base->nqslots; i++) q[2 * i] = q[0], q[2 * i + 1] = q[1];
    } else if (pairs != base->nqslots) {
        char what[96];
        snprintf(what, sizeof what, "1 or %d WEIGHT/ACTIVATION pairs (one per slot), got %d", base->nqslots, pairs);
        return space_parse_error(s->name, str, p, what);
    }
    return HN_OK;
}

static hn_status to_graph(const hn_space *s, const uint8_t *g, const hn_space_config *cfg, hn_graph **out) {
    const hn_space *base = s->base;
    hn_status st = base->to_graph(base, g, cfg, out);
    if (st) return st;
    const uint8_t *q = g + base->ndecisions;
    hn_graph *gr = *out;
    for (int i = 0; i < gr->nnodes; i++) {
        hn_node *n = &gr->nodes[i];
        if (n->qslot < 0) continue;
        n->wtype = s->menu[q[2 * n->qslot]];
        n->atype = s->menu[q[2 * n->qslot + 1]];
    }
    hn_graph_propagate_numtypes(gr);
    return HN_OK;
}

static void qslot_name(const hn_space *s, int slot, char *buf, size_t cap) { s->base->qslot_name(s->base, slot, buf, cap); }

void space_join_quant(const hn_space *base, const char *suffix, const hn_numtype *menu, int nmenu, hn_space *out,
                      int *choices, char *name, size_t name_cap, char *description, size_t description_cap) {
    HN_ASSERT(base->ndecisions + 2 * base->nqslots <= HN_SPACE_MAX_DECISIONS);
    snprintf(name, name_cap, "%s+%s", base->name, suffix);
    size_t n = (size_t)snprintf(description, description_cap,
                                "%s, with a weight and an activation number type for each of its %d layer slots",
                                base->name, base->nqslots);
    if (nmenu < HN_NUMTYPE_COUNT)
        for (int i = 0; i < nmenu && n < description_cap; i++)
            n += (size_t)snprintf(description + n, description_cap - n, "%s%s%s", i ? ", " : " (", hn_numtype_name(menu[i]),
                                  i == nmenu - 1 ? ")" : "");
    memcpy(choices, base->choices, sizeof(int) * (size_t)base->ndecisions);
    for (int i = 0; i < 2 * base->nqslots; i++) choices[base->ndecisions + i] = nmenu;
    *out = (hn_space){.name = name,
                      .description = description,
                      .ndecisions = base->ndecisions + 2 * base->nqslots,
                      .choices = choices,
                      .format = format,
                      .parse = parse,
                      .to_graph = to_graph,
                      .defaults = base->defaults,
                      .nqslots = base->nqslots,
                      .qslot_name = qslot_name,
                      .base = base,
                      .menu = menu};
}
