/* Candidates (include/hwnas/provider.h): a genotype's network, built once for a trial and read by
 * every provider. The one place outside the spaces themselves that calls to_graph. */
#include <string.h>

#include "hwnas/provider.h"

hn_status hn_candidate_build_genotype(const hn_space *space, const uint8_t *g, const hn_candidate_spec *spec,
                                      hn_candidate *c) {
    memset(c, 0, sizeof *c);
    c->space = space;
    c->trial = -1;
    c->fidelity = 1;
    memcpy(c->genotype, g, (size_t)space->ndecisions);
    hn_status st = space->to_graph(space, g, &spec->space, &c->graph);
    if (st) return st;
    if (spec->numtypes && !space->base) { /* a space with a policy sets the types itself */
        hn_graph_set_numtypes(c->graph, spec->wtype, spec->atype);
        hn_graph_propagate_numtypes(c->graph);
    }
    return HN_OK;
}

hn_status hn_candidate_build(const hn_space *space, const char *arch, const hn_candidate_spec *spec, hn_candidate *c) {
    uint8_t g[HN_SPACE_MAX_DECISIONS];
    memset(c, 0, sizeof *c);
    hn_status st = space->parse(space, arch, g);
    if (!st) st = hn_candidate_build_genotype(space, g, spec, c);
    c->arch = arch;
    return st;
}

hn_status hn_candidate_params(hn_candidate *c) {
    return c->graph->finalized ? HN_OK : hn_graph_finalize(c->graph);
}

hn_status hn_candidate_data(hn_candidate *c, hn_dataset **train, hn_dataset **test) {
    if (!c->data) return hn_error(HN_ERR_INVALID, "this candidate has no dataset (a study with a table trains nothing)");
    hn_shape in = c->graph->nodes[0].shape;
    return c->data(c->data_user, in.h, in.w, train, test);
}

void hn_candidate_free(hn_candidate *c) {
    hn_graph_free(c->graph);
    c->graph = NULL;
}
