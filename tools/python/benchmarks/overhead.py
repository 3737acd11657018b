#!/usr/bin/env python3
"""Python's overhead on training: MLPClassifier.fit against the same training
run by C++, on the same data, in one process.

Model A (784-100-100-10 ReLU, Adam lr 0.01, batch 100) on Fashion-MNIST's
60,000 training images, seed 777, no validation split. Legs:
  python  cumlp.MLPClassifier(...).fit(X, y): the estimator.
  c++     cumlp.fit(net, cumlp.Dataset(X, y, 10)): the C++ Trainer called once
          on the same float32 array (borrowed, no copy); the only Python on
          the training thread is the Ctrl-C poll.
  cli     (--cli PATH) `cumlp train ...`: the C++ program alone, on the uint8
          files; its trainer's `seconds` (the epochs, without process start
          and loading). Same training bit for bit as the two others.
The python and c++ legs must give the same loss curve bits (checked).

1. Accounting: Python's own time, which other jobs' noise cannot hide.
   The estimator's fit calls the C++ Trainer once (_cumlp._fit) with the GIL
   released, so Python runs on the training thread only
     before   checks of the parameters and of X (a sum over X finds NaN/Inf),
              label encoding, building the Network and the borrowed Dataset;
     inside   in GIL-held sections: the Ctrl-C poll (at most every 50 ms) and
              the per-epoch callback (progress reporter, stopping rule; also at
              most every 0.2 s within an epoch). The binding times each section
              with the C++ steady clock, GIL acquisition and release included
              (report["python_seconds"], ["python_sections"]);
     after    copying the report into the estimator, the ConvergenceWarning.
   This script replaces the estimator module's reference to the extension by
   a stand-in whose _fit reads the clocks at entry and exit (nothing in the
   library changes): before = entry - start, after = end - exit. Python's
   share = (before + inside + after) / the whole fit, by wall clock
   (perf_counter) and by the thread's CPU clock (thread_time; `inside` is
   only known as wall time, an upper bound of its CPU time, and used as is).
   Limits: before/after count all that runs outside the trainer call as
   Python's, including C++ work the c++ leg does as well (building the
   Network, borrowing X): the share is an upper bound. Sections are wall
   time, so a preemption inside one counts too (again an over-count). Not
   counted: Python's indirect cost on the C++ part (caches the sections
   evict) and other Python threads (none here; tqdm's monitor with verbose):
   the paired timing below covers those. The clock reads cost two
   perf_counter and two thread_time calls per fit and one steady-clock read
   per section (tens of ns each); the stand-in's attribute lookups fall in
   `before` (over-counted, < 10 us).

2. Paired timing. Rounds run the legs back to back, their order rotating
   from round to round; each round gives a ratio python / c++. The clock is
   the training thread's CPU time: with --threads 1 (default) the cpu device
   runs every op on the calling thread, so thread_time is the whole
   training's CPU time, which other processes do not inflate except through
   shared caches and clock speed (wall time is reported too). With --threads
   N > 1 the pool's workers do part of the work and process CPU time is used.
   On another device (cuda, sim) the thread's CPU clock misses the device's
   work: there the accounting and the wall rows are the figures (no GPU run
   so far).
   Reported: the median ratio and a distribution-free confidence interval
   for it (sign test: order statistics r_(k) .. r_(n+1-k), k the largest
   with 2 P(Binomial(n, 1/2) <= k-1) <= 1 - confidence; exact coverage shown).

    PYTHONPATH=build/python python3 tools/python/benchmarks/overhead.py --cli build/tools/cli/cumlp

Measured 2026-12-06 (shared 2-core VM, load 6-9; both runs and the
breakdown in bench/README.md, "Python over C++"), the command above with
build-cpu: Python's share by accounting 2.38 % and 2.13 % (1.40 / 1.31 %
without the constructors); python / c++ thread CPU median +0.73 % (95 % CI
-0.93 .. +1.69 %) and +0.54 % (-0.38 .. +1.50 %); wall +-20 % noise.
"""
import argparse
import cProfile
import json
import math
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

FASHION = "/usr/share/datasets/fashion-mnist"


