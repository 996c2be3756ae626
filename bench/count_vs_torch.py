#!/usr/bin/python3
"""Peer for bench_space_count on the MBConv space: how many genotypes per second PyTorch builds and
counts (parameters with numel, MACs with forward hooks on a zero image -- what NAS tools built on
torch do), using the reference builder of tests/ref/gen_mbconv.py. One thread.
Usage: /usr/bin/python3 bench/count_vs_torch.py [N=300]"""
import os, random, sys, time, torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
import gen_mbconv as ref  # noqa: E402

torch.set_num_threads(1)
n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
rng = random.Random(1)
firsts = {0, 2, 5, 8, 12}
archs = [ref.arch_string(rng.choice(ref.RES), [rng.choice(ref.WIDTHS) for _ in range(5)],
                         [rng.choice(ref.OPS if j in firsts else ref.OPS + ["skip"]) for j in range(15)])
         for _ in range(n)]
t0 = time.perf_counter()
for a in archs:
    ref.count(a, 1, 10)
dt = time.perf_counter() - t0
print(f"pytorch: {n} sampled mbconv genotypes built and counted in {dt:.3f} s (1 thread): {n / dt:.0f} genotypes/s")
