#!/usr/bin/python3
"""Compares the Pareto fronts of finished accuracy-vs-latency studies (hwnas search) side by side:
networks on the front, the hypervolume of the front in the (accuracy, latency) plane, the chosen
network's test accuracy after the final training, the trials, and the study's wall time.

Usage: bench/compare_fronts.py LATENCY_BOUND_MS STUDY_DIR...

Hypervolume: the area the front dominates inside the box from (0 % accuracy, LATENCY_BOUND_MS) -- the
study's latency constraint -- to (100 %, 0 ms), in percent x milliseconds, so a front of higher
accuracy at lower latency has more. Each study's own accuracies are used: a supernet study's are
inherited-weight accuracies, a trained study's those of its (short) training; the chosen network's
test accuracy is the comparable figure. Reads only pareto.csv, trials.csv and study.db (stdlib)."""
import csv
import sqlite3
import sys


def hypervolume(points, bound_ms):
    """points: (accuracy %, latency ms); the area dominated inside [0, 100] x [0, bound_ms]"""
    pts = sorted((lat, acc) for acc, lat in points if lat <= bound_ms)
    area, best = 0.0, 0.0
    for i, (lat, acc) in enumerate(pts):  # by latency: each point adds its accuracy gain to the right
        best = max(best, acc)
        right = pts[i + 1][0] if i + 1 < len(pts) else bound_ms
        area += best * (right - lat)
    return area


def study(dirname, bound_ms):
    with open(f"{dirname}/pareto.csv") as f:
        front = [(float(r["accuracy"]), float(r["latency_s"]) * 1e3) for r in csv.DictReader(f)]
    with open(f"{dirname}/trials.csv") as f:
        rows = list(csv.DictReader(f))
    db = sqlite3.connect(f"file:{dirname}/study.db?mode=ro", uri=True)
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    span = db.execute("SELECT min(started), max(finished) FROM trials").fetchone()
    db.close()
    return {
        "front": len(front),
        "hv": hypervolume(front, bound_ms),
        "best": max(a for a, _ in front) if front else float("nan"),
        "test": float(meta.get("final_test_accuracy", "nan")),
        "trials": len(rows),
        "trained": sum(r["state"] == "done" for r in rows),
        "search_s": (span[1] - span[0]) if span[0] is not None and span[1] is not None else float("nan"),
    }


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    bound = float(sys.argv[1])
    print(f"{'study':40} {'front':>5} {'hypervolume':>11} {'best front acc':>14} {'chosen test':>11} "
          f"{'trials':>6} {'done':>5} {'search s':>8}")
    for d in sys.argv[2:]:
        s = study(d, bound)
        print(f"{d:40} {s['front']:5d} {s['hv']:11.1f} {s['best']:13.2f}% {s['test']:10.2f}% {s['trials']:6d} "
              f"{s['trained']:5d} {s['search_s']:8.0f}")


if __name__ == "__main__":
    main()
