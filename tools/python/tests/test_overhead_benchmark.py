"""tools/python/benchmarks/overhead.py runs (tiny sizes; no timing is
judged here) and its accounting adds up: the binding's GIL-section figures
are consistent with its rate limits, and the parts of a fit sum to the fit."""
import json
import math
import pathlib
import subprocess
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))
from overhead import median_ci  # noqa: E402 (the benchmark's folder on the path first)


def test_median_ci_is_the_sign_test_interval():
    x = [9, 1, 8, 2, 7, 3, 6, 4, 5]
    # n = 9: P(B(9, 1/2) <= 1) = 10/512 <= 0.025 < P(B <= 2) = 46/512, so k = 2: x_(2) .. x_(8)
    assert median_ci(x) == (2, 8, 1 - 2 * 10 / 512)
    assert median_ci(x[:6]) == (1, 9, 1 - 2 / 64)  # n = 6: only the extremes, 96.9 %
    assert median_ci(x[:5]) is None  # n = 5: even the extremes cover only 93.8 %
    # n = 21 at 99 %: P(B(21) <= 4) = 7547/2^21 <= 0.005 < P(B <= 5) = 27896/2^21, so k = 5: x_(5) .. x_(17)
    low, high, coverage = median_ci(range(21), 0.99)
    assert (low, high) == (4, 16) and math.isclose(coverage, 1 - 2 * 7547 / 2**21)


def test_benchmark_runs_and_its_accounting_adds_up(tmp_path, fashion):
    out = tmp_path / "overhead.json"
    epochs = 2
    run = subprocess.run([sys.executable, str(BENCH / "overhead.py"), "--rows", "1000", "--epochs", str(epochs),
                          "--rounds", "2", "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr  # includes: the python and c++ legs' loss curves are the same bits
    assert "Python's share of fit" in run.stdout and "too few rounds for a confidence interval" in run.stdout
    r = json.loads(out.read_text())
    acc = r["accounting"]
    for c in ("cpu", "wall"):
        assert abs(acc[f"parts_sum_error_{c}"]) < 1e-6
        assert 0 < acc[f"own_share_{c}"] < acc[f"share_{c}"] < 1
    for leg in r["runs"]["python"]:
        assert leg["before_wall"] + leg["call_wall"] + leg["after_wall"] == pytest.approx(leg["wall"], abs=1e-6)
        assert 0 < leg["built_wall"] < leg["before_wall"] and 0 <= leg["built_cpu"] <= leg["before_cpu"]
        assert 0 < leg["inside"] < leg["call_wall"]
        # one callback per epoch; polls at most every 50 ms, mid-epoch callbacks at most every 0.2 s
        assert epochs <= leg["sections"] <= epochs + 1 + leg["call_wall"] / 0.05 + leg["call_wall"] / 0.2
        assert len(leg["curve"]) == epochs
    for leg in r["runs"]["c++"]:
        assert leg["sections"] <= 1 + leg["wall"] / 0.05  # polls only (no callback)
        assert (leg["inside"] > 0) == (leg["sections"] > 0)
    assert set(r["paired"]) == {"cpu", "wall"} and r["paired"]["cpu"]["ci"] is None
