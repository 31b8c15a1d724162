"""spikenn.Network: a network built in Python, with the scenario file's keys.

A Network holds the scenario a YAML file would hold and hands it to the engine's scenario
loader, so that every default, check, random stream and error is the file's: a network built
here and the same scenario written in YAML run alike, to the fingerprint. What a text cannot
hold (weights from a state_dict, stimulus tensors from arrays) is handed over in memory.

Each call checks the network so far, as the loader will, and raises ScenarioError naming the
key, leaving the network as it was.
"""

import json
import numbers

from . import _spikenn
from .errors import ScenarioError

# Keys whose values are times: an int is a count of ticks (nanoseconds).
_TIME_KEYS = ("refractory_period", "delay", "every", "from", "until")


def _time(value, key):
    if isinstance(value, bool):
        raise TypeError(f"{key}: expected a time, got a bool")
    if isinstance(value, numbers.Integral):
        return f"{int(value)}ns"
    if isinstance(value, str):
        return value
    raise TypeError(f"{key}: a time is an int of ticks (nanoseconds) or a str with a unit such as '2ms'")


def _rate(value, key):
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return f"{float(value)!r}/s"
    raise TypeError(f"{key}: a rate is a number per second or a str such as '20/s'")


def _values(params, where):
    """The YAML values of keyword arguments: times and rates as the loader reads them."""
    out = {}
    for key, value in params.items():
        if value is None:
            continue
        name = "from" if key == "start" else key  # `from` is a Python keyword
        if name in _TIME_KEYS:
            value = _time(value, f"{where}.{name}")
        elif name == "at":
            value = [_time(v, f"{where}.at") for v in (value if isinstance(value, (list, tuple)) else [value])]
        elif name == "rate":
            value = _rate(value, f"{where}.rate")
        elif name == "decay":
            if isinstance(value, dict):
                value = {k: (_time(v, f"{where}.decay.{k}") if k == "exponential" else _rate(v, f"{where}.decay.{k}")) for k, v in value.items()}
            else:
                value = _rate(value, f"{where}.decay")
        out[name] = value
    return out


def _takes_readout(readout):
    """Whether a neuron with this `readout` takes a linear readout's weights from its
    state_dict, as it would from a weights file: a linear readout not drawn (init: random)."""
    if readout == "linear":
        return True
    if isinstance(readout, dict) and isinstance(readout.get("linear"), dict):
        return readout["linear"].get("init", "file") != "random"
    return isinstance(readout, dict) and "linear" in readout


def _is_array(value):
    return hasattr(value, "shape") and hasattr(value, "dtype")


