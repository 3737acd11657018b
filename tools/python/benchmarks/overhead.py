#!/usr/bin/env python3
"""Python's overhead on training: time per epoch of MLPClassifier.fit against
the same training run by C++, on the same data, in one script.

Model A (784-100-100-10 ReLU, Adam lr 0.01, batch 100) on Fashion-MNIST's
60,000 training images, seed 777, no validation split. Three legs:
  python  cumlp.MLPClassifier(...).fit(X, y): the estimator (input checks,
          label encoding, the borrowed Dataset, per-epoch callbacks, Ctrl-C
          checks), timed around the whole call.
  c++     cumlp.fit(net, cumlp.Dataset(X, y, 10)): the C++ Trainer called once
          from this process on the same float32 array (borrowed, no copy); no
          Python runs per epoch except the Ctrl-C check every 50 ms.
  cli     `cumlp train ...`: the C++ program alone (no Python at all), on the
          uint8 files; its trainer's own `seconds` (the epochs, without process
          start and file loading). Same training bit for bit: the pixels scaled
          on gather equal X's float32 values (tests/test_estimator.py).

A shared machine is noisy (other jobs steal cores), so the legs run in
interleaved rounds (each round runs every leg once, the order rotating from
round to round), and each round gives paired ratios. Reported: the median of
the paired ratios with their range, for wall time of the whole call and
process CPU time (this process's user+sys for python/c++; the child's for the
cli, which includes its loading), and for the trainer's epoch seconds.

    PYTHONPATH=build/python python3 tools/python/benchmarks/overhead.py --cli build/tools/cli/cumlp
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

import cumlp

FASHION = "/usr/share/datasets/fashion-mnist"


def timed(fn):
    """(result, wall s, this process's CPU s, children's CPU s) of fn()."""
    c0, w0, k0 = time.process_time(), time.perf_counter(), os.times()
    result = fn()
    w, c, k = time.perf_counter() - w0, time.process_time() - c0, os.times()
    return result, w, c, (k.children_user + k.children_system) - (k0.children_user + k0.children_system)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default="build/tools/cli/cumlp")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    train = cumlp.load_mnist_dir(FASHION, "train", fashion=True)
    X, y = train.x, train.labels
    y32 = y.astype(np.int32)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    E = a.epochs

    def python():
        clf = cumlp.MLPClassifier((100, 100), learning_rate_init=0.01, batch_size=100, max_iter=E,
                                  n_iter_no_change=E + 1, random_state=777, device=a.device).fit(X, y)
        return clf.fit_report_["seconds"], clf.loss_curve_

    def cxx():
        net = cumlp.Network(cumlp.ModelSpec.parse("784-100-100-10", "relu"), cumlp.Optimizer.adam(0.01),
                            device=a.device, seed=777, max_batch=100)
        r = cumlp.fit(net, cumlp.Dataset(X, y32, 10), epochs=E, batch_size=100, valid_fraction=0, seed=777)
        return r["seconds"], r["train_loss"]

    def cli():
        with tempfile.TemporaryDirectory() as out:
            r = subprocess.run([a.cli, "train", "--layers", "784-100-100-10", "--activation", "relu", "--dataset",
                                "fashion", "--optimizer", "adam", "--lr", "0.01", "--batch-size", "100", "--epochs",
                                str(E), "--seed", "777", "--device", a.device, "--json", "--out", out],
                               capture_output=True, text=True, check=True)
        r = json.loads(r.stdout)
        return r["seconds"], r.get("train_loss")

    legs = {"python": python, "c++": cxx, "cli": cli}
    names = list(legs)
    runs = {k: {"wall": [], "cpu": [], "epochs": []} for k in names}
    curves = {}
    for i in range(a.rounds):
        for k in names[i % 3:] + names[:i % 3]:  # rotate the order: no leg always runs first
            (seconds, curve), wall, cpu, child = timed(legs[k])
            runs[k]["wall"].append(wall / E)
            runs[k]["cpu"].append((child if k == "cli" else cpu) / E)
            runs[k]["epochs"].append(seconds / E)
            curves[k] = curve
    print(f"device {a.device}, {E} epochs per fit, {a.rounds} interleaved rounds; seconds per epoch:")
    for k in names:
        for m in ("wall", "cpu", "epochs"):
            v = runs[k][m]
            print(f"  {k:6s} {m:6s} median {statistics.median(v):7.3f}  runs {' '.join(f'{x:.3f}' for x in v)}")
    if curves["python"] != curves["c++"]:
        print("WARNING: python and c++ loss curves differ")

    def paired(p, q, m, n=None):
        r = [x / y for x, y in zip(runs[p][m], runs[q][n or m])]
        return (f"{100 * (statistics.median(r) - 1):+6.1f} %  (range {100 * (min(r) - 1):+.1f} .. "
                f"{100 * (max(r) - 1):+.1f} %)")
    print("python over c++, median of paired ratios:")
    print(f"  wall of the call       {paired('python', 'c++', 'wall')}")
    print(f"  process CPU time       {paired('python', 'c++', 'cpu')}")
    print(f"  trainer epoch seconds  {paired('python', 'c++', 'epochs')}")
    print("python over the cli (no Python at all), median of paired ratios:")
    print(f"  trainer epoch seconds  {paired('python', 'cli', 'epochs')}")
    print(f"  python's whole call vs the cli's epochs  {paired('python', 'cli', 'wall', 'epochs')}")


if __name__ == "__main__":
    main()
