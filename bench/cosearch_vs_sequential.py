#!/usr/bin/python3
"""Co-search of network and systolic array against sequential design, at the same budget.

  /usr/bin/python3 bench/cosearch_vs_sequential.py [HWNAS=build/hwnas] [SEEDS=5] [BUDGET=400]

Specs: area <= 1.0 mm^2, latency <= 0.5 ms, energy <= 5 mJ per inference (the technology of
devices/systolic-32x32.yaml: 1 GHz, int8, Horowitz 45 nm energies). Accuracy: NAS-Bench-201's
CIFAR-10 table (cifar10-val to select; cifar10-test reported is not used to select).

- co-search: one NSGA-II study over nb201+systolic (network and array decisions together),
  objectives accuracy and latency, the three specs as constraints, BUDGET trials;
- sequential (NASAIC's baseline): NSGA-II over nb201 on a fixed array a designer would pick first
  (16x16 weight-stationary, 3 x 64 KB SRAM, 16 words/cycle: 0.88 mm^2), BUDGET/2 trials, the
  latency and energy specs as constraints; the most accurate network meeting them is then given the
  best of BUDGET/2 random arrays (hwnas hw cost per array).

Per seed and method: the best validation accuracy among evaluated designs meeting every spec, and
the hypervolume of those designs in (accuracy, latency), from the reference point (50 %, 0.5 ms),
accuracy in points and latency in ms. Prints a table and the means."""
import csv
import io
import os
import random
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE = os.path.normpath(os.path.join(ROOT, "..", "shared", "reference", "nb201", "nb201-cifar10-12epoch.csv"))
AREA, LATENCY, ENERGY = 1.0, 0.5e-3, 5e-3
FIXED = "16x16,ws,64/64/64KB,bw16"
SIDES, SRAM, DATAFLOWS, BWS = [4, 8, 16, 32, 64, 128], [8, 16, 32, 64, 128, 256], ["os", "ws", "is"], [4, 8, 16, 32, 64]


def run(cmd, cwd):
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    return out.stdout


def study(hwnas, work, name, space, device, constraints, trials, seed):
    y = os.path.join(work, name + ".yaml")
    with open(y, "w") as f:
        f.write(f"name: {name}\nspace: {space}\ntable: {TABLE}\naccuracy: cifar10-val\ndevice: {device}\n"
                "objectives:\n  accuracy: max\n  latency_s: min\nconstraints:\n" +
                "".join(f"  - {c}\n" for c in constraints) +
                f"strategy: nsga2\nbudget:\n  trials: {trials}\nseed: {seed}\n")
    out = run([hwnas, "search", y], work)
    sdir = [l.split(": ", 1)[1] for l in out.splitlines() if l.startswith("study directory: ")][0]
    rows = csv.DictReader(io.StringIO(run([hwnas, "study", "export", os.path.join(work, sdir), "--format", "csv"], work)))
    return [r for r in rows if r["state"] in ("done", "pruned") and r["latency_s"]]


def point(r):
    return (float(r["accuracy"]) if r.get("accuracy") else None, float(r["latency_s"]), float(r["energy_j"]),
            float(r["area_mm2"]))


def feasible(p):
    return p[0] is not None and p[1] <= LATENCY and p[2] <= ENERGY and p[3] <= AREA


def hypervolume(points):
    """area dominated in (accuracy up, latency down) above (50 %, LATENCY), accuracy in points, ms"""
    front = sorted({(a, l) for a, l, _, _ in points if feasible((a, l, 0, 0)) and a > 50}, key=lambda x: (x[1], -x[0]))
    hv, best = 0.0, 50.0
    for a, l in front:  # by latency: each more accurate point adds a strip from its latency to the reference
        if a <= best:
            continue
        hv += (a - best) * (LATENCY - l) * 1e3
        best = a
    return hv


