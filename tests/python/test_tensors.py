"""Safetensors files from Python, and weights between PyTorch and spike-nn: a state_dict
given in memory runs as the same weights read from a file, and the weights a run saves load
into a PyTorch module."""

import numpy as np
import pytest

import spikenn

EMBED, HEADS, HIDDEN = 16, 2, 32


def test_round_trip_of_tensors_and_metadata(tmp_path):
    rng = np.random.default_rng(7)
    tensors = {
        "matrix": rng.normal(size=(3, 5)).astype(np.float32),
        "vector": np.array([0.0, -0.0, 1e-45, np.inf, -np.inf, 3.4e38], np.float32),
        "cube": rng.normal(size=(2, 3, 4)).astype(np.float32),
        "strided": rng.normal(size=(6, 4)).astype(np.float32).T,  # not C-contiguous
    }
    meta = {"what": "a test", "unicode": "spike-nn ✓", "empty": ""}
    spikenn.write_safetensors(tmp_path / "t.safetensors", tensors, meta)
    back = spikenn.read_safetensors(tmp_path / "t.safetensors")
    assert sorted(back) == sorted(tensors)
    for name, a in tensors.items():
        assert back[name].dtype == np.float32 and back[name].shape == a.shape
        assert back[name].view(np.uint32).tolist() == np.ascontiguousarray(a).view(np.uint32).tolist()
    got = spikenn.read_safetensors_metadata(tmp_path / "t.safetensors")
    assert {k: got[k] for k in meta} == meta
    assert set(got) - set(meta) <= {"format"}  # the writer may add PyTorch's format mark


def test_no_metadata(tmp_path):
    spikenn.write_safetensors(tmp_path / "t.safetensors", {"x": np.ones((2, 2), np.float32)})
    assert set(spikenn.read_safetensors_metadata(tmp_path / "t.safetensors")) <= {"format"}


@pytest.mark.parametrize("value", [np.ones((2, 2), np.float64), np.ones((2, 2), np.int32), [[1.0, 2.0]], 1.0])
def test_only_float32_is_written(tmp_path, value):
    with pytest.raises(TypeError):
        spikenn.write_safetensors(tmp_path / "t.safetensors", {"x": value})
    assert not (tmp_path / "t.safetensors").exists()


def test_bad_metadata_is_a_type_error(tmp_path):
    with pytest.raises(TypeError):
        spikenn.write_safetensors(tmp_path / "t.safetensors", {"x": np.ones(2, np.float32)}, {"n": 1})


def test_a_file_that_cannot_be_written_is_an_io_error(tmp_path):
    with pytest.raises(spikenn.IoError):
        spikenn.write_safetensors(tmp_path / "no_such_dir" / "t.safetensors", {"x": np.ones(2, np.float32)})


def test_a_file_that_is_not_safetensors(tmp_path):
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(spikenn.ScenarioError):
        spikenn.read_safetensors(tmp_path / "bad.safetensors")


# --- PyTorch -------------------------------------------------------------------------------

