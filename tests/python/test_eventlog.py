"""spikenn.EventLog against `spikenn log export` and `log show`, logs recorded from Python
against the command line's, and logs that were cut or damaged."""

import struct
import warnings

import numpy as np
import pytest

import spikenn

DEMO_FINGERPRINT = 0xAFBE161CB196C5D1
BLOCK = 4096  # records per block, as the writer makes them


def bits(values):
    return np.asarray(values, dtype=np.float64).view(np.uint64)


def block_offsets(data):
    """The byte offset of every block of a log (docs/eventlog.md), and where the footer starts."""
    (fields,) = struct.unpack_from("<I", data, 12)
    offset = 16 + fields + 8
    blocks = []
    while data[offset:offset + 4] == b"SBLK":
        blocks.append(offset)
        (length,) = struct.unpack_from("<I", data, offset + 24)
        offset += 28 + length + 8
    assert data[offset:offset + 4] == b"SEND"
    return blocks, offset


def test_records_equal_the_csv_export(demo_cli, run_cli, csv_rows):
    log = spikenn.EventLog(demo_cli.log)
    rows = csv_rows(run_cli("log", "export", demo_cli.log, "--format", "csv").stdout)
    r = log.records
    assert len(log) == len(r) == len(rows) == demo_cli.events
    assert r["number"].tolist() == [int(x["event"]) for x in rows]
    assert r["time_ticks"].tolist() == [int(x["time_ticks"]) for x in rows]
    assert [spikenn.KINDS[k] for k in r["kind"]] == [x["kind"] for x in rows]
    assert r["target"].tolist() == [int(x["target_id"]) for x in rows]
    assert r["source"].tolist() == [int(x["source_id"]) for x in rows]
    assert r["seq"].tolist() == [int(x["seq"]) for x in rows]
    assert [spikenn.OUTCOMES[o] for o in r["outcome"]] == [x["outcome"] for x in rows]
    assert r["cause"].tolist() == [int(x["cause"]) for x in rows]
    # The CSV writes the shortest text that reads back as the same double.
    assert bits(r["potential"]).tolist() == bits([float(x["potential"]) for x in rows]).tolist()
    assert r["has_tensor_hash"].tolist() == [x["tensor_hash"] != "" for x in rows]
    assert r["tensor_hash"].tolist() == [int(x["tensor_hash"], 16) if x["tensor_hash"] else 0 for x in rows]
    assert r["has_tensor_hash"].any() and not r["has_tensor_hash"].all()


def test_record_fields_and_types(demo_cli):
    r = spikenn.EventLog(demo_cli.log).records
    expected = [("number", "u8"), ("time_ticks", "i8"), ("kind", "u1"), ("target", "u4"), ("source", "u4"), ("seq", "u8"),
                ("outcome", "u1"), ("cause", "u8"), ("potential", "f8"), ("tensor_hash", "u8"), ("has_tensor_hash", "?")]
    # By name: the order of the fields in memory is the module's choice.
    assert sorted(r.dtype.names) == sorted(name for name, _ in expected)
    for name, code in expected:
        assert r.dtype[name] == np.dtype(code), name


def test_fingerprint_header_and_completeness(demo_cli, source_dir):
    log = spikenn.EventLog(demo_cli.log)
    assert log.fingerprint == demo_cli.fingerprint == DEMO_FINGERPRINT
    assert log.complete and log.problem is None
    h = log.header
    assert h["version"] == 1
    assert h["engine_version"] == spikenn.__version__
    assert h["scenario_path"] == "scenarios/demo.yaml"  # as given on the command line
    assert h["scenario_text"] == (source_dir / "scenarios" / "demo.yaml").read_text()
    assert isinstance(h["scenario_hash"], int) and h["scenario_hash"] != 0
    assert h["seed"] == 7
    assert h["end_ticks"] == 3_000_000_000
    assert h["max_events"] is None
    assert h["files"] == []
    assert h["neuron_names"] == spikenn.load(source_dir / "scenarios" / "demo.yaml").names
    assert h["stimulus_names"] == ["noise", "beat"]


