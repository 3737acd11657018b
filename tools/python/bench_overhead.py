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
Each runs --repeats times, alternating; the medians of seconds per epoch are compared.

    PYTHONPATH=build/python python3 tools/python/bench_overhead.py --cli build/tools/cli/cumlp
"""
import argparse
import json
import statistics
import subprocess
import tempfile
import time

import numpy as np

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
    times = {"python": [], "c++": [], "cli": []}
    for _ in range(a.repeats):
        t = time.perf_counter()
        cumlp.MLPClassifier((100, 100), learning_rate_init=0.01, batch_size=100, max_iter=a.epochs,
                            n_iter_no_change=a.epochs + 1, random_state=777, device=a.device).fit(X, y)
        times["python"].append((time.perf_counter() - t) / a.epochs)

        t = time.perf_counter()
        net = cumlp.Network(cumlp.ModelSpec.parse("784-100-100-10", "relu"), cumlp.Optimizer.adam(0.01),
                            device=a.device, seed=777, max_batch=100)
        cumlp.fit(net, cumlp.Dataset(X, y.astype(np.int32), 10), epochs=a.epochs, batch_size=100, valid_fraction=0, seed=777)
        times["c++"].append((time.perf_counter() - t) / a.epochs)

        with tempfile.TemporaryDirectory() as out:
            t = time.perf_counter()
            r = subprocess.run([a.cli, "train", "--layers", "784-100-100-10", "--activation", "relu", "--dataset",
                                "fashion", "--optimizer", "adam", "--lr", "0.01", "--batch-size", "100", "--epochs",
                                str(a.epochs), "--seed", "777", "--device", a.device, "--json", "--out", out],
                               capture_output=True, text=True, check=True)
            times["cli"].append(json.loads(r.stdout)["seconds"] / a.epochs)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items():
        print(f"{k:7s} s/epoch median {med[k]:.3f}  runs {', '.join(f'{x:.3f}' for x in v)}")
    print(f"overhead of python over c++ (same process): {100 * (med['python'] / med['c++'] - 1):+.1f} %")
    print(f"overhead of python over the cli's training time: {100 * (med['python'] / med['cli'] - 1):+.1f} %")


if __name__ == "__main__":
    main()
