#!/usr/bin/env bash
# cumlp against PyTorch on the same machine, in the same run: rounds of
# `cumlp bench --json` and bench/baselines/torch_mlp.py back to back, then a
# table of ratios, bench/results/<date>.json and a PNG bar chart.
#
#   bench/run_baselines.sh [--device cpu] [--rounds 3] [--out DIR] [--build DIR] [--quick]
#
# Installs what it needs and is missing: Debian's python3-torch and
# libopenblas0-pthread (Debian's default reference BLAS is ~10x slower and no
# fair baseline). PyTorch is never needed by the library or its tests.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
device=cpu rounds=3 out="$here/results" build="$root/build-bench" quick=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --device) device=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --quick) quick=--quick; shift ;;
    *) echo "error: unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done

# ---- PyTorch with OpenBLAS -----------------------------------------------------
# Debian's python3-torch lives in /usr/bin/python3's dist-packages; the python3
# first on PATH (pyenv) may not see it. Use the first python that has torch.
find_python() {
  for py in python3 /usr/bin/python3; do
    if command -v "$py" > /dev/null && "$py" -c 'import torch' 2> /dev/null; then echo "$py"; return; fi
  done
}
py=$(find_python)
missing=()
[[ -z "$py" ]] && missing+=(python3-torch)
dpkg -s libopenblas0-pthread > /dev/null 2>&1 || missing+=(libopenblas0-pthread)
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "installing ${missing[*]} (apt)" >&2
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
  $sudo apt-get install -y --no-install-recommends "${missing[@]}" >&2
  py=$(find_python)
fi
[[ -n "$py" ]] || { echo "error: no python with torch after installing python3-torch" >&2; exit 1; }
blas=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2> /dev/null | sed -n 's/^Value: //p')
echo "PyTorch: $("$py" -c 'import torch; print(torch.__version__)') with $py; libblas.so.3 -> ${blas:-unknown}" >&2
[[ "$blas" == *openblas* ]] || echo "warning: libblas.so.3 is not OpenBLAS; PyTorch's CPU GEMM will be slow" >&2

# ---- cumlp -------------------------------------------------------------------------
# Configured once (Release: the numbers are for the optimized library), then
# brought up to date on every run, so a stale binary is never measured.
cli="$build/tools/cli/cumlp"
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCUMLP_CUDA=OFF >&2
fi
cmake --build "$build" -j2 --target cumlp_cli >&2

# ---- rounds: ours then theirs, back to back ------------------------------------------
stem=$(date +%Y-%m-%d_%H%M%S)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
torch_device=cpu; [[ "$device" == cuda* ]] && torch_device=cuda
ours=() theirs=() load=()
# The 1-minute load average at the start and end of each round goes into the
# results: on a shared machine it says what the times were measured under.
loadavg() { cut -d' ' -f1 /proc/loadavg 2> /dev/null || echo "?"; }
for r in $(seq 1 "$rounds"); do
  load_start=$(loadavg)
  # The kernels are benchmarked once, in the first round. On the cpu, cumlp
  # gets what PyTorch gets: OpenBLAS on 1 and on 2 threads, the best per model.
  steps_only=""; [[ $r -gt 1 ]] && steps_only=--steps-only
  group=""
  for t in 1 2; do
    echo "round $r/$rounds: cumlp bench --device $device (OPENBLAS_NUM_THREADS=$t)" >&2
    OPENBLAS_NUM_THREADS=$t "$cli" bench --device "$device" --json $quick $steps_only > "$tmp/ours${r}_t$t.json"
    group+="${group:+,}$tmp/ours${r}_t$t.json"
    steps_only=--steps-only
  done
  echo "round $r/$rounds: PyTorch ($torch_device, threads 1 and 2)" >&2
  "$py" "$here/baselines/torch_mlp.py" --device "$torch_device" ${quick:+--samples 5} > "$tmp/theirs$r.json"
  ours+=("$group") theirs+=("$tmp/theirs$r.json") load+=("$load_start-$(loadavg)")
done
"$py" "$here/compare.py" --out "$out" --stem "$stem" --ours "${ours[@]}" --theirs "${theirs[@]}" \
  --command "bench/run_baselines.sh --device $device --rounds $rounds $quick" --load "${load[@]}"
