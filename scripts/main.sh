#!/bin/sh
# The main job: install, build, and run the built-in default.
set -eu
cd "$(dirname "$0")/.."
sh scripts/build.sh
./build/edm info
