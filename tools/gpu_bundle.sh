#!/usr/bin/env bash
# Packs what a short session on a GPU machine needs into DIR (inside the
# checkout, git-ignored as /gpu-bundle*/), so DIR travels with the work tree:
#
#   bash tools/gpu_bundle.sh gpu-bundle     then, on the GPU machine:
#   bash tools/gpu_check.sh gpu-bundle
#   bash tools/gpu_bundle.sh --build build DIR   reuse a configured build folder
#                                                as it is (the test suite does)
#
# DIR/bin: the cumlp CLI and the test programs labelled `cuda`, built here in
# Release for sm_80 and sm_90 (build-gpu/, every option stated); DIR/lib:
# libcumlp.so and every shared library they load that is neither glibc, the
# dynamic loader, nor part of the CUDA driver or toolkit (the GPU machine has
# those; libnccl.so.2 is not linked but dlopen'd, and never bundled: it is
# 208 MiB, 182 MiB xz-packed, past what the device tool carries, so
# gpu_check.sh finds it on the GPU machine); DIR/data: the digits CSV the
# checks train on. The programs find
# DIR/lib through an $ORIGIN rpath. Without nvcc the bundle holds the sim
# build (a bundle for a sim-only check, said in DIR/BUILD).
set -euo pipefail
cd "$(dirname "$0")/.."
build=""
if [[ "${1:-}" == --build ]]; then
  build=${2:?--build needs a build folder}
  shift 2
fi
dir=${1:?usage: tools/gpu_bundle.sh [--build BUILD] DIR (e.g. gpu-bundle, inside the checkout)}
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
case "$dir/" in "$PWD"/gpu-bundle*/) ;; *)
  echo "note: $dir is not a gpu-bundle* folder of this checkout: it will not travel with the work tree" >&2 ;;
esac

if [[ -z "$build" ]]; then
  cuda=OFF
  command -v nvcc > /dev/null && cuda=ON
  build=build-gpu
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCUMLP_CUDA=$cuda -DCUMLP_SIM=ON -DCUMLP_TESTS=ON \
    -DCUMLP_BENCH=ON -DCUMLP_SANITIZE=OFF -DCUMLP_CUDA_ARCHITECTURES="80;90" > /dev/null
fi
[[ -f "$build/CMakeCache.txt" ]] || { echo "error: $build is not a configured build folder" >&2; exit 2; }
cuda=$(sed -n 's/^CUMLP_CUDA:BOOL=//p' "$build/CMakeCache.txt")
cmake --build "$build" -j"$(nproc)"

# The test programs with a `cuda` label, as ctest knows them (robust to renames).
# (Test programs built here; scripts such as the CLI's op-table check are left out.)
mapfile -t tests < <(ctest --test-dir "$build" -L cuda --show-only=json-v1 | python3 -c '
import json, os, sys
build = os.path.realpath(sys.argv[1])
cmds = {t["command"][0] for t in json.load(sys.stdin)["tests"] if t.get("command")}
print("\n".join(sorted(c for c in cmds if os.path.realpath(c).startswith(build + os.sep))))' "$build")
[[ ${#tests[@]} -gt 0 ]] || { echo "error: ctest lists no test labelled cuda in $build" >&2; exit 1; }

rm -rf "$dir"
mkdir -p "$dir/bin" "$dir/lib" "$dir/data"
cp "$build/tools/cli/cumlp" "$dir/bin/"
for t in "${tests[@]}"; do cp "$t" "$dir/bin/"; done
lib=$(readlink -f "$build/libcumlp.so")
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
cp "$lib" "$dir/lib/$soname"
ln -s "$soname" "$dir/lib/libcumlp.so"
cp /usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz "$dir/data/"
cp bench/baselines/torch_mlp.py "$dir/"

# Shared libraries the programs load, less glibc, the loader and CUDA's own.
# OpenMPI's libraries travel (~3 MiB): cumlp links libmpi, and the GPU machine
# may have no OpenMPI; a process started alone never initializes MPI. mpirun does
# not travel, so gpu_check.sh's NCCL rank takes the file route.
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libutil\.so|libresolv\.so|libcuda\.so|libcudart|libcublas|libcublasLt|libnvidia|libnccl)'
for f in "$dir"/bin/*; do
  ldd "$f" | awk '/=> \//{print $1, $3}'
done | sort -u | while read -r name path; do
  [[ "$name" =~ $skip ]] && continue
  [[ "$name" == libcumlp.so* ]] && continue  # copied above
  cp -L "$path" "$dir/lib/$name"
done

strip --strip-unneeded "$dir"/bin/* "$dir"/lib/*.so* 2> /dev/null || true
if command -v patchelf > /dev/null; then
  for f in "$dir"/bin/*; do [[ -x "$f" && ! "$f" == *.py ]] && patchelf --set-rpath '$ORIGIN/../lib' "$f"; done
fi
{
  echo "built $(date -u +%FT%TZ) from $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes')"
  echo "cuda=$cuda architectures=$(sed -n 's/^CUMLP_CUDA_ARCHITECTURES:STRING=//p' "$build/CMakeCache.txt")"
  echo "nccl=$(sed -n 's/^CUMLP_NCCL:BOOL=//p' "$build/CMakeCache.txt")"
  echo "tests: ${tests[*]##*/}"
} > "$dir/BUILD"
# OpenBLAS alone is ~35 MiB and each test program ~10 MiB (the kernels for two
# architectures): past 40 MiB the libraries and the test programs travel
# xz-packed, the CLI left out so the bundle stays recognisable (gpu_check.sh
# unpacks them on first use).
if (($(du -sm "$dir" | cut -f1) > 40)); then
  packed=(lib)
  for t in "${tests[@]}"; do packed+=("bin/${t##*/}"); done
  XZ_OPT="-1 -T0" tar -C "$dir" -cJf "$dir/payload.tar.xz" "${packed[@]}"
  rm -rf "${packed[@]/#/$dir/}"
fi
size=$(du -sm "$dir" | cut -f1)
tracked=$(git ls-files -z | xargs -0 du -cm 2> /dev/null | tail -1 | cut -f1)
echo "bundle $dir: ${size} MiB (+ ${tracked} MiB tracked tree; the device tool carries 64 MiB in all)"
if ((size + tracked > 64)); then
  echo "error: bundle plus tracked tree exceed 64 MiB" >&2
  exit 1
fi
