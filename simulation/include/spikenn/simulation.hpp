// A run of a network: the simulator, its limits and worker threads, the run's counts and
// fingerprint, its recorders, and checkpoints. The one object a program needs.
//
//     spikenn::Simulation sim(builder.build(), {.until = spikenn::Time::from_ms(100)});
//     auto& spikes = sim.add_recorder(std::make_unique<spikenn::SpikeRecorder>());
//     sim.run();
//     fmt::print("{} spikes, fingerprint {:#018x}\n", spikes.spikes().size(), sim.fingerprint());
//
// Everything a Simulation computes is a function of its network, its seed (the network's)
// and its options: the thread count changes how fast, never what (docs/semantics.md). It
// holds no global state, prints nothing and never exits; errors are exceptions
// (<spikenn/error.hpp>). Two simulations can run at once on different threads; one
// simulation is used from one thread at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <spikenn/checkpoint.hpp>
#include <spikenn/network.hpp>
#include <spikenn/recorder.hpp>
#include <spikenn/run_counts.hpp>
#include <spikenn/simulator.hpp>

namespace spikenn {

struct SimulationOptions {
    Time until = Time::max();              // inclusive: no event after it is processed
    std::uint64_t max_events = UINT64_MAX; // events processed, cancelled ones included
    unsigned threads = 1;                  // the blocks' work split over this many threads
    // The inputs due at one time to neurons with the same weights computed as one product
    // (neurons/block_batcher.hpp). Off only to compare: the results are the same.
    bool batch = true;
    // What checkpoints say they are of: the hash of the scenario text the network was
    // loaded from; 0 for a hash of the network's description (seed, names, parameters,
    // synapses, stimuli; not its weights). A checkpoint of another source is refused, and so
    // is one of another seed or other limits.
    std::uint64_t source_hash = 0;
    // One rank of a run on several (docs/distributed.md): every rank runs every event, and
    // computes the blocks of the neurons it owns. The results are the same on any number of
    // ranks. Null: alone.
    std::shared_ptr<Communicator> communicator;
};

// What a checkpoint is loaded for.
enum class CheckpointUse {
    // To continue the run it was taken of: the simulation has a recorder for each of the
    // checkpoint's sections (an event log, output files), and they continue the run's files.
    resume,
    // To look at the run's state from there on (the debugger): the simulator's state, the
    // counts and the fingerprint are taken, and the sections of recorders this simulation
    // does not have are checked and left; the run's files are not touched.
    inspect,
};

class Simulation {
public:
    // Throws InputError when a stimulus's schedule never ends and nothing else bounds the
    // run (until is Time::max()).
    explicit Simulation(Network network, SimulationOptions options = {});
    ~Simulation();
    Simulation(Simulation&&) noexcept;
    Simulation& operator=(Simulation&&) noexcept;

    // Adds a recorder; it sees every event processed after it was added. Returns it, for
    // reading its results. At most one recorder per checkpoint section (InputError).
    template <typename R>
    R& add_recorder(std::unique_ptr<R> r) {
        R& ref = *r;
        add(std::unique_ptr<Recorder>(std::move(r)));
        return ref;
    }

    // Processes one event; the record's payloads are released when step() returns. Nothing
    // when the queue is empty or a limit stops the run.
    std::optional<EventRecord> step();
    // Runs to the end: every event within the limits. The simulated interval ends at
    // `until` even when the last event came earlier. Then finishes the recorders.
    StopReason run();
    // Processes every event at or before t (within the limits); now() is t afterwards unless
    // a limit stopped the run first. Does not finish: the run can go on.
    StopReason run_until(Time t);
    // Tells the recorders that the run is over (run() does it); only once.
    void finish(StopReason stop);
    bool finished() const;

    Time now() const;
    std::uint64_t events_processed() const;
    // Of every event processed so far (docs/eventlog.md, "Fingerprint").
    std::uint64_t fingerprint() const;
    // The time of the next event to process, if any.
    std::optional<Time> next_event_time() const;
    const RunCounts& counts() const;
    const Network& network() const;
    const SimulationOptions& options() const;
    // The engine underneath, for what this class does not say (the queue, the payloads).
    const Simulator& simulator() const;

    // The whole state between two events: the simulator's, the counts and fingerprint, and
    // each recorder's section. `taken_at` (default: now) is the time the checkpoint says it
    // was taken; events at or after it are still to come.
    std::vector<unsigned char> checkpoint(std::optional<Time> taken_at = std::nullopt);
    void save_checkpoint(const std::filesystem::path& path, std::optional<Time> taken_at = std::nullopt);
    // Restores a checkpoint of this network (same source, seed and limits) with the same
    // kinds of recorders (CheckpointUse::resume), or the state alone (inspect). Everything is checked before anything changes: a refused
    // checkpoint (DamagedFileError naming the file and the byte, InputError when it is of
    // something else) leaves the simulation and its recorders as they were.
    void load_checkpoint(const std::filesystem::path& path);
    void load_checkpoint(std::span<const unsigned char> bytes, const std::string& name);
    // The same, of a checkpoint already read (read_checkpoint); `name` is used in messages.
    void load_checkpoint(const Checkpoint& checkpoint, const std::string& name, CheckpointUse use = CheckpointUse::resume);
    // What the checkpoint just loaded said of itself (nothing before a load).
    std::optional<CheckpointInfo> loaded_checkpoint() const;

    // Gives the network back, with its neurons' state as it is now; the simulation is empty
    // afterwards (only destroying or assigning it is allowed). Recorders are destroyed first.
    Network release_network();

    // Starts the recorders (each removes an earlier run's files and opens its own) if they
    // have not been; the first step() does it. Call it to learn of an unwritable file before
    // the run.
    void start();
    // start(), then schedules the network's initial events (its stimuli's) without processing
    // any, as the first step() would: the queue (simulator().queue()) then holds what the run
    // will do first, and a checkpoint says the run has started. For a program that shows the
    // pending events before the first step (the debugger).
    void schedule_initial_events();

private:
    void add(std::unique_ptr<Recorder> r);
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace spikenn
