#!/bin/sh
# Runs one fuzz target of tests/fuzz/targets.h for SECONDS under libFuzzer,
# AddressSanitizer and UndefinedBehaviorSanitizer (Debian's clang; optional,
# not part of the ordinary build). The parsers' own sources are compiled
# with the sanitizers and coverage; the rest of edm comes from build/libedm.a.
#   scripts/fuzz.sh TARGET SECONDS      (targets: see tests/fuzz/corpus/)
# New inputs go to build-fuzz/corpus/TARGET; crashes to build-fuzz/TARGET-crash-*.
# Copy inputs worth keeping into tests/fuzz/corpus/TARGET: the test suite
# replays that folder (FuzzCorpus.*).
set -eu
target=${1:?usage: scripts/fuzz.sh TARGET SECONDS}
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/build-fuzz
[ -d "$root/tests/fuzz/corpus/$target" ] || { echo "unknown target $target" >&2; exit 2; }
[ -f "$root/build/libedm.a" ] || { echo "build edm first (ninja -C build edm)" >&2; exit 1; }
mkdir -p "$out/obj" "$out/corpus/$target"

sanitize="-fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
flags="-std=gnu++17 -O1 -g $sanitize -DUSE_C10D_GLOO -DUSE_DISTRIBUTED -D_GLIBCXX_USE_CXX11_ABI=1
  -I$root/src -I$root/tests -I/usr/include/stb -isystem /usr/include/torch/csrc/api/include"
# The target's parsers, instrumented; their symbols replace libedm.a's.
case $target in
  safetensors) parsers="io/safetensors_format" ;;
  model_file) parsers="io/safetensors_format io/safetensors model/model_file nn/config_reader nn/network
    nn/make_precond sampling/ideal_denoiser" ;;
  edm_config) parsers="nn/config_reader nn/network nn/make_precond" ;;
  dataset_zip | dataset_json) parsers="data/archive data/dataset io/image" ;;
  idx) parsers="data/idx io/gzip" ;;
  png) parsers="io/image" ;;
  seeds) parsers="core/rng" ;;
esac
objs=""
for p in $parsers; do
  o=$out/obj/$(echo "$p" | tr / _).o
  if [ ! -f "$o" ] || [ "$root/src/edm/$p.cpp" -nt "$o" ]; then
    nice -n 5 clang++ $flags -fsanitize=fuzzer-no-link -c "$root/src/edm/$p.cpp" -o "$o"
  fi
  objs="$objs $o"
done
bin=$out/fuzz_$target
nice -n 5 clang++ $flags -fsanitize=fuzzer -DEDM_FUZZ_TARGET="\"$target\"" \
  "$root/tests/fuzz/fuzz_main.cpp" "$root/tests/fuzz/targets.cpp" $objs "$root/build/libedm.a" \
  -L/usr/lib/x86_64-linux-gnu -ltorch -ltorch_cpu -lc10 -lzip -lz -lstb -lpthread -ldl -o "$bin"
cd "$out"
nice -n 5 "$bin" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=20 -artifact_prefix="$out/$target-" \
  "$out/corpus/$target" "$root/tests/fuzz/corpus/$target"
