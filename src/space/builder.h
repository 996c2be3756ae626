/* Graph building for the spaces' to_graph: each helper adds nodes and returns the id of its output.
 * The first failure is kept in b->st and every later call does nothing, so a builder reads as a
 * straight sequence of layers with one check at the end. Internal to src/space/. */
#ifndef HWNAS_SPACE_BUILDER_H
#define HWNAS_SPACE_BUILDER_H

#include "hwnas/space.h"

typedef struct {
    hn_graph *g;
    hn_status st;
} builder;

/* a node from a full spec */
int build_add(builder *b, const hn_node_spec *s);
/* a node of op with one input and default attributes */
int build_op(builder *b, hn_op op, int x);
/* conv2d without bias (a batch norm follows), given its quantization-policy slot (-1: none) */
int build_conv(builder *b, int x, int out, int kernel, int stride, int pad, int groups, int qslot);
/* sum of n tensors (the tensor itself when n == 1) */
int build_sum(builder *b, const int *ids, int n);
/* linear classifier with bias */
int build_linear(builder *b, int x, int out, int qslot);

/* The error of a malformed architecture string: names the space, the string, the position of p in it
 * and what was expected there. Returns HN_ERR_INVALID. */
hn_status space_parse_error(const char *space, const char *str, const char *p, const char *expected);

/* A joined space's string: the part of str before sep (its separator in str; NULL when missing, an
 * error saying the string needs `needs`) parsed by the inner space into g. */
hn_status space_parse_head(const hn_space *s, const hn_space *inner, const char *str, const char *sep, const char *needs,
                           uint8_t *g);

/* Fills *out as base joined with a quantization policy over the nmenu types of menu, named
 * "NAME+suffix" (quant_policy.c), using the caller's storage for its choices (HN_SPACE_MAX_DECISIONS
 * ints), name and description; menu must outlive the space. */
void space_join_quant(const hn_space *base, const char *suffix, const hn_numtype *menu, int nmenu, hn_space *out,
                      int *choices, char *name, size_t name_cap, char *description, size_t description_cap);
/* Fills *out as net joined with a systolic-array space, named "NAME+systolic" (systolic_join.c), in the
 * caller's storage as space_join_quant; net must outlive the space. */
void space_join_systolic(const hn_space *net, hn_space *out, int *choices, char *name, size_t name_cap, char *description,
                         size_t description_cap);
#endif
