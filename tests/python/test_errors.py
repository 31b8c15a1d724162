"""What spike-nn raises: scenario errors with their place, failed runs with their event,
damaged checkpoints, files that cannot be written, and bad Python arguments."""

import re

import numpy as np
import pytest

import spikenn
from conftest import SOURCE_DIR

INVALID = sorted((SOURCE_DIR / "scenarios" / "invalid").glob("*.yaml"))
DEMO_FINGERPRINT = 0xAFBE161CB196C5D1
# "FILE:LINE:COLUMN: REST", REST starting with a key path ("neurons[1].name:m: ") when the
# message has one.
PLACE = re.compile(r"^spikenn: error: (?P<file>.+?):(?P<line>\d+):(?P<column>\d+): (?P<rest>.*)$")
KEY = re.compile(r"^(?P<key>[A-Za-z_][\w.\[\]:]*): ")


def test_every_class_is_an_error():
    for cls in (spikenn.ScenarioError, spikenn.SimulationError, spikenn.DamagedFileError, spikenn.LogError, spikenn.IoError):
        assert issubclass(cls, spikenn.Error) and issubclass(cls, Exception)
    assert issubclass(spikenn.LogError, spikenn.DamagedFileError)
    assert issubclass(spikenn.LogWarning, UserWarning)
    assert spikenn.errors.ScenarioError is spikenn.ScenarioError


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_an_invalid_scenario_names_its_place(path, source_dir, run_cli, tmp_path, monkeypatch):
    expect = path.read_bytes().split(b"\n", 1)[0].decode()
    assert expect.startswith("# expect: ")
    expect = expect[len("# expect: "):]
    relative = path.relative_to(source_dir)
    # The command line's message, from the same directory and the same relative path, so that
    # the paths inside it are the same.
    cli = run_cli("run", relative, "--out", tmp_path / "out", "--threads", "1", "-q", check=False)
    assert cli.returncode == 2
    message = next(line for line in cli.stderr.splitlines() if line.startswith("spikenn: error: "))

    monkeypatch.chdir(source_dir)
    with pytest.raises(spikenn.ScenarioError) as e:
        spikenn.load(relative)
    err = e.value
    assert expect in str(err)
    assert "spikenn: error: " + str(err) == message
    place = PLACE.match(message)
    assert place, message
    assert err.file == place["file"] == str(relative)
    assert (err.line, err.column) == (int(place["line"]), int(place["column"]))
    key = KEY.match(place["rest"])
    assert err.key == (key["key"] if key else None)
    assert err.problem == (place["rest"][key.end():] if key else place["rest"])


def test_a_missing_scenario_names_the_file(tmp_path):
    with pytest.raises(spikenn.ScenarioError) as e:
        spikenn.load(tmp_path / "no_such.yaml")
    assert e.value.file == str(tmp_path / "no_such.yaml")
    assert "no such file" in str(e.value)


def test_a_nan_stops_the_run_at_its_event(source_dir, run_cli, tmp_path):
    sim = spikenn.load(source_dir / "tests" / "data" / "nan.yaml")
    sim.record(tmp_path / "py.evlog")
    with pytest.raises(spikenn.SimulationError) as e:
        sim.run()
    err = e.value
    assert err.neuron == "blows_up" and err.time == 20_000_000 and err.event == 3
    assert "not finite" in str(err)
    # What came before the failure is kept: neuron fine's spike, and the log of events 1 and 2,
    # as the command line records them.
    assert sim.spikes["neuron"].tolist() == [sim.names.index("fine")]
    cli = run_cli("run", "tests/data/nan.yaml", "--out", tmp_path / "out", "--record", tmp_path / "cli.evlog", "-q", check=False)
    assert cli.returncode == 1
    with pytest.warns(spikenn.LogWarning):
        mine = spikenn.EventLog(tmp_path / "py.evlog")
    with pytest.warns(spikenn.LogWarning):
        theirs = spikenn.EventLog(tmp_path / "cli.evlog")
    assert len(mine) == 2 and mine.records.tolist() == theirs.records.tolist()
    assert not mine.complete and mine.fingerprint == theirs.fingerprint
    # A failed simulation goes no further.
    with pytest.raises(spikenn.Error):
        sim.run()