def median_ci(values, confidence=0.95):
    """(low, high, coverage) of the distribution-free confidence interval for
    the median of `values` (sign test / order statistics), or None when there
    are too few values for that confidence (fewer than 6 at 95 %)."""
    x, n = sorted(values), len(values)
    tail = 0.0  # P(Binomial(n, 1/2) <= k - 1)
    best = None
    for k in range(1, (n + 1) // 2 + 1):
        tail += math.comb(n, k - 1) / 2**n
        if 2 * tail > 1 - confidence:
            break
        best = (x[k - 1], x[n - k], 1 - 2 * tail)
    return best


def clocks(cpu):
    return time.perf_counter(), cpu()


class TimedExtension:
    """Stands in for the extension module inside cumlp.estimators: _fit reads
    the clocks at its entry and exit, the Network and Dataset constructors
    add their time to `built`; every other name is the module's."""

    def __init__(self, module, cpu):
        self._module, self._cpu, self.marks, self.built = module, cpu, None, [0.0, 0.0]

    def __getattr__(self, name):
        return getattr(self._module, name)

    def _construct(self, cls, *args):
        start = clocks(self._cpu)
        obj = cls(*args)
        end = clocks(self._cpu)
        self.built = [self.built[0] + end[0] - start[0], self.built[1] + end[1] - start[1]]
        return obj

    def Network(self, *args):  # noqa: N802 (the extension's names)
        return self._construct(self._module.Network, *args)

    def Dataset(self, *args):  # noqa: N802
        return self._construct(self._module.Dataset, *args)

    def _fit(self, *args):
        enter = clocks(self._cpu)
        try:
            return self._module._fit(*args)
        finally:
            self.marks = (enter, clocks(self._cpu))


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", default="", help="the cumlp binary: adds the cli leg")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--rows", type=int, default=0, help="train on the first ROWS images (0: all 60,000)")
    ap.add_argument("--threads", type=int, default=1, help="the cpu device's threads (OPENBLAS_NUM_THREADS)")
    ap.add_argument("--confidence", type=float, default=0.95)
    ap.add_argument("--profile", action="store_true", help="also profile one estimator fit (cProfile, top 12)")
    ap.add_argument("--json", default="", help="write every measurement to this file")
    a = ap.parse_args(argv)
    for name in ("epochs", "rounds", "threads"):
        if getattr(a, name) < 1:
            ap.error(f"--{name} must be >= 1, got {getattr(a, name)}")
    if a.rows < 0:
        ap.error(f"--rows must be >= 0, got {a.rows}")
    if a.threads != 1 and a.device != "cpu":
        ap.error(f"--threads sets the cpu device's threads; it has no effect with --device {a.device}")
    if not 0 < a.confidence < 1:
        ap.error(f"--confidence must be in (0, 1), got {a.confidence}")
    return a


def main(argv=None):
    a = parse_args(argv)
    os.environ["OPENBLAS_NUM_THREADS"] = str(a.threads)  # read when OpenBLAS loads: before cumlp's import
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning

    import cumlp
    from cumlp import estimators

    cpu = time.thread_time if a.threads == 1 else time.process_time
    cpu_name = "thread CPU" if a.threads == 1 else "process CPU"
    if a.device != "cpu":
        print(f"note: on {a.device} the {cpu_name} clock counts this thread's work, not the device's: "
              "the wall rows time the training")
    train = cumlp.load_mnist_dir(FASHION, "train", fashion=True)
    X, y = train.x, train.labels
    if a.rows:
        X, y = np.ascontiguousarray(X[:a.rows]), y[:a.rows]
    y32 = y.astype(np.int32)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    E = a.epochs
    timed = TimedExtension(estimators._cumlp, cpu)
    estimators._cumlp = timed

    def estimator():
        return cumlp.MLPClassifier((100, 100), learning_rate_init=0.01, batch_size=100, max_iter=E,
                                   n_iter_no_change=E + 1, random_state=777, device=a.device)

    def python():
        timed.built = [0.0, 0.0]
        start = clocks(cpu)
        clf = estimator().fit(X, y)
        end = clocks(cpu)
        (enter, leave), r = timed.marks, clf.fit_report_
        return {"wall": end[0] - start[0], "cpu": end[1] - start[1], "before_wall": enter[0] - start[0],
                "built_wall": timed.built[0], "built_cpu": timed.built[1],
                "before_cpu": enter[1] - start[1], "call_wall": leave[0] - enter[0], "call_cpu": leave[1] - enter[1],
                "after_wall": end[0] - leave[0], "after_cpu": end[1] - leave[1], "inside": r["python_seconds"],
                "sections": r["python_sections"], "trainer": r["seconds"], "curve": clf.loss_curve_}

    def cxx():
        start = clocks(cpu)
        net = cumlp.Network(cumlp.ModelSpec.parse("784-100-100-10", "relu"), cumlp.Optimizer.adam(0.01),
                            device=a.device, seed=777, max_batch=100)
        r = cumlp.fit(net, cumlp.Dataset(X, y32, 10), epochs=E, batch_size=100, valid_fraction=0, seed=777)
        end = clocks(cpu)
        return {"wall": end[0] - start[0], "cpu": end[1] - start[1], "inside": r["python_seconds"],
                "sections": r["python_sections"], "trainer": r["seconds"], "curve": r["train_loss"]}

    def cli():
        k0 = os.times()
        with tempfile.TemporaryDirectory() as out:
            run = subprocess.run([a.cli, "train", "--layers", "784-100-100-10", "--activation", "relu", "--dataset",
                                  "fashion", "--optimizer", "adam", "--lr", "0.01", "--batch-size", "100",
                                  "--epochs", str(E), "--seed", "777", "--device", a.device, "--json", "--out", out],
                                 capture_output=True, text=True, check=True)
        k = os.times()
        r = json.loads(run.stdout)
        return {"cpu": (k.children_user + k.children_system) - (k0.children_user + k0.children_system),
                "trainer": r["seconds"], "curve": r.get("train_loss")}

    legs = {"python": python, "c++": cxx}
    if a.cli:
        if a.rows:
            sys.exit("error: --cli trains on all 60,000 images; it cannot be combined with --rows")
        legs["cli"] = cli
    names = list(legs)
    runs = {k: [] for k in names}
    for i in range(a.rounds):
        for k in names[i % len(names):] + names[:i % len(names)]:  # rotate: no leg always runs first
            runs[k].append(legs[k]())
    if runs["python"][0]["curve"] != runs["c++"][0]["curve"]:
        sys.exit("error: the python and c++ legs' loss curves differ: not the same training")
    report = summarise(a, runs, cpu_name)
    if a.profile:
        profile = cProfile.Profile()
        profile.runcall(lambda: estimator().fit(X, y))
        print("one estimator fit under cProfile (its own overhead included), top 12 by own time:")
        pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(12)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"args": vars(a), "cpu_clock": cpu_name, "runs": runs, **report}, f, indent=1)
    return report


