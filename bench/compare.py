#!/usr/bin/env python3
"""Joins rounds of `cumlp bench --json` and bench/baselines/torch_mlp.py into
one table of ratios (PyTorch time / cumlp time per training step; > 1 means
cumlp is faster), a JSON file and a PNG bar chart (gnuplot).

Each round ran both back to back, so its ratio compares the two under the
same machine load; the table shows the median over rounds of each figure and
of the per-round ratios.

usage: compare.py --out DIR --stem NAME --ours r1.json[,r1_other_threads.json] ... --theirs t1.json ...
                  [--command TEXT] [--load START-END ...]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess

# Speed-up targets on this 2-core CPU (the benchmark issue): PyTorch CPU eager
# with OpenBLAS, best of 1 and 2 threads, over cumlp.
CPU_TARGETS = {"A": 2.5, "B": 2.0, "C": 70.0, "D": 2.0}


def best_mode(entry):
    """PyTorch's fastest mode for one model: (mode, figures)."""
    return min(entry.items(), key=lambda kv: kv[1]["us_per_step"])


def best_of(runs):
    """One round of cumlp from runs at different BLAS thread counts: each
    model's fastest run (as PyTorch gets its best of 1 and 2 threads)."""
    # Floors and peak from the run with the most threads: the machine's limit.
    full = max(runs, key=lambda r: r["peak"]["threads"])
    best = dict(full, steps=[])
    find = lambda r, m: next(s for s in r["steps"] if s["model"] == m)
    for step in full["steps"]:
        pick = min(runs, key=lambda r: find(r, step["model"])["us_per_step"])
        chosen = dict(find(pick, step["model"]), threads=pick["peak"]["threads"])
        chosen["roofline_floor_us"] = step["roofline_floor_us"]
        best["steps"].append(chosen)
    best["kernels"] = next((r["kernels"] for r in runs if r["kernels"]), [])
    return best


def summarize(ours, theirs):
    rows = []
    for step in ours[0]["steps"]:
        m = step["model"]
        our_us = [next(s for s in r["steps"] if s["model"] == m)["us_per_step"] for r in ours]
        picks = [best_mode(t["models"][m]) for t in theirs]
        their_us = [p[1]["us_per_step"] for p in picks]
        ratios = [t / o for o, t in zip(our_us, their_us)]
        last = next(s for s in ours[-1]["steps"] if s["model"] == m)
        rows.append({
            "model": m, "description": step["description"],
            "cumlp_us_per_step": statistics.median(our_us), "cumlp_rounds_us": our_us,
            "roofline_floor_us": last["roofline_floor_us"], "cumlp_threads": last.get("threads"),
            "torch_us_per_step": statistics.median(their_us), "torch_rounds_us": their_us,
            "torch_mode": picks[-1][0], "torch_threads": picks[-1][1].get("threads"),
            "ratio": statistics.median(ratios), "rounds_ratio": ratios,
            "target": CPU_TARGETS.get(m) if ours[0]["device"] == "cpu" else None,
            "launches_per_step": last["launches_per_step"], "host_syncs_per_step": last["host_syncs_per_step"],
            "allocations_per_step": last["allocations_per_step"],
            "host_allocations_per_step": last["host_allocations_per_step"],
            "peak_memory_bytes": last["peak_memory_bytes"],
        })
    return rows


def print_table(rows, device, peak):
    print(f"cumlp device {device}: {peak['description']}")
    print(f"{'model':5} {'cumlp us':>10} {'thr':>3} {'floor us':>9} {'torch us':>10} {'torch mode':>16} {'ratio':>7} "
          f"{'target':>7} {'met':>4}  rounds (ratio)")
    for r in rows:
        met = "" if r["target"] is None else ("yes" if r["ratio"] >= r["target"] else "NO")
        mode = f"{r['torch_mode']}/{r['torch_threads']}t"
        target = "" if r["target"] is None else f"{r['target']:.1f}x"
        print(f"{r['model']:5} {r['cumlp_us_per_step']:10.1f} {r['cumlp_threads']!s:>3} {r['roofline_floor_us']:9.1f} "
              f"{r['torch_us_per_step']:10.1f} {mode:>16} {r['ratio']:6.2f}x {target:>7} {met:>4}  "
              + " ".join(f"{x:.2f}" for x in r["rounds_ratio"]))
    print("ratio = PyTorch us/step / cumlp us/step (median over rounds of the per-round ratios)")


def chart(rows, png):
    """µs/step per model on a log scale: cumlp, its roofline floor, PyTorch."""
    if not shutil.which("gnuplot"):
        return False
    dat = png[:-4] + ".dat"
    with open(dat, "w") as f:
        for r in rows:
            f.write(f"\"{r['model']} ({r['ratio']:.2f}x)\" {r['cumlp_us_per_step']} {r['roofline_floor_us']} "
                    f"{r['torch_us_per_step']}\n")
    script = f"""set terminal pngcairo size 900,500
set output '{png}'
set title 'Training step time, lower is better (in brackets: PyTorch time / cumlp time)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set ylabel 'us per step (log)'
set key outside bottom center horizontal
plot '{dat}' using 2:xtic(1) title 'cumlp', '' using 3 title 'cumlp roofline floor', '' using 4 title 'PyTorch (best mode, threads)'
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    os.remove(dat)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--stem", required=True)
    ap.add_argument("--ours", nargs="+", required=True)
    ap.add_argument("--theirs", nargs="+", required=True)
    ap.add_argument("--command", default="")
    ap.add_argument("--load", nargs="*", default=[], help="per round: 1-minute load average at its start-end")
    args = ap.parse_args()
    ours = [best_of([json.load(open(p)) for p in group.split(",")]) for group in args.ours]
    theirs = [json.load(open(p)) for p in args.theirs]
    rows = summarize(ours, theirs)
    print_table(rows, ours[0]["device"], ours[0]["peak"])
    if args.load:
        print("load average (1 min) at the start-end of each round: " + " ".join(args.load))
    os.makedirs(args.out, exist_ok=True)
    base = os.path.join(args.out, args.stem)
    report = {"command": args.command, "load_average_rounds": args.load, "device": ours[0]["device"], "peak": ours[0]["peak"], "torch": theirs[0]["torch"],
              "steps": rows, "kernels": next((r["kernels"] for r in ours if r["kernels"]), []),
              "cumlp_rounds": ours, "torch_rounds": theirs}
    with open(base + ".json", "w") as f:
        json.dump(report, f, indent=1)
    print(f"wrote {base}.json" + (f" and {base}.png" if chart(rows, base + ".png") else " (no gnuplot: no chart)"))


if __name__ == "__main__":
    main()
