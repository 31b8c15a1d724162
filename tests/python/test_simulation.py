"""spikenn.load and Simulation against the command line: fingerprints, spikes, potentials,
spike outputs, stepping, running in stages, neuron state and checkpoints."""

import numpy as np
import pytest

import spikenn

DEMO_FINGERPRINT = 0xAFBE161CB196C5D1
DEMO_RECORDED = ["in[0]", "hidden[0]", "out[0]", "out[1]"]  # record.potentials: ["in[0]", "hidden[0]", out]
SECOND = 1_000_000_000


def bits(values):
    return np.asarray(values, dtype=np.float64).view(np.uint64)


def test_version_and_codes():
    assert spikenn.__version__ == "0.4.0"
    assert spikenn.KINDS == ("refractory_end", "decay_update", "spike", "input")
    assert spikenn.OUTCOMES == ("accumulated", "dropped", "spiked", "delivered", "decay_update", "refractory_end", "cancelled")


def test_demo_run_gives_the_command_lines_fingerprint(demo_path, demo_cli):
    sim = spikenn.load(demo_path)
    assert not sim.finished and sim.events_processed == 0 and sim.now == 0
    assert sim.run() == "queue_empty"  # the summary's "no events left"
    assert sim.fingerprint == demo_cli.fingerprint == DEMO_FINGERPRINT
    assert sim.expected_fingerprint == DEMO_FINGERPRINT
    assert sim.events_processed == demo_cli.events == 1443
    assert sim.finished
    assert sim.now == 3 * SECOND  # run() takes the clock to run.until


def test_names_are_the_neuron_ids(demo_path):
    sim = spikenn.load(demo_path)
    assert sim.names == [f"in[{i}]" for i in range(4)] + [f"hidden[{i}]" for i in range(8)] + ["out[0]", "out[1]"]


def test_spikes_equal_spikes_csv(demo_path, demo_cli, csv_rows):
    sim = spikenn.load(demo_path)
    sim.run()
    rows = csv_rows(demo_cli.out / "spikes.csv")
    s = sim.spikes
    assert s.dtype.names == ("time_ticks", "neuron")
    assert s.dtype["time_ticks"] == np.int64 and s.dtype["neuron"] == np.uint32
    assert len(s) == len(rows) == 58
    assert s["time_ticks"].tolist() == [int(r["time_ticks"]) for r in rows]
    assert s["neuron"].tolist() == [int(r["neuron_id"]) for r in rows]
    assert [sim.names[n] for n in s["neuron"]] == [r["neuron"] for r in rows]


def test_potentials_equal_potentials_csv(demo_path, demo_cli, csv_rows):
    sim = spikenn.load(demo_path)
    sim.run()
    rows = csv_rows(demo_cli.out / "potentials.csv")
    assert sorted({r["neuron"] for r in rows}) == sorted(DEMO_RECORDED)
    p = sim.potentials(DEMO_RECORDED)
    assert p.dtype.names == ("event", "time_ticks", "neuron", "potential")
    assert [p.dtype[f] for f in p.dtype.names] == [np.uint64, np.int64, np.uint32, np.float64]
    assert len(p) == len(rows) > 100
    assert p["event"].tolist() == [int(r["event"]) for r in rows]
    assert p["time_ticks"].tolist() == [int(r["time_ticks"]) for r in rows]
    assert p["neuron"].tolist() == [int(r["neuron_id"]) for r in rows]
    # The CSV's text is the shortest that reads back as the same double: compare the bits.
    assert bits(p["potential"]).tolist() == bits([float(r["potential"]) for r in rows]).tolist()


def test_potentials_of_every_neuron_and_of_some(demo_path):
    sim = spikenn.load(demo_path)
    sim.run()
    every = sim.potentials()
    assert len(every) == sim.events_processed  # every event is some neuron's
    assert every["event"].tolist() == list(range(1, sim.events_processed + 1))
    one = sim.potentials(["hidden[3]"])
    assert len(one) > 0 and set(one["neuron"].tolist()) == {sim.names.index("hidden[3]")}
    assert one.tolist() == every[every["neuron"] == sim.names.index("hidden[3]")].tolist()


