/* The supernet object, shared by supernet.c (slices, files) and supernet_train.c. Internal. */
#ifndef HWNAS_SUPERNET_INTERNAL_H
#define HWNAS_SUPERNET_INTERNAL_H

#include "hwnas/supernet.h"
#include "hwnas/train.h"

struct hn_supernet {
    const hn_space *space;   /* the architecture space (a joined space's base) */
    const hn_space *joined;  /* the space with a quantization policy it was made for, or NULL: its
                                sub-networks train with their sampled policy's fake quantization */
    hn_space_config cfg;     /* input channels and classes it was built for */
    uint8_t largest[HN_SPACE_MAX_DECISIONS], smallest[HN_SPACE_MAX_DECISIONS];
    hn_graph *g;             /* the largest network at the largest resolution, finalized (owned) */
    int *slot;               /* space->nqslots entries: the node of g in each quantization slot, or -1 */
    hn_sgd opt;              /* its momentum buffer is part of the file, so a resumed training equals an
                                uninterrupted one */
    int epochs_done, epochs_planned;
};

/* Copies g's batch-norm running statistics into the supernet's state at g's slice (the largest
 * network's statistics become the supernet graph's own). */
hn_status supernet_put_state(hn_supernet *sn, const hn_graph *g);

#endif
