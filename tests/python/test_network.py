"""spikenn.Network: a network built in Python runs as the same scenario written in YAML
(tests/data/python_network.yaml), and a refused call names its key and changes nothing."""

import numpy as np
import pytest

import spikenn

FINGERPRINT = 0xBF91BD86C09C232E  # tests/data/python_network.yaml's expect
SHAPE = dict(embed_dim=16, num_heads=2, hidden_dim=32)


def python_network(ticks=False):
    """tests/data/python_network.yaml, call for call; ticks: every time as an int of ticks."""
    ms = (lambda v: int(v * 1_000_000)) if ticks else (lambda v: f"{v}ms")
    net = spikenn.Network("a neuron and a population of 16/2/32, Poisson and periodic inputs, 400ms")
    net.add_neuron("a", **SHAPE, threshold=0.6, reset_potential=0.1, refractory_period=ms(5), decay="2/s",
                   weights={"norm2": {"bias": 0.3}})
    net.add_population("p", 3, **SHAPE, threshold=0.25, refractory_period=ms(8), decay={"exponential": ms(50)},
                       readout={"linear": {"init": "random"}})
    net.connect("p", "a", delay=ms(2), efficacy=0.8)
    net.connect("p", "p", pattern="random", probability=0.5, delay=ms(3))
    net.connect_pairs([("a", "p[0]")], delay=ms(1), efficacy=-0.5)
    net.add_stimulus("noise", "p", rate="150/s", until=ms(300), independent=True, tensor={"random": {"seq_len": 4, "std": 1.5}})
    net.add_stimulus("tick", "a", every=ms(20), start=ms(5), until=ms(350), tensor={"constant": {"seq_len": 2, "value": 0.5}})
    net.record(potentials=["a", "p[1]"])
    return net


@pytest.fixture(scope="module")
def yaml_path(source_dir):
    return source_dir / "tests" / "data" / "python_network.yaml"


@pytest.fixture(scope="module")
def yaml_cli(spikenn_run, yaml_path, tmp_path_factory):
    return spikenn_run(yaml_path, tmp_path_factory.mktemp("python_network") / "out")


def run(sim):
    sim.run()
    return sim


def test_python_network_equals_the_yaml_file(yaml_path, yaml_cli):
    built = run(spikenn.Simulation(python_network(), seed=3, until="400ms"))
    loaded = run(spikenn.load(yaml_path))
    assert built.fingerprint == loaded.fingerprint == yaml_cli.fingerprint == FINGERPRINT
    assert loaded.expected_fingerprint == FINGERPRINT and built.expected_fingerprint is None
    assert built.names == loaded.names == ["a", "p[0]", "p[1]", "p[2]"]
    assert built.spikes.tolist() == loaded.spikes.tolist()
    assert len(built.spikes) == 65
    assert built.potentials(["a", "p[1]"]).tolist() == loaded.potentials(["a", "p[1]"]).tolist()
    # Every kind of event and outcome happens in it.
    r = built.potentials()
    assert len(r) == built.events_processed == yaml_cli.events


def test_times_as_ticks_are_the_same_network():
    sim = run(spikenn.Simulation(python_network(ticks=True), seed=3, until=400_000_000))
    assert sim.fingerprint == FINGERPRINT


def test_the_seed_of_the_simulation_is_the_scenarios(yaml_path, spikenn_run, tmp_path):
    sim = run(spikenn.Simulation(python_network(), seed=4, until="400ms"))
    ref = spikenn_run(yaml_path, tmp_path / "out", "--seed", "4")
    assert sim.fingerprint == ref.fingerprint != FINGERPRINT


def test_max_events_stops_the_run():
    sim = spikenn.Simulation(python_network(), seed=3, until="400ms", max_events=50)
    assert sim.run() == "max_events" and sim.events_processed == 50


def test_to_yaml_and_save_are_the_scenario(spikenn_run, tmp_path):
    net = python_network()
    net.save(tmp_path / "saved.yaml")
    assert (tmp_path / "saved.yaml").read_text() == net.to_yaml()
    # The text holds no run: section; the seed and the end come as options.
    ref = spikenn_run(tmp_path / "saved.yaml", tmp_path / "out", "--seed", "3", "--until", "400ms")
    assert ref.fingerprint == FINGERPRINT
    assert run(spikenn.load(tmp_path / "saved.yaml", seed=3, until="400ms")).fingerprint == FINGERPRINT


def stimulus_network(tensor):
    net = spikenn.Network()
    net.add_neuron("n", **SHAPE, threshold=0.5, refractory_period="3ms", weights={"norm2": {"weight": {"normal": {"mean": 1.0, "std": 0.5}}}})
    net.add_stimulus("s", "n", at=["1ms", "2ms", 5_000_000, "9ms"], tensor=tensor)
    return net


