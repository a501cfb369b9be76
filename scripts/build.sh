#!/bin/sh
# Configures and builds edm into ./build (idempotent). Extra arguments go to cmake.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
GEN=""
command -v ninja >/dev/null 2>&1 && GEN="-G Ninja"
[ -f build/CMakeCache.txt ] && GEN=""
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release $GEN "$@" >/dev/null
cmake --build build --parallel "$(nproc)"
