# gdb pretty-printers for spike-nn: simulated time, events and neuron state.
# Load them with one line:   source tools/gdb/spikenn.py
# Then `break spikenn_break_here` stops before the event chosen with spikenn run
# --break-at-event N or --break-on-spike NEURON, and `print *next` shows that event.
import gdb
import gdb.printing

KINDS = ["refractory_end", "decay_update", "spike", "input"]
EXTERNAL = 0x80000000


def time_text(ticks):
    """Exact text for a tick count (1 tick = 1 ns), as spikenn prints it."""
    ticks = int(ticks)
    if ticks == 0:
        return "0s"
    sign = "-" if ticks < 0 else ""
    mag = abs(ticks)
    for name, scale, digits in (("s", 10**9, 9), ("ms", 10**6, 6), ("us", 10**3, 3), ("ns", 1, 0)):
        if mag >= scale or scale == 1:
            whole, frac = divmod(mag, scale)
            text = str(whole)
            if frac:
                text += "." + str(frac).rjust(digits, "0").rstrip("0")
            return sign + text + name
    return "0s"


def ticks_of(time_value):
    return int(time_value["ticks_"])


def source_text(source):
    source = int(source)
    if source & EXTERNAL:
        return "stimulus %d" % (source & ~EXTERNAL)
    return "neuron %d" % source


class TimePrinter:
    def __init__(self, val):
        self.val = val

    def to_string(self):
        return time_text(ticks_of(self.val))


class EventKeyPrinter:
    def __init__(self, val):
        self.val = val

    def to_string(self):
        k = self.val
        kind = int(k["kind"])
        return "{t=%s, %s, target %d, from %s, seq %d}" % (
            time_text(ticks_of(k["time"])), KINDS[kind] if kind < len(KINDS) else kind,
            int(k["target"]), source_text(k["source"]), int(k["seq"]))


class EventPrinter:
    def __init__(self, val):
        self.val = val

    def to_string(self):
        e = self.val
        payload = int(e["payload"])
        return "Event%s cause #%d%s" % (
            EventKeyPrinter(e["key"]).to_string(), int(e["cause"]),
            "" if payload == 0xFFFFFFFF else ", payload %d" % payload)


def number_text(v):
    # The shortest text that reads back as the same double, as the spikenn command prints
    # numbers (fmt's "{}"): Python's repr, without the ".0" fmt leaves off.
    text = repr(float(v))
    return text[:-2] if text.endswith(".0") else text


def optional_value(opt):
    """The value of a std::optional (libstdc++), or None."""
    payload = opt["_M_payload"]
    if not bool(payload["_M_engaged"]):
        return None
    return payload["_M_payload"]["_M_value"]


class NeuronStatePrinter:
    def __init__(self, val):
        self.val = val

    def to_string(self):
        s = self.val
        last_spike = optional_value(s["last_spike"])
        pending = optional_value(s["pending_decay"])
        return "NeuronState{potential %s at %s, last spike %s, pending decay update %s, seq %d}" % (
            number_text(s["potential"]), time_text(ticks_of(s["last_update"])),
            "none" if last_spike is None else time_text(ticks_of(last_spike)),
            "none" if pending is None else time_text(ticks_of(pending["time"])),
            int(s["seq"]))


def build():
    pp = gdb.printing.RegexpCollectionPrettyPrinter("spikenn")
    pp.add_printer("Time", "^spikenn::Time$", TimePrinter)
    pp.add_printer("EventKey", "^spikenn::EventKey$", EventKeyPrinter)
    pp.add_printer("Event", "^spikenn::Event$", EventPrinter)
    pp.add_printer("NeuronState", "^spikenn::NeuronState$", NeuronStatePrinter)
    return pp


gdb.printing.register_pretty_printer(gdb.current_objfile(), build(), replace=True)
