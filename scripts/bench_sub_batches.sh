#!/usr/bin/env bash
# Inference throughput against the size of its sub-batches (SwarmFormer::forward runs an
# evaluation-mode forward in sub-batches so its activations stay in L2; 0 = the batch whole),
# for original-small and enhanced-small, bf16 products, 1 and 2 threads, batch 48 × 256 tokens.
# Rounds alternate the settings, so each meets the machine in every state; the median is kept.
#
#   scripts/bench_sub_batches.sh [OUT_DIR] [ROUNDS]     # default docs/sub_batches, 3 rounds
#
# Writes OUT_DIR/sub_batches.csv and, when gnuplot is installed, OUT_DIR/sub_batches.png.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/sub_batches}"
rounds="${2:-3}"
binary=build/bin/swarmformer
sizes="1 2 4 8 16 48"  # 48: the batch whole
mkdir -p "$out"
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
for round in $(seq "$rounds"); do
  for preset in original-small enhanced-small; do
    for threads in 1 2; do
      for size in $sizes; do
        "$binary" bench --preset "$preset" --batch 48 --threads "$threads" --steps 10 --set precision=bf16 \
          --infer-only --inference-sub-batch "$size" --json |
          python3 -c 'import json, sys; d = json.load(sys.stdin); print(sys.argv[1], sys.argv[2], sys.argv[3], d["infer_tokens_per_s"])' \
            "$preset" "$threads" "$size" >> "$raw"
      done
    done
  done
  echo "round $round of $rounds done"
done
csv="$out/sub_batches.csv"
python3 - "$raw" > "$csv" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    preset, threads, size, tokens = line.split()
    runs[(preset, int(threads), int(size))].append(float(tokens))
print("preset,threads,sub_batch_sequences,sub_batch_tokens,infer_tokens_per_s_median,runs")
for (preset, threads, size), values in sorted(runs.items()):
    tokens = 256 * size
    print(f"{preset},{threads},{size},{tokens},{statistics.median(values):.0f},{len(values)}")
PY
cat "$csv"

if command -v gnuplot >/dev/null; then
  gnuplot <<EOF
set terminal pngcairo size 900,420 font ",10"
set output "$out/sub_batches.png"
set datafile separator ","
set multiplot layout 1,2
set logscale x 2
set xlabel "tokens per sub-batch (12k: the whole batch of 48)"
set ylabel "inference tokens/s (median)"
set yrange [0:*]
set key bottom left
set xtics ("256" 256, "512" 512, "1k" 1024, "2k" 2048, "4k" 4096, "12k" 12288)
set title "original-small, bf16 products"
plot "< grep '^original-small,1,' $csv" using 4:5 with linespoints title "1 thread", \
     "< grep '^original-small,2,' $csv" using 4:5 with linespoints title "2 threads"
set title "enhanced-small, bf16 products"
plot "< grep '^enhanced-small,1,' $csv" using 4:5 with linespoints title "1 thread", \
     "< grep '^enhanced-small,2,' $csv" using 4:5 with linespoints title "2 threads"
unset multiplot
EOF
  echo "plot: $out/sub_batches.png"
fi
