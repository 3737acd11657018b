#!/usr/bin/env python3
"""A model written by `cumlp train` opens with Python's `safetensors` package (SPEC §4).

usage: check_checkpoint_with_safetensors.py CUMLP WORKDIR
Trains fashion-small for one epoch into WORKDIR, then reads WORKDIR/model.safetensors
with safetensors.numpy.load_file and safe_open: PyTorch tensor names and shapes,
float32, and the cumlp metadata (format, spec as JSON).
Exit 77 (CTest: skipped) when the Fashion-MNIST files are absent.
"""
import json
import os
import subprocess
import sys

FASHION = "/usr/share/datasets/fashion-mnist"


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


try:
    import numpy as np
    from safetensors import safe_open
    from safetensors.numpy import load_file
except ImportError as e:
    fail(f"{e} (with {sys.executable}): run tools/setup.sh to install the Python packages safetensors and numpy")

cli, workdir = sys.argv[1], sys.argv[2]
if not os.path.exists(os.path.join(FASHION, "train-images-idx3-ubyte.gz")):
    print(f"SKIP: {FASHION} absent (Debian package dataset-fashion-mnist)")
    sys.exit(77)

run = subprocess.run([cli, "--json", "train", "--preset", "fashion-small", "--epochs", "1", "--device", "cpu",
                      "--quiet", "--out", workdir], capture_output=True, text=True)
if run.returncode != 0:
    fail(f"cumlp train exited {run.returncode}: {run.stderr}")
path = json.loads(run.stdout)["model"]

tensors = load_file(path)
expected = {
    "layers.0.weight": (100, 784), "layers.0.bias": (100,),
    "layers.1.weight": (100, 100), "layers.1.bias": (100,),
    "layers.2.weight": (10, 100), "layers.2.bias": (10,),
}
for name, shape in expected.items():
    if name not in tensors:
        fail(f"{path}: no tensor {name} (has {sorted(tensors)})")
    t = tensors[name]
    if t.shape != shape or t.dtype != np.float32:
        fail(f"{name}: {t.dtype} {t.shape}, expected float32 {shape}")
    if not np.all(np.isfinite(t)):
        fail(f"{name}: non-finite values")
# Besides the layers, only the optimizer's flat moments (for resuming).
params = sum(int(np.prod(s)) for s in expected.values())
for name in set(tensors) - set(expected):
    if name not in ("optimizer.exp_avg", "optimizer.exp_avg_sq") or tensors[name].shape != (params,):
        fail(f"unexpected tensor {name} {tensors[name].shape}")

with safe_open(path, framework="numpy") as f:
    meta = f.metadata()
if meta.get("format") != "cumlp-checkpoint-1":
    fail(f"metadata format {meta.get('format')!r}")
spec = json.loads(meta["spec"])
if spec.get("input") != 784 or spec.get("loss") != "cross-entropy":
    fail(f"spec {spec}")
outs = [layer["out"] for layer in spec["layers"] if layer["kind"] == "linear"]
if outs != [100, 100, 10]:
    fail(f"spec linear widths {outs}, expected [100, 100, 10]")
print(f"OK: {path}: {len(tensors)} tensors, spec {outs}")
