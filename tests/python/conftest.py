"""Fixtures of the Python module's tests: the source tree, the command line, and runs of it.

The command line is the reference: what the module computes is compared with what `spikenn
run`, `spikenn log export` and the output files say for the same scenario. Every file the
tests write goes under pytest's temporary directories.

    PYTHONPATH=build/python /usr/bin/python3 -m pytest -q tests/python

SPIKENN_SOURCE_DIR (default: the tree holding this file) and SPIKENN_CLI (default:
build/tools/spikenn in it) point elsewhere; SPIKENN_REQUIRE_TORCH=1 makes a missing PyTorch
a failure instead of a skip.
"""

import csv
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("SPIKENN_SOURCE_DIR", Path(__file__).resolve().parents[2]))

try:
    import spikenn  # noqa: F401
except ImportError:
    # Run without PYTHONPATH: the module as the build tree holds it.
    sys.path.insert(0, str(SOURCE_DIR / "build" / "python"))
    import spikenn  # noqa: F401

FINGERPRINT_LINE = re.compile(r"^\s*fingerprint\s+(0x[0-9a-f]{16})\s*$", re.MULTILINE)
EVENTS_LINE = re.compile(r"^\s*events\s+(\d+):", re.MULTILINE)


@dataclass
class CliRun:
    """What one `spikenn run` left: its summary, output directory and event log."""

    stdout: str
    out: Path
    log: Path | None
    fingerprint: int
    events: int


@pytest.fixture(scope="session")
def source_dir():
    return SOURCE_DIR


@pytest.fixture(scope="session")
def cli():
    path = Path(os.environ.get("SPIKENN_CLI", SOURCE_DIR / "build" / "tools" / "spikenn"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"the command line {path} is missing: build it, or set SPIKENN_CLI")
    return path


@pytest.fixture(scope="session")
def run_cli(cli):
    """Runs the command line in the source tree, where the scenarios' relative paths hold;
    check=True fails the test on a non-zero exit."""

    def run(*args, check=True):
        r = subprocess.run([str(cli), *map(str, args)], cwd=SOURCE_DIR, capture_output=True, text=True, timeout=300)
        if check and r.returncode != 0:
            pytest.fail(f"spikenn {' '.join(map(str, args))}: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
        return r

    return run


@pytest.fixture(scope="session")
def spikenn_run(run_cli):
    """`spikenn run SCENARIO --out OUT [--record LOG] OPTIONS...`, its summary parsed."""

    def run(scenario, out, *options, record=None):
        args = ["run", scenario, "--out", out, "-q", *options]
        if record is not None:
            args += ["--record", record]
        r = run_cli(*args)
        fp = FINGERPRINT_LINE.search(r.stdout)
        events = EVENTS_LINE.search(r.stdout)
        assert fp and events, f"no fingerprint or event count in the summary:\n{r.stdout}"
        return CliRun(r.stdout, Path(out), None if record is None else Path(record), int(fp.group(1), 16), int(events.group(1)))

    return run


@pytest.fixture(scope="session")
def demo_cli(spikenn_run, tmp_path_factory):
    """The demo as the command line runs it, recorded: the reference of most tests."""
    d = tmp_path_factory.mktemp("demo_cli")
    return spikenn_run("scenarios/demo.yaml", d / "out", record=d / "demo.evlog")


@pytest.fixture(scope="session")
def many_events_cli(spikenn_run, tmp_path_factory):
    """A log of several blocks (13,500 events in blocks of 4,096), for cut and damaged logs."""
    d = tmp_path_factory.mktemp("many_events_cli")
    return spikenn_run("tests/data/many_events.yaml", d / "out", record=d / "many.evlog")


@pytest.fixture(scope="session")
def demo_path():
    return SOURCE_DIR / "scenarios" / "demo.yaml"


@pytest.fixture
def torch():
    if os.environ.get("SPIKENN_REQUIRE_TORCH") == "1":
        import torch as t  # a missing PyTorch fails the test here
        return t
    return pytest.importorskip("torch")


def read_csv(text_or_path):
    """Rows of a CSV file (a Path) or text (a str), as dicts of strings."""
    text = text_or_path.read_text() if isinstance(text_or_path, Path) else text_or_path
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="session")
def csv_rows():
    return read_csv
