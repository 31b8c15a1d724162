"""The examples in examples/python/ run as their README says, and do what it says they do."""

import os
import subprocess
import sys

import pytest


def run_example(source_dir, name, *args):
    env = dict(os.environ, MPLBACKEND="Agg")
    r = subprocess.run([sys.executable, str(source_dir / "examples" / "python" / name), *map(str, args)], cwd=source_dir, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"{name}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stdout


def test_raster_example_draws_a_png_and_prints_the_fingerprint(source_dir, tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "raster.png"
    out = run_example(source_dir, "raster.py", png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000  # a picture, not an empty canvas
    fingerprint = [line for line in out.splitlines() if "fingerprint 0x" in line]
    assert len(fingerprint) == 1
    # Deterministic: the same run again.
    assert fingerprint[0] in run_example(source_dir, "raster.py", tmp_path / "again.png")


def test_torch_weights_example_runs(source_dir, torch):
    out = run_example(source_dir, "torch_weights.py")
    counts = [int(line.split()[1]) for line in out.splitlines() if line.startswith("p[")]
    assert len(counts) == 5 and all(c > 0 for c in counts)
