#!/usr/bin/env bash
# Runs under mpirun give the sequential run's bytes (docs/distributed.md): for each scenario,
# the event log, every output file and the fingerprint of `mpirun -np 1`, `2` and `4`, each
# with 1 and 2 threads per rank, against the run without mpirun; a run checkpointed on 4 ranks
# and resumed on 1 and on 2 (and one checkpointed alone, resumed on 4); a bad scenario
# reported once with exit 2 from every rank; a rank killed midway ending the run.
#   tests/mpi_identical.sh SPIKENN SOURCE_DIR SCRATCH_DIR
set -uo pipefail
spikenn=$1 src=$2 scratch=$3
cd "$src"
rm -rf "$scratch" && mkdir -p "$scratch"
# The tests run as root in CI; 4 ranks on a machine of 2 cores need --oversubscribe.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi=(mpirun --oversubscribe --bind-to none)
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# Runs `$@` and keeps its summary's fingerprint line in $dir/summary.
fingerprint_of() { grep -E '^  fingerprint 0x' "$1" || echo none; }

for scenario in scenarios/demo.yaml scenarios/seed.yaml bench/large.yaml tests/data/population.yaml; do
  name=$(basename "$scenario" .yaml)
  base=$scratch/$name-alone
  "$spikenn" run "$scenario" --threads 1 --out "$base" --record "$base.evlog" -q > "$base.txt" 2>&1 || fail "$scenario alone: exit $?"
  for np in 1 2 4; do
    for threads in 1 2; do
      run=$scratch/$name-np$np-t$threads
      "${mpi[@]}" -np $np "$spikenn" run "$scenario" --threads $threads --out "$run" --record "$run.evlog" -q > "$run.txt" 2>&1 \
        || { fail "$scenario on $np ranks x $threads threads: exit $?"; cat "$run.txt"; continue; }
      cmp -s "$base.evlog" "$run.evlog" || fail "$scenario on $np ranks x $threads threads: the event log differs"
      diff -r "$base" "$run" > /dev/null || fail "$scenario on $np ranks x $threads threads: the output files differ"
      [[ $(fingerprint_of "$base.txt") == $(fingerprint_of "$run.txt") ]] || fail "$scenario on $np ranks x $threads threads: another fingerprint"
      # One summary: rank 0's.
      [[ $(grep -c '^spike-nn ' "$run.txt") == 1 ]] || fail "$scenario on $np ranks: the summary was printed $(grep -c '^spike-nn ' "$run.txt") times"
      echo "ok: $scenario on $np ranks x $threads threads: $(fingerprint_of "$run.txt")"
    done
  done
done

# Limits stop every rank at the event the run alone stops at.
lim=$scratch/limit
"$spikenn" run scenarios/demo.yaml --max-events 700 --out "$lim-alone" --record "$lim-alone.evlog" -q > /dev/null 2>&1 || fail "demo --max-events 700 alone"
"${mpi[@]}" -np 2 "$spikenn" run scenarios/demo.yaml --max-events 700 --out "$lim-np2" --record "$lim-np2.evlog" -q > /dev/null 2>&1 || fail "demo --max-events 700 on 2 ranks"
cmp -s "$lim-alone.evlog" "$lim-np2.evlog" || fail "demo --max-events 700 on 2 ranks: the event log differs"
diff -r "$lim-alone" "$lim-np2" > /dev/null || fail "demo --max-events 700 on 2 ranks: the output files differ"
echo "ok: --max-events on 2 ranks"

# A log recorded on 4 ranks replays on one process.
"$spikenn" replay "$scratch/population-np4-t1.evlog" > "$scratch/replay.txt" 2>&1 || { fail "replay of a 4-rank log: exit $?"; cat "$scratch/replay.txt"; }
echo "ok: a 4-rank log replays alone"

