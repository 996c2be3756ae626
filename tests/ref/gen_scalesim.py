#!/usr/bin/python3
"""Draws random convolution layers and systolic arrays with a fixed seed, runs SCALE-Sim v2 on each
(layer, array) pair and writes one CSV row per pair, in the layout of
../shared/reference/scalesim/scalesim-v2-set-a.csv: the reference that test_hw's systolic model must equal
on every row and metric (tests/ref/scalesim-random.csv).

  /usr/bin/python3 tests/ref/gen_scalesim.py [--seed S] [--rows N] [--jobs J] [--out FILE]

SCALE-Sim is ../shared/peers/scale-sim-v2, run through ../shared/peers/scalesim_run.sh (one process per
pair, J at a time). It needs Debian's python3-numpy, python3-pandas and python3-tqdm
(HWNAS_SETUP_PEERS=1 scripts/setup.sh). Another seed gives another sample to check the model further:
run it, then `build/tests/test_hw --scalesim FILE` (or compare with `hwnas hw systolic`).

The draw covers what the issue asks of the model: kernels 1-11 (square or not), strides 1-4 on input
sizes they need not divide, channels and filters 1-512, arrays 1-128 per side (square or not), SRAMs
of 1-256 KB (SCALE-Sim takes whole kilobytes), all three dataflows, and a third of the rows with a
user-set DRAM bandwidth of 1-64 words per cycle. SCALE-Sim spends seconds to minutes of Python on a
large layer, so a draw whose demand matrices would exceed a size budget is drawn again (the budget is
printed); the model itself has no such limit.
"""
import argparse
import math
import os
import random
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
PEER = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "peers", "scalesim_run.sh"))
# elements of the three demand matrices SCALE-Sim walks one by one in Python, per mode, and of the
# ifmap and filter operand matrices
BUDGET = {"CALC": 1_500_000, "USER": 400_000, "operands": 2_000_000}


def log_int(rng, lo, hi):
    return int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))


def demand_elements(df, rows, cols, ih, iw, fh, fw, ch, nf, s):
    """the demand matrices' size as SCALE-Sim builds them: rows of folds x (fold length) by R + 2C"""
    oh, ow = math.ceil((ih - fh + s) / s), math.ceil((iw - fw + s) / s)
    P, W, F = oh * ow, fh * fw * ch, nf
    if df == "os":
        folds, per = math.ceil(P / rows) * math.ceil(F / cols), W + rows + cols - 2
    elif df == "ws":
        folds, per = math.ceil(W / rows) * math.ceil(F / cols), P + 2 * rows + cols - 2
    else:
        folds, per = math.ceil(W / rows) * math.ceil(P / cols), F + 2 * rows + cols - 2
    return folds * per * (rows + 2 * cols), P * W + W * F


def draw(rng, i):
    while True:
        df = rng.choice(["os", "ws", "is"])
        rows, cols = log_int(rng, 1, 128), log_int(rng, 1, 128)
        if rng.random() < 0.3:
            cols = rows
        fh = rng.randint(1, 11)
        fw = fh if rng.random() < 0.75 else rng.randint(1, 11)
        s = rng.randint(1, 4)
        ih = fh + rng.randint(0, 12 * s + 8)
        iw = ih if rng.random() < 0.6 and ih >= fw else fw + rng.randint(0, 12 * s + 8)
        ch, nf = log_int(rng, 1, 512), log_int(rng, 1, 512)
        kb = [log_int(rng, 1, 256) for _ in range(3)]
        mode = "USER" if rng.random() < 0.34 else "CALC"
        bw = log_int(rng, 1, 64) if mode == "USER" else 10
        demands, operands = demand_elements(df, rows, cols, ih, iw, fh, fw, ch, nf, s)
        if demands <= BUDGET[mode] and operands <= BUDGET["operands"]:
            name = "r%03d" % i
            return (f"{name} {rows} {cols} {df} {kb[0]} {kb[1]} {kb[2]} {mode} {bw}",
                    f"{name},{ih},{iw},{fh},{fw},{ch},{nf},{s},")


def run_one(pair, timeout):
    config, layer = pair
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "l.csv"), "w") as f:
            f.write("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n")
            f.write(layer + "\n")
        with open(os.path.join(d, "c.txt"), "w") as f:
            f.write(config + "\n")
        try:
            out = subprocess.run(["bash", PEER, os.path.join(d, "l.csv"), os.path.join(d, "c.txt")], capture_output=True,
                                 text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, f"{config} | {layer}: SCALE-Sim ran past {timeout} s"
        if out.returncode != 0:
            return None, f"{config} | {layer}: SCALE-Sim failed: {out.stderr.strip()[-300:]}"
        lines = out.stdout.strip().split("\n")
        return (lines[0], lines[1]), None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--rows", type=int, default=360)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--scale", type=float, default=1, help="multiplies the size budget (larger layers, slower)")
    ap.add_argument("--out", default=os.path.join(HERE, "scalesim-random.csv"))
    a = ap.parse_args()
    if not os.path.exists(PEER):
        sys.exit(f"gen_scalesim.py: {PEER} is missing (../shared must sit beside the repository)")
    for k in BUDGET:
        BUDGET[k] = int(BUDGET[k] * a.scale)
    rng = random.Random(a.seed)
    pairs = [draw(rng, i) for i in range(a.rows)]
    print(f"gen_scalesim.py: seed {a.seed}, {a.rows} pairs, demand budget {BUDGET}", file=sys.stderr)
    header, rows, failed = None, [], 0
    with ThreadPoolExecutor(a.jobs) as ex:
        for k, (res, err) in enumerate(ex.map(lambda p: run_one(p, a.timeout), pairs)):
            if err:
                failed += 1
                print("gen_scalesim.py: " + err, file=sys.stderr)
                continue
            header = res[0]
            rows.append(res[1])
            if (k + 1) % 20 == 0:
                print(f"gen_scalesim.py: {k + 1}/{len(pairs)}", file=sys.stderr)
    with open(a.out, "w") as f:
        f.write(f"# tests/ref/gen_scalesim.py --seed {a.seed} --rows {a.rows}: SCALE-Sim v2 (../shared/peers/scale-sim-v2)\n")
        f.write(header + "\n")
        for r in rows:
            f.write(r + "\n")
    user = sum(1 for r in rows if ",USER," in r)
    print(f"gen_scalesim.py: wrote {a.out}: {len(rows)} rows ({user} bandwidth-limited), {failed} not simulated",
          file=sys.stderr)


if __name__ == "__main__":
    main()
