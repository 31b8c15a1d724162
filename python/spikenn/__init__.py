"""spike-nn from Python: discrete-event simulation of spiking networks of transformer neurons.

    import spikenn
    sim = spikenn.load("scenarios/demo.yaml")
    sim.run()
    print(hex(sim.fingerprint), len(sim.spikes))

spikenn.load runs a YAML scenario as `spikenn run` does; spikenn.Network builds one in
Python; spikenn.EventLog reads an event log into NumPy arrays. Results are the command
line's, bit for bit. The README's "Python" section lists the whole API.
"""

from . import errors
from ._spikenn import (
    KINDS,
    OUTCOMES,
    Event,
    EventLog,
    Neuron,
    Simulation,
    SpikeOutput,
    __version__,
    load,
    read_safetensors,
    read_safetensors_metadata,
    write_safetensors,
)
from .errors import DamagedFileError, Error, IoError, LogError, LogWarning, ScenarioError, SimulationError
from .network import Network

__all__ = [
    "KINDS", "OUTCOMES", "DamagedFileError", "Error", "Event", "EventLog", "IoError", "LogError", "LogWarning", "Network",
    "Neuron", "ScenarioError", "Simulation", "SimulationError", "SpikeOutput", "__version__", "errors", "load",
    "read_safetensors", "read_safetensors_metadata", "write_safetensors",
]
