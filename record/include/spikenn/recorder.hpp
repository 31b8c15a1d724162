// Recorders: what sees a run's events as they happen and keeps something of them.
//
// A Simulation (simulation.hpp) hands every processed event to each of its recorders, in
// event order, then tells them when the run ends. The output files, the event log, the
// in-memory spike and potential lists and the debugger's history are all recorders; a
// program adds its own by deriving from Recorder.
//
// A recorder with state that a checkpoint must keep saves it in a section of the checkpoint:
// spike-nn's own recorders in the sections the format names (log, files, history), and a
// program's own recorder in a section under a name of its choosing (CheckpointSection::named
// and section_name()). A simulation has at most one recorder per section. A recorder in no
// section is not saved; after a checkpoint is loaded it sees the events from there on.
#pragma once

#include <cstdint>
#include <string>

#include <spikenn/eventlog.hpp>
#include <spikenn/run_counts.hpp>
#include <spikenn/simulator.hpp>
#include <spikenn/state.hpp>

namespace spikenn {

// One processed event as every recorder sees it: the engine's record, the same event as the
// event log writes it (its tensor hashed once for all recorders), and the simulator, whose
// payloads (a spike's output) can be read until record() returns.
struct RecordedEvent {
    const EventRecord& event;
    const LogRecord& log;
    const Simulator& sim;
};

// How a run ended, for finish().
struct RunEnd {
    const Simulator& sim;
    StopReason stop;
    std::uint64_t fingerprint;
    const RunCounts& counts;
};

enum class CheckpointSection { none, log, files, history, named };

class Recorder {
public:
    virtual ~Recorder() = default;

    // Once, before the first event the simulation processes (after a checkpoint was loaded,
    // the first after it): where a recorder that writes files removes an earlier run's and
    // opens its own. Nothing before start() may change a file.
    virtual void start() {}
    virtual void record(const RecordedEvent& e) = 0;
    // The run ended (the queue ran empty, or a limit stopped it) and will not go on.
    virtual void finish(const RunEnd&) {}
    // The run failed (SimulationError): keep what was recorded so far, where it can be found.
    virtual void abandon() {}

    // Checkpoints. save_state() writes the recorder's part. load_state() reads and checks
    // one (StateError for anything this recorder could not have saved) without taking it:
    // commit_state() takes it once every part of the checkpoint has been checked, so that a
    // refused checkpoint leaves the recorder as it was; start() then continues from it.
    virtual CheckpointSection section() const { return CheckpointSection::none; }
    // With CheckpointSection::named: the section's name, not empty, unique in a simulation.
    virtual std::string section_name() const { return {}; }
    virtual void save_state(StateWriter&) {}
    virtual void load_state(StateReader&, std::uint32_t /*checkpoint_version*/) {}
    virtual void commit_state() {}
    // The checkpoint was refused after load_state() read this recorder's part: forget it.
    virtual void discard_state() {}
};

} // namespace spikenn
