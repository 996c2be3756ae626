/* hwnas: hardware-aware neural architecture search -- the whole public API.
 *
 * Train a network described in a YAML file on Fashion-MNIST and read the results:
 *
 *     #include <hwnas/hwnas.h>
 *
 *     hn_graph *g;
 *     hn_dataset *train, *test;
 *     if (hn_graph_load_yaml("examples/nets/fmnist-cnn.yaml", &g) != HN_OK) {
 *         fprintf(stderr, "%s\n", hn_last_error());   // "file:line: what is wrong"
 *         return 2;
 *     }
 *     hn_graph_init_params(g, 0);                      // PyTorch's default initialisation
 *     hn_dataset_load("fashion-mnist", &train, &test); // normalised with the training split's statistics
 *     hn_train_config cfg = hn_train_defaults();       // batch 128, SGD 0.1 Nesterov, cosine
 *     hn_train_result r;
 *     hn_train(g, train, test, &cfg, &r);              // r.test_accuracy, r.train_images_per_s, ...
 *     hn_graph_save_weights(g, "model.hntf");
 *     hn_graph_free(g); hn_dataset_free(train); hn_dataset_free(test);
 *
 * Headers, one per area: core.h (status, memory, rng, threads, logging), tensor.h (tensors, tensor
 * files), graph.h (the graph IR), exec.h (forward/backward), train.h (SGD, schedule, training loop),
 * data.h (datasets), space.h (search spaces and genotypes). Every function documents who owns what
 * it returns. */
#ifndef HWNAS_HWNAS_H
#define HWNAS_HWNAS_H

#include "hwnas/core.h"
#include "hwnas/data.h"
#include "hwnas/estimate.h"
#include "hwnas/exec.h"
#include "hwnas/graph.h"
#include "hwnas/hw.h"
#include "hwnas/numtype.h"
#include "hwnas/provider.h"
#include "hwnas/search.h"
#include "hwnas/space.h"
#include "hwnas/tensor.h"
#include "hwnas/train.h"

#endif
