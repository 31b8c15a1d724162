#!/usr/bin/env bash
# Runs every benchmark, one after the other (they would disturb each other side by side),
# from the source directory, after tools/build.sh. Each prints medians and ratios measured
# in its own run. The block benchmark also times the seed's PyTorch code when Debian's
# python3-torch and python3-loguru are installed and ../shared/seed/seed_reference.py exists,
# and measures the machine itself: the core's FMA peak and, when libopenblas-dev was found at
# configure time, single-thread OpenBLAS sgemm.
set -euo pipefail
cd "$(dirname "$0")/.."
build/bench/spikenn_bench_eventlog 15
echo
build/bench/spikenn_bench_scheduler 5
echo
build/bench/spikenn_bench_block 7
echo
build/bench/spikenn_bench_network 3
echo
build/bench/spikenn_bench_memory
echo
build/bench/spikenn_bench_plot 5
# The Python module's overheads, in a build that has it.
if [[ -d build/python/spikenn ]]; then
  echo
  PYTHONPATH=build/python /usr/bin/python3 bench/python_overhead.py 21
fi
