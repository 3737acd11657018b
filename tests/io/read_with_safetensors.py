#!/usr/bin/env python3
"""Interop of cumlp's safetensors I/O with Python's `safetensors` package, both ways.

usage: read_with_safetensors.py TOOL WORKDIR
TOOL is tests/io/safetensors_interop_tool; EXPECTED below mirrors its fixed set.
1. TOOL writes a file; safetensors (load_file, safe_open) must read the same names,
   dtypes, shapes, values and metadata.
2. safetensors writes the same set (in its own layout order); TOOL must read it back.
"""
import os
import subprocess
import sys


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


try:
    import numpy as np
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file
except ImportError as e:
    fail(f"{e} (with {sys.executable}): run tools/setup.sh to install the Python packages safetensors and numpy")

METADATA = {"format": "pt", "layers": "[784, 100, 10]", "note": "unicode \u2713"}


def expected():
    i32 = np.iinfo(np.int32)
    return {
        "layers.0.weight": ((np.arange(12, dtype=np.float32) - 5) * np.float32(0.25)).reshape(3, 4),
        "layers.0.bias": np.arange(4, dtype=np.float32) * np.float32(1.5) - np.float32(2),
        "stats.f64": (np.arange(6, dtype=np.float64) / 3.0).reshape(2, 3),
        "step": np.array(1234567890123, dtype=np.int64),
        "labels": (np.arange(5, dtype=np.int64) - 2) * (1 << 40),
        "counts": np.array([[i32.min, -1], [0, i32.max]], dtype=np.int32),
        "mask": (np.arange(6) * 50).astype(np.uint8),
        "empty": np.zeros((0, 4), dtype=np.float32),
    }


def check_equal(got, want, origin):
    if sorted(got) != sorted(want):
        fail(f"{origin}: tensor names {sorted(got)} != {sorted(want)}")
    for name, w in want.items():
        g = got[name]
        if g.dtype != w.dtype or g.shape != w.shape:
            fail(f"{origin}: '{name}' is {g.dtype}{g.shape}, expected {w.dtype}{w.shape}")
        if g.tobytes() != w.tobytes():
            fail(f"{origin}: '{name}' values {g.ravel()[:8]} != {w.ravel()[:8]}")


def run_tool(tool, *args):
    result = subprocess.run([tool, *args], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"{os.path.basename(tool)} {' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")


def main():
    if len(sys.argv) != 3:
        fail("usage: read_with_safetensors.py TOOL WORKDIR")
    tool, workdir = sys.argv[1], sys.argv[2]
    os.makedirs(workdir, exist_ok=True)
    want = expected()

    ours = os.path.join(workdir, "written_by_cumlp.safetensors")
    run_tool(tool, "write", ours)
    check_equal(load_file(ours), want, "load_file(cumlp's file)")
    with safe_open(ours, framework="np") as f:
        if f.metadata() != METADATA:
            fail(f"metadata read by safe_open {f.metadata()} != {METADATA}")
        check_equal({k: f.get_tensor(k) for k in f.keys()}, want, "safe_open(cumlp's file)")
    print("safetensors reads cumlp's file: ok")

    theirs = os.path.join(workdir, "written_by_python.safetensors")
    save_file(want, theirs, metadata=METADATA)
    run_tool(tool, "verify", theirs)
    print("cumlp reads safetensors' file: ok")


main()
