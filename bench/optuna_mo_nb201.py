#!/usr/bin/python3
"""Peer for `hwnas bench --objectives cifar10-val:max,macs:min` on NAS-Bench-201: Optuna's samplers on
the same two objectives, with the hypervolume computed exactly as hwnas does (each objective scaled
to [0, 1] over the whole table and minimized, reference point 1.1, all of a run's trials).
MACs are NAS-Bench-201's closed form (C=16, N=5, 3x32x32, 10 classes): a fixed skeleton of 7,783,040
plus 35,389,440 per nor_conv_3x3 edge and 3,932,160 per nor_conv_1x1 edge (the cell repeats 5 times
in each of 3 stages) -- the same counts as hwnas's graph (checked against the table's range).
Usage: /usr/bin/python3 bench/optuna_mo_nb201.py TABLE SAMPLER TRIALS SEEDS"""
import csv, statistics, sys, time
import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)
OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3']
rows = {r['cellstr']: float(r['cifar10-val']) for r in csv.DictReader(open(sys.argv[1]))}
sampler_name, trials, seeds = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])


def arch(ops):
    return '|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|'.format(*ops)


def macs(ops):
    return 7783040 + 35389440 * ops.count('nor_conv_3x3') + 3932160 * ops.count('nor_conv_1x1')


vlo, vhi = min(rows.values()), max(rows.values())
mlo, mhi = 7783040, 7783040 + 6 * 35389440


def point(val, mac):
    return (1 - (val - vlo) / (vhi - vlo), (mac - mlo) / (mhi - mlo))


def hypervolume(points, ref=(1.1, 1.1)):
    pts = sorted(p for p in points if p[0] < ref[0] and p[1] < ref[1])
    hv, ymin, prev = 0.0, ref[1], None
    for x, y in pts:
        if y >= ymin:
            continue
        if prev:
            hv += (x - prev[0]) * (ref[1] - prev[1])
        prev, ymin = (x, y), y
    if prev:
        hv += (ref[0] - prev[0]) * (ref[1] - prev[1])
    return hv


hvs, times = [], []
for seed in range(seeds):
    sampler = {'random': optuna.samplers.RandomSampler, 'tpe': optuna.samplers.TPESampler,
               'nsga2': optuna.samplers.NSGAIISampler}[sampler_name](seed=seed)
    study = optuna.create_study(directions=['maximize', 'minimize'], sampler=sampler)

    def objective(t):
        ops = [t.suggest_categorical(f'e{k}', OPS) for k in range(6)]
        return rows[arch(ops)], macs(ops)

    t0 = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    times.append(time.perf_counter() - t0)
    hvs.append(hypervolume([point(*t.values) for t in study.trials]))
print(f"{sampler_name} trials={trials} seeds={seeds} hv_mean={statistics.mean(hvs):.4f} "
      f"std={statistics.pstdev(hvs):.4f} ms_per_trial={1000 * statistics.mean(times) / trials:.2f}")