def make_neuron_module(torch, embed_dim, hidden_dim, readout=False):
    """A PyTorch module with the seed's parameter names (attention.query ... norm2), and a
    linear readout's when asked: the layout spike-nn reads a state_dict in."""
    nn = torch.nn

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.query, self.key, self.value, self.out = (nn.Linear(embed_dim, embed_dim) for _ in range(4))

    class FeedForward(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(embed_dim, hidden_dim)
            self.fc2 = nn.Linear(hidden_dim, embed_dim)

    class Neuron(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = Attention()
            self.feed_forward = FeedForward()
            self.norm1 = nn.LayerNorm(embed_dim)
            self.norm2 = nn.LayerNorm(embed_dim)
            if readout:
                self.readout = nn.Linear(embed_dim, 1)

    torch.manual_seed(5)
    m = Neuron()
    # PyTorch's LayerNorm defaults make the mean readout 0 whatever the input: give norm2
    # weights that vary and a bias, so that the neuron spikes, and by its input.
    with torch.no_grad():
        m.norm2.weight.normal_(1.0, 0.5)
        m.norm2.bias.normal_(0.3, 0.2)
    return m


def as_numpy(state_dict, prefix=""):
    return {prefix + k: v.detach().numpy() for k, v in state_dict.items()}


def test_torch_tensors_are_written(torch, tmp_path):
    t = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    spikenn.write_safetensors(tmp_path / "t.safetensors", {"t": t, "u": t.T})  # u: a transposed view
    back = spikenn.read_safetensors(tmp_path / "t.safetensors")
    assert back["t"].tolist() == t.tolist() and back["u"].tolist() == t.T.tolist()
    with pytest.raises(TypeError):
        spikenn.write_safetensors(tmp_path / "d.safetensors", {"d": t.double()})


def test_weights_written_from_torch_load_back_into_torch(torch, tmp_path):
    m = make_neuron_module(torch, EMBED, HIDDEN, readout=True)
    spikenn.write_safetensors(tmp_path / "w.safetensors", as_numpy(m.state_dict()))
    fresh = make_neuron_module(torch, EMBED, HIDDEN, readout=True)
    with torch.no_grad():
        for p in fresh.parameters():
            p.zero_()
    back = {k: torch.from_numpy(v) for k, v in spikenn.read_safetensors(tmp_path / "w.safetensors").items()}
    fresh.load_state_dict(back, strict=True)
    for (name, a), (_, b) in zip(m.state_dict().items(), fresh.state_dict().items()):
        assert torch.equal(a, b), name


def scenario_text(weights, readout):
    """One neuron and a population of two sharing weights, driven by random inputs."""
    neuron = f"embed_dim: {EMBED}, num_heads: {HEADS}, hidden_dim: {HIDDEN}, threshold: 0.5, refractory_period: 4ms"
    if readout:
        neuron += ", readout: linear"
    return (
        "run: {seed: 2, until: 200ms}\n"
        "neurons:\n"
        f"  - {{name: solo, {neuron}, weights: {{file: {weights}, index: 0}}}}\n"
        f"  - {{population: pair, size: 2, {neuron}, weights: {{file: {weights}, index: 1, shared: true}}}}\n"
        "connections: [{from: solo, to: pair, delay: 2ms}]\n"
        "stimuli: [{name: drive, to: all, rate: 200/s, until: 150ms, independent: true, tensor: {random: {seq_len: 3}}}]\n"
        "record: {weights: true}\n"
    )


def state_dict_network(torch, modules, readout):
    net = spikenn.Network()
    neuron = dict(embed_dim=EMBED, num_heads=HEADS, hidden_dim=HIDDEN, threshold=0.5, refractory_period="4ms")
    if readout:
        neuron["readout"] = "linear"
    # A whole network's state_dict, each neuron's under its own prefix, as PyTorch would save it.
    whole = {f"neurons.{i}.{k}": v for i, m in enumerate(modules) for k, v in m.state_dict().items()}
    net.add_neuron("solo", **neuron, state_dict=whole, prefix="neurons.0.")
    net.add_population("pair", 2, **neuron, state_dict=whole, prefix="neurons.1.")
    net.connect("solo", "pair", delay="2ms")
    net.add_stimulus("drive", "all", rate="200/s", until="150ms", independent=True, tensor={"random": {"seq_len": 3}})
    return net


@pytest.mark.parametrize("readout", [False, True], ids=["mean readout", "linear readout"])
def test_a_state_dict_runs_as_its_weights_file(torch, tmp_path, spikenn_run, readout):
    modules = [make_neuron_module(torch, EMBED, HIDDEN, readout), make_neuron_module(torch, EMBED, HIDDEN, readout)]
    with torch.no_grad():
        modules[1].norm2.bias.add_(0.1)  # the two sets of weights differ
    whole = {}
    for i, m in enumerate(modules):
        whole.update(as_numpy(m.state_dict(), f"neurons.{i}."))
    spikenn.write_safetensors(tmp_path / "w.safetensors", whole)
    (tmp_path / "s.yaml").write_text(scenario_text("w.safetensors", readout))
    ref = spikenn_run(tmp_path / "s.yaml", tmp_path / "out")
    from_file = spikenn.load(tmp_path / "s.yaml")
    from_file.run()

    sim = spikenn.Simulation(state_dict_network(torch, modules, readout), seed=2, until="200ms")
    sim.run()
    assert sim.fingerprint == from_file.fingerprint == ref.fingerprint
    assert len(sim.spikes) > 5
    assert set(sim.spikes["neuron"].tolist()) == {0, 1, 2}

    # The weights the command line saved are the state_dict's, and load into PyTorch.
    saved = spikenn.read_safetensors(ref.out / "weights.safetensors")
    for i, m in zip([0, 1, 2], [modules[0], modules[1], modules[1]]):
        mine = {k[len(f"neurons.{i}."):]: torch.from_numpy(v) for k, v in saved.items() if k.startswith(f"neurons.{i}.")}
        fresh = make_neuron_module(torch, EMBED, HIDDEN, readout)
        fresh.load_state_dict(mine, strict=True)
        for name, value in m.state_dict().items():
            assert torch.equal(fresh.state_dict()[name], value), (i, name)


def test_a_state_dict_of_numpy_arrays(torch, tmp_path):
    m = make_neuron_module(torch, EMBED, HIDDEN)
    net_np, net_torch = spikenn.Network(), spikenn.Network()
    for net, sd in [(net_np, as_numpy(m.state_dict())), (net_torch, m.state_dict())]:
        net.add_neuron("n", embed_dim=EMBED, num_heads=HEADS, hidden_dim=HIDDEN, threshold=0.4, state_dict=sd)
        net.add_stimulus("s", "n", every="3ms", until="60ms", tensor={"random": {"seq_len": 2}})
    a, b = spikenn.Simulation(net_np), spikenn.Simulation(net_torch)
    a.run()
    b.run()
    assert a.fingerprint == b.fingerprint and len(a.spikes) > 0


def test_a_state_dict_of_the_wrong_shape(torch):
    m = make_neuron_module(torch, EMBED, HIDDEN)
    net = spikenn.Network()
    with pytest.raises(spikenn.ScenarioError) as e:
        net.add_neuron("n", embed_dim=EMBED, num_heads=HEADS, hidden_dim=2 * HIDDEN, state_dict=m.state_dict())
        spikenn.Simulation(net)
    assert e.value.key == "neurons[0].state_dict"
    assert "feed_forward.fc1.weight" in str(e.value)


def test_a_stimulus_tensor_given_as_a_torch_tensor(torch):
    x = torch.linspace(-1.0, 1.0, 3 * EMBED, dtype=torch.float32).reshape(3, EMBED)
    fingerprints = []
    for tensor in (x, x.numpy()):
        net = spikenn.Network()
        net.add_neuron("n", embed_dim=EMBED, num_heads=HEADS, hidden_dim=HIDDEN, threshold=0.3,
                       weights={"norm2": {"weight": {"normal": {"mean": 1.0, "std": 0.5}}}})
        net.add_stimulus("s", "n", every="2ms", until="30ms", tensor=tensor)
        sim = spikenn.Simulation(net)
        sim.run()
        fingerprints.append(sim.fingerprint)
    assert fingerprints[0] == fingerprints[1]


# --- what a review of the module found ------------------------------------------------------

def one_neuron(state_dict, **extra):
    net = spikenn.Network()
    net.add_neuron("n", embed_dim=EMBED, num_heads=HEADS, hidden_dim=HIDDEN, threshold=0.4, state_dict=state_dict, **extra)
    net.add_stimulus("s", "n", every="3ms", until="60ms", tensor={"random": {"seq_len": 2}})
    sim = spikenn.Simulation(net)
    sim.run()
    return sim


def test_a_state_dict_that_is_a_mapping_but_not_a_dict(torch):
    # It was read after the copy made of it was freed (a crash).
    import types
    sd = as_numpy(make_neuron_module(torch, EMBED, HIDDEN).state_dict())
    assert one_neuron(types.MappingProxyType(sd)).fingerprint == one_neuron(sd).fingerprint


def test_readout_tensors_are_ignored_unless_the_readout_takes_them(torch):
    # As with a weights file: a mean or a drawn readout leaves readout.weight and .bias alone.
    with_readout = as_numpy(make_neuron_module(torch, EMBED, HIDDEN, readout=True).state_dict())
    without = {k: v for k, v in with_readout.items() if not k.startswith("readout.")}
    assert one_neuron(with_readout).fingerprint == one_neuron(without).fingerprint
    drawn = {"linear": {"init": "random"}}
    assert one_neuron(with_readout, readout=drawn).fingerprint == one_neuron(without, readout=drawn).fingerprint
    linear = one_neuron(with_readout, readout="linear")
    assert linear.fingerprint != one_neuron(with_readout, readout=drawn).fingerprint
    with pytest.raises(spikenn.ScenarioError) as e:
        one_neuron(without, readout="linear")
    assert e.value.key == "neurons[0].state_dict" and "readout.weight" in e.value.problem


def test_a_state_dict_is_checked_when_it_is_given(torch):
    sd = as_numpy(make_neuron_module(torch, EMBED, HIDDEN).state_dict())
    del sd["norm1.bias"]
    net = spikenn.Network()
    with pytest.raises(spikenn.ScenarioError) as e:
        net.add_neuron("n", embed_dim=EMBED, num_heads=HEADS, hidden_dim=HIDDEN, state_dict=sd)
    assert e.value.key == "neurons[0].state_dict" and "norm1.bias" in e.value.problem
    assert '"n"' not in net.to_yaml()  # the refused neuron was not added
