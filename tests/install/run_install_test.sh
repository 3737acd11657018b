#!/usr/bin/env bash
# Installs the built tree into a temporary prefix, builds tools/examples against
# it with find_package(cumlp) as a user would, and runs the examples.
# Also checks the shared library exports only the public API.
set -euo pipefail
build_dir=$1; source_dir=$2
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" > /dev/null
lib=$(ls "$work"/prefix/lib*/libcumlp.so.* | head -n1)
[ -e "$work"/prefix/lib*/libcumlp.so ] || { echo "no libcumlp.so symlink installed"; exit 1; }
readelf -d "$lib" | grep -q "SONAME.*libcumlp.so.0" || { echo "libcumlp has no SONAME libcumlp.so.0.x"; exit 1; }
# Hidden by default: only the public cumlp:: API is exported, no internals
# (cumlp::cpu::, Executor, Plan) and no standard-library instantiations.
exported=$(nm -D -C --defined-only "$lib" | cut -d' ' -f3-)
if grep -E "^cumlp::(cpu::|Executor|Plan::|detail::)" <<<"$exported" ||
   grep -v -E "^(cumlp::|typeinfo (name )?for cumlp::|vtable for cumlp::)" <<<"$exported"; then
  echo "internal symbols are exported from $lib"; exit 1
fi
grep -q "cumlp::Network::train_step" <<<"$exported" || { echo "public API not exported"; exit 1; }
cmake -S "$source_dir/tools/examples" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" > /dev/null
cmake --build "$work/build" -j2 > /dev/null
"$work/build/xor_mlp"
"$work/build/backprop_step"
if [ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  (cd "$work" && "$work/build/fashion_small")   # the README's example
fi
echo "install test: ok"
