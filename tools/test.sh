#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine (as root): installs what is
# needed, builds, runs every test; then the same suite once more built with
# AddressSanitizer + UndefinedBehaviorSanitizer (CPU and simulator code).
#   bash tools/test.sh            everything
#   bash tools/test.sh --no-asan  skip the sanitizer build
#   PYTHON=/path/to/python3 ...   the interpreter for the Python package and its tests (default: Debian's)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
asan=1
[ "${1:-}" = "--no-asan" ] && asan=0

source tools/configure.sh
# Debian's interpreter by default: Debian's numpy, scikit-learn and pytest are
# installed for it (a python3 earlier on PATH, e.g. pyenv's, may lack them).
export PYTHON=${PYTHON:-$([ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)}
bash tools/setup.sh

echo "== release build (CUDA kernels compiled with nvcc when it is present; the Python extension) =="
configure_tests build
cmake --build build -j"$jobs"
# --no-tests=error: a build folder without tests must fail, not pass with "No tests were found".
ctest --test-dir build -j"$jobs" --output-on-failure --timeout 600 --no-tests=error

echo "== Python package (the extension built above, importable from build/python) =="
CUMLP_CLI="$PWD/build/tools/cli/cumlp" PYTHONPATH="$PWD/build/python" \
  "$PYTHON" -m pytest tools/python/tests -q -p no:cacheprovider --junitxml=build/pytest.xml

if [ "$asan" = 1 ]; then
  echo "== AddressSanitizer + UndefinedBehaviorSanitizer build =="
  # nvcc objects are not instrumented, so this build is CPU + simulator only;
  # the install test links user programs without the sanitizer runtime, and
  # the fuzz smoke test builds its own ASan-instrumented fuzzers in the first run.
  configure_sanitized_tests build-asan
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan -j"$jobs" --output-on-failure --timeout 900 --no-tests=error -LE "install|fuzz"
fi
