#!/usr/bin/env bash
# Everything worth knowing the first time cumlp meets a GPU, in one run from a
# bundle made by tools/gpu_bundle.sh (default DIR: gpu-bundle):
#
#   bash tools/gpu_check.sh [DIR]
#
# Checks, each timed and never stopping the others: `cumlp info`; `cumlp
# check` (the op table) with cuBLASLt off (the default) and on; the test programs labelled
# cuda; compute-sanitizer memcheck, racecheck and synccheck on a short
# training run (when compute-sanitizer is there); two identical training runs
# compared bit for bit; a 1-rank NCCL run (the --dist-init file: route, with
# the variables srun -n 1 would set) against the same run alone, when the
# build has NCCL and a libnccl.so.2 is found; `cumlp bench --json`; the
# PyTorch baseline (when torch imports). Writes report.json and report.md under $OUT when set (else
# DIR/report) and exits 0 when every check that could run passed.
#
# Without a usable GPU it says so in one line and runs the same checks on the
# `sim` device in their quick form (no GPU is not a failure), which is how CI
# keeps this script working.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-gpu-bundle}
[[ -x "$dir/bin/cumlp" ]] || { echo "error: $dir/bin/cumlp not found: run tools/gpu_bundle.sh $dir first" >&2; exit 2; }
dir=$(cd "$dir" && pwd)
if [[ ! -d "$dir/lib" && -f "$dir/payload.tar.xz" ]]; then
  tar -C "$dir" -xJf "$dir/payload.tar.xz" || { echo "error: cannot unpack $dir/payload.tar.xz" >&2; exit 2; }
fi
report=${OUT:-$dir/report}
mkdir -p "$report"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export LD_LIBRARY_PATH="$dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
for cuda_lib in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
  [[ -d "$cuda_lib" ]] && LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$cuda_lib"
done
cumlp="$dir/bin/cumlp"

# ---- the device --------------------------------------------------------------
"$cumlp" info --json > "$report/info.json" 2> "$report/info.log"
gpu=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(next((x["name"] for x in d["devices"] if x["name"].startswith("cuda") and x["available"]), ""))' "$report/info.json" 2> /dev/null)
if [[ -n "$gpu" ]]; then
  device=$gpu quick=""
  echo "gpu_check: GPU $gpu: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(next(x["description"] for x in d["devices"] if x["name"]==sys.argv[2]))' "$report/info.json" "$gpu")"
else
  device=sim quick=1
  echo "gpu_check: no usable GPU here ($(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(next((x.get("why_not","") for x in d["devices"] if x["name"].startswith("cuda")), "no cuda device listed"))' "$report/info.json")); running the quick checks on sim"
fi

# ---- one check: name, then the command; status pass/fail/skip with its log ---
results=()
check() {
  local name=$1; shift
  local t0=$(date +%s.%N) status
  if "$@" > "$report/$name.log" 2>&1; then status=pass; else status=fail; fi
  local secs=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)")
  results+=("$name|$status|$secs|$*")
  printf '  %-28s %-5s %6ss\n' "$name" "$status" "$secs"
}
# Runs a command with its stdout (one JSON object) into a file.
json_to() {
  local file=$1; shift
  "$@" > "$file"
}
skip() {
  results+=("$1|skip|0|$2")
  printf '  %-28s skip   (%s)\n' "$1" "$2"
}

check info "$cumlp" info
check op_table json_to "$report/op_table.json" "$cumlp" check --device "$device" --json
if [[ -n "$gpu" ]]; then
  # cuBLASLt is off by default (CUMLP_CUBLASLT=1 turns it on): check its path too.
  check op_table_cublaslt json_to "$report/op_table_cublaslt.json" env CUMLP_CUBLASLT=1 \
    "$cumlp" check --device "$device" --json
else
  skip op_table_cublaslt "cuBLASLt exists only on a GPU"
fi

for t in "$dir"/bin/*; do
  name=${t##*/}
  [[ "$name" == cumlp ]] && continue
  if [[ -n "$quick" ]]; then
    # sim: the quick form, one schedule (the full sweep runs in the suite)
    check "test_$name" env CUMLP_SIM_SCHEDULE=forward "$t" --gtest_brief=1
  else
    check "test_$name" "$t" --gtest_brief=1
  fi
done

train=(--layers 64-32-16-10 --dataset digits --data-dir "$dir/data" --epochs 3 --batch-size 64 --seed 5 --quiet --json)
if [[ -n "$gpu" ]] && command -v compute-sanitizer > /dev/null; then
  for tool in memcheck racecheck synccheck; do
    check "sanitizer_$tool" compute-sanitizer --tool "$tool" --error-exitcode 9 "$cumlp" train "${train[@]}" \
      --epochs 1 --device "$device" --out "$work/san_$tool"
  done
else
  skip sanitizers "${gpu:+compute-sanitizer not found}${gpu:-no GPU}"
fi

