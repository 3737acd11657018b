#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine (as root): installs what is needed
# (including the Fashion-MNIST dataset package), builds cumlp, and trains the
# fashion-small preset on the best device available, printing the test
# accuracy and where the model and the plots are.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/configure.sh
bash tools/setup.sh
configure_app build > /dev/null
cmake --build build -j"$(nproc)"
./build/tools/cli/cumlp info
./build/tools/cli/cumlp train --preset fashion-small --device auto --out runs/fashion-small
