#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine (as root): installs what is
# needed, builds, runs every test; then the same suite once more built with
# AddressSanitizer + UndefinedBehaviorSanitizer (CPU and simulator code).
#   bash tools/test.sh            everything
#   bash tools/test.sh --no-asan  skip the sanitizer build
#   PYTHON=/path/to/python3 ...   the interpreter for the Python package and its tests
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
asan=1
[ "${1:-}" = "--no-asan" ] && asan=0

# Debian's interpreter by default: Debian's numpy, scikit-learn and pytest are
# installed for it (a python3 earlier on PATH, e.g. pyenv's, may lack them).
py=${PYTHON:-$([ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)}
PYTHON=$py bash tools/setup.sh

echo "== release build (CUDA kernels compiled with nvcc when it is present; the Python extension) =="
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCUMLP_PYTHON=ON -DPython_EXECUTABLE="$(command -v "$py")"
cmake --build build -j"$jobs"
ctest --test-dir build -j"$jobs" --output-on-failure --timeout 600

echo "== Python package (the extension built above, importable from build/python) =="
CUMLP_CLI="$PWD/build/tools/cli/cumlp" PYTHONPATH="$PWD/build/python" \
  "$py" -m pytest tools/python/tests -q -p no:cacheprovider --junitxml=build/pytest.xml

if [ "$asan" = 1 ]; then
  echo "== AddressSanitizer + UndefinedBehaviorSanitizer build =="
  # nvcc objects are not instrumented, so this build is CPU + simulator only;
  # the install test links user programs without the sanitizer runtime, and
  # the fuzz smoke test builds its own ASan-instrumented fuzzers in the first run.
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCUMLP_SANITIZE=ON -DCUMLP_CUDA=OFF
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan -j"$jobs" --output-on-failure --timeout 900 -LE "install|fuzz"
fi