def seed_state_dict(embed_dim, hidden_dim, rng):
    """Random weights under the seed's parameter names, as NumPy arrays."""
    shapes = {f"attention.{p}.weight": (embed_dim, embed_dim) for p in ("query", "key", "value", "out")}
    shapes.update({f"attention.{p}.bias": (embed_dim,) for p in ("query", "key", "value", "out")})
    shapes.update({"feed_forward.fc1.weight": (hidden_dim, embed_dim), "feed_forward.fc1.bias": (hidden_dim,),
                   "feed_forward.fc2.weight": (embed_dim, hidden_dim), "feed_forward.fc2.bias": (embed_dim,)})
    sd = {k: (rng.normal(size=s) * 0.2).astype(np.float32) for k, s in shapes.items()}
    for norm in ("norm1", "norm2"):
        sd[f"{norm}.weight"] = np.ones(embed_dim, np.float32)
        sd[f"{norm}.bias"] = np.zeros(embed_dim, np.float32)
    return sd


def test_a_nan_weight_stops_the_run():
    net = spikenn.Network()
    shape = dict(embed_dim=16, num_heads=2, hidden_dim=32)
    net.add_neuron("calm", **shape, threshold=10.0)
    sd = seed_state_dict(16, 32, np.random.default_rng(3))
    sd["norm2.bias"][3] = np.nan
    net.add_neuron("broken", **shape, state_dict=sd)
    net.add_stimulus("s", "all", at=["1ms", "7ms"], tensor={"random": {"seq_len": 2}})
    sim = spikenn.Simulation(net)
    with pytest.raises(spikenn.SimulationError) as e:
        sim.run()
    # At 1ms calm's input (neuron 0) comes first, then broken's.
    assert e.value.neuron == "broken" and e.value.time == 1_000_000 and e.value.event == 2
    assert isinstance(e.value, spikenn.Error)
    assert sim.potentials()["neuron"].tolist() == [0]  # calm's input, the one event before


@pytest.fixture
def demo_checkpoint(demo_path, tmp_path):
    sim = spikenn.load(demo_path)
    sim.run_until("1s")
    sim.save_checkpoint(tmp_path / "at_1s.ckpt")
    return tmp_path / "at_1s.ckpt"


@pytest.mark.parametrize("damage", ["a flipped byte", "cut short"])
def test_a_damaged_checkpoint_is_refused_and_changes_nothing(demo_path, demo_checkpoint, tmp_path, damage):
    data = bytearray(demo_checkpoint.read_bytes())
    if damage == "a flipped byte":
        data[len(data) // 2] ^= 0x01
    else:
        del data[len(data) // 2:]
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(bytes(data))
    sim = spikenn.load(demo_path)
    with pytest.raises(spikenn.DamagedFileError) as e:
        sim.load_checkpoint(bad)
    assert e.value.path == str(bad) and isinstance(e.value.offset, int)
    assert sim.events_processed == 0 and sim.now == 0
    sim.run()
    assert sim.fingerprint == DEMO_FINGERPRINT


def test_a_checkpoint_of_another_scenario_is_refused(source_dir, demo_checkpoint):
    sim = spikenn.load(source_dir / "tests" / "data" / "small_network.yaml")
    with pytest.raises(spikenn.Error):
        sim.load_checkpoint(demo_checkpoint)
    assert sim.events_processed == 0


def test_outputs_that_cannot_be_written_are_io_errors(demo_path, tmp_path):
    sim = spikenn.load(demo_path)
    with pytest.raises(spikenn.IoError):
        sim.save_checkpoint(tmp_path / "no_such_dir" / "c.ckpt")
    with pytest.raises(spikenn.IoError):
        sim = spikenn.load(demo_path)
        sim.record(tmp_path / "no_such_dir" / "x.evlog")
        sim.run()


@pytest.mark.parametrize("value, error", [("soon", ValueError), ("5 parsecs", ValueError), (True, TypeError), (1.5, TypeError), ([1], TypeError)])
def test_bad_times_from_python(demo_path, value, error):
    with pytest.raises(error):
        spikenn.load(demo_path, until=value)
    sim = spikenn.load(demo_path)
    with pytest.raises(error):
        sim.run_until(value)
    assert sim.events_processed == 0


def test_an_unknown_neuron(demo_path):
    sim = spikenn.load(demo_path)
    with pytest.raises((KeyError, spikenn.Error)):
        sim.neuron("nobody")
    with pytest.raises((KeyError, spikenn.Error)):
        sim.potentials(["nobody"])
