#!/usr/bin/env bash
# tools/gpu_bundle.sh and tools/gpu_check.sh from this build: without a GPU
# the check runs on sim and passes; a failing check makes it exit non-zero
# with passed=false in its report, and the other checks still run.
set -euo pipefail
build=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bash "$src/tools/gpu_bundle.sh" --build "$build" "$work/bundle" > "$work/bundle.log" 2>&1 ||
  { cat "$work/bundle.log"; exit 1; }
OUT="$work/ok" bash "$src/tools/gpu_check.sh" "$work/bundle" > "$work/ok.log" 2>&1 || { cat "$work/ok.log"; exit 1; }
python3 - "$work/ok/report.json" << 'PY'
import json, sys
r = json.load(open(sys.argv[1]))
names = {c["check"]: c["status"] for c in r["checks"]}
assert r["passed"], r
for must in ("info", "op_table", "same_bits_twice", "bench"):
    assert names.get(must) == "pass", (must, names)
assert any(n.startswith("test_") for n in names), names
assert names.get("nccl_one_rank") == "skip", names  # listed, and needs a GPU
PY
printf '#!/bin/sh\necho planted failure; exit 1\n' > "$work/bundle/bin/planted_failure"
chmod +x "$work/bundle/bin/planted_failure"
if OUT="$work/bad" bash "$src/tools/gpu_check.sh" "$work/bundle" > "$work/bad.log" 2>&1; then
  cat "$work/bad.log"; echo "gpu_check passed with a failing check"; exit 1
fi
python3 - "$work/bad/report.json" << 'PY'
import json, sys
r = json.load(open(sys.argv[1]))
names = {c["check"]: c["status"] for c in r["checks"]}
assert not r["passed"] and names["test_planted_failure"] == "fail", names
assert names["same_bits_twice"] == "pass" and names["bench"] == "pass", names  # it went on after the failure
PY
echo "gpu scripts: sim fallback passes, a planted failure fails the run and the rest still runs"
