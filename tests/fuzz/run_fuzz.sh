#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) and runs each for a bounded
# time, starting from its seed corpus in tests/fuzz/corpus/<target>/.
#
#   tests/fuzz/run_fuzz.sh [--seconds N] [--build-dir DIR] [--jobs J] [target...]
#
# New inputs the fuzzer finds go to DIR/corpus/<target>/ (the seeds in the
# repository stay untouched); a crash leaves DIR/crash-<target>-* and makes
# the script exit non-zero. Each target's last libFuzzer status line (execs,
# coverage) is printed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seconds=60
build=${here}/../../build-fuzz
jobs=2
targets=()
while (($#)); do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || targets=(idx cifar csv safetensors layer_spec)
cxx=${CXX:-}
if [[ -z $cxx || $cxx != *clang* ]]; then cxx=$(command -v clang++-14 || command -v clang++ || true); fi
[[ -n $cxx ]] || { echo "run_fuzz: clang++ not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 1; }

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$here" -B "$build" "${generator[@]}" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$jobs" >/dev/null

status=0
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t"
  log=$build/fuzz_$t.log
  # -rss_limit_mb / -malloc_limit_mb: an input that makes a parser allocate
  # more than 1 GB is a finding (sizes must be checked before allocating).
  if ASAN_OPTIONS=detect_leaks=1 "$build/fuzz_$t" "$build/corpus/$t" "$here/corpus/$t" \
       -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=16384 \
       -artifact_prefix="$build/crash-$t-" -print_final_stats=1 >"$log" 2>&1; then
    :
  else
    echo "run_fuzz: $t FAILED (log: $log)"; tail -30 "$log"; status=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 || true)
  echo "fuzz_$t: ${seconds}s, $execs executions, $cov, corpus $(ls "$build/corpus/$t" | wc -l) new inputs"
done
exit $status