def test_a_stimulus_tensor_given_as_an_array(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 16)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    from_file = run(spikenn.Simulation(stimulus_network({"npy": str(tmp_path / "x.npy")})))
    from_array = run(spikenn.Simulation(stimulus_network(x)))
    assert from_array.fingerprint == from_file.fingerprint
    assert from_array.events_processed == from_file.events_processed >= 4
    other = run(spikenn.Simulation(stimulus_network(x + np.float32(0.5))))
    assert other.fingerprint != from_file.fingerprint  # the values are used, not only the shape


def test_a_constant_array_is_a_constant_tensor():
    x = np.full((2, 16), 0.25, np.float32)
    assert run(spikenn.Simulation(stimulus_network(x))).fingerprint == \
        run(spikenn.Simulation(stimulus_network({"constant": {"seq_len": 2, "value": 0.25}}))).fingerprint


def small_network():
    net = spikenn.Network()
    net.add_neuron("a", **SHAPE, weights={"norm2": {"bias": 0.4}}, threshold=0.5)
    net.add_neuron("b", **SHAPE, weights={"norm2": {"bias": 0.4}}, threshold=0.5)
    net.connect("a", "b", delay="1ms")
    net.add_stimulus("s", "a", every="2ms", until="20ms", tensor={"constant": {"seq_len": 2, "value": 1.0}})
    return net


@pytest.mark.parametrize(
    "call, key",
    [
        (lambda n: n.connect("a", "b", delay="0s"), "connections[1].delay"),
        (lambda n: n.connect("a", "b", delay="1ms", pattern="sideways"), "connections[1].pattern"),
        (lambda n: n.connect("a", "nobody", delay="1ms"), "connections[1].to"),
        (lambda n: n.connect_pairs([("a", "nobody")], delay="1ms"), "connections[1].pairs[0][1]"),
        (lambda n: n.add_neuron("a", **SHAPE), "neurons[2].name"),
        (lambda n: n.add_neuron("c", embed_dim=18, num_heads=4, hidden_dim=32), "neurons[2].num_heads"),
        (lambda n: n.add_neuron("c", **SHAPE, threshold="high"), "neurons[2].threshold"),
        (lambda n: n.add_population("q", 2, **SHAPE, decay="0.02"), "neurons[2].decay"),
        (lambda n: n.add_stimulus(None, "b", at=["1ms"], tensor={"random": {"seq_len": 2}}), "stimuli[1]"),
        (lambda n: n.add_stimulus("t", "b", at=["-1ms"], tensor={"random": {"seq_len": 2}}), "stimuli[1].at[0]"),
        (lambda n: n.add_stimulus("t", "b", at=["1ms"], rate="5/s", tensor={"random": {"seq_len": 2}}), "stimuli[1]"),
        (lambda n: n.record(potentials=["zz"]), "record.potentials[0]"),
    ],
)
def test_a_refused_call_names_its_key_and_changes_nothing(call, key):
    net = small_network()
    before = run(spikenn.Simulation(small_network())).fingerprint
    text = net.to_yaml()
    with pytest.raises(spikenn.ScenarioError) as e:
        call(net)
    err = e.value
    assert err.key == key
    assert err.file is None and err.line is None and err.column is None
    assert err.problem and err.problem in str(err)
    assert net.to_yaml() == text
    assert run(spikenn.Simulation(net)).fingerprint == before


def test_a_schedule_ended_by_the_simulations_until(spikenn_run, tmp_path):
    # In YAML, run.until ends a schedule without its own `until`; Simulation(until=) is the
    # network's run.until, so the same stimulus must be accepted here.
    net = spikenn.Network()
    net.add_neuron("n", **SHAPE, weights={"norm2": {"bias": 0.3}})
    net.add_stimulus("s", "n", every="5ms", tensor={"random": {"seq_len": 2}})
    sim = run(spikenn.Simulation(net, until="100ms"))
    (tmp_path / "endless.yaml").write_text(
        "run: {until: 100ms}\n"
        "neurons: [{name: n, embed_dim: 16, num_heads: 2, hidden_dim: 32, weights: {norm2: {bias: 0.3}}}]\n"
        "stimuli: [{name: s, to: n, every: 5ms, tensor: {random: {seq_len: 2}}}]\n")
    assert sim.fingerprint == spikenn_run(tmp_path / "endless.yaml", tmp_path / "out").fingerprint


def test_a_state_dict_with_a_weights_file_is_refused():
    net = spikenn.Network()
    with pytest.raises(spikenn.ScenarioError) as e:
        net.add_neuron("a", **SHAPE, weights={"file": "w.safetensors"}, state_dict={})
    assert e.value.key.startswith("neurons[0]")


def test_a_state_dict_missing_a_tensor_is_refused():
    with pytest.raises(spikenn.ScenarioError) as e:
        net = spikenn.Network()
        net.add_neuron("a", **SHAPE, state_dict={"norm2.bias": np.zeros(16, np.float32)})
        spikenn.Simulation(net)
    assert e.value.key == "neurons[0].state_dict"
    assert "attention.query.weight" in str(e.value)


