/* Shared helpers of the CLI subcommands. Only the CLI prints to stdout and calls exit. */
#ifndef HWNAS_CLI_H
#define HWNAS_CLI_H

#include <stdbool.h>
#include <getopt.h>
#include <stdint.h>

#include "hwnas/core.h"
#include "hwnas/data.h"
#include "hwnas/graph.h"

/* Prints "hwnas: error: <message>" (and the library's context) to stderr; returns the exit code. */
int cli_fail(hn_status st);
/* Prints a usage error naming the subcommand and suggesting --help; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse option values; on a bad value they print a usage error and return false. */
bool cli_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
bool cli_float(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out);

/* A one-line progress bar on stderr, drawn only when stderr is a terminal. */
typedef struct {
    bool enabled;
    double start, last;
} cli_progress;
void cli_progress_init(cli_progress *p);
void cli_progress_draw(cli_progress *p, const char *label, int64_t done, int64_t total, const char *extra);
void cli_progress_end(cli_progress *p);

/* The network of architecture string arch in space, on input "CxHxW" (NULL: the space's default)
 * with classes outputs (<= 0: default). Not finalized. */
hn_status cli_space_graph(const char *space, const char *arch, const char *input, int classes, hn_graph **out);

/* The network to run -- the network file net, or architecture arch of space built for the dataset's
 * images and classes -- finalized, and the dataset's splits (hn_dataset_load's spec), resized to a
 * searched input resolution (with a note on stderr unless quiet). On an error all three are NULL. */
hn_status cli_net_and_data(const char *net, const char *space, const char *arch, const char *dataset, bool quiet,
                           hn_graph **g, hn_dataset **train, hn_dataset **test);

/* The space, architecture (4096 bytes) and dataset (512 bytes) of trial `trial` of the study in dir,
 * into the caller's buffers. A tabular study has no dataset: an error unless have_dataset (the user
 * gave one). */
hn_status cli_study_trial(const char *dir, long trial, bool have_dataset, char space[64], char arch[4096],
                          char dataset[512]);

/* A trained network named on the command line: --net FILE, --space NAME --arch STRING, or
 * --from-study DIR (its chosen model.yaml and model.hntf) or --from-study DIR --trial ID; --weights
 * FILE; --dataset SPEC. cli_load_trained checks the combination (a usage error names cmd), loads the
 * network with its weights, and the dataset resized to the network's input. */
typedef struct {
    const char *net, *space, *arch, *study, *weights, *dataset;
    long trial;
    char buf_space[64], buf_arch[4096], buf_data[512], buf_net[1200], buf_weights[1200];
} cli_trained;
/* Their getopt_long entries (codes CLI_O_NET ...) and their handler: 1 when c was one of them (stored
 * in t), 0 when not, -1 after a usage error (reported). */
enum { CLI_O_NET = 1000, CLI_O_SPACE, CLI_O_ARCH, CLI_O_STUDY, CLI_O_TRIAL, CLI_O_WEIGHTS, CLI_O_DATASET };
#define CLI_TRAINED_OPTIONS                                                                                  \
    {"net", required_argument, 0, CLI_O_NET}, {"space", required_argument, 0, CLI_O_SPACE},                  \
        {"arch", required_argument, 0, CLI_O_ARCH}, {"from-study", required_argument, 0, CLI_O_STUDY},      \
        {"trial", required_argument, 0, CLI_O_TRIAL}, {"weights", required_argument, 0, CLI_O_WEIGHTS},     \
        {"dataset", required_argument, 0, CLI_O_DATASET}
int cli_trained_option(const char *cmd, int c, const char *arg, cli_trained *t);
/* Returns 0, or the exit code of the failure (already reported). */
int cli_load_trained(const char *cmd, cli_trained *t, bool quiet, hn_graph **g, hn_dataset **train, hn_dataset **test);
/* --numtypes W/A (e.g. int4/int8): false after a usage error naming cmd */
bool cli_numtypes(const char *cmd, const char *s, hn_numtype *w, hn_numtype *a);
/* The help lines of the post-training quantization options (eval, export). */
#define CLI_PTQ_HELP                                                                                          \
    "  --calibration N       training images to calibrate activation ranges on (default 1000)\n"             \
    "  --range METHOD        minmax (default), percentile or mse\n"                                          \
    "  --percentile P        for --range percentile (default 99.99)\n"                                       \
    "  --bias-correction     correct each layer's bias for the mean shift its weights' rounding causes\n"
/* --range minmax|percentile|mse */
bool cli_range_method(const char *s, int *method);

/* Where shipped data lives, NULL-terminated: PREFIX/share/hwnas/SUB next to an installed binary, then
 * the source tree this binary was built from (sub: "devices", "examples/studies"). Static storage. */
const char *const *cli_data_dirs(const char *sub);

/* Whether a file can be written at path (option names it in the error): checked before long work, so
 * an unwritable --save fails at once, not after the training. Creates and removes a probe file. */
hn_status cli_check_writable(const char *path, const char *option);

int cmd_train(int argc, char **argv);
int cmd_space(int argc, char **argv);
int cmd_cost(int argc, char **argv);
int cmd_hw(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_proxy(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_study(int argc, char **argv);
int cmd_providers(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_export(int argc, char **argv);

#endif
