// One run of a scenario with its outputs: the files, the event log, the fingerprint, the
// progress line. Shared by `spikenn run` and the benchmarks.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <spikenn/checkpoint.hpp>
#include <spikenn/event_log_recorder.hpp>
#include <spikenn/eventlog.hpp>
#include <spikenn/hex.hpp>
#include <spikenn/outputs.hpp>
#include <spikenn/scenario.hpp>
#include <spikenn/simulation.hpp>

namespace spikenn {

struct RunSettings {
    std::filesystem::path out_dir;
    std::optional<std::filesystem::path> record; // event log
    std::string scenario_arg;                    // the scenario path as the user gave it
    std::string log_level;                       // overrides the scenario's
    bool progress = false;                       // a progress line on stderr
    bool write_files = true;                     // spikes.csv and the rest
    bool plot = false;                           // the caller draws OUT/plot.svg afterwards (a path the log must not take)
    Time checkpoint_every = Time::zero();        // 0: no checkpoints
    std::filesystem::path checkpoint_dir;        // default: OUT/checkpoints
    std::uint64_t checkpoint_keep = 0;           // keep this run's last N checkpoints; 0: all
    std::optional<std::filesystem::path> resume; // a checkpoint of this scenario
    unsigned threads = 1;                        // block computations on this many threads
    bool batch = true;                           // inputs due together to the same weights as one product
    std::uint64_t break_at_event = 0;            // for gdb: call spikenn_break_here before this event
    std::optional<EntityId> break_on_spike;      // for gdb: ... before each spike of this neuron
    // One rank of a run on several: only rank 0 writes files, the log and checkpoints.
    std::shared_ptr<Communicator> comm;
};

struct RunReport {
    StopReason stop = StopReason::queue_empty;
    RunCounts counts{0};
    std::uint64_t fingerprint = 0;
    Time end;
    double wall_seconds = 0; // for the terminal only
    BatchStats blocks;       // how the blocks were computed: for the terminal only
    ExchangeStats exchange;  // under several ranks, this rank's exchanges: for the terminal only
    std::vector<std::string> files;
};



// The name of the lock file a run holds in its output directory.
inline constexpr const char* run_lock_name = ".spikenn.lock";

// Under several ranks (comm), the errors each rank met in setting up (`failed`, or none): if
// any has one, every rank throws, its own error or, where it had none, an InputError naming
// the first rank that failed and its error. Alone, rethrows `failed`.
void agree_to_start(const std::shared_ptr<Communicator>& comm, std::exception_ptr failed);

// Runs sc. Under several ranks (settings.comm), every rank calls it; an error in setting up
// on any rank stops every rank (InputError on those that had none). Throws InputError for bad paths or a checkpoint that cannot be restored, before
// anything an earlier run left is removed; SimulationError when the run fails and IoError
// when a file cannot be written (the files keep what was recorded under their .partial
// names; the log keeps its blocks).
RunReport run_scenario(Scenario& sc, const RunSettings& settings);

} // namespace spikenn

// Called before an event when --break-at-event or --break-on-spike asks for it, so that
// `break spikenn_break_here` in gdb stops exactly there. `next` and the globals below,
// readable in any build (`print *spikenn_break_event`, `print spikenn_break_network->
// neurons[0].state`, `print spikenn_break_engine->now_`), point at the event about to run,
// the network and the simulator.
extern "C" void spikenn_break_here(const spikenn::Event* next);
extern "C" const spikenn::Event* spikenn_break_event;
extern "C" const spikenn::Simulator* spikenn_break_engine;
extern "C" const spikenn::Network* spikenn_break_network;
