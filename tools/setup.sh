#!/usr/bin/env bash
# Installs everything cumlp needs to build, test and run on Debian 12 (as root).
# All from Debian's packages, plus from PyPI the Python packages the tests use
# to read checkpoints (safetensors, numpy), the Python extension's build
# tools (nanobind, scikit-build-core; not packaged in Debian 12) and, best
# effort, a CPU jax for the DLPack tests. Idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(
  build-essential cmake ninja-build pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev
  libboost-context-dev librandom123-dev libcli11-dev nlohmann-json3-dev
  libopenblas-dev libopenblas0-pthread zlib1g-dev libpng-dev gnuplot-nox
  dataset-fashion-mnist python3-sklearn python3-pip
  python3-dev python3-venv python3-pytest python3-tqdm  # the Python package (tools/python), its tests, fit(verbose=True)'s bar
  clang-14 libclang-rt-14-dev  # libFuzzer targets (tests/fuzz)
  patchelf xz-utils  # tools/gpu_bundle.sh: the bundle's rpath, its packed libraries
  libopenmpi-dev openmpi-bin  # data-parallel training under mpirun (tests/dist)
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
py=${PYTHON:-python3}
if ! "$py" -c "import safetensors, numpy" 2>/dev/null; then
  "$py" -m pip install -q safetensors numpy 2>/dev/null || "$py" -m pip install -q --break-system-packages safetensors numpy
fi
if ! "$py" -c "import nanobind, scikit_build_core" 2>/dev/null; then
  "$py" -m pip install -q nanobind scikit-build-core 2>/dev/null ||
    "$py" -m pip install -q --break-system-packages nanobind scikit-build-core
fi
# A CPU JAX for the DLPack tests (tools/python/tests/test_jax_inputs.py),
# best effort: they skip without it. jax/jaxlib 0.4.30 is the newest pair that
# takes numpy 1.24 and scipy 1.10 (Debian 12's): the constraints keep pip from
# replacing them (the latest ml_dtypes would pull numpy 2). ~80 MB, ~15 s.
if ! "$py" -c "import jax" 2>/dev/null; then
  pins=$(mktemp)
  "$py" -c "import numpy; print('numpy==' + numpy.__version__)" >"$pins"
  "$py" -c "import scipy; print('scipy==' + scipy.__version__)" >>"$pins" 2>/dev/null || true
  { "$py" -m pip install -q -c "$pins" jax==0.4.30 jaxlib==0.4.30 2>/dev/null ||
    "$py" -m pip install -q --break-system-packages -c "$pins" jax==0.4.30 jaxlib==0.4.30; } ||
    echo "setup: jax not installed (optional: the JAX DLPack tests will skip)"
  rm -f "$pins"
fi
echo "setup: dependencies present"
