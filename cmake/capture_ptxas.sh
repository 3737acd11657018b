#!/bin/sh
# CUDA compiler launcher of cumlp_obj (cuda/CMakeLists.txt): runs the nvcc
# command it is given and keeps ptxas's resource report (-Xptxas=-v, on
# stderr) next to the object as <object>.ptxas, for cmake/kernel_resources.cmake.
# The report still reaches the build log; nvcc's exit status is kept.
out=""
prev=""
for arg in "$@"; do
  [ "$prev" = "-o" ] && out="$arg"
  prev="$arg"
done
if [ -z "$out" ]; then exec "$@"; fi
"$@" 2>"$out.ptxas"
status=$?
cat "$out.ptxas" >&2
exit $status