@pytest.mark.parametrize(
    "kwargs, options, reason, end",
    [
        ({"max_events": 100}, ["--max-events", "100"], "max_events", None),
        ({"until": "1s"}, ["--until", "1s"], "end_time", SECOND),
        ({"until": SECOND // 2}, ["--until", "500ms"], "end_time", SECOND // 2),
        ({"seed": 8}, ["--seed", "8"], "queue_empty", 3 * SECOND),
    ],
)
def test_load_overrides_as_the_command_lines_options(demo_path, spikenn_run, tmp_path, kwargs, options, reason, end):
    sim = spikenn.load(demo_path, **kwargs)
    assert sim.run() == reason
    ref = spikenn_run("scenarios/demo.yaml", tmp_path / "out", *options)
    assert sim.fingerprint == ref.fingerprint != DEMO_FINGERPRINT
    assert sim.events_processed == ref.events
    if end is not None:
        assert sim.now == end
    else:
        assert sim.events_processed == 100


def test_threads_change_nothing(demo_path):
    one = spikenn.load(demo_path, threads=1)
    two = spikenn.load(demo_path, threads=2)
    one.run()
    two.run()
    assert one.fingerprint == two.fingerprint == DEMO_FINGERPRINT
    assert one.spikes.tolist() == two.spikes.tolist()


def test_step_gives_the_events_of_the_log(demo_path, tmp_path):
    sim = spikenn.load(demo_path)
    sim.record(tmp_path / "stepped.evlog")
    events = []
    while (e := sim.step()) is not None:
        assert e.number == len(events) + 1 == sim.events_processed
        assert sim.now == e.time
        events.append(e)
    assert sim.step() is None
    assert sim.run() == "queue_empty"  # finishes the run (the log's footer) and processes nothing
    assert sim.events_processed == len(events) == 1443
    assert sim.fingerprint == DEMO_FINGERPRINT

    log = spikenn.EventLog(tmp_path / "stepped.evlog")
    assert log.complete and log.fingerprint == DEMO_FINGERPRINT
    r = log.records
    assert [e.number for e in events] == r["number"].tolist()
    assert [e.time for e in events] == r["time_ticks"].tolist()
    assert [e.kind for e in events] == [spikenn.KINDS[k] for k in r["kind"]]
    assert [e.target for e in events] == r["target"].tolist()
    assert [e.source for e in events] == r["source"].tolist()
    assert [e.seq for e in events] == r["seq"].tolist()
    assert [e.cause for e in events] == r["cause"].tolist()
    assert [e.outcome for e in events] == [spikenn.OUTCOMES[o] for o in r["outcome"]]
    assert bits([e.potential for e in events]).tolist() == bits(r["potential"]).tolist()
    stimuli = log.header["stimulus_names"]
    for e in events:
        assert e.target_name == sim.names[e.target]
        if e.source & 0x80000000:
            name = stimuli[e.source & 0x7FFFFFFF]
            assert e.source_name in (name, f"stimulus:{name}")
        else:
            assert e.source_name == sim.names[e.source]
    assert {e.kind for e in events} == set(spikenn.KINDS)


def test_step_stops_at_the_limits(demo_path, demo_cli):
    sim = spikenn.load(demo_path, max_events=5)
    assert [sim.step().number for _ in range(5)] == [1, 2, 3, 4, 5]
    assert sim.step() is None and sim.events_processed == 5
    times = spikenn.EventLog(demo_cli.log).records["time_ticks"]
    sim = spikenn.load(demo_path, until=int(times[9]))
    while sim.step() is not None:
        pass
    assert sim.events_processed == int(np.count_nonzero(times <= times[9]))
    assert sim.run() == "end_time" and sim.now == int(times[9])


def test_run_until_in_stages_then_run_is_one_run(demo_path, demo_cli):
    times = spikenn.EventLog(demo_cli.log).records["time_ticks"]
    sim = spikenn.load(demo_path)
    assert sim.run_until(SECOND // 2) == "end_time"
    assert sim.now == SECOND // 2 and not sim.finished
    assert sim.events_processed == int(np.count_nonzero(times <= SECOND // 2))
    sim.run_until("1.2s")
    assert sim.now == 1_200_000_000
    assert sim.events_processed == int(np.count_nonzero(times <= 1_200_000_000))
    assert sim.run() == "queue_empty"
    assert sim.fingerprint == DEMO_FINGERPRINT and sim.events_processed == 1443


def test_run_until_at_an_event_time_includes_it(demo_path, demo_cli):
    times = spikenn.EventLog(demo_cli.log).records["time_ticks"]
    t = int(times[99])
    sim = spikenn.load(demo_path)
    sim.run_until(t)
    assert sim.events_processed == int(np.count_nonzero(times <= t)) >= 100


def test_neuron_state_after_the_run(demo_path):
    sim = spikenn.load(demo_path)
    sim.run()
    spikes = sim.spikes
    layers = {"in": (0.3, 0.0, 60), "hidden": (0.8, 0.1, 80), "out": (0.9, 0.0, 50)}  # threshold, reset, refractory ms
    for i, name in enumerate(sim.names):
        threshold, reset, refractory_ms = layers[name.split("[")[0]]
        n = sim.neuron(name)
        assert n.name == name and n.id == i
        assert n.threshold == pytest.approx(threshold) and n.reset_potential == pytest.approx(reset)
        assert n.potential == 0  # the drive stops at 1.5s, and every potential decays to 0 by 3s
        mine = spikes["time_ticks"][spikes["neuron"] == i]
        assert len(mine) > 0
        assert n.last_spike == int(mine.max())
        assert n.refractory_until == n.last_spike + refractory_ms * 1_000_000
        assert not n.refractory


def test_neuron_state_mid_run_follows_the_semantics(demo_path):
    # hidden[5] (decay 1/s, refractory 80ms, reset 0.1) spikes at 172.720104ms.
    sim = spikenn.load(demo_path)
    spike = 172_720_104
    now = spike + 10_000_000
    sim.run_until(now)
    i = sim.names.index("hidden[5]")
    n = sim.neuron("hidden[5]")
    assert n.last_spike == spike and n.refractory and n.refractory_until == spike + 80_000_000
    # Its potential now: the one after its last event, decayed linearly since.
    p = sim.potentials(["hidden[5]"])
    assert p["neuron"].tolist() == [i] * len(p)
    last = p[-1]
    expected = max(0.0, last["potential"] - 1.0 * (now - last["time_ticks"]) / 1e9)
    assert expected > 0
    assert n.potential == pytest.approx(expected, rel=1e-12, abs=1e-15)
    sim.run_until(spike + 80_000_000)  # an input exactly at the end of the period is accepted
    assert not sim.neuron("hidden[5]").refractory


def test_neuron_that_never_spikes(source_dir):
    # The seed's network: no neuron spikes, and n1 decays from its reset potential 0.5 at 0.03/s.
    sim = spikenn.load(source_dir / "scenarios" / "seed.yaml")
    sim.run_until("10s")
    n = sim.neuron("n1")
    assert n.last_spike is None and n.refractory_until is None and not n.refractory
    assert n.threshold == 1.5 and n.reset_potential == 0.5
    assert n.potential == pytest.approx(0.5 - 0.03 * 10, abs=1e-6)
    sim.run()
    assert len(sim.spikes) == 0 and sim.fingerprint == sim.expected_fingerprint
    assert sim.neuron("n1").potential == 0


def test_checkpoint_then_a_fresh_simulation_goes_on(demo_path, tmp_path):
    sim = spikenn.load(demo_path)
    sim.run_until("1s")
    done = sim.events_processed
    sim.save_checkpoint(tmp_path / "at_1s.ckpt")
    assert (tmp_path / "at_1s.ckpt").stat().st_size > 0

    fresh = spikenn.load(demo_path)
    fresh.load_checkpoint(tmp_path / "at_1s.ckpt")
    assert fresh.now == SECOND and fresh.events_processed == done
    assert fresh.neuron("hidden[2]").potential == sim.neuron("hidden[2]").potential
    assert fresh.run() == "queue_empty"
    assert fresh.fingerprint == DEMO_FINGERPRINT and fresh.events_processed == 1443

    sim.run()  # saving changed nothing of the run it was taken from
    assert sim.fingerprint == DEMO_FINGERPRINT
    # The spikes after the checkpoint are those of the uninterrupted run.
    after = sim.spikes[sim.spikes["time_ticks"] > SECOND]
    assert fresh.spikes[fresh.spikes["time_ticks"] > SECOND].tolist() == after.tolist()


def test_spike_outputs_equal_outputs_safetensors(demo_path, demo_cli):
    sim = spikenn.load(demo_path)
    sim.run()
    outputs = sim.spike_outputs()
    spikes = sim.spikes
    assert len(outputs) == len(spikes) == 58
    files = spikenn.read_safetensors(demo_cli.out / "outputs.safetensors")
    meta = spikenn.read_safetensors_metadata(demo_cli.out / "outputs.safetensors")
    assert sorted(files) == [f"spike.{k:09d}" for k in range(len(spikes))]
    for k, (o, s) in enumerate(zip(outputs, spikes)):
        assert o.neuron == s["neuron"] and o.time_ticks == s["time_ticks"]
        assert o.output.dtype == np.float32 and o.output.shape == (10, 64)  # [seq_len, embed_dim]
        name = f"spike.{k:09d}"
        assert meta[f"{name}.neuron"] == sim.names[o.neuron]
        assert meta[f"{name}.time_ticks"] == str(o.time_ticks)
        assert files[name].dtype == np.float32
        assert files[name].view(np.uint32).tolist() == o.output.view(np.uint32).tolist()


def test_a_checkpoint_loaded_back_in_time_keeps_only_the_results_from_it(demo_path, tmp_path):
    # A rewind listed the spikes between the checkpoint and the load twice.
    whole = spikenn.load(demo_path)
    whole.run()
    sim = spikenn.load(demo_path)
    sim.run_until("50ms")
    sim.save_checkpoint(tmp_path / "c.ckpt")
    sim.run_until("900ms")
    sim.load_checkpoint(tmp_path / "c.ckpt")
    sim.run()
    assert sim.fingerprint == whole.fingerprint
    after = whole.spikes[whole.spikes["time_ticks"] >= 50_000_000]
    assert sim.spikes.tolist() == after.tolist()
    assert len(sim.spike_outputs()) == len(after)
    later = whole.potentials()
    assert sim.potentials().tolist() == later[later["time_ticks"] > 50_000_000].tolist()


def test_arguments_of_the_wrong_type_or_range(demo_path):
    for kwargs, error in [({"seed": -1}, ValueError), ({"seed": "x"}, TypeError), ({"max_events": -1}, ValueError),
                          ({"threads": 1.5}, TypeError), ({"threads": 0}, ValueError), ({"seed": 2**70}, ValueError)]:
        with pytest.raises(error):
            spikenn.load(demo_path, **kwargs)
    with pytest.raises(TypeError):
        spikenn.load(demo_path).potentials(names=5)


def test_a_checkpoint_of_a_finished_run_is_an_error_of_the_call(demo_path, tmp_path):
    sim = spikenn.load(demo_path)
    sim.run()
    with pytest.raises(spikenn.Error) as e:
        sim.save_checkpoint(tmp_path / "c.ckpt")
    assert type(e.value) is spikenn.Error and "finished" in str(e.value)
