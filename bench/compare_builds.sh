#!/usr/bin/env bash
# Two builds of spikenn side by side: each scenario run by one and then the other, ROUNDS
# times, on the given thread counts; prints the median of each build's own "wall time" (the
# run, not the loading) and the ratio. For "this change against the last release" figures:
#   git worktree add /tmp/old v0.3.0-commit && (cd /tmp/old && tools/build.sh)
#   bench/compare_builds.sh /tmp/old/build/tools/spikenn build/tools/spikenn
# Usage: compare_builds.sh OLD_SPIKENN NEW_SPIKENN [ROUNDS (5)] [THREADS ("1 2")] [SCENARIOS...]
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2 rounds=${3:-5} threads=${4:-"1 2"}
shift $(( $# < 4 ? $# : 4 ))
scenarios=("$@")
[[ ${#scenarios[@]} -gt 0 ]] || scenarios=(bench/large.yaml bench/cheap.yaml)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# (A run's exit status is not checked: across versions a pinned fingerprint may differ, exit 1.)
wall() { { "$1" run "$2" --out "$tmp/$3" --threads "$4" -q 2>/dev/null || true; } | awk '/wall time/ {print $3}'; }
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
printf '%-26s %8s %12s %12s %9s\n' scenario threads "old s" "new s" "speed-up"
for sc in "${scenarios[@]}"; do
  for th in $threads; do
    o=() n=()
    for ((i = 0; i < rounds; ++i)); do
      o+=("$(wall "$old" "$sc" old "$th")")
      n+=("$(wall "$new" "$sc" new "$th")")
    done
    mo=$(printf '%s\n' "${o[@]}" | median) mn=$(printf '%s\n' "${n[@]}" | median)
    printf '%-26s %8s %12.3f %12.3f %8.2fx\n' "$sc" "$th" "$mo" "$mn" "$(awk -v a="$mo" -v b="$mn" 'BEGIN {print a / b}')"
  done
done
