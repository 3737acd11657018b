#!/usr/bin/env bash
# `cumlp check --device cuda` (the whole op table on the GPU, with the own GEMM
# by default, then with cuBLASLt turned on by CUMLP_CUBLASLT=1) when
# this build and machine have a usable GPU; otherwise skipped (exit 77) with
# the reason `cumlp info` gives, so ctest lists it as skipped, not absent.
set -uo pipefail
cli=$1
why=$("$cli" info --json 2> /dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
gpus = [x for x in d["devices"] if x["name"].startswith("cuda")]
print("" if any(x["available"] for x in gpus) else (gpus[0].get("why_not", "?") if gpus else "no cuda device listed"))')
if [[ -n "$why" ]]; then
  echo "skipped: no usable GPU here: $why"
  exit 77
fi
"$cli" check --device cuda || exit 1
CUMLP_CUBLASLT=1 exec "$cli" check --device cuda
