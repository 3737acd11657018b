#!/usr/bin/env bash
# The README's order on one machine, cheaply: tools/quickstart.sh configures
# build/ for the app only, then tools/test.sh configures the same folder for
# the test suite. Configures a scratch folder both ways, in that order, without
# building, and fails unless the second configuration has the tests and the
# benchmarks: the scripts' own option lists must decide, not CMake's cache.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/configure.sh
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "error: script order: $*" >&2; exit 1; }

tests_in() { ctest --test-dir "$1" -N | sed -n 's/^Total Tests: //p'; }

configure_app "$dir" > /dev/null
[ "$(tests_in "$dir")" = 0 ] || fail "the quickstart's configuration has tests"
# What test.sh relies on when a folder has none: ctest fails instead of passing.
if ctest --test-dir "$dir" --no-tests=error > /dev/null 2>&1; then
  fail "ctest --no-tests=error passed on a folder without tests"
fi
configure_tests "$dir" > /dev/null
for option in CUMLP_TESTS CUMLP_BENCH; do
  grep -q "^$option:BOOL=ON$" "$dir/CMakeCache.txt" || fail "test.sh's configure after the quickstart's leaves $option off"
done
[ "$(tests_in "$dir")" -gt 0 ] || fail "test.sh's configure after the quickstart's has no tests"
echo "script order: quickstart.sh then test.sh configures the test suite"
