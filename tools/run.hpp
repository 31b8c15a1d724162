// One run of a scenario with its outputs: the files, the event log, the fingerprint, the
// progress line. Shared by `spikenn run` and the benchmarks.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tools/checkpoint.hpp"
#include "tools/eventlog.hpp"
#include "tools/outputs.hpp"
#include "tools/scenario.hpp"

namespace spikenn {

struct RunSettings {
    std::filesystem::path out_dir;
    std::optional<std::filesystem::path> record; // event log
    std::string scenario_arg;                    // the scenario path as the user gave it
    std::string log_level;                       // overrides the scenario's
    bool progress = false;                       // a progress line on stderr
    bool write_files = true;                     // spikes.csv and the rest
    Time checkpoint_every = Time::zero();        // 0: no checkpoints
    std::filesystem::path checkpoint_dir;        // default: OUT/checkpoints
    std::optional<std::filesystem::path> resume; // a checkpoint of this scenario
};

struct RunReport {
    StopReason stop = StopReason::queue_empty;
    RunCounts counts{0};
    std::uint64_t fingerprint = 0;
    Time end;
    double wall_seconds = 0; // for the terminal only
    std::vector<std::string> files;
};

// The header of the event log of a run of sc.
LogHeader make_log_header(const Scenario& sc, const std::string& scenario_arg);

// Runs sc. Throws InputError for bad output paths and SimulationError when the run fails
// (the files keep what was recorded under their .partial names; the log keeps its blocks).
RunReport run_scenario(Scenario& sc, const RunSettings& settings);

std::string hex64(std::uint64_t v);

} // namespace spikenn
