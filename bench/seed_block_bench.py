#!/usr/bin/python3.11
"""Times the seed's PyTorch block (TransformerNeuron.accumulate's computation) on one thread,
for the shapes of bench_block, so that spike-nn's ratio to it is measured on this machine.
Usage: seed_block_bench.py SEED_REFERENCE_PY ROUNDS, printing one line per shape:
    seq_len embed_dim num_heads hidden_dim median_milliseconds
Needs Debian's python3-torch (and libopenblas0-pthread) and python3-loguru."""
import importlib.util
import statistics
import sys
import time

import torch

torch.set_num_threads(1)
spec = importlib.util.spec_from_file_location("seed_reference", sys.argv[1])
seed = importlib.util.module_from_spec(spec)
spec.loader.exec_module(seed)
seed.logger.remove()
rounds = int(sys.argv[2])
SHAPES = [(10, 512, 8, 2048), (1, 512, 8, 2048), (64, 512, 8, 2048), (10, 64, 4, 256)]

with torch.no_grad():
    for seq, d, h, hid in SHAPES:
        neuron = seed.TransformerNeuron(d, h, hid)
        x = torch.randn(1, seq, d)

        def block():
            a = neuron.norm1(neuron.attention(x) + x)
            out = neuron.norm2(neuron.feed_forward(a) + a)
            return out.mean().item()

        for _ in range(5):
            block()
        reps = 20
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            for _ in range(reps):
                block()
            times.append((time.perf_counter() - t0) / reps)
        print(seq, d, h, hid, statistics.median(times) * 1e3, flush=True)
