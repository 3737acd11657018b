"""Shared data and paths for the cumlp Python tests.

CUMLP_CLI names the `cumlp` binary (tools/test.sh sets it to the build's);
without it the tests that compare with the CLI look in build/tools/cli/.
"""
import os
import pathlib

import numpy as np
import pytest

import cumlp

ROOT = pathlib.Path(__file__).resolve().parents[3]
FASHION_DIR = "/usr/share/datasets/fashion-mnist"


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("CUMLP_CLI") or str(ROOT / "build" / "tools" / "cli" / "cumlp")
    if not os.access(path, os.X_OK):
        if os.environ.get("CUMLP_CLI"):
            pytest.fail(f"CUMLP_CLI={path} is not an executable")
        pytest.skip(f"no cumlp binary at {path} (set CUMLP_CLI)")
    return path


@pytest.fixture(scope="session")
def digits():
    """(X float32 [1797, 64] in 0..16, y int) from scikit-learn's digits.csv.gz."""
    d = cumlp.load_digits()
    return d.x, d.labels.astype(np.int64)


@pytest.fixture(scope="session")
def fashion():
    """Fashion-MNIST: (X_train, y_train, X_test, y_test), pixels /255 as float32,
    exactly as the core's loader scales them (the product in double, rounded once)."""
    if not os.path.isdir(FASHION_DIR):
        pytest.fail(f"{FASHION_DIR} is missing: run tools/setup.sh (Debian's dataset-fashion-mnist)")
    tr = cumlp.load_mnist_dir(FASHION_DIR, "train", fashion=True)
    te = cumlp.load_mnist_dir(FASHION_DIR, "test", fashion=True)
    return tr.x, tr.labels, te.x, te.labels