def test_times_of_the_wrong_type_are_type_errors():
    net = small_network()
    with pytest.raises(TypeError):
        net.connect("a", "b", delay=True)
    with pytest.raises(TypeError):
        net.connect("a", "b", delay=1.5)
    with pytest.raises(TypeError):
        net.add_stimulus("t", "b", rate=object(), tensor={"random": {"seq_len": 2}})


EVERY_KEY_YAML = """\
run: {seed: 6, until: 120ms}
neurons:
  - {population: q, size: 4, embed_dim: 16, num_heads: 2, hidden_dim: 32, threshold: 0.4, refractory_period: 3ms,
     decay: {linear: 3/s}, readout: sum, weights: {shared: true, norm2: {bias: 0.02, weight: {uniform: {low: 0.5, high: 1.5}}}}}
  - {name: r, embed_dim: 16, num_heads: 2, hidden_dim: 32, readout: max, weights: {norm2: {bias: 0.5}}}
connections:
  - {from: q, to: q, pattern: fixed_outdegree, outdegree: 2, delay: 1500us, weight: 0.5, efficacy: 0.9}
  - {pairs: [["q[0]", r], ["q[3]", r]], delay: 4ms, weight: 2.0, efficacy: 0.7}
  - {from: ["q[1]", "q[2]"], to: [r, "q[3]"], pattern: one_to_one, delay: 2ms}
stimuli:
  - {name: burst, to: q, at: [1ms, 2ms, 30ms], efficacy: 2.0, tensor: {random: {seq_len: 3, std: 0.5}}}
  - {name: pace, to: all, every: 7ms, from: 3ms, until: 100ms, tensor: {constant: {seq_len: 1, value: -0.25}}}
record: {potentials: all, outputs: false, weights: true, stimuli: true}
"""


def every_key_network():
    net = spikenn.Network()
    net.add_population("q", 4, **SHAPE, threshold=0.4, refractory_period="3ms", decay={"linear": "3/s"}, readout="sum",
                       weights={"shared": True, "norm2": {"bias": 0.02, "weight": {"uniform": {"low": 0.5, "high": 1.5}}}})
    net.add_neuron("r", **SHAPE, readout="max", weights={"norm2": {"bias": 0.5}})
    net.connect("q", "q", pattern="fixed_outdegree", outdegree=2, delay=1_500_000, weight=0.5, efficacy=0.9)
    net.connect_pairs([("q[0]", "r"), ("q[3]", "r")], delay="4ms", weight=2.0, efficacy=0.7)
    net.connect(["q[1]", "q[2]"], ["r", "q[3]"], pattern="one_to_one", delay="2ms")
    net.add_stimulus("burst", "q", at=["1ms", "2ms", "30ms"], efficacy=2.0, tensor={"random": {"seq_len": 3, "std": 0.5}})
    net.add_stimulus("pace", "all", every=7_000_000, start="3ms", until="100ms", tensor={"constant": {"seq_len": 1, "value": -0.25}})
    net.record(potentials="all", outputs=False, weights=True, stimuli=True)
    return net


def test_every_key_as_in_yaml(spikenn_run, tmp_path):
    (tmp_path / "every_key.yaml").write_text(EVERY_KEY_YAML)
    ref = spikenn_run(tmp_path / "every_key.yaml", tmp_path / "out")
    sim = spikenn.Simulation(every_key_network(), seed=6, until="120ms", threads=2)
    assert sim.run() == "end_time"
    assert sim.fingerprint == ref.fingerprint
    assert sim.events_processed == ref.events
    assert len(sim.spikes) > 0
    # The record: section reaches the command line through save().
    every_key_network().save(tmp_path / "saved.yaml")
    saved = spikenn_run(tmp_path / "saved.yaml", tmp_path / "out_saved", "--seed", "6", "--until", "120ms")
    assert saved.fingerprint == ref.fingerprint
    files = {p.name for p in (tmp_path / "out_saved").iterdir()}
    assert {"weights.safetensors", "stimuli.safetensors", "potentials.csv"} <= files
    assert "outputs.safetensors" not in files
    # record(outputs=False): the simulation keeps no spike outputs.
    try:
        kept = sim.spike_outputs()
    except spikenn.Error:
        kept = []
    assert kept == []


def test_an_endless_schedule_names_the_simulations_until():
    net = spikenn.Network()
    net.add_neuron("n", embed_dim=8, num_heads=2, hidden_dim=16)
    net.add_stimulus("s", "n", every="1ms", tensor={"random": {"seq_len": 1}})  # the Simulation may end it
    with pytest.raises(spikenn.ScenarioError) as e:
        spikenn.Simulation(net)
    assert "Simulation(until=...)" in e.value.problem and "run.until" not in str(e.value)
    sim = spikenn.Simulation(net, until="5ms")
    assert sim.run() == "end_time" and sim.now == 5_000_000
