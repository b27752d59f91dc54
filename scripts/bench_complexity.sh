#!/usr/bin/env bash
# Cost against sequence length L for both variants at equal D, S (so equal C = L / S) and layers:
# analytic FLOPs (`swarmformer flops`) and measured inference and training time
# (`swarmformer bench`), with the same number of tokens per step at every L (batch = TOKENS / L).
#
#   scripts/bench_complexity.sh [OUT_DIR] [THREADS]     # default docs/complexity, 1 thread
#
# Writes OUT_DIR/complexity.csv and, when gnuplot is installed, OUT_DIR/complexity.png.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/complexity}"
threads="${2:-1}"
binary=build/bin/swarmformer
tokens=16384
mkdir -p "$out"
csv="$out/complexity.csv"
echo "variant,seq_len,batch,clusters,forward_gflops_per_seq,infer_us_per_token,train_us_per_token" > "$csv"
for preset in original-small enhanced-small; do
  for length in 256 512 1024 2048 4096 8192; do
    batch=$(( tokens / length )); (( batch < 1 )) && batch=1
    flops=$("$binary" flops --preset "$preset" --seq-len "$length" |
            python3 -c 'import json, sys; print(json.load(sys.stdin)["forward_flops"] / 1e9)')
    bench=$("$binary" bench --preset "$preset" --set seq_len="$length" --batch "$batch" --threads "$threads" \
            --steps 5 --json)
    python3 - "$preset" "$length" "$batch" "$flops" "$bench" >> "$csv" <<'PY'
import json, sys
preset, length, batch, flops, bench = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), json.loads(sys.argv[5])
tokens = batch * length
print(f"{preset.split('-')[0]},{length},{batch},{length // 8},{flops:.4f},"
      f"{1e3 * bench['infer_ms_per_step'] / tokens:.3f},{1e3 * bench['train_ms_per_step'] / tokens:.3f}")
PY
    tail -1 "$csv"
  done
done

if command -v gnuplot >/dev/null; then
  gnuplot <<EOF
set terminal pngcairo size 1100,420 font ",10"
set output "$out/complexity.png"
set datafile separator ","
set multiplot layout 1,3
set logscale x 2
set xlabel "sequence length L"
set key top left
set title "forward MFLOP per token (analytic)"
plot "< grep ^original $csv" using 2:(\$5/\$2*1000) with linespoints title "original", \
     "< grep ^enhanced $csv" using 2:(\$5/\$2*1000) with linespoints title "enhanced"
set title "inference, microseconds per token"
plot "< grep ^original $csv" using 2:6 with linespoints title "original", \
     "< grep ^enhanced $csv" using 2:6 with linespoints title "enhanced"
set title "training step, microseconds per token"
plot "< grep ^original $csv" using 2:7 with linespoints title "original", \
     "< grep ^enhanced $csv" using 2:7 with linespoints title "enhanced"
unset multiplot
EOF
  echo "plot: $out/complexity.png"
fi
