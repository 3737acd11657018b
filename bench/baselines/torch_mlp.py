#!/usr/bin/env python3
"""The four seed models of `cumlp bench` in PyTorch, timed the same way.

A  784-100-100-10 ReLU, cross-entropy, Adam(lr 0.01), batch 100
B  784-500-400-300-200-100-50-10 LeakyReLU(0.01), cross-entropy, Adam, batch 256
C  2-10-10-10-1 sigmoid (sigmoid output), BCE, SGD(lr 1.0), batch 4
D  64-32-16-10 ReLU, cross-entropy, Adam, full batch 1437

A step is zero_grad, forward, loss, backward, optimizer step and loss.item()
(cumlp's train_step also returns the loss to the host). Timing as cumlp's:
warm-up, then samples of repeated steps lasting at least --min-sample-ms;
the median and the 10th/90th percentiles of the per-step time.

Modes: "eager" always; on a GPU also "compile" (torch.compile, when this
PyTorch has it) and "cuda-graph" (the whole step captured once, Adam with
capturable=True, replayed). --threads 1,2 runs each thread count in a fresh
process (OMP/OpenBLAS read their thread count at start-up) and reports each
model's best. Prints one JSON object on stdout.
"""
import argparse
import json
import os
import subprocess
import sys
import time

MODELS = {
    "A": dict(sizes=[784, 100, 100, 10], act="relu", loss="ce", opt=("adam", 0.01), batch=100),
    "B": dict(sizes=[784, 500, 400, 300, 200, 100, 50, 10], act="leaky", loss="ce", opt=("adam", 1e-3), batch=256),
    "C": dict(sizes=[2, 10, 10, 10, 1], act="sigmoid", loss="bce", opt=("sgd", 1.0), batch=4),
    "D": dict(sizes=[64, 32, 16, 10], act="relu", loss="ce", opt=("adam", 1e-3), batch=1437),
}


def build(torch, name, device, capturable):
    m = MODELS[name]
    nn = torch.nn
    act = {"relu": nn.ReLU, "leaky": lambda: nn.LeakyReLU(0.01), "sigmoid": nn.Sigmoid}[m["act"]]
    layers = []
    sizes = m["sizes"]
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(act())
    if m["loss"] == "bce":
        layers.append(nn.Sigmoid())
    model = nn.Sequential(*layers).to(device)
    g = torch.Generator().manual_seed(777)
    x = (torch.rand(m["batch"], sizes[0], generator=g) * 2 - 1).to(device)
    if m["loss"] == "ce":
        y = torch.randint(0, sizes[-1], (m["batch"],), generator=g).to(device)
        crit = nn.CrossEntropyLoss()
    else:
        y = torch.randint(0, 2, (m["batch"], sizes[-1]), generator=g).float().to(device)
        crit = nn.BCELoss()
    kind, lr = m["opt"]
    if kind == "adam":
        extra = {"capturable": True} if capturable else {}
        opt = torch.optim.Adam(model.parameters(), lr=lr, **extra)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=lr)
    return model, x, y, crit, opt


def time_steps(step, sync, samples, min_sample_s, warmup_s):
    t0 = time.perf_counter()
    calls = 0
    while calls < 2 or time.perf_counter() - t0 < warmup_s:
        step()
        sync()
        calls += 1
    per_call = (time.perf_counter() - t0) / calls
    reps = max(1, int(min_sample_s / max(per_call, 1e-9) + 0.999))
    us = []
    for _ in range(samples):
        s0 = time.perf_counter()
        for _ in range(reps):
            step()
        sync()
        us.append((time.perf_counter() - s0) / reps * 1e6)
    us.sort()
    pick = lambda q: us[int(round(q * (len(us) - 1)))]
    return {"us_per_step": pick(0.5), "p10_us": pick(0.1), "p90_us": pick(0.9)}


def eager_step(model, x, y, crit, opt):
    def step():
        opt.zero_grad(set_to_none=True)
        loss = crit(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def graph_step(torch, model, x, y, crit, opt):
    """The whole step captured as one CUDA graph (PyTorch's documented recipe)."""
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            opt.zero_grad(set_to_none=True)
            crit(model(x), y).backward()
            opt.step()
    torch.cuda.current_stream().wait_stream(s)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        loss = crit(model(x), y)
        loss.backward()
        opt.step()

    def step():
        graph.replay()
        return loss.item()
    return step


def run_one(args):
    import torch
    torch.set_num_threads(args.threads)
    device = "cuda" if args.device == "cuda" else "cpu"
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    out = {"torch": torch.__version__, "device": device, "threads": args.threads, "models": {}}
    for name in args.models.split(","):
        res = {}
        modes = ["eager"] + (["compile", "cuda-graph"] if device == "cuda" else [])
        for mode in modes:
            if mode == "compile" and not hasattr(torch, "compile"):
                continue
            model, x, y, crit, opt = build(torch, name, device, capturable=(mode == "cuda-graph"))
            if mode == "compile":
                model = torch.compile(model)
            step = graph_step(torch, model, x, y, crit, opt) if mode == "cuda-graph" else eager_step(model, x, y, crit, opt)
            res[mode] = time_steps(step, sync, args.samples, args.min_sample_ms / 1e3, args.warmup_ms / 1e3)
            res[mode]["samples_per_second"] = MODELS[name]["batch"] / (res[mode]["us_per_step"] * 1e-6)
        out["models"][name] = res
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="A,B,C,D")
    ap.add_argument("--threads", default="1,2", help="thread counts to try; each model reports its best")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--samples", type=int, default=15)
    ap.add_argument("--min-sample-ms", type=float, default=2.0)
    ap.add_argument("--warmup-ms", type=float, default=200.0)
    args = ap.parse_args()
    counts = [int(t) for t in args.threads.split(",")]
    if len(counts) == 1:
        args.threads = counts[0]
        print(json.dumps(run_one(args)))
        return
    runs = []
    for t in counts:
        env = dict(os.environ, OMP_NUM_THREADS=str(t), OPENBLAS_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t))
        argv = [sys.executable, __file__, "--threads", str(t), "--models", args.models, "--device", args.device,
                "--samples", str(args.samples), "--min-sample-ms", str(args.min_sample_ms),
                "--warmup-ms", str(args.warmup_ms)]
        runs.append(json.loads(subprocess.run(argv, env=env, check=True, capture_output=True, text=True).stdout))
    best = {"torch": runs[0]["torch"], "device": runs[0]["device"], "threads_tried": counts, "models": {}}
    for name in args.models.split(","):
        best["models"][name] = {}
        for mode in runs[0]["models"][name]:
            pick = min(runs, key=lambda r: r["models"][name][mode]["us_per_step"])
            best["models"][name][mode] = dict(pick["models"][name][mode], threads=pick["threads"])
    print(json.dumps(best))


if __name__ == "__main__":
    main()