def test_header_limits_and_files(spikenn_run, tmp_path):
    # A weights file is named in the header with its hash, and the limits are the run's.
    w = {name: np.full(shape, 0.01, np.float32) for name, shape in [
        ("attention.query.weight", (8, 8)), ("attention.query.bias", (8,)), ("attention.key.weight", (8, 8)), ("attention.key.bias", (8,)),
        ("attention.value.weight", (8, 8)), ("attention.value.bias", (8,)), ("attention.out.weight", (8, 8)), ("attention.out.bias", (8,)),
        ("feed_forward.fc1.weight", (16, 8)), ("feed_forward.fc1.bias", (16,)), ("feed_forward.fc2.weight", (8, 16)),
        ("feed_forward.fc2.bias", (8,)), ("norm1.weight", (8,)), ("norm1.bias", (8,)), ("norm2.weight", (8,)), ("norm2.bias", (8,))]}
    spikenn.write_safetensors(tmp_path / "w.safetensors", w)
    (tmp_path / "s.yaml").write_text(
        "neurons: [{name: a, embed_dim: 8, num_heads: 2, hidden_dim: 16, weights: {file: w.safetensors}}]\n"
        "stimuli: [{name: s, to: a, every: 1ms, until: 10ms, tensor: {constant: {seq_len: 1, value: 1}}}]\n")
    run = spikenn_run(tmp_path / "s.yaml", tmp_path / "out", "--max-events", "5", "--seed", "3", record=tmp_path / "s.evlog")
    h = spikenn.EventLog(run.log).header
    assert h["seed"] == 3 and h["max_events"] == 5 and h["end_ticks"] is None
    assert len(h["files"]) == 1 and h["files"][0]["path"].endswith("w.safetensors")
    assert isinstance(h["files"][0]["hash"], int)


def test_a_log_recorded_from_python_is_the_command_lines(demo_cli, source_dir, tmp_path, monkeypatch):
    # Given the same path as the command line was, the header is the same: the whole file is.
    monkeypatch.chdir(source_dir)
    sim = spikenn.load("scenarios/demo.yaml")
    sim.record(tmp_path / "py.evlog")
    sim.run()
    mine, theirs = spikenn.EventLog(tmp_path / "py.evlog"), spikenn.EventLog(demo_cli.log)
    assert mine.complete and mine.fingerprint == theirs.fingerprint == sim.fingerprint
    assert mine.records.tolist() == theirs.records.tolist()
    assert mine.header == theirs.header
    assert (tmp_path / "py.evlog").read_bytes() == demo_cli.log.read_bytes()


def test_a_log_recorded_from_python_under_another_path(demo_cli, demo_path, tmp_path):
    sim = spikenn.load(demo_path)  # absolute: the header's scenario path differs
    sim.record(tmp_path / "py.evlog")
    sim.run()
    mine, theirs = spikenn.EventLog(tmp_path / "py.evlog"), spikenn.EventLog(demo_cli.log)
    assert mine.fingerprint == theirs.fingerprint == DEMO_FINGERPRINT
    assert mine.records.tolist() == theirs.records.tolist()
    assert mine.header["scenario_path"] == str(demo_path)
    assert {k: v for k, v in mine.header.items() if k != "scenario_path"} == {k: v for k, v in theirs.header.items() if k != "scenario_path"}


def test_the_command_line_reads_a_log_recorded_from_python(demo_path, tmp_path, run_cli):
    sim = spikenn.load(demo_path)
    sim.record(tmp_path / "py.evlog")
    sim.run()
    out = run_cli("replay", tmp_path / "py.evlog").stdout
    assert "verified: 1443 events match" in out


def test_record_comes_before_the_run(demo_path, tmp_path):
    sim = spikenn.load(demo_path)
    sim.step()
    with pytest.raises(spikenn.Error):
        sim.record(tmp_path / "late.evlog")
    assert not (tmp_path / "late.evlog").exists()


