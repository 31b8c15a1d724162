// Scenario files (YAML) into a validated Network and run settings.
//
// Everything the user wrote is checked here, once, and every error names the file, the
// line and column, the key path and what was expected. What comes out is trusted by the
// engine and the neurons. The format is documented in the README ("Scenario files").
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spikenn/eventlog.hpp>
#include <spikenn/network.hpp>
#include <spikenn/outputs.hpp>
#include <spikenn/simulation.hpp>

namespace spikenn {

struct LogSettings {
    std::string level = "info";             // trace, debug, info, warn, error, off
    std::optional<std::string> file;        // relative to the output directory
    std::uint64_t rotate_bytes = 10'000'000; // the seed rotated its log at 10 MB
    std::uint32_t keep = 3;                 // rotated files kept
};


struct Scenario {
    std::filesystem::path path;
    std::string text; // the file as read
    std::string description;
    std::uint64_t seed = 0;
    Time end = Time::max(); // inclusive
    std::uint64_t max_events = UINT64_MAX;
    LogSettings log;
    RecordSettings record;
    // The run's fingerprint (docs/eventlog.md) that the scenario pins, if any.
    std::optional<std::uint64_t> expect_fingerprint;
    // Every file the scenario read (weights, .npy), as resolved, in the order read.
    std::vector<std::string> files;
    Network network;

    // The hash of `text`: what its event logs and checkpoints say they are of.
    std::uint64_t text_hash() const;
    // The options of a run of it (limits, and what its checkpoints are of); threads are the
    // caller's to choose.
    SimulationOptions simulation_options(unsigned threads = 1) const;
    // The settings of its output files, for OutputFiles in `out_dir`.
    OutputSettings output_settings(const std::filesystem::path& out_dir) const;
};

// Weights a program holds in memory (the Python module's state_dicts), which a scenario's text
// cannot hold: those of the neuron or population of a name, in place of a draw
// (WeightsSpec::given; every member of a population gets them). A linear readout's come in
// `readout`, or are drawn (`readout: { linear: { init: random } }`).
struct GivenWeights {
    std::shared_ptr<const BlockWeights> block;
    std::shared_ptr<const LinearReadout> readout; // may be null
};

struct ScenarioOverrides {
    std::optional<std::uint64_t> seed;
    std::optional<Time> end;
    std::optional<std::uint64_t> max_events;
    // Threads for drawing random weights; no weight depends on it.
    unsigned threads = 1;
    // False: the neurons get their parameters but no weights (for tools that only draw or
    // describe a run); such a network cannot run.
    bool weights = true;
    // With weights = false: still check every weights file the scenario names (each tensor
    // it takes is there, float32, of the right shape, from its header alone) and the memory
    // a run would need, so that a scenario this accepts is one `run` accepts; for
    // `spikenn validate`, which must not draw or read the weights it checks.
    bool check_weights = false;
    // The memory a run may need (README, "Scenario files"), in place of run.memory_limit and
    // its default of half the machine's memory: for programs with a budget of their own,
    // such as a fuzzer.
    std::optional<std::uint64_t> memory_limit;
    // Load for rank `rank` of a run on `ranks`: only that rank's neurons get their weights
    // (BuilderOptions). Rank 0 gets every neuron's when the scenario records the weights,
    // since it writes the file.
    int rank = 0;
    int ranks = 1;
    // By the name of the neuron or population (an entry's `name` or `population`): its weights
    // (InputError if the entry also names a weights file, or no entry has the name).
    std::map<std::string, GivenWeights> given_weights;
    // By the name of the stimulus: its tensor, [seq_len, embed_dim], for an entry with no
    // `tensor` key (InputError if it has one, or no stimulus has the name).
    std::map<std::string, Tensor> given_tensors;
};

// The header of the event log of a run of sc (`spikenn run --record`): the scenario's text
// and hash, the hash of each file it read, the seed, the limits and the names.
// `scenario_arg` is the path to record, as the user gave it.
LogHeader make_log_header(const Scenario& sc, const std::string& scenario_arg);
// The seed and limits a recorded run used, to load its scenario again alike (replay).
ScenarioOverrides recorded_overrides(const LogHeader& h);

// Throws InputError with "FILE:LINE:COL: KEY.PATH: problem" for anything wrong.
Scenario load_scenario(const std::filesystem::path& path, const ScenarioOverrides& overrides = {});
// The same, for scenario text held elsewhere (an event log's copy); files it names are
// resolved next to `path`.
Scenario load_scenario_text(const std::filesystem::path& path, std::string text, const ScenarioOverrides& overrides = {});

} // namespace spikenn
