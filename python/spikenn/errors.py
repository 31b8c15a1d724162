"""What spike-nn raises: one family of exceptions under spikenn.Error.

The engine's C++ exceptions arrive as these classes, with the attributes their C++
counterparts carry (engine/include/spikenn/error.hpp), so that a program can tell apart a
wrong input (ScenarioError), a failed run (SimulationError) and a damaged file
(DamagedFileError, LogError) without reading messages.
"""


class Error(Exception):
    """Everything spike-nn raises derives from this."""


class ScenarioError(Error):
    """The input is wrong: a scenario file, a weights or .npy file, a call of Network.

    file, line, column: where in the file (None when unknown, and for a Network built in
    Python); key: the scenario key ("connections[0].delay"); problem: the message without
    the place.
    """

    def __init__(self, message, *, file=None, line=None, column=None, key=None, problem=None):
        super().__init__(message)
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.problem = message if problem is None else problem


class SimulationError(Error):
    """The run failed at an event: its neuron's name (None for none), its time in ticks and
    its number. The simulation keeps what it recorded; load a checkpoint to go on."""

    def __init__(self, message, *, neuron=None, time=None, event=None):
        super().__init__(message)
        self.neuron = neuron
        self.time = time
        self.event = event


class DamagedFileError(Error):
    """A file spike-nn wrote (a checkpoint, an event log) is damaged or is not one: its path
    and the byte offset where reading stopped."""

    def __init__(self, message, *, path=None, offset=None):
        super().__init__(message)
        self.path = path
        self.offset = offset


class LogError(DamagedFileError):
    """A damaged event log; event is the number of the last event read completely (0: none)."""

    def __init__(self, message, *, path=None, offset=None, event=None):
        super().__init__(message, path=path, offset=offset)
        self.event = event


class IoError(Error):
    """A file the run writes could not be written (a full disk, a file removed meanwhile)."""


class LogWarning(UserWarning):
    """An event log ends early: what was read is kept, and this says where it stops."""
