"""A small network built in Python, run, and drawn: its spike raster and one neuron's potential.

    PYTHONPATH=build/python /usr/bin/python3 examples/python/raster.py [OUT.png]

Eight input neurons take independent Poisson drives and feed four output neurons; the
picture shows when each neuron spiked and how the first output neuron's potential rose with
its inputs, reset at each spike and decayed between events.
"""

import sys

import matplotlib

matplotlib.use("Agg")  # a file, not a window: runs without a display
import matplotlib.pyplot as plt
import spikenn

MS = 1_000_000  # ticks per millisecond
UNTIL_MS = 500
TRACED = "out[0]"
OUT_DECAY = 1.5  # per second; the trace draws the decay between events with it

# Random weights alone make the mean readout ignore the input (README, "Modelling"): LayerNorm2
# weights drawn per element make each input move the potential by its own amount.
NORM2 = {"norm2": {"weight": {"normal": {"mean": 1.0, "std": 0.5}}, "bias": {"normal": {"mean": 0.3, "std": 0.2}}}}
SHAPE = dict(embed_dim=32, num_heads=4, hidden_dim=64)

net = spikenn.Network("8 inputs to 4 outputs, independent Poisson drives")
net.add_population("in", 8, **SHAPE, threshold=0.6, refractory_period="20ms", decay="1/s", weights=NORM2)
net.add_population("out", 4, **SHAPE, threshold=0.9, reset_potential=0.1, refractory_period="30ms", decay=f"{OUT_DECAY}/s",
                   weights=NORM2)
net.connect("in", "out", pattern="random", probability=0.6, delay="2ms", efficacy=0.5)
net.add_stimulus("drive", "in", rate="40/s", until=f"{UNTIL_MS - 100}ms", independent=True, tensor={"random": {"seq_len": 6}})
net.record(potentials=[TRACED])

sim = spikenn.Simulation(net, seed=1, until=f"{UNTIL_MS}ms")
sim.run()
print(f"{sim.events_processed} events, {len(sim.spikes)} spikes, fingerprint {sim.fingerprint:#018x}")

fig, (raster, trace) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
spikes = sim.spikes
raster.scatter(spikes["time_ticks"] / MS, spikes["neuron"], marker="|", s=80, color="black")
raster.set_yticks(range(len(sim.names)), sim.names)
raster.invert_yaxis()  # the inputs on top, as the network reads
raster.set_ylabel("neuron")
raster.set_title("spike raster")

# The potential after each event, and between two events the linear decay (clamped at 0; the
# neuron's decay update marks where it reaches 0, so no segment crosses it).
p = sim.potentials([TRACED])
t = p["time_ticks"] / MS
v = p["potential"]
xs, ys = [0.0], [sim.neuron(TRACED).reset_potential]  # the reset potential is also the initial one
for ti, vi in list(zip(t, v)) + [(UNTIL_MS, None)]:
    decayed = max(0.0, ys[-1] - OUT_DECAY * (ti - xs[-1]) / 1000)
    xs += [ti, ti]
    ys += [decayed, decayed if vi is None else vi]
trace.plot(xs, ys, color="tab:blue", linewidth=1)
neuron = sim.neuron(TRACED)
trace.axhline(neuron.threshold, color="tab:red", linestyle="--", linewidth=0.8, label="threshold")
trace.set_ylabel(f"{TRACED} potential")
trace.set_xlabel("simulated time (ms)")
trace.legend(loc="upper right")

out = sys.argv[1] if len(sys.argv) > 1 else "raster.png"
fig.tight_layout()
fig.savefig(out, dpi=100)
print(f"wrote {out}")
