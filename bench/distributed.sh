#!/usr/bin/env bash
# Runs on several ranks and threads, side by side (docs/distributed.md): each scenario alone
# on 1 thread, on 2 threads, and under `mpirun -np 2` with 1 thread per rank, in turn, ROUNDS
# times; prints the medians of the run's own "wall time" (rank 0's, after loading; the
# command's whole time including mpirun's start in brackets), the speed-ups over 1 thread, and
# what the ranks exchanged: exchanges (the synchronisation points, each a time at which
# inputs were due) per simulated second, bytes per exchange and per spike, and the time rank 0
# spent in exchanges (sending, receiving and waiting for the other rank).
# Usage: bench/distributed.sh [ROUNDS (5)] [SCENARIOS...]   (after tools/build.sh, as root or not)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
shift $(( $# < 1 ? $# : 1 ))
scenarios=("$@")
[[ ${#scenarios[@]} -gt 0 ]] || scenarios=(bench/large.yaml bench/population.yaml)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bin=build/tools/spikenn
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# Runs one configuration; prints "wall whole" and keeps the summary in $tmp/last.txt.
one() {
  local start end
  start=$(date +%s.%N)
  "$@" > "$tmp/last.txt" 2>/dev/null
  end=$(date +%s.%N)
  echo "$(awk '/wall time/ {print $3}' "$tmp/last.txt") $(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')"
}
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores"
printf '%-24s %-22s %10s %10s %9s\n' scenario configuration "run s" "(whole s)" speed-up
for sc in "${scenarios[@]}"; do
  declare -A runs=() wholes=()
  for ((i = 0; i < rounds; ++i)); do
    read -r w a < <(one "$bin" run "$sc" --out "$tmp/a" --threads 1 -q); runs[t1]+="$w "; wholes[t1]+="$a "
    read -r w a < <(one "$bin" run "$sc" --out "$tmp/b" --threads 2 -q); runs[t2]+="$w "; wholes[t2]+="$a "
    read -r w a < <(one mpirun --oversubscribe --bind-to none -np 2 "$bin" run "$sc" --out "$tmp/c" --threads 1 -q); runs[np2]+="$w "; wholes[np2]+="$a "
    cp "$tmp/last.txt" "$tmp/np2.txt"
  done
  base=$(tr ' ' '\n' <<< "${runs[t1]}" | grep . | median)
  for cfg in t1 t2 np2; do
    m=$(tr ' ' '\n' <<< "${runs[$cfg]}" | grep . | median)
    mw=$(tr ' ' '\n' <<< "${wholes[$cfg]}" | grep . | median)
    label=$(case $cfg in t1) echo "1 rank, 1 thread";; t2) echo "1 rank, 2 threads";; np2) echo "mpirun -np 2, 1 thread";; esac)
    printf '%-24s %-22s %10.3f %10s %8.2fx\n' "$sc" "$label" "$m" "($(printf '%.3f' "$mw"))" "$(awk -v a="$base" -v b="$m" 'BEGIN {print a / b}')"
  done
  # What the last 2-rank run exchanged (rank 0's counts; the other rank's are alike).
  read -r exchanges sent received waited < <(sed -n 's/^  ranks *2 (rank 0: \([0-9]*\) exchanges, \([0-9.]*\) MB sent, \([0-9.]*\) MB received, \([0-9.]*\) s in them)/\1 \2 \3 \4/p' "$tmp/np2.txt")
  simulated=$(sed -n 's/^  simulated   0s to \([^ ]*\) .*/\1/p' "$tmp/np2.txt")
  spikes=$(sed -n 's/.*outcomes .* spiked \([0-9]*\),.*/\1/p' "$tmp/np2.txt")
  seconds=$(awk -v t="$simulated" 'BEGIN { n = t + 0; u = substr(t, length(n "") + 1); f = (u == "ms") ? 1e-3 : (u == "us") ? 1e-6 : (u == "ns") ? 1e-9 : 1; print n * f }')
  awk -v x="$exchanges" -v s="$sent" -v r="$received" -v w="$waited" -v sec="$seconds" -v sp="$spikes" -v run="$(tr ' ' '\n' <<< "${runs[np2]}" | grep . | median)" 'BEGIN {
    printf "  2 ranks: %d exchanges (%.0f per simulated second), %.1f kB sent per exchange, %.1f kB per spike (%d spikes); rank 0 spent %.3f s in exchanges (%.0f%% of its run)\n",
      x, x / sec, s * 1000 / x, (s + r) * 1000 / (sp > 0 ? sp : 1) / 2, sp, w, 100 * w / run }'
done
