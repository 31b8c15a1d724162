#!/usr/bin/env bash
# Scale on one machine (docs/distributed.md): bench/million.yaml, a million neurons of (64, 4,
# 256) with shared weights and 100 random synapses each, run for 10ms, and two smaller
# variants of it (a quarter of the neurons; half the synapses), each once, with GNU time's
# peak resident memory. Their differences give what a neuron and a synapse cost: the
# half-synapse run against the full one for a synapse, the quarter-size run against the full
# one for a neuron (less its 100 synapses).
# Usage: bench/scale.sh [THREADS (2)]   (after tools/build.sh; needs /usr/bin/time)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores; $threads threads"
# Runs a variant; prints "peak_kB run_s whole_s events".
one() {
  /usr/bin/time -f '%M %e' -o "$tmp/time" build/tools/spikenn run "$1" --out "$tmp/out" --threads "$threads" -q > "$tmp/summary" 2>/dev/null
  echo "$(cut -d' ' -f1 "$tmp/time") $(awk '/wall time/ {print $3}' "$tmp/summary") $(cut -d' ' -f2 "$tmp/time") $(awk '/^  events/ {sub(":", "", $2); print $2}' "$tmp/summary")"
}
sed 's/size: 1000000/size: 250000/' bench/million.yaml > "$tmp/quarter.yaml"
sed 's/outdegree: 100/outdegree: 50/' bench/million.yaml > "$tmp/half.yaml"
printf '%-34s %10s %10s %10s %10s\n' run "peak MiB" "build s" "run s" events
read -r full_kb full_run full_all full_ev < <(one bench/million.yaml)
read -r q_kb q_run q_all q_ev < <(one "$tmp/quarter.yaml")
read -r h_kb h_run h_all h_ev < <(one "$tmp/half.yaml")
row() { printf '%-34s %10.0f %10.1f %10.1f %10s\n' "$1" "$(awk -v k="$2" 'BEGIN {print k / 1024}')" "$(awk -v a="$4" -v r="$3" 'BEGIN {print a - r}')" "$3" "$5"; }
row "1,000,000 neurons x 100 synapses" "$full_kb" "$full_run" "$full_all" "$full_ev"
row "250,000 neurons x 100 synapses" "$q_kb" "$q_run" "$q_all" "$q_ev"
row "1,000,000 neurons x 50 synapses" "$h_kb" "$h_run" "$h_all" "$h_ev"
awk -v f="$full_kb" -v q="$q_kb" -v h="$h_kb" 'BEGIN {
  synapse = (f - h) * 1024 / (1e6 * 50)              # bytes per synapse
  neuron = (f - q) * 1024 / 750000 - 100 * synapse   # bytes per neuron, its synapses apart
  printf "per synapse %.1f bytes, per neuron %.0f bytes (without its synapses); 4 GiB holds the full run: %s\n",
    synapse, neuron, (f <= 4 * 1048576) ? "yes" : "no" }'
