#!/usr/bin/env python3
"""Python's overhead on training: time per epoch of MLPClassifier.fit against
the same training run by C++ alone, on the same data, in one script.

Model A (784-100-100-10 ReLU, Adam lr 0.01, batch 100) on Fashion-MNIST's
60,000 training images, seed 777, no validation split:
  python   cumlp.MLPClassifier(...).fit(X, y)      (validation, dataset copy, callbacks)
  c++      cumlp.fit(net, cumlp.Dataset(X, y, 10))  (the same float32 array into the C++ Trainer, called
                                                    once: no Python per epoch)
  cli      cumlp train --layers 784-100-100-10 ...  (the C++ program on the uint8 files; its `seconds`
                                                    per epoch: informative, the data are stored differently)
Each runs --repeats times, alternating; the medians and the minima (the least
disturbed run, on a shared machine) of seconds per epoch are compared, as wall time of the whole call (python, c++: including the input
checks and the copy into the core's dataset) and as the trainer's own
`seconds` (the epochs alone, which is what the cli reports).

    PYTHONPATH=build/python python3 tools/python/benchmarks/overhead.py --cli build/tools/cli/cumlp
"""
import argparse
import json
import statistics
import subprocess
import tempfile
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

import cumlp

FASHION = "/usr/share/datasets/fashion-mnist"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default="build/tools/cli/cumlp")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    train = cumlp.load_mnist_dir(FASHION, "train", fashion=True)
    X, y = train.x, train.labels
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    times = {"python wall": [], "c++ wall": [], "python epochs": [], "c++ epochs": [], "cli epochs": []}
    for _ in range(a.repeats):
        t = time.perf_counter()
        clf = cumlp.MLPClassifier((100, 100), learning_rate_init=0.01, batch_size=100, max_iter=a.epochs,
                                  n_iter_no_change=a.epochs + 1, random_state=777, device=a.device).fit(X, y)
        times["python wall"].append((time.perf_counter() - t) / a.epochs)
        times["python epochs"].append(clf.fit_report_["seconds"] / a.epochs)

        t = time.perf_counter()
        net = cumlp.Network(cumlp.ModelSpec.parse("784-100-100-10", "relu"), cumlp.Optimizer.adam(0.01),
                            device=a.device, seed=777, max_batch=100)
        r = cumlp.fit(net, cumlp.Dataset(X, y.astype(np.int32), 10), epochs=a.epochs, batch_size=100,
                      valid_fraction=0, seed=777)
        times["c++ wall"].append((time.perf_counter() - t) / a.epochs)
        times["c++ epochs"].append(r["seconds"] / a.epochs)

        with tempfile.TemporaryDirectory() as out:
            t = time.perf_counter()
            r = subprocess.run([a.cli, "train", "--layers", "784-100-100-10", "--activation", "relu", "--dataset",
                                "fashion", "--optimizer", "adam", "--lr", "0.01", "--batch-size", "100", "--epochs",
                                str(a.epochs), "--seed", "777", "--device", a.device, "--json", "--out", out],
                               capture_output=True, text=True, check=True)
            times["cli epochs"].append(json.loads(r.stdout)["seconds"] / a.epochs)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items():
        print(f"{k:14s} s/epoch median {med[k]:.3f}  runs {', '.join(f'{x:.3f}' for x in v)}")
    low = {k: min(v) for k, v in times.items()}
    for what in ("wall", "epochs"):
        paired = statistics.median(p / c for p, c in zip(times["python " + what], times["c++ " + what]))
        print(f"python over c++ ({what}): medians {100 * (med['python ' + what] / med['c++ ' + what] - 1):+.1f} %, "
              f"minima {100 * (low['python ' + what] / low['c++ ' + what] - 1):+.1f} %, "
              f"median of paired runs {100 * (paired - 1):+.1f} %")
    print(f"python epochs over cli epochs (uint8 vs float32 data): "
          f"{100 * (med['python epochs'] / med['cli epochs'] - 1):+.1f} %")


if __name__ == "__main__":
    main()
