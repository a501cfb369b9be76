#!/bin/sh
# Quality per CPU-minute: trains the default model (the main job's: fmnist-s,
# class-conditional, bfloat16 where the CPU has it) for a budget, then prints
# the Frechet distance of its EMA network to the Fashion-MNIST training set
# with the built-in detector, one line per seed. With EDM_REF set, the
# reference implementation (NVlabs/edm, bench/reference_train.py) trains the
# same configuration under the same budget right after each edm run, and its
# network is measured by the same `edm fid calc`.
#
#   [EDM_REF=/path/to/NVlabs-edm] sh bench/quality_per_minute.sh \
#       [BUDGET] [FD_IMAGES] [SEEDS] [-- EXTRA edm train OPTIONS]
#
# BUDGET: "10min" (default, wall clock, as the main job) or "50kimg" (a fixed
# number of training images, which a busy machine does not change).
# FD_IMAGES: generated images per FD, seeds 0..N-1, default sampler (default
# 2000). SEEDS: training seeds, e.g. "1 2 3" (default "1"). The extra options
# go to every edm run (e.g. -- --lr 2e-3 --batch 32); "-- --fp32" trains in
# float32. Runs are kept under bench-runs/ (BENCH_DIR sets another place).
set -eu
cd "$(dirname "$0")/.."
budget=${1:-10min}
images=${2:-2000}
seeds=${3:-1}
[ $# -ge 3 ] && shift 3 || shift $#
[ "${1:-}" = "--" ] && shift
edm=./build/edm
python=${PYTHON:-/usr/bin/python3}
out=${BENCH_DIR:-bench-runs}
[ -x "$edm" ] || { echo "quality_per_minute: $edm is missing: run sh scripts/build.sh" >&2; exit 1; }
case "$budget" in
  *min) limit="--max-minutes ${budget%min}" ;;
  *kimg) limit="--max-minutes 1000000 --duration $(awk -v k="${budget%kimg}" 'BEGIN {print k / 1000}')" ;;
  *) echo "quality_per_minute: budget '$budget' is neither Nmin nor Nkimg" >&2; exit 1 ;;
esac
precision=--fp32
"$edm" info | grep -q '^bfloat16 yes' && precision=--bf16
extra=""
for a in "$@"; do
  if [ "$a" = --fp32 ]; then precision=--fp32; else extra="$extra $a"; fi
done
[ "$precision" = --fp32 ] && precision=""
reference=no
if [ -n "${EDM_REF:-}" ]; then
  [ -f "$EDM_REF/training/networks.py" ] || { echo "quality_per_minute: EDM_REF=$EDM_REF is not NVlabs/edm" >&2; exit 1; }
  "$python" -c "import torch" 2>/dev/null || { echo "quality_per_minute: $python has no torch" >&2; exit 1; }
  reference=yes
fi
mkdir -p "$out"
stats="$out/fashion-mnist-train.safetensors"
if [ ! -f "$stats" ]; then
  echo "statistics of the Fashion-MNIST training set -> $stats"
  "$edm" fid ref --data fashion-mnist --dest "$stats" >"$stats.log" 2>&1 ||
    { echo "quality_per_minute: edm fid ref failed, see $stats.log" >&2; exit 1; }
fi

# FD of a model file at the given images: the one number `edm fid calc` prints.
fd_of() { "$edm" fid calc --net "$1" --seeds "0-$((images - 1))" --ref "$stats" 2>"$1.fid.log" | tail -n 1; }
row() { printf '%-9s %4s %8s %8s %8s %9s  %s\n' "$@"; }

row who seed kimg minutes img/s "FD@$images" "settings"
for seed in $seeds; do
  dir="$out/edm-$budget-seed$seed$(echo "$precision$extra" | tr -c 'A-Za-z0-9.\n-' '_')"
  rm -rf "$dir"
  start=$(date +%s)
  # shellcheck disable=SC2086
  "$edm" train --outdir "$dir" --seed "$seed" $limit $precision $extra >"$dir.log" 2>&1 ||
    { echo "quality_per_minute: edm train failed, see $dir.log" >&2; exit 1; }
  seconds=$(($(date +%s) - start))
  snap=$(ls "$dir"/*/network-snapshot-*.safetensors | tail -n 1)
  kimg=$(awk '$1 == "tick" {k = $4} END {print k}' "$dir.log")
  row edm "$seed" "$kimg" "$(awk -v s="$seconds" 'BEGIN {printf "%.1f", s / 60}')" \
    "$(awk -v k="$kimg" -v s="$seconds" 'BEGIN {printf "%.0f", k * 1000 / s}')" "$(fd_of "$snap")" \
    "${precision:---fp32}$extra"
  [ "$reference" = yes ] || continue
  config="$out/fmnist-s.json"
  "$python" - "$snap" "$config" <<'EOF'
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    json.dump(json.loads(json.loads(f.read(n))["__metadata__"]["edm.config"]), open(sys.argv[2], "w"))
EOF
  ref="$out/reference-$budget-seed$seed"
  PYTHONWARNINGS=ignore "$python" bench/reference_train.py "$EDM_REF" "$config" "$budget" "$ref.pkl" 2 "$seed" \
    >"$ref.log" 2>&1 || { echo "quality_per_minute: the reference failed, see $ref.log" >&2; exit 1; }
  PYTHONPATH="$EDM_REF" "$python" tools/convert_pickle.py "$ref.pkl" "$ref.safetensors" >>"$ref.log" 2>&1
  set -- $(grep '^kimg' "$ref.log")
  row reference "$seed" "$2" "$(awk -v s="$4" 'BEGIN {printf "%.1f", s / 60}')" "$(printf '%.0f' "$6")" \
    "$(fd_of "$ref.safetensors")" "float32"
done