def test_potentials_are_those_of_the_log(demo_cli, demo_path):
    sim = spikenn.load(demo_path)
    sim.run()
    p = sim.potentials()
    r = spikenn.EventLog(demo_cli.log).records
    assert p["event"].tolist() == r["number"].tolist()
    assert p["time_ticks"].tolist() == r["time_ticks"].tolist()
    assert p["neuron"].tolist() == r["target"].tolist()
    assert bits(p["potential"]).tolist() == bits(r["potential"]).tolist()


def fingerprint_after(source_dir, events):
    """The fingerprint of a run of many_events.yaml stopped after `events` events."""
    sim = spikenn.load(source_dir / "tests" / "data" / "many_events.yaml", max_events=events)
    sim.run()
    return sim.fingerprint


@pytest.mark.parametrize("where", ["inside the third block", "between two blocks", "before the footer"])
def test_a_cut_log_gives_its_complete_blocks(many_events_cli, source_dir, tmp_path, run_cli, where):
    data = many_events_cli.log.read_bytes()
    blocks, footer = block_offsets(data)
    assert len(blocks) == 4
    full = spikenn.EventLog(many_events_cli.log).records
    assert len(full) == many_events_cli.events == 13_500
    cut, kept = {"inside the third block": ((blocks[2] + blocks[3]) // 2, 2 * BLOCK),
                 "between two blocks": (blocks[2], 2 * BLOCK),
                 "before the footer": (footer, len(full))}[where]
    path = tmp_path / "cut.evlog"
    path.write_bytes(data[:cut])
    with pytest.warns(spikenn.LogWarning) as caught:
        log = spikenn.EventLog(path)
    assert not log.complete
    assert len(log) == kept
    assert log.records.tolist() == full[:kept].tolist()
    assert log.fingerprint == fingerprint_after(source_dir, kept)
    # The problem is what `spikenn log show` says, and the warning says it too.
    assert isinstance(log.problem, str) and log.problem
    assert any(str(w.message) == log.problem for w in caught)
    shown = run_cli("log", "show", path, check=False)
    assert shown.returncode == 2
    assert log.problem in shown.stderr


def test_a_damaged_block_raises_log_error(many_events_cli, source_dir, tmp_path, run_cli):
    data = bytearray(many_events_cli.log.read_bytes())
    blocks, _ = block_offsets(data)
    data[(blocks[2] + blocks[3]) // 2] ^= 0x10  # a bit of a record in the third block
    path = tmp_path / "damaged.evlog"
    path.write_bytes(bytes(data))

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # raising, not warning
        with pytest.raises(spikenn.LogError) as e:
            spikenn.EventLog(path)
    err = e.value
    assert isinstance(err, spikenn.DamagedFileError) and isinstance(err, spikenn.Error)
    assert err.path == str(path)
    assert err.offset == blocks[2]  # the block whose checksum fails
    assert err.event == 2 * BLOCK  # the last event read completely
    shown = run_cli("log", "show", path, check=False)
    assert shown.returncode == 2 and str(err) in shown.stderr

    with pytest.warns(spikenn.LogWarning):
        log = spikenn.EventLog(path, damaged="warn")
    assert not log.complete and log.problem == str(err)
    assert len(log) == 2 * BLOCK
    assert log.records.tolist() == spikenn.EventLog(many_events_cli.log).records[:2 * BLOCK].tolist()
    assert log.fingerprint == fingerprint_after(source_dir, 2 * BLOCK)


def test_damaged_takes_raise_or_warn(many_events_cli):
    with pytest.raises(ValueError):
        spikenn.EventLog(many_events_cli.log, damaged="ignore")


def test_a_file_that_is_not_a_log(tmp_path, demo_path):
    with pytest.raises(spikenn.Error):
        spikenn.EventLog(demo_path)