same_bits() {
  "$cumlp" train "${train[@]}" --device "$device" --out "$work/run1" > "$work/run1.json" &&
    "$cumlp" train "${train[@]}" --device "$device" --out "$work/run2" > "$work/run2.json" &&
    cmp "$work/run1/model.safetensors" "$work/run2/model.safetensors" &&
    python3 - "$work/run1.json" "$work/run2.json" << 'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["train_loss"] == b["train_loss"], (a["train_loss"], b["train_loss"])
print("same model bytes and loss curve:", a["train_loss"])
EOF
}
check same_bits_twice same_bits

# NCCL: libnccl.so.2 is loaded at run time and never bundled (208 MiB; 182
# MiB xz-packed, past what the device tool carries). It is taken from the
# system, else from PyTorch's nvidia-nccl wheel when python3 has one.
nccl_dir=""
if ! ldconfig -p 2> /dev/null | grep -q 'libnccl\.so\.2 '; then
  nccl_dir=$(python3 -c 'import nvidia.nccl, os, sys
for p in nvidia.nccl.__path__:
    if os.path.exists(os.path.join(p, "lib", "libnccl.so.2")): print(os.path.join(p, "lib")); break' 2> /dev/null)
fi
# One rank through the nccl communicator (the file rendezvous, the gradient
# sum on the GPU, the loss over NCCL) against the same run alone: a 1-rank sum
# scales by 1 and adds nothing, so the loss curves agree to 1e-5 relative. Both
# replay recorded steps: the distributed one's graph holds the ncclAllReduce
# calls (stream-ordered on the backend's side stream, one per layer beside
# backward; host/executor/executor_dist.cpp), so this also runs NCCL's capture.
nccl_one_rank() {
  "$cumlp" train "${train[@]}" --device "$device" --out "$work/alone" > "$work/alone.json" &&
    env ${nccl_dir:+LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$nccl_dir"} SLURM_JOB_ID="gpucheck$$" SLURM_STEP_ID=0 \
      SLURM_NTASKS=1 SLURM_PROCID=0 SLURM_LOCALID=0 "$cumlp" train "${train[@]}" --device "$device" \
      --dist-init "file:$work/nccl-id" --dist-timeout 60 --out "$work/nccl1" > "$work/nccl1.json" &&
    python3 - "$work/alone.json" "$work/nccl1.json" << 'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert b["communicator"] == "nccl" and b["world_size"] == 1, (b["communicator"], b["world_size"])
assert len(a["train_loss"]) == len(b["train_loss"])
for x, y in zip(a["train_loss"], b["train_loss"]):
    assert abs(x - y) <= 1e-5 * abs(x), (a["train_loss"], b["train_loss"])
print("nccl, 1 rank: loss curve", b["train_loss"], "alone:", a["train_loss"],
      "(bit-identical)" if a["train_loss"] == b["train_loss"] else "(within 1e-5)")
EOF
}
if [[ -z "$gpu" ]]; then
  skip nccl_one_rank "no GPU"
elif ! grep -q '^nccl=ON' "$dir/BUILD" 2> /dev/null; then
  skip nccl_one_rank "the bundle was built without NCCL (CUMLP_NCCL)"
elif [[ -z "$nccl_dir" ]] && ! ldconfig -p 2> /dev/null | grep -q 'libnccl\.so\.2 '; then
  skip nccl_one_rank "no libnccl.so.2 here (system or python3's nvidia-nccl wheel)"
else
  check nccl_one_rank nccl_one_rank
fi

if [[ -n "$quick" ]]; then
  check bench json_to "$report/bench.json" "$cumlp" bench --device "$device" --json --quick --steps-only --models A
else
  check bench json_to "$report/bench.json" "$cumlp" bench --device "$device" --json
fi
if [[ -n "$gpu" ]] && python3 -c 'import torch; assert torch.cuda.is_available()' 2> /dev/null; then
  check torch_baseline json_to "$report/torch_baseline.json" python3 "$dir/torch_mlp.py" --device cuda --threads 1
else
  skip torch_baseline "${gpu:+torch with CUDA not importable}${gpu:-no GPU}"
fi

# ---- the report --------------------------------------------------------------
printf '%s\n' "${results[@]}" > "$work/results"
python3 - "$report" "$device" "$(head -1 "$dir/BUILD" 2> /dev/null)" "$work/results" << 'EOF'
import json, sys
out, device, build, results = sys.argv[1:5]
rows = []
for line in open(results).read().splitlines():
    name, status, secs, cmd = line.split("|", 3)
    rows.append({"check": name, "status": status, "seconds": float(secs), "command": cmd})
ok = all(r["status"] != "fail" for r in rows)
json.dump({"device": device, "bundle": build, "passed": ok, "checks": rows}, open(f"{out}/report.json", "w"), indent=2)
with open(f"{out}/report.md", "w") as f:
    f.write(f"# gpu_check on {device}\n\n{build}\n\n| check | status | seconds |\n|---|---|---|\n")
    for r in rows:
        f.write(f"| {r['check']} | {r['status']} | {r['seconds']:.1f} |\n")
    f.write(f"\n{'all checks that ran passed' if ok else 'FAILED: see the .log of each failed check'}\n")
print(open(f"{out}/report.md").read())
sys.exit(0 if ok else 1)
EOF
