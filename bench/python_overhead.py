"""What the Python module costs over the command line: a run from Python against `spikenn run`
on the same scenario, and reading a million-event log into NumPy.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_overhead.py [ROUNDS]    # default 21

Run from anywhere, after the build; SPIKENN_CLI names another spikenn. Both sides run on one
thread. The command line's figure is the "wall time" its summary prints, which covers its
event loop (writing its output files as it goes) and not the loading; the Python figure is
Simulation.run() alone, timed with time.perf_counter, so loading is left out of both. Rounds
alternate which side goes first, so that a slow minute of a shared machine falls on both.
The demo runs for about 40 ms, where one run of a busy shared machine can differ from the next
by a quarter: take many rounds before reading a ratio near 1.
"""

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1]
CLI = Path(os.environ.get("SPIKENN_CLI", SOURCE / "build" / "tools" / "spikenn"))

try:
    import spikenn
except ImportError:
    sys.path.insert(0, str(SOURCE / "build" / "python"))
    import spikenn

WALL = re.compile(r"^\s*wall time\s+([0-9.]+) s \((\d+) events/s\)", re.MULTILINE)
EVENTS = re.compile(r"^\s*events\s+(\d+):", re.MULTILINE)

# bench/cheap.yaml's 2,000 tiny neurons, driven for 400ms instead of 100ms: about 3,100 events
# per millisecond, so the first million come within a second of running.
MILLION_SCENARIO = """\
run: {seed: 5, until: 400ms}
neurons:
  - {population: p, size: 2000, embed_dim: 8, num_heads: 2, hidden_dim: 16, threshold: 1.0, refractory_period: 3ms,
     decay: 5/s, weights: {norm2: {bias: 0.3}, shared: true}}
connections: [{from: p, to: p, pattern: one_to_one, delay: 1ms}]
stimuli: [{name: drive, to: all, every: 1ms, until: 400ms, tensor: {random: {seq_len: 1}}}]
record: {outputs: false}
"""
MILLION = 1_000_000


def cpu_model():
    fields = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name", "unknown CPU")
    # A virtual machine may name only the vendor's line; family and model tell the generation.
    if "cpu family" in fields and "model" in fields:
        name += f", family {fields['cpu family']} model {fields['model']}"
    return name


def cli(*args):
    r = subprocess.run([str(CLI), *map(str, args)], cwd=SOURCE, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"spikenn {' '.join(map(str, args))}: exit {r.returncode}\n{r.stderr}")
    return r.stdout


def cli_seconds(scenario, out):
    """The run's own time from its summary: events over its events per second, which has
    more digits than the seconds it prints."""
    text = cli("run", scenario, "--out", out, "--threads", "1", "-q")
    wall = WALL.search(text)
    events = int(EVENTS.search(text).group(1))
    seconds, rate = float(wall.group(1)), int(wall.group(2))
    return (events / rate if rate else seconds), events


def python_seconds(scenario):
    sim = spikenn.load(SOURCE / scenario, threads=1)
    start = time.perf_counter()
    sim.run()
    return time.perf_counter() - start, sim.events_processed


def compare_runs(scenario, rounds, tmp):
    ours, theirs = [], []
    for k in range(rounds):
        order = [("cli", cli_seconds), ("py", python_seconds)]
        for side, measure in order if k % 2 == 0 else reversed(order):
            if side == "cli":
                seconds, cli_events = measure(scenario, tmp / "out")
                theirs.append(seconds)
            else:
                seconds, py_events = measure(scenario)
                ours.append(seconds)
        if cli_events != py_events:
            sys.exit(f"{scenario}: {cli_events} events from spikenn, {py_events} from Python")
    return cli_events, statistics.median(theirs), statistics.median(ours)


def time_log_reading(rounds, tmp):
    log = tmp / "million.evlog"
    (tmp / "million.yaml").write_text(MILLION_SCENARIO)
    cli("run", tmp / "million.yaml", "--out", tmp / "out", "--max-events", MILLION, "--record", log, "-q")
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        records = spikenn.EventLog(log).records
        seconds.append(time.perf_counter() - start)
        if len(records) != MILLION:
            sys.exit(f"{log}: {len(records)} records, not {MILLION}")
        del records
    return log.stat().st_size, statistics.median(seconds)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 21
    print(f"python overhead: medians of {rounds} interleaved rounds, one thread")
    print(f"cpu: {cpu_model()}")
    print()
    print(f"{'scenario':24}{'events':>8}{'spikenn s':>12}{'python s':>12}{'python/cli':>12}")
    with tempfile.TemporaryDirectory(prefix="spikenn_py_bench_") as d:
        tmp = Path(d)
        for scenario in ("scenarios/demo.yaml", "bench/large.yaml"):
            events, theirs, ours = compare_runs(scenario, rounds, tmp)
            print(f"{scenario:24}{events:>8}{theirs:>12.4f}{ours:>12.4f}{ours / theirs:>11.3f}x")
        print()
        print("spikenn s: the wall time `spikenn run` prints (its event loop, writing its output files);")
        print("python s: Simulation.run() (spikes, potentials and outputs kept in memory); loading in neither")
        print()
        size, seconds = time_log_reading(rounds, tmp)
    print(f"reading a log of {MILLION} events ({size / 1e6:.1f} MB) into EventLog(path).records: "
          f"{seconds:.3f} s, {MILLION / seconds:.3g} events/s")


if __name__ == "__main__":
    main()
