#!/bin/sh
# Installs what is needed, builds and runs the whole test suite.
set -eu
cd "$(dirname "$0")/.."
sh scripts/build.sh
cd build
ctest --output-on-failure --parallel "$(nproc)" --timeout 1500