# Checkpoints: every rank holds the whole state, and rank 0 writes it; a checkpoint is the
# sequential run's byte for byte, and resumes on any number of ranks.
scenario=tests/data/population.yaml
seq=$scratch/ck-alone
"$spikenn" run "$scenario" --threads 1 --out "$seq" --record "$seq.evlog" --checkpoint-every 4ms -q > /dev/null 2>&1 || fail "checkpointed run alone"
four=$scratch/ck-np4
"${mpi[@]}" -np 4 "$spikenn" run "$scenario" --out "$four" --record "$four.evlog" --checkpoint-every 4ms -q > /dev/null 2>&1 || fail "checkpointed run on 4 ranks"
ckpts=$(ls "$seq/checkpoints" | wc -l)
((ckpts >= 2)) || fail "the checkpointed run wrote $ckpts checkpoints"
diff -r "$seq/checkpoints" "$four/checkpoints" > /dev/null || fail "the checkpoints of 4 ranks are not the sequential run's"
mid=$(ls "$four/checkpoints" | sed -n 2p)
for np in 1 2; do
  res=$scratch/ck-resume-np$np
  cp -r "$four" "$res" && cp "$four.evlog" "$res.evlog"
  launcher=("${mpi[@]}" -np $np)
  ((np == 1)) && launcher=()
  "${launcher[@]}" "$spikenn" run "$scenario" --out "$res" --record "$res.evlog" --resume "$res/checkpoints/$mid" -q > "$res.txt" 2>&1 \
    || { fail "resume on $np ranks: exit $?"; cat "$res.txt"; }
  cmp -s "$seq.evlog" "$res.evlog" || fail "resumed on $np ranks from 4 ranks' $mid: the event log differs"
  diff -r --exclude=checkpoints "$seq" "$res" > /dev/null || fail "resumed on $np ranks: the output files differ"
  echo "ok: checkpoint $mid of 4 ranks resumed on $np"
done
res=$scratch/ck-resume-from1-np4
cp -r "$seq" "$res" && cp "$seq.evlog" "$res.evlog"
"${mpi[@]}" -np 4 "$spikenn" run "$scenario" --out "$res" --record "$res.evlog" --resume "$res/checkpoints/$mid" -q > "$res.txt" 2>&1 || fail "resume on 4 ranks: exit $?"
cmp -s "$seq.evlog" "$res.evlog" || fail "a sequential checkpoint resumed on 4 ranks: the event log differs"
echo "ok: checkpoint $mid of a sequential run resumed on 4 ranks"

# A bad scenario: exit 2 from every rank (mpirun returns it), reported once.
bad=scenarios/invalid/$(ls scenarios/invalid | grep '\.yaml$' | head -1)
"${mpi[@]}" -np 2 "$spikenn" run "$bad" --out "$scratch/bad" -q > "$scratch/bad.txt" 2>&1
code=$?
[[ $code == 2 ]] || fail "a bad scenario on 2 ranks: exit $code, not 2"
[[ $(grep -c 'spikenn: error' "$scratch/bad.txt") == 1 ]] || fail "a bad scenario on 2 ranks was reported $(grep -c 'spikenn: error' "$scratch/bad.txt") times"
echo "ok: $bad on 2 ranks: exit $code, one message"

# A rank that dies ends the others: kill one rank of a run on 2 and mpirun must end, with a
# failure, well before the run would (a hang fails here after 60 s).
dead=$scratch/dead
timeout 60 "${mpi[@]}" -np 2 "$spikenn" run bench/large.yaml --threads 1 --out "$dead" -q > "$dead.txt" 2>&1 &
launcher=$!
for _ in $(seq 100); do
  ranks=$(pgrep -f -- "--out $dead" | grep -v "^$launcher\$" || true)
  [[ $(wc -w <<< "$ranks") -ge 3 ]] && break # timeout's child mpirun and the 2 ranks
  sleep 0.1
done
victim=$(pgrep -n -f -- "spikenn run bench/large.yaml --threads 1 --out $dead" || true)
if [[ -z $victim ]]; then
  fail "a dying rank: no rank to kill was found"
else
  kill -9 "$victim"
  wait "$launcher"
  code=$?
  if [[ $code == 0 ]]; then fail "a dying rank: mpirun exited 0"
  elif [[ $code == 124 ]]; then fail "a dying rank: the other rank hung (timeout)"
  else echo "ok: a rank killed, mpirun ended with $code"
  fi
fi
pgrep -f -- "--out $dead" > /dev/null && fail "a dying rank: processes left behind"

((failures == 0)) || { echo "$failures failure(s)"; exit 1; }
echo "all identical"
