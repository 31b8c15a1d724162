"""Ctrl-C during a run: KeyboardInterrupt between two events, soon after the signal, and the
simulation goes on to the uninterrupted run's fingerprint. The run releases the GIL meanwhile.

The signal is SIGINT sent to the process, as a terminal's Ctrl-C is; a timer thread only sends
it, and Python's handler runs in the main thread, inside the run."""

import os
import signal
import threading
import time

import pytest

import spikenn

LONG_EVENTS = 13_800  # tests/data/python_long.yaml: about 1.5 s on one thread
INTERRUPT_AFTER = 0.3  # seconds into the run


@pytest.fixture
def long_path(source_dir):
    return source_dir / "tests" / "data" / "python_long.yaml"


class Interrupter:
    """Sends SIGINT after `delay` seconds and notes when; the handler in force is Python's
    own, which raises KeyboardInterrupt. A signal still pending at the end is withdrawn."""

    def __init__(self, delay):
        self.delay = delay
        self.sent_at = None

    def __enter__(self):
        self.previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        self.timer = threading.Timer(self.delay, self._send)
        self.timer.start()
        return self

    def _send(self):
        self.sent_at = time.perf_counter()
        os.kill(os.getpid(), signal.SIGINT)

    def __exit__(self, *exc):
        # A signal sent after the run must not reach pytest, which would stop the session.
        signal.signal(signal.SIGINT, lambda *_: None)
        self.timer.cancel()
        self.timer.join()
        signal.signal(signal.SIGINT, self.previous)
        return False


class Counter(threading.Thread):
    """Counts in Python while the main thread runs: it counts only while the GIL is free."""

    def __init__(self):
        super().__init__(daemon=True)
        self.count = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.count += 1


def interrupted(call):
    """Runs call() under an Interrupter; returns the delay from the signal to the exception."""
    with Interrupter(INTERRUPT_AFTER) as i:
        with pytest.raises(KeyboardInterrupt):
            call()
        caught_at = time.perf_counter()
    assert i.sent_at is not None, "the run ended before the signal came: make the scenario longer"
    return caught_at - i.sent_at


def test_ctrl_c_stops_run_and_run_goes_on(long_path):
    sim = spikenn.load(long_path)
    counter = Counter()
    counter.start()
    try:
        latency = interrupted(sim.run)
    finally:
        counter.stop.set()
        counter.join()
    assert latency < 1.0, f"KeyboardInterrupt came {latency:.3f} s after the signal"
    stopped_at = sim.events_processed
    assert 0 < stopped_at < LONG_EVENTS
    assert not sim.finished
    # The thread counted while the blocks were computed: the run let go of the GIL.
    assert counter.count > 1_000

    assert sim.run() == "end_time"
    assert sim.events_processed == LONG_EVENTS
    assert sim.fingerprint == sim.expected_fingerprint == 0x9BD455454D91C9FA


def test_ctrl_c_stops_run_until_and_it_goes_on(long_path):
    sim = spikenn.load(long_path)  # fresh: nothing is queued before the first event
    latency = interrupted(lambda: sim.run_until("200ms"))
    assert latency < 1.0, f"KeyboardInterrupt came {latency:.3f} s after the signal"
    assert 0 < sim.events_processed < LONG_EVENTS
    assert sim.now < 200_000_000
    assert sim.run_until("200ms") == "end_time" and sim.now == 200_000_000
    sim.run()
    assert sim.fingerprint == sim.expected_fingerprint
