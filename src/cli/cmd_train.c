/* hwnas train: trains a network file on a dataset, then reports accuracy and throughput. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hwnas/quant.h"
#include "hwnas/train.h"

static const char *help =
    "Usage: hwnas train (--net FILE | --space NAME --arch STRING | --from-study DIR --trial ID) [OPTIONS]\n"
    "\n"
    "Trains the network described by FILE (YAML, see docs/network-files.md), or the architecture STRING\n"
    "of a search space (built for the dataset's image shape and classes), with SGD and a cosine\n"
    "learning-rate schedule, then evaluates top-1 accuracy on the full test split.\n"
    "\n"
    "Options:\n"
    "  --net FILE            network file\n"
    "  --space NAME          search space (hwnas space list), with --arch\n"
    "  --arch STRING         architecture in the space's string form\n"
    "  --from-study DIR      a trial of a study (hwnas search): its space, architecture and dataset\n"
    "  --trial ID            the trial (hwnas study show DIR lists the front; pareto.json names the chosen)\n"
    "  --dataset SPEC        fashion-mnist (default), idx:DIR, cifar10:DIR or cifar100:DIR\n"
    "  --epochs N            epochs (default 1)\n"
    "  --batch B             mini-batch size (default 128)\n"
    "  --lr LR               peak learning rate (default 0.1)\n"
    "  --momentum M          SGD momentum (default 0.9)\n"
    "  --weight-decay WD     L2 weight decay (default 5e-4)\n"
    "  --no-nesterov         plain momentum instead of Nesterov\n"
    "  --warmup N            linear warm-up epochs before the cosine decay (default 0)\n"
    "  --label-smoothing E   label smoothing (default 0)\n"
    "  --crop-pad P          augment: random crop after padding by P pixels (default off)\n"
    "  --flip                augment: random horizontal flip\n"
    "  --threads T           threads (default: all cores)\n"
    "  --seed S              seed for initialisation, shuffling, augmentation (default 0)\n"
    "  --train-limit N       train on the first N training images (default all)\n"
    "  --load PATH           start from saved weights instead of a fresh initialisation\n"
    "  --save PATH           save the trained weights (hwnas tensor file)\n"
    "  --numtypes W/A        the layers' weight and activation types (e.g. int4/int8) for --qat\n"
    "  --qat                 quantization-aware training: the number types' rounding in the loop (weights\n"
    "                        per channel with a straight-through estimator, activations over moving\n"
    "                        ranges); the test accuracy is then the quantized network's. Usually with\n"
    "                        --load trained weights and a small --lr\n"
    "  --json                print one JSON object with the results on stdout\n"
    "  --help                show this help\n";

typedef struct {
    cli_progress bar;
} progress_state;

static void on_progress(void *user, int epoch, int epochs, int64_t step, int64_t steps, double ips, float loss) {
    progress_state *p = user;
    char label[32], extra[96];
    snprintf(label, sizeof label, "epoch %d/%d", epoch + 1, epochs);
    snprintf(extra, sizeof extra, "%6.0f img/s  loss %.4f", ips, loss);
    cli_progress_draw(&p->bar, label, step, steps, extra);
}

int cmd_train(int argc, char **argv) {
    enum { O_NET = 256, O_DATASET, O_EPOCHS, O_BATCH, O_LR, O_MOM, O_WD, O_NONEST, O_WARMUP, O_LS, O_CROP, O_FLIP,
           O_THREADS, O_SEED, O_LIMIT, O_LOAD, O_SAVE, O_JSON, O_HELP, O_SPACE, O_ARCH, O_STUDY, O_TRIAL, O_NUMTYPES,
           O_QAT };
    static const struct option opts[] = {
        {"net", required_argument, 0, O_NET},         {"dataset", required_argument, 0, O_DATASET},
        {"epochs", required_argument, 0, O_EPOCHS},   {"batch", required_argument, 0, O_BATCH},
        {"lr", required_argument, 0, O_LR},           {"momentum", required_argument, 0, O_MOM},
        {"weight-decay", required_argument, 0, O_WD}, {"no-nesterov", no_argument, 0, O_NONEST},
        {"warmup", required_argument, 0, O_WARMUP},   {"label-smoothing", required_argument, 0, O_LS},
        {"crop-pad", required_argument, 0, O_CROP},   {"flip", no_argument, 0, O_FLIP},
        {"threads", required_argument, 0, O_THREADS}, {"seed", required_argument, 0, O_SEED},
        {"train-limit", required_argument, 0, O_LIMIT}, {"load", required_argument, 0, O_LOAD},
        {"save", required_argument, 0, O_SAVE},       {"json", no_argument, 0, O_JSON},
        {"help", no_argument, 0, O_HELP},             {"space", required_argument, 0, O_SPACE},
        {"arch", required_argument, 0, O_ARCH},       {"from-study", required_argument, 0, O_STUDY},
        {"trial", required_argument, 0, O_TRIAL},     {"numtypes", required_argument, 0, O_NUMTYPES},
        {"qat", no_argument, 0, O_QAT},               {0, 0, 0, 0}};
    hn_train_config cfg = hn_train_defaults();
    const char *net = NULL, *dataset = NULL, *save = NULL, *load = NULL, *space = NULL, *arch = NULL, *study = NULL;
    long trial = -1;
    bool json = false, qat = false;
    hn_numtype wt = HN_FP32, at = HN_FP32;
    const char *numtypes = NULL;
    long threads = 0, v;
    double f;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        const char *o = argv[optind - 1];
        switch (c) {
        case O_NET: net = optarg; break;
        case O_DATASET: dataset = optarg; break;
        case O_EPOCHS: if (!cli_int("train", "--epochs", optarg, 0, 100000, &v)) return 2; cfg.epochs = (int)v; break;
        case O_BATCH: if (!cli_int("train", "--batch", optarg, 1, 65536, &v)) return 2; cfg.batch = (int)v; break;
        case O_LR: if (!cli_float("train", "--lr", optarg, 0, 100, &f)) return 2; cfg.lr = (float)f; break;
        case O_MOM: if (!cli_float("train", "--momentum", optarg, 0, 1, &f)) return 2; cfg.momentum = (float)f; break;
        case O_WD: if (!cli_float("train", "--weight-decay", optarg, 0, 1, &f)) return 2; cfg.weight_decay = (float)f; break;
        case O_NONEST: cfg.nesterov = false; break;
        case O_WARMUP: if (!cli_int("train", "--warmup", optarg, 0, 100000, &v)) return 2; cfg.warmup_epochs = (int)v; break;
        case O_LS: if (!cli_float("train", "--label-smoothing", optarg, 0, 1, &f)) return 2; cfg.label_smoothing = (float)f; break;
        case O_CROP: if (!cli_int("train", "--crop-pad", optarg, 0, 64, &v)) return 2; cfg.augment.crop_pad = (int)v; break;
        case O_FLIP: cfg.augment.flip = true; break;
        case O_THREADS: if (!cli_int("train", "--threads", optarg, 1, 1024, &threads)) return 2; break;
        case O_SEED: if (!cli_int("train", "--seed", optarg, 0, 0x7fffffffL, &v)) return 2; cfg.seed = (uint64_t)v; break;
        case O_LIMIT: if (!cli_int("train", "--train-limit", optarg, 1, 0x7fffffffL, &v)) return 2; cfg.train_limit = v; break;
        case O_LOAD: load = optarg; break;
        case O_SAVE: save = optarg; break;
        case O_JSON: json = true; break;
        case O_SPACE: space = optarg; break;
        case O_ARCH: arch = optarg; break;
        case O_STUDY: study = optarg; break;
        case O_TRIAL: if (!cli_int("train", "--trial", optarg, 1, 0x7fffffffL, &trial)) return 2; break;
        case O_NUMTYPES:
            if (!cli_numtypes("train", optarg, &wt, &at)) return 2;
            numtypes = optarg;
            break;
        case O_QAT: qat = true; break;
        case O_HELP: fputs(help, stdout); return 0;
        default:
            return cli_usage_error("train", "unknown or incomplete option '%s'", o);
        }
    }
    if (optind < argc) return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    if (!study != (trial < 0)) return cli_usage_error("train", "--from-study DIR and --trial ID go together");
    char study_space[64], study_arch[4096], study_data[512];
    if (study) { /* the trial's space and architecture, and the study's dataset unless --dataset is given */
        if (net || space) return cli_usage_error("train", "--from-study replaces --net and --space/--arch");
        hn_status st = cli_study_trial(study, trial, dataset != NULL, study_space, study_arch, study_data);
        if (st) return cli_fail(st);
        space = study_space, arch = study_arch;
        if (!dataset) dataset = study_data;
    }
    if (!dataset) dataset = "fashion-mnist";
    if (!net == !space) return cli_usage_error("train", "give either --net FILE or --space NAME --arch STRING");
    if (!space != !arch) return cli_usage_error("train", "--space and --arch go together");
    if (cfg.warmup_epochs > cfg.epochs)
        return cli_usage_error("train", "--warmup %d is longer than --epochs %d", cfg.warmup_epochs, cfg.epochs);
    if (save) {
        hn_status st = cli_check_writable(save, "--save");
        if (st) return cli_fail(st);
    }
    hn_set_threads((int)threads);

    hn_graph *g = NULL;
    hn_dataset *train = NULL, *test = NULL;
    hn_status st = cli_net_and_data(net, space, arch, dataset, json, &g, &train, &test);
    if (st) return cli_fail(st);
    if (space) net = arch;
    hn_graph_init_params(g, cfg.seed);
    if (load && (st = hn_graph_load_weights(g, load))) goto done;
    if (numtypes) hn_graph_set_numtypes(g, wt, at);
    bool quantized = false;
    for (int i = 0; i < g->nnodes; i++) quantized |= g->nodes[i].wtype != HN_FP32 || g->nodes[i].atype != HN_FP32;
    if (qat && !quantized) {
        st = hn_error(HN_ERR_INVALID, "--qat: every type is fp32; give --numtypes W/A or a NAME+quant architecture");
        goto done;
    }

    progress_state ps;
    cli_progress_init(&ps.bar);
    cfg.progress = on_progress;
    cfg.progress_user = &ps;
    if (!json)
        fprintf(stderr, "training %s: %lld parameters, %lld MACs per image, %d training images, %d threads\n", net,
                (long long)hn_graph_param_count(g), (long long)hn_graph_macs(g),
                (int)(cfg.train_limit > 0 && cfg.train_limit < train->n ? cfg.train_limit : train->n), hn_get_threads());
    hn_train_result r;
    st = qat ? hn_qat_train(g, train, test, &cfg, &r) : hn_train(g, train, test, &cfg, &r);
    cli_progress_end(&ps.bar);
    if (st) goto done;
    if (save && (st = hn_graph_save_weights(g, save))) goto done;
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:i}", "net", net,
                              "dataset", dataset, "params", (json_int_t)r.params, "macs", (json_int_t)r.macs, "epochs",
                              r.epochs, "batch", cfg.batch, "lr", (double)cfg.lr, "train_seconds", r.train_seconds,
                              "train_images_per_s", r.train_images_per_s, "test_accuracy", r.test_accuracy,
                              "test_images_per_s", r.test_images_per_s, "final_train_loss", r.final_train_loss,
                              "threads", hn_get_threads());
        char *s = json_dumps(o, JSON_REAL_PRECISION(6));
        puts(s);
        free(s);
        json_decref(o);
    } else {
        printf("params             %lld\n", (long long)r.params);
        printf("macs               %lld\n", (long long)r.macs);
        printf("epochs             %d\n", r.epochs);
        printf("train images/s     %.0f\n", r.train_images_per_s);
        printf("final train loss   %.4f\n", r.final_train_loss);
        printf("test accuracy      %.2f %%%s\n", r.test_accuracy, qat ? " (quantized as the number types say)" : "");
        if (!qat) printf("test images/s      %.0f\n", r.test_images_per_s);
        if (save) printf("weights saved to   %s\n", save);
    }
done:
    hn_graph_free(g);
    hn_dataset_free(train);
    hn_dataset_free(test);
    return st ? cli_fail(st) : 0;
}
