#!/bin/sh
# The main job: install, build, then train the built-in default (the small
# Fashion-MNIST preset, class-conditional) and write a labelled sample grid
# and a loss curve. On 2 CPU cores training stops after 10 minutes; on a GPU
# it runs its full (longer) default. The network computes in bfloat16 where
# the machine does so natively (edm info says; float32 elsewhere). Extra
# arguments go to `edm train`.
set -eu
cd "$(dirname "$0")/.."
sh scripts/build.sh
./build/edm info
precision=
if ./build/edm info | grep -q '^bfloat16 yes'; then precision=--bf16; fi
exec ./build/edm train --outdir runs $precision "$@"