class Network:
    """A network of transformer neurons, built call by call with the scenario file's keys
    (README, "Scenario files"); run it with spikenn.Simulation(network, seed=...)."""

    def __init__(self, description=None):
        self._description = description
        self._neurons = []
        self._connections = []
        self._stimuli = []
        self._record = {}
        self._weights = []  # (name, state_dict, prefix, (embed_dim, num_heads, hidden_dim), key, takes a readout)
        self._tensors = []  # (stimulus name, array, key)

    def add_neuron(self, name, *, state_dict=None, prefix="", **params):
        """One neuron: embed_dim, num_heads, hidden_dim, and any other key of a neuron entry
        (threshold, reset_potential, refractory_period, decay, readout, weights). state_dict:
        its weights, under the seed's names after `prefix`, from torch tensors or arrays."""
        return self._add_neurons({"name": name}, params, state_dict, prefix)

    def add_population(self, name, size, *, state_dict=None, prefix="", **params):
        """`size` neurons named NAME[0] ... NAME[size-1], with the keys of add_neuron; a
        state_dict gives every member the same weights."""
        return self._add_neurons({"population": name, "size": size}, params, state_dict, prefix)

    def connect(self, source, target, *, delay, pattern=None, weight=None, efficacy=None, probability=None, outdegree=None):
        """Synapses from `source` to `target` (selectors: a name, a population, "pop[i]",
        "all", or a list of these) by `pattern` (all_to_all, one_to_one, random, fixed_outdegree)."""
        where = f"connections[{len(self._connections)}]"
        entry = {"from": source, "to": target}
        entry.update(_values(dict(delay=delay, pattern=pattern, weight=weight, efficacy=efficacy, probability=probability, outdegree=outdegree), where))
        self._append(self._connections, entry)

    def connect_pairs(self, pairs, *, delay, weight=None, efficacy=None):
        """Synapses between explicit (source, target) pairs of neuron names."""
        where = f"connections[{len(self._connections)}]"
        entry = {"pairs": [[a, b] for a, b in pairs]}
        entry.update(_values(dict(delay=delay, weight=weight, efficacy=efficacy), where))
        self._append(self._connections, entry)

    def add_stimulus(self, name, to, *, tensor, at=None, every=None, rate=None, start=None, until=None, efficacy=None, independent=None):
        """A stimulus to the neurons `to` selects, at the times `at`, `every` period or at a
        Poisson `rate` (from `start` until `until`). tensor: {"random": {"seq_len", "std"}},
        {"constant": {"seq_len", "value"}}, {"npy": path}, or an array [seq_len, embed_dim]."""
        where = f"stimuli[{len(self._stimuli)}]"
        entry = {} if name is None else {"name": name}
        entry["to"] = to
        entry.update(_values(dict(at=at, every=every, rate=rate, start=start, until=until, efficacy=efficacy, independent=independent), where))
        given = None
        if _is_array(tensor):
            if not name:
                raise ScenarioError(f"{where}.name: a stimulus with a tensor given as an array needs a name", key=f"{where}.name",
                                    problem="a stimulus with a tensor given as an array needs a name")
            given = (name, tensor, f"{where}.tensor")
        else:
            entry["tensor"] = tensor
        if given:
            self._tensors.append(given)
        try:
            self._append(self._stimuli, entry)
        except Exception:
            if given:
                self._tensors.pop()
            raise

    def record(self, *, potentials=None, outputs=None, weights=None, stimuli=None):
        """The scenario's record: section: what a run writes to its files (spikenn run) and
        whether a Simulation keeps the spikes' outputs (outputs, default True)."""
        previous = dict(self._record)
        self._record.update({k: v for k, v in dict(potentials=potentials, outputs=outputs, weights=weights, stimuli=stimuli).items() if v is not None})
        try:
            _spikenn._check_network(self)
        except Exception:
            self._record = previous
            raise

    def to_yaml(self):
        """The scenario as text (JSON, which is YAML): `spikenn run` runs it as this network
        runs, but for what is held in memory, which a comment names. It is the text a
        Simulation loads, and so the one its event logs and checkpoints are of."""
        return self._scenario()[0]

    def save(self, path):
        """Writes to_yaml() to path."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_yaml())

    def __repr__(self):
        return f"<spikenn.Network: {len(self._neurons)} neuron entries, {len(self._connections)} connections, {len(self._stimuli)} stimuli>"

    # What spikenn.Simulation reads: the text and what is held in memory.
    def _scenario(self):
        doc = {}
        if self._description is not None:
            doc["description"] = self._description
        doc["neurons"] = self._neurons
        if self._connections:
            doc["connections"] = self._connections
        if self._stimuli:
            doc["stimuli"] = self._stimuli
        if self._record:
            doc["record"] = self._record
        text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
        held = [f"the weights of '{w[0]}'" for w in self._weights] + [f"the tensor of stimulus '{t[0]}'" for t in self._tensors]
        if held:
            text = f"# Held in memory by the program that built this network, not in this text: {', '.join(held)}.\n" + text
        return text, list(self._weights), list(self._tensors)

    def _add_neurons(self, head, params, state_dict, prefix):
        where = f"neurons[{len(self._neurons)}]"
        entry = dict(head)
        entry.update(_values(params, where))
        if state_dict is not None and isinstance(entry.get("weights"), dict) and "file" in entry["weights"]:
            problem = "weights are given as a state_dict: they cannot come from a file too"
            raise ScenarioError(f"{where}.weights.file: {problem}", key=f"{where}.weights.file", problem=problem)
        self._append(self._neurons, entry)
        if state_dict is not None:
            name = head.get("name", head.get("population"))
            # The loader has read them: whole numbers, perhaps written as text.
            dims = tuple(int(entry[k]) for k in ("embed_dim", "num_heads", "hidden_dim"))
            readout = _takes_readout(entry.get("readout"))
            try:
                # Every tensor is there, float32 and of its shape, now rather than at Simulation().
                _spikenn._check_state_dict(state_dict, prefix, *dims, f"{where}.state_dict", readout)
            except Exception:
                self._neurons.pop()
                raise
            self._weights.append((name, state_dict, prefix, dims, f"{where}.state_dict", readout))

    def _append(self, items, entry):
        items.append(entry)
        try:
            _spikenn._check_network(self)
        except Exception:
            items.pop()
            raise
