#!/bin/sh
# edm against the reference (NVlabs/edm) on this machine, one case after the
# other in one run: training steps (loss, backward, Adam, EMA) and forward
# passes (what sampling costs: one per NFE), edm in float32 and bfloat16.
# Prints images/s, the ratios to the reference, and the GFLOP/s achieved as a
# fraction of the machine's measured peak (bench/peak_flops).
#
#   EDM_REF=/path/to/NVlabs-edm sh bench/side_by_side.sh [SECONDS] [THREADS]
#
# ROUNDS=N runs the cases N times over, one round after the other, so that a
# machine whose speed drifts shows the spread of each ratio; CASES picks the
# cases ("train fmnist-s 16; fwd ddpmpp 4": work, preset, batch), by default
# the six of docs/performance.md.
#
# The reference runs when EDM_REF names a checkout of NVlabs/edm and Debian's
# python3 has torch (python3-torch); otherwise its columns read "skipped".
# edm keeps freed memory in its heap (edm::retain_freed_memory); the
# reference, as its users run it, does not. REF_RETAIN_MEMORY=1 runs the
# reference with the same glibc malloc settings (GLIBC_TUNABLES), for a
# like-for-like comparison; EDM_RETAIN_MEMORY=0 runs edm with glibc's default.
# Needs the benchmarks built (sh scripts/build.sh builds them).
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-10}
threads=${2:-2}
bench=build/bench
python=${PYTHON:-/usr/bin/python3}
rounds=${ROUNDS:-1}
case "$rounds" in '' | *[!0-9]* | 0) echo "side_by_side: ROUNDS must be a positive integer, got '$rounds'" >&2; exit 2 ;; esac
cases=${CASES:-train fmnist-s 16; train fmnist-s 64; train fmnist-m 16; train ddpmpp 4; fwd fmnist-s 64; fwd ddpmpp 4}
# Every case checked before any work, so that a bad one costs no run.
echo "$cases" | tr ';' '\n' | while read -r mode preset batch; do
  case "$mode:$batch" in
    : | train:[1-9]* | fwd:[1-9]*) ;;
    *) echo "side_by_side: a case is 'train|fwd PRESET BATCH', got '$mode $preset $batch'" >&2; exit 2 ;;
  esac
done || exit $?
for b in peak_flops network_throughput train_throughput; do
  [ -x "$bench/$b" ] || { echo "side_by_side: $bench/$b is missing: run sh scripts/build.sh" >&2; exit 1; }
done
reference=yes
if [ -z "${EDM_REF:-}" ] || [ ! -f "$EDM_REF/training/networks.py" ]; then
  echo "reference: skipped (set EDM_REF to a checkout of NVlabs/edm)"
  reference=no
elif ! "$python" -c "import torch" 2>/dev/null; then
  echo "reference: skipped ($python has no torch: apt-get install python3-torch)"
  reference=no
fi
ref_tunables=${GLIBC_TUNABLES:-}
if [ "${REF_RETAIN_MEMORY:-0}" = 1 ]; then
  ref_tunables=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647
  echo "reference: with edm's malloc settings ($ref_tunables)"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bench/peak_flops" --threads "$threads" | tee "$work/peak"
peak_f32=$(awk '$1 == "float32" {print ($3 > $2 ? $3 : $2)}' "$work/peak")
peak_bf16=$(awk '$1 == "bfloat16" {print ($3 > $2 ? $3 : $2)}' "$work/peak")

# edm's images/s: column 8 of train_throughput, 5 of network_throughput.
edm_rate() {  # MODE PRESET BATCH [--bf16]
  if [ "$1" = train ]; then
    "$bench/train_throughput" --threads "$threads" --seconds "$seconds" $4 "$2:$3" | awk -v p="$2" '$1 == p {print $8}'
  else
    "$bench/network_throughput" --threads "$threads" --seconds "$seconds" $4 "$2:$3:fwd" | awk -v p="$2" '$1 == p {print $5}'
  fi
}
reference_rate() {  # MODE PRESET BATCH
  [ "$reference" = yes ] || { echo "-"; return; }
  PYTHONWARNINGS=ignore GLIBC_TUNABLES="$ref_tunables" "$python" bench/reference_throughput.py "$EDM_REF" \
    "$work/$2.json" "$1" "$3" "$seconds" "$threads" | awk '{print $2}'
}

round=1
while [ "$round" -le "$rounds" ]; do
  [ "$rounds" -gt 1 ] && printf '\nround %d of %d\n' "$round" "$rounds"
  echo
  printf '%-6s %-9s %5s %9s %9s %9s %8s %8s %16s %16s\n' work preset batch "ref f32" "edm f32" "edm bf16" \
    "f32/ref" "bf16/ref" "f32 GF/s (peak)" "bf16 GF/s (peak)"
  echo "$cases" | tr ';' '\n' | while read -r mode preset batch; do
    [ -n "$mode" ] || continue
    # The edm.config of the case (for the reference) and its GFLOP per image.
    gflop=$("$bench/network_throughput" --threads "$threads" --seconds 0 --write-configs "$work" "$preset:1:fwd" |
      awk -v p="$preset" '$1 == p {print $7}')
    [ "$mode" = train ] && gflop=$(awk -v g="$gflop" 'BEGIN {print 3 * g}')
    ref=$(reference_rate "$mode" "$preset" "$batch")
    f32=$(edm_rate "$mode" "$preset" "$batch" "")
    bf16=$(edm_rate "$mode" "$preset" "$batch" --bf16)
    awk -v m="$mode" -v p="$preset" -v b="$batch" -v r="$ref" -v f="$f32" -v h="$bf16" -v g="$gflop" \
      -v pf="$peak_f32" -v ph="$peak_bf16" 'BEGIN {
        rf = (r == "-") ? "-" : sprintf("%.2fx", f / r); rh = (r == "-") ? "-" : sprintf("%.2fx", h / r)
        printf "%-6s %-9s %5d %9s %9.1f %9.1f %8s %8s %8.1f (%3.0f%%) %8.1f (%3.0f%%)\n", m, p, b, r, f, h, rf, rh,
          f * g, 100 * f * g / pf, h * g, 100 * h * g / ph }'
  done || exit $?
  round=$((round + 1))
done
