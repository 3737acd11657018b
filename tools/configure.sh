# The CMake configurations of the project's scripts, sourced by quickstart.sh,
# test.sh and .ci/check_script_order.sh. Each names every option it depends
# on: CMake keeps options in the build folder's cache, so one left out keeps
# whatever an earlier configure of the same folder chose (the quickstart's
# CUMLP_TESTS=OFF once left test.sh with no tests to run). CUMLP_CUDA is
# reset (-U) so that it follows "on when nvcc is found" every time.

# The library and the cumlp tool (no tests, no benchmarks), optimised.
configure_app() {
  cmake -S . -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=Release -UCUMLP_CUDA -DCUMLP_SIM=ON \
    -DCUMLP_TESTS=OFF -DCUMLP_BENCH=OFF -DCUMLP_SANITIZE=OFF -DCUMLP_PYTHON=OFF
}

# Everything, with the test suite and the Python extension for $PYTHON
# (default Debian's python3, which tools/setup.sh equips), optimised (CUDA
# kernels when nvcc is present).
configure_tests() {
  cmake -S . -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=Release -UCUMLP_CUDA -DCUMLP_SIM=ON \
    -DCUMLP_TESTS=ON -DCUMLP_BENCH=ON -DCUMLP_SANITIZE=OFF \
    -DCUMLP_PYTHON=ON -DPython_EXECUTABLE="$(command -v "${PYTHON:-/usr/bin/python3}")"
}

# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer, CPU and
# simulator only (see test.sh).
configure_sanitized_tests() {
  cmake -S . -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCUMLP_CUDA=OFF -DCUMLP_SIM=ON \
    -DCUMLP_TESTS=ON -DCUMLP_BENCH=ON -DCUMLP_SANITIZE=ON -DCUMLP_PYTHON=OFF
}