def per_epoch(values, epochs):
    return statistics.median(values) / epochs


def summarise(a, runs, cpu_name):
    E, py = a.epochs, runs["python"]
    n = len(py)

    def total(key):
        return sum(r[key] for r in py)

    acc = {}
    for c in ("cpu", "wall"):  # `inside` is wall time on both (an upper bound of its CPU time)
        python = total(f"before_{c}") + total("inside") + total(f"after_{c}")
        acc[f"share_{c}"] = python / total(c)
        acc[f"own_share_{c}"] = (python - total(f"built_{c}")) / total(c)
        acc[f"parts_sum_error_{c}"] = total(c) - (total(f"before_{c}") + total(f"call_{c}") + total(f"after_{c}"))
    acc.update({"before_ms_per_fit": 1e3 * total("before_cpu") / n, "built_ms_per_fit": 1e3 * total("built_cpu") / n,
                "after_ms_per_fit": 1e3 * total("after_cpu") / n,
                "inside_ms_per_epoch": 1e3 * total("inside") / (n * E),
                "inside_over_call_wall": total("inside") / total("call_wall"),
                "sections_per_fit": total("sections") / n,
                "cxx_poll_ms_per_epoch": 1e3 * sum(r["inside"] for r in runs["c++"]) / (n * E),
                "max_round_share_cpu": max((r["before_cpu"] + r["inside"] + r["after_cpu"]) / r["cpu"] for r in py)})
    print(f"device {a.device}, threads {a.threads}, {n} rounds, {E} epochs per fit, "
          f"{a.rows or 60000} rows, batch 100, model A")
    print(f"1. accounting: Python on the training thread, over the {n} estimator fits ({cpu_name} unless said)")
    print(f"   before the trainer call {acc['before_ms_per_fit']:8.2f} ms per fit, of which "
          f"{acc['built_ms_per_fit']:.2f} ms build the Network and Dataset (C++; the c++ leg does it too)")
    print(f"   inside: GIL sections    {acc['inside_ms_per_epoch']:8.3f} ms per epoch (wall; "
          f"{acc['sections_per_fit']:.1f} sections per fit)")
    print(f"   after the trainer call  {acc['after_ms_per_fit']:8.2f} ms per fit")
    print(f"   Python's share of fit   {100 * acc['share_cpu']:8.3f} % ({100 * acc['own_share_cpu']:.3f} % without the "
          f"constructors); wall clock {100 * acc['share_wall']:.3f} % ({100 * acc['own_share_wall']:.3f} %); "
          f"largest round {100 * acc['max_round_share_cpu']:.3f} %")
    print(f"   (the c++ leg's Ctrl-C polls: {acc['cxx_poll_ms_per_epoch']:.3f} ms per epoch)")
    print(f"2. paired timing, seconds per epoch (median of {n} rounds):")
    for k, rs in runs.items():
        cols = [f"{c} {per_epoch([r[c] for r in rs], E):7.3f}" for c in ("cpu", "wall", "trainer") if c in rs[0]]
        print(f"   {k:6s} " + "   ".join(cols))
    paired = {}
    for metric in ("cpu", "wall"):
        ratios = [p[metric] / q[metric] for p, q in zip(py, runs["c++"])]
        ci = median_ci(ratios, a.confidence)
        paired[metric] = {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios),
                          "ci": list(ci) if ci else None}
        text = (f"{100 * a.confidence:.0f} % CI {100 * (ci[0] - 1):+.2f} .. {100 * (ci[1] - 1):+.2f} % "
                f"(exact coverage {100 * ci[2]:.1f} %)" if ci else "too few rounds for a confidence interval")
        label = cpu_name if metric == "cpu" else "wall"
        print(f"   python / c++, {label:11s} median {100 * (paired[metric]['median'] - 1):+6.2f} %, {text}, "
              f"range {100 * (min(ratios) - 1):+.1f} .. {100 * (max(ratios) - 1):+.1f} %")
    if "cli" in runs:
        ratios = [p["trainer"] / q["trainer"] for p, q in zip(py, runs["cli"])]
        print(f"   python's trainer seconds / the cli's: median {100 * (statistics.median(ratios) - 1):+.2f} % (wall)")
    return {"accounting": acc, "paired": paired}


if __name__ == "__main__":
    main()
