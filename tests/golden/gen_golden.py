#!/usr/bin/python3.11
"""Golden data for spike-nn's C++ engine, computed with the seed's PyTorch reference.

What it writes (all under tests/golden/, next to this script):

block/
    cases.csv                 one row per block case: dims, Philox seed, LayerNorm fills.
    <case>/x.npy              input x, float32 [seq_len, embed_dim].
    <case>/out.npy            norm2(FFN(a) + a) with a = norm1(attention(x) + x), the
                              block output whose mean is the seed's readout.
    <case>/ffn.npy            FFN(x), the output the seed's neuron emits when it spikes.
    The weights of each case are NOT stored: they are the engine's own initialisation
    (Philox4x32-10 streams keyed by seed, FNV-1a 64 of "neuron:<case>", and a purpose per
    parameter), reproduced here bit for bit, so the engine must rebuild identical weights.

network/
    weights.safetensors       state_dict of the seed's SpikingNeuralNetwork (three neurons,
                              embed 64, 4 heads, hidden 256), keys "neurons.<i>.<param>".
    scenario.yaml             the engine's scenario: those neurons, one stimulus per input.
    in_<k>.npy                input k, float32 [1, 10, 64], delivered to every neuron.
    expected.csv              per (input time, neuron): dropped/accumulated, the potential
                              right after accumulate, whether it spiked, the potential after
                              the reset.
    spike_<time_ms>_n<i>.npy  output of neuron i's spike at that time, float32 [10, 64].
    The network runs under a simulated clock (the reference module's time.time is replaced
    by one that returns the simulated time in seconds), built at simulated time 0.

philox.csv                    a few words of the engine's random streams, so the C++
                              generator can be checked on its own before the weights.

The reference code is not part of the repository: it is imported at run time from the
path given by --seed-ref. Re-run from the repository root with

    /usr/bin/python3.11 tests/golden/gen_golden.py --seed-ref ../shared/seed/seed_reference.py

The output is deterministic: a second run gives identical bytes. Every scenario property
the tests rely on (spikes, drops, an exact refractory boundary, full decay to zero, no
threshold decision within 1e-4) is asserted here, so a change that breaks one fails loudly.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import math
import sys
import types
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
DEFAULT_SEED_REF = REPO_ROOT / ".." / "shared" / "seed" / "seed_reference.py"

# ----------------------------------------------------------------------------------------
# The engine's random streams: Philox4x32-10, keyed by (seed, entity, purpose).
# ----------------------------------------------------------------------------------------

MASK32 = 0xFFFFFFFF
PHILOX_M0 = np.uint64(0xD2511F53)
PHILOX_M1 = np.uint64(0xCD9E8D57)
PHILOX_W0 = 0x9E3779B9
PHILOX_W1 = 0xBB67AE85
PHILOX_ROUNDS = 10

# Random123's known-answer vectors for philox4x32 with 10 rounds: (counter, key, result).
PHILOX_KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((MASK32,) * 4, (MASK32, MASK32), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]

# Purpose of each drawn parameter; LayerNorm parameters are filled, not drawn.
PURPOSES = {
    "attention.query.weight": 1,
    "attention.query.bias": 2,
    "attention.key.weight": 3,
    "attention.key.bias": 4,
    "attention.value.weight": 5,
    "attention.value.bias": 6,
    "attention.out.weight": 7,
    "attention.out.bias": 8,
    "feed_forward.fc1.weight": 9,
    "feed_forward.fc1.bias": 10,
    "feed_forward.fc2.weight": 11,
    "feed_forward.fc2.bias": 12,
}


def fnv1a64(text: str) -> int:
    """FNV-1a 64-bit hash of the UTF-8 bytes of text."""
    h = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        h ^= byte
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def philox4x32_10(counter, key) -> np.ndarray:
    """Philox4x32-10 over many counters at once.

    counter: four uint64 arrays (or ints) holding 32-bit values, broadcast together.
    key: (k0, k1) as Python ints. Returns a uint64 array [4, n] of 32-bit words.
    Products of two 32-bit values fit in uint64, so no intermediate overflows.
    """
    mask = np.uint64(MASK32)
    shift = np.uint64(32)
    c0, c1, c2, c3 = np.broadcast_arrays(*[np.asarray(c, dtype=np.uint64) for c in counter])
    k0, k1 = key[0] & MASK32, key[1] & MASK32
    for rnd in range(PHILOX_ROUNDS):
        if rnd:
            k0 = (k0 + PHILOX_W0) & MASK32
            k1 = (k1 + PHILOX_W1) & MASK32
        p0 = PHILOX_M0 * c0
        p1 = PHILOX_M1 * c2
        hi0, lo0 = p0 >> shift, p0 & mask
        hi1, lo1 = p1 >> shift, p1 & mask
        c0, c1, c2, c3 = (hi1 ^ c1 ^ np.uint64(k0), lo1, hi0 ^ c3 ^ np.uint64(k1), lo0)
    return np.stack([np.atleast_1d(c) for c in (c0, c1, c2, c3)])


def stream_words(seed: int, entity: int, purpose: int, count: int) -> np.ndarray:
    """Words 0..count-1 of the stream (seed, entity, purpose), as uint32.

    Word n is word n % 4 of block n // 4; block b uses counter
    (b, purpose, entity low 32 bits, entity high 32 bits) and key (seed low, seed high).
    """
    blocks = (count + 3) // 4
    b = np.arange(blocks, dtype=np.uint64) & np.uint64(MASK32)
    out = philox4x32_10(
        (b, purpose & MASK32, entity & MASK32, (entity >> 32) & MASK32),
        (seed & MASK32, (seed >> 32) & MASK32),
    )
    return out.T.reshape(-1)[:count].astype(np.uint32)


def uniform_f32(words: np.ndarray) -> np.ndarray:
    """Top 24 bits of each word as a float32 in [0, 1); exact."""
    return (words >> np.uint32(8)).astype(np.float32) * np.float32(2.0**-24)


def linear_init(seed: int, entity: int, purpose: int, shape, fan_in: int) -> np.ndarray:
    """PyTorch's default Linear distribution U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn
    from the engine's stream. Every step is a single float32 rounding, so the C++ side
    can match it exactly: bound rounded once from double, 2u-1 exact, one product."""
    count = int(np.prod(shape))
    bound = np.float32(1.0 / math.sqrt(fan_in))
    u = uniform_f32(stream_words(seed, entity, purpose, count))
    centred = np.float32(2.0) * u - np.float32(1.0)
    assert centred.dtype == np.float32
    values = bound * centred
    assert values.dtype == np.float32
    return values.reshape(shape)


def engine_state_dict(neuron, seed: int, name: str, ln_fill) -> dict:
    """The engine's initial weights for neuron `name`, as a state_dict for the seed's
    TransformerNeuron. ln_fill = (norm1 weight, norm1 bias, norm2 weight, norm2 bias)."""
    entity = fnv1a64("neuron:" + name)
    state = {}
    for key, ref in neuron.state_dict().items():
        shape = tuple(ref.shape)
        if key in PURPOSES:
            module = neuron.get_submodule(key.rsplit(".", 1)[0])
            values = linear_init(seed, entity, PURPOSES[key], shape, module.in_features)
        else:
            fills = {
                "norm1.weight": ln_fill[0],
                "norm1.bias": ln_fill[1],
                "norm2.weight": ln_fill[2],
                "norm2.bias": ln_fill[3],
            }
            values = np.full(shape, fills[key], dtype=np.float32)
        state[key] = torch.from_numpy(np.ascontiguousarray(values))
    return state


def philox_self_check() -> list[int]:
    """Assert the known-answer vectors; return the first words of stream
    (seed 0, "neuron:n0", purpose 1) for the C++ side to compare."""
    for counter, key, expected in PHILOX_KAT:
        got = tuple(int(w) for w in philox4x32_10(counter, key)[:, 0])
        assert got == expected, (counter, key, [hex(w) for w in got])
    assert fnv1a64("") == 0xCBF29CE484222325
    assert fnv1a64("a") == 0xAF63DC4C8601EC8C
    return [int(w) for w in stream_words(0, fnv1a64("neuron:n0"), 1, 4)]


def write_philox_csv(path: Path) -> None:
    rows = ["seed,entity_string,entity,purpose,word_index,word"]
    for seed, ent, purpose, indices in [
        (0, "neuron:n0", 1, [0, 1, 2, 3, 4, 5, 6, 7]),
        (1234, "neuron:seed", 9, [0, 1, 4, 1048575, 1048576]),
        (0xDEADBEEF12345678, "neuron:odd", 12, [0, 3, 5]),
    ]:
        entity = fnv1a64(ent)
        words = stream_words(seed, entity, purpose, max(indices) + 1)
        for i in indices:
            rows.append(f"{seed},{ent},{entity},{purpose},{i},0x{int(words[i]):08x}")
    path.write_text("\n".join(rows) + "\n")


# ----------------------------------------------------------------------------------------
# The reference module, run under a simulated clock.
# ----------------------------------------------------------------------------------------


class SimClock:
    """Simulated time in integer milliseconds; the reference sees float(ms) / 1000."""

    def __init__(self) -> None:
        self.ms = 0

    def seconds(self) -> float:
        return float(self.ms) / 1000.0


def load_reference(path: Path, clock: SimClock):
    if not path.is_file():
        sys.exit(f"gen_golden: seed reference not found: {path}")
    spec = importlib.util.spec_from_file_location("spike_nn_seed_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # The reference calls time.time() through its own `time` global; give it the
    # simulated clock instead, leaving the real time module alone.
    module.time = types.SimpleNamespace(time=clock.seconds)
    return module


def save_npy(path: Path, array: np.ndarray) -> None:
    array = np.ascontiguousarray(array, dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.save(f, array, allow_pickle=False)


# ----------------------------------------------------------------------------------------
# Block cases
# ----------------------------------------------------------------------------------------

BLOCK_SEED = 1234
BLOCK_LN_FILL = (1.25, 0.05, 0.75, 0.2)
BLOCK_CASES = [
    # name, seq_len, embed_dim, num_heads, hidden_dim, numpy seed of x
    ("seed", 10, 512, 8, 2048, 101),
    ("single", 1, 512, 8, 2048, 102),
    ("small", 3, 64, 4, 256, 103),
    ("onehead", 5, 32, 1, 64, 104),
    ("odd", 7, 48, 6, 96, 105),
]


def block_forward(neuron, x: torch.Tensor):
    """The block as the seed's accumulate computes it, and the seed's spike output."""
    attn_output = neuron.attention(x)
    attn_output = neuron.norm1(attn_output + x)
    ff_output = neuron.feed_forward(attn_output)
    ff_output = neuron.norm2(ff_output + attn_output)
    return ff_output, neuron.feed_forward(x)


def generate_blocks(ref, clock: SimClock, out_dir: Path) -> None:
    rows = ["name,seq_len,embed_dim,num_heads,hidden_dim,seed,"
            "norm1_weight,norm1_bias,norm2_weight,norm2_bias"]
    for name, seq_len, embed_dim, num_heads, hidden_dim, x_seed in BLOCK_CASES:
        clock.ms = 0
        neuron = ref.TransformerNeuron(embed_dim, num_heads, hidden_dim)
        neuron.load_state_dict(engine_state_dict(neuron, BLOCK_SEED, name, BLOCK_LN_FILL))
        x = np.random.default_rng(x_seed).standard_normal((seq_len, embed_dim), dtype=np.float32)
        xt = torch.from_numpy(x).unsqueeze(0)
        with torch.no_grad():
            out, ffn = block_forward(neuron, xt)
            # Cross-check against the reference's own code path: accumulate from potential
            # 0 at elapsed time 0 must add exactly the mean of `out`, and the block output
            # it computes must be ours bit for bit.
            seen = []
            hook = neuron.norm2.register_forward_hook(lambda m, i, o: seen.append(o.clone()))
            neuron.potential = 0.0
            neuron.accumulate(xt)
            hook.remove()
        assert len(seen) == 1 and torch.equal(seen[0], out), name
        assert neuron.potential == out.mean().item(), name
        case_dir = out_dir / name
        save_npy(case_dir / "x.npy", x)
        save_npy(case_dir / "out.npy", out[0].numpy())
        save_npy(case_dir / "ffn.npy", ffn[0].numpy())
        fill = ",".join(repr(v) for v in BLOCK_LN_FILL)
        rows.append(f"{name},{seq_len},{embed_dim},{num_heads},{hidden_dim},{BLOCK_SEED},{fill}")
    (out_dir / "cases.csv").write_text("\n".join(rows) + "\n")


# ----------------------------------------------------------------------------------------
# safetensors (F32 only), written and read without the safetensors package.
# ----------------------------------------------------------------------------------------


def write_safetensors(path: Path, tensors: dict) -> None:
    header = {}
    chunks = []
    offset = 0
    for key in sorted(tensors):
        array = np.ascontiguousarray(tensors[key].detach().cpu().numpy(), dtype="<f4")
        raw = array.tobytes(order="C")
        header[key] = {"dtype": "F32", "shape": list(array.shape),
                       "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for raw in chunks:
            f.write(raw)


def read_safetensors(path: Path) -> dict:
    blob = path.read_bytes()
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    header.pop("__metadata__", None)
    tensors = {}
    covered = 0
    for key in sorted(header, key=lambda k: header[k]["data_offsets"][0]):
        info = header[key]
        assert info["dtype"] == "F32", key
        begin, end = info["data_offsets"]
        assert begin == covered, key  # contiguous, no gaps or overlaps
        count = int(np.prod(info["shape"])) if info["shape"] else 1
        assert end - begin == 4 * count, key
        array = np.frombuffer(data, dtype="<f4", count=count, offset=begin)
        tensors[key] = torch.from_numpy(array.reshape(info["shape"]).astype(np.float32))
        covered = end
    assert covered == len(data)
    return tensors


# ----------------------------------------------------------------------------------------
# Network case
# ----------------------------------------------------------------------------------------

# (embed_dim, num_heads, hidden_dim, threshold, reset_potential, refractory_s, decay_per_s)
NETWORK_CONFIGS = [
    (64, 4, 256, 1.0, 0.0, 1.0, 0.02),
    (64, 4, 256, 1.5, 0.5, 1.5, 0.03),
    (64, 4, 256, 2.0, 1.0, 2.0, 0.05),
]
NETWORK_REFRACTORY_MS = [1000, 1500, 2000]
NETWORK_TORCH_SEED = 7
NETWORK_LN_SEED = 8
NETWORK_INPUT_SEED = 2024
NETWORK_INPUT_SCALE = 2.0
SEQ_LEN = 10

# Input times in ms, chosen by running the reference and checked by check_network:
# every neuron spikes several times and has inputs dropped in its refractory period;
# 3250, 3750 and 4250 land exactly on the refractory boundary of n0, n1 and n2 after their
# spikes at 2250 (6500 does the same for n1 after 5000): accepted, since the test is `<`;
# 137699 falls 1 ms short of n0's boundary (spike at 136700) and is dropped; the 120 s gap
# 15050 -> 135050 lets every potential decay to exactly 0 (clamped). Inputs on a boundary
# are multiples of 250 ms, so the reference's float seconds compare exactly.
INPUT_TIMES_MS: list[int] = [
    500, 1130, 1720, 2250, 2890, 3250, 3750, 4250, 4750, 5000,
    5520, 6110, 6500, 7060, 7700, 8250, 8800, 9370, 9900, 10480,
    11000, 11640, 12250, 12800, 13330, 13900, 14500, 15050,
    135050, 135600, 136170, 136700, 137699, 137900, 138500, 139030, 139600, 140150,
    140700, 141300,
]

# Margins that keep a 1e-5 comparison tolerance from flipping any decision.
THRESHOLD_MARGIN = 1e-4
REFRACTORY_MARGIN_S = 1e-6


def build_network(ref, clock: SimClock):
    clock.ms = 0
    torch.manual_seed(NETWORK_TORCH_SEED)
    net = ref.SpikingNeuralNetwork(NETWORK_CONFIGS)
    # Non-default LayerNorm parameters make the `mean` readout input-dependent and
    # positive (with weight 1, bias 0 it is ~0 whatever the input).
    gen = torch.Generator().manual_seed(NETWORK_LN_SEED)
    with torch.no_grad():
        for neuron in net.neurons:
            d = neuron.norm2.weight.shape[0]
            neuron.norm2.weight.copy_(1.0 + 0.5 * torch.randn(d, generator=gen))
            neuron.norm2.bias.copy_(0.3 + 0.1 * torch.randn(d, generator=gen))
            neuron.norm1.weight.copy_(1.0 + 0.1 * torch.randn(d, generator=gen))
            neuron.norm1.bias.copy_(0.05 * torch.randn(d, generator=gen))
    return net


def network_inputs(count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(NETWORK_INPUT_SEED)
    embed_dim = NETWORK_CONFIGS[0][0]
    return [
        (NETWORK_INPUT_SCALE * rng.standard_normal((1, SEQ_LEN, embed_dim), dtype=np.float32))
        .astype(np.float32)
        for _ in range(count)
    ]


def instrument(neuron, log: list) -> None:
    """Record what each accumulate/spike call did, from outside the reference code."""
    accumulate, spike = neuron.accumulate, neuron.spike

    def recorded_accumulate(x):
        decayed = []
        ran = []
        pre = neuron.attention.register_forward_pre_hook(
            lambda m, i: decayed.append(neuron.potential))
        post = neuron.norm2.register_forward_hook(lambda m, i, o: ran.append(o.mean().item()))
        try:
            before = neuron.potential
            accumulate(x)
        finally:
            pre.remove()
            post.remove()
        log.append({
            "outcome": "accumulated" if ran else "dropped",
            "before": float(before),
            "decayed": float(decayed[0]) if decayed else float(neuron.potential),
            "readout": ran[0] if ran else None,
            "potential": float(neuron.potential),
            "spiked": False,
        })

    def recorded_spike(x):
        out = spike(x)
        log[-1]["spiked"] = True
        log[-1]["after"] = float(neuron.potential)
        log[-1]["output"] = out.detach().clone()
        return out

    # Instance attributes shadow the class methods; the reference file is untouched.
    neuron.accumulate = recorded_accumulate
    neuron.spike = recorded_spike


def run_network(ref, clock: SimClock, times_ms, inputs):
    net = build_network(ref, clock)
    logs = [[] for _ in net.neurons]
    for neuron, log in zip(net.neurons, logs):
        instrument(neuron, log)
    events = []
    with torch.no_grad():
        for t, x in zip(times_ms, inputs):
            clock.ms = t
            outputs = net(torch.from_numpy(x))
            for i, log in enumerate(logs):
                rec = dict(log[-1])
                rec["time_ms"] = t
                rec["neuron"] = i
                assert (i in outputs) == rec["spiked"]
                if rec["spiked"]:
                    assert torch.equal(outputs[i], rec["output"])
                events.append(rec)
    return net, events


def check_network(events, times_ms) -> dict:
    """Assert the properties the scenario is meant to exercise; return a summary."""
    assert times_ms == sorted(set(times_ms)) and times_ms[0] > 0
    summary = {i: {"spikes": 0, "drops": 0, "boundary": 0, "zeroed": 0, "margin": math.inf}
               for i in range(len(NETWORK_CONFIGS))}
    last_spike = {}
    max_gap = max(b - a for a, b in zip(times_ms, times_ms[1:]))
    for ev in events:
        i, t = ev["neuron"], ev["time_ms"]
        _, _, _, threshold, reset, refr_s, decay = NETWORK_CONFIGS[i]
        refr_ms = NETWORK_REFRACTORY_MS[i]
        s = summary[i]
        # Refractory decisions: integer-time decision equals the reference's float one,
        # and only exact boundaries come within the margin.
        if i in last_spike:
            dt_ms = t - last_spike[i]
            in_refr = dt_ms < refr_ms
            assert in_refr == (ev["outcome"] == "dropped"), ev
            if dt_ms == refr_ms:
                assert t % 250 == 0 and last_spike[i] % 250 == 0, ev
                assert float(t) / 1000.0 - float(last_spike[i]) / 1000.0 == refr_s
                s["boundary"] += 1
            else:
                assert abs(dt_ms / 1000.0 - refr_s) > REFRACTORY_MARGIN_S, ev
        else:
            assert ev["outcome"] == "accumulated", ev
        if ev["outcome"] == "dropped":
            s["drops"] += 1
        else:
            assert abs(ev["potential"] - threshold) >= THRESHOLD_MARGIN, ev
            s["margin"] = min(s["margin"], abs(ev["potential"] - threshold))
            assert ev["spiked"] == (ev["potential"] >= threshold), ev
        if ev["decayed"] == 0.0 and ev["before"] > 0.0:
            s["zeroed"] += 1
        if ev["spiked"]:
            assert ev["after"] == reset
            s["spikes"] += 1
            last_spike[i] = t
    for i, s in summary.items():
        assert s["spikes"] >= 3, (i, s)
        assert s["drops"] >= 1, (i, s)
    assert sum(s["boundary"] for s in summary.values()) >= 1, summary
    assert max_gap >= 120_000
    # Right after the long gap every neuron's decayed potential is exactly zero.
    gap_end = times_ms[[b - a for a, b in zip(times_ms, times_ms[1:])].index(max_gap) + 1]
    for ev in events:
        if ev["time_ms"] == gap_end:
            assert ev["decayed"] == 0.0, ev
    return summary


def ms(value: int) -> str:
    return f"{value}ms"


def write_scenario(path: Path, times_ms) -> None:
    lines = [
        "# Generated by tests/golden/gen_golden.py: the seed's network (small dims) driven at fixed times.",
        "run:",
        "  seed: 0",
        f"  until: {ms(times_ms[-1] + 1000)}",
        "neurons:",
    ]
    for i, (embed, heads, hidden, thr, reset, _, decay) in enumerate(NETWORK_CONFIGS):
        lines += [
            f"  - name: n{i}",
            f"    embed_dim: {embed}",
            f"    num_heads: {heads}",
            f"    hidden_dim: {hidden}",
            f"    threshold: {thr!r}",
            f"    reset_potential: {reset!r}",
            f"    refractory_period: {ms(NETWORK_REFRACTORY_MS[i])}",
            f"    decay: {decay!r}/s",
            f"    weights: {{ file: weights.safetensors, index: {i} }}",
        ]
    lines.append("stimuli:")
    for k, t in enumerate(times_ms):
        lines += [
            f"  - name: s{k:03d}",
            "    to: all",
            f"    at: [{ms(t)}]",
            f"    tensor: {{ npy: in_{k:03d}.npy }}",
        ]
    path.write_text("\n".join(lines) + "\n")


def generate_network(ref, clock: SimClock, out_dir: Path, times_ms) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in list(out_dir.glob("in_*.npy")) + list(out_dir.glob("spike_*.npy")):
        stale.unlink()
    inputs = network_inputs(len(times_ms))
    net, events = run_network(ref, clock, times_ms, inputs)
    summary = check_network(events, times_ms)

    # Weights: the state_dict as it was at construction (forward does not change it).
    weights_path = out_dir / "weights.safetensors"
    state = net.state_dict()
    write_safetensors(weights_path, state)
    loaded = read_safetensors(weights_path)
    assert sorted(loaded) == sorted(state)
    fresh = build_network(ref, clock)
    with torch.no_grad():
        for p in fresh.parameters():
            p.zero_()
    fresh.load_state_dict(loaded, strict=True)
    for key, value in fresh.state_dict().items():
        assert torch.equal(value, state[key]), key

    for k, x in enumerate(inputs):
        save_npy(out_dir / f"in_{k:03d}.npy", x)
    rows = ["time_ms,neuron,outcome,potential,spiked,potential_after_spike"]
    for ev in events:
        after = repr(ev["after"]) if ev["spiked"] else ""
        rows.append(f"{ev['time_ms']},n{ev['neuron']},{ev['outcome']},"
                    f"{ev['potential']!r},{int(ev['spiked'])},{after}")
        if ev["spiked"]:
            save_npy(out_dir / f"spike_{ev['time_ms']}_n{ev['neuron']}.npy", ev["output"][0].numpy())
    (out_dir / "expected.csv").write_text("\n".join(rows) + "\n")
    write_scenario(out_dir / "scenario.yaml", times_ms)
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed-ref", type=Path, default=DEFAULT_SEED_REF,
                        help="path to the seed's seed_reference.py "
                             "(default: ../shared/seed/seed_reference.py from the repo root)")
    parser.add_argument("--out", type=Path, default=HERE,
                        help="output folder (default: this script's folder)")
    args = parser.parse_args(argv)
    seed_ref = args.seed_ref if args.seed_ref.is_absolute() else (Path.cwd() / args.seed_ref)

    torch.set_num_threads(1)
    from loguru import logger
    logger.remove()  # the reference logs every accumulate; keep the run quiet

    check_words = philox_self_check()
    clock = SimClock()
    ref = load_reference(seed_ref.resolve(), clock)

    out = args.out.resolve()
    write_philox_csv(out / "philox.csv")
    generate_blocks(ref, clock, out / "block")
    summary = generate_network(ref, clock, out / "network", INPUT_TIMES_MS)

    print("Philox4x32-10 self-check: stream (seed 0, fnv1a64(\"neuron:n0\") = "
          f"0x{fnv1a64('neuron:n0'):016x}, purpose 1), words 0..3:",
          " ".join(f"0x{w:08x}" for w in check_words))
    for i, s in summary.items():
        print(f"n{i}: spikes {s['spikes']}, drops {s['drops']}, "
              f"inputs exactly at the refractory boundary {s['boundary']}, "
              f"decays to 0 {s['zeroed']}, closest |potential - threshold| {s['margin']:.6f}")
    print(f"inputs: {len(INPUT_TIMES_MS)} at ms {INPUT_TIMES_MS}")
    digest = hashlib.sha256()
    for path in sorted(p for p in out.rglob("*") if p.is_file() and p.suffix != ".py"):
        digest.update(path.relative_to(out).as_posix().encode() + b"\0" + path.read_bytes())
    print(f"sha256 of generated files: {digest.hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