def main():
    hwnas = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "hwnas"))
    seeds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    budget = int(sys.argv[3]) if len(sys.argv) > 3 else 400
    if not os.path.exists(TABLE):
        sys.exit(f"{TABLE} is missing (../shared must sit beside the repository)")
    specs = [f"area_mm2 <= {AREA}", f"latency_s <= {LATENCY * 1e3}ms", f"energy_j <= {ENERGY * 1e3}mJ"]
    print(f"specs: {', '.join(specs)}; budget {budget} evaluations per method and seed; fixed array {FIXED}")
    print(f"{'seed':>4} {'co-search acc':>14} {'co HV':>8} {'sequential acc':>15} {'seq HV':>8}  sequential's design")
    sums = [0.0] * 4
    with tempfile.TemporaryDirectory() as work:
        # the fixed array with systolic-32x32's technology (1 GHz, int8, energies from the tables)
        rows, cols = FIXED.split(",")[0].split("x")
        df = FIXED.split(",")[1]
        kb = FIXED.split(",")[2][:-2].split("/")
        fixed = (f"name: fixed\nkind: systolic\ndescription: the sequential designer's array {FIXED}\nrows: {rows}\n"
                 f"cols: {cols}\ndataflow: {df}\nifmap_sram_kb: {kb[0]}\nfilter_sram_kb: {kb[1]}\nofmap_sram_kb: {kb[2]}\n"
                 f"bandwidth: {FIXED.split('bw')[1]}\nword_bytes: 1\nnumber_type: int8\nclock_hz: 1e9\n")
        fixed_path = os.path.join(work, "fixed.yaml")
        open(fixed_path, "w").write(fixed)
        for seed in range(seeds):
            co = [point(r) for r in study(hwnas, work, f"co{seed}", "nb201+systolic", "systolic-32x32", specs, budget, seed)]
            stage1 = study(hwnas, work, f"seq{seed}", "nb201", fixed_path, specs[1:], budget // 2, seed)
            seq = [point(r) for r in stage1]
            ok = [r for r in stage1 if feasible(point(r))]
            design = "no network meets the specs on the fixed array"
            if ok:
                net = max(ok, key=lambda r: float(r["accuracy"]))
                acc = float(net["accuracy"])
                rng = random.Random(seed)
                best = None
                for _ in range(budget - budget // 2):
                    arr = (f"{rng.choice(SIDES)}x{rng.choice(SIDES)},{rng.choice(DATAFLOWS)},"
                           f"{rng.choice(SRAM)}/{rng.choice(SRAM)}/{rng.choice(SRAM)}KB,bw{rng.choice(BWS)}")
                    out = run([hwnas, "hw", "cost", "--device", "systolic-32x32", "--space", "nb201+systolic", "--arch",
                               net["genotype"] + "@" + arr], work)
                    v = dict(l.split(None, 1) for l in out.splitlines() if l.strip())
                    p = (acc, float(v["latency_s"]), float(v["energy_j"]), float(v["area_mm2"]))
                    seq.append(p)
                    if feasible(p) and (best is None or p[1] < best[1]):
                        best = p + (arr,)
                design = (f"{acc:.2f} % at {best[1] * 1e3:.3f} ms on {best[4]}" if best
                          else f"{acc:.2f} % on the fixed array (no random array improves it)")
            ca = max([p[0] for p in co if feasible(p)], default=0)
            sa = max([p[0] for p in seq if feasible(p)], default=0)
            ch, sh = hypervolume(co), hypervolume(seq)
            for k, v in enumerate([ca, ch, sa, sh]):
                sums[k] += v
            print(f"{seed:>4} {ca:>12.2f} % {ch:>8.2f} {sa:>13.2f} % {sh:>8.2f}  {design}", flush=True)
    m = [s / seeds for s in sums]
    print(f"mean {m[0]:>12.2f} % {m[1]:>8.2f} {m[2]:>13.2f} % {m[3]:>8.2f}")
    print(f"co-search vs sequential: best feasible accuracy {m[0] - m[2]:+.2f} points, hypervolume x{m[1] / m[3]:.2f}"
          if m[3] > 0 else "sequential found no feasible design")


if __name__ == "__main__":
    main()
