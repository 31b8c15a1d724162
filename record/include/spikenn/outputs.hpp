// The files a run leaves in its output directory, written as the run goes.
//
// Every file is first written under NAME.partial and renamed to NAME only when the run
// has finished, so that a run that fails part-way keeps what it recorded but leaves no
// file that looks complete. Nothing here depends on the wall clock: two runs of one
// scenario give identical files.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <spikenn/atomic_file.hpp>
#include <spikenn/json.hpp>
#include <spikenn/simulator.hpp>
#include <spikenn/scenario.hpp>

namespace spikenn {

// Every file a run may leave in its output directory (besides the scenario's log file).
std::span<const char* const> result_file_names();

// Counts by kind, outcome and neuron, for the summary.
struct RunCounts {
    std::uint64_t events = 0;
    std::array<std::uint64_t, event_kind_count> by_kind{};
    std::array<std::uint64_t, outcome_count> by_outcome{};
    std::vector<std::uint64_t> spikes; // per neuron
    std::vector<std::uint64_t> drops;  // per neuron

    explicit RunCounts(std::size_t neurons): spikes(neurons), drops(neurons) {}
    void add(const EventRecord& r) { add(r.event.key.kind, r.result.outcome, r.event.key.target); }
    void add(EventKind kind, Outcome outcome, EntityId target);
    void save_state(StateWriter& out) const;
    void load_state(StateReader& in);
};

class OutputFiles {
public:
    // Changes nothing yet. With `resume` (what save_state() wrote at a checkpoint), reads
    // and checks it, and checks that the interrupted run's files are there and long
    // enough (StateError, InputError).
    OutputFiles(const std::filesystem::path& dir, const Scenario& sc, StateReader* resume = nullptr);
    // Removes any earlier results from the directory and opens the .partial files; with a
    // resume, continues the interrupted run's files instead, cut back to where the
    // checkpoint was taken. Called once everything else about the run has been checked.
    void start();
    // Flushes the files and saves how far they are, for a checkpoint.
    void save_state(StateWriter& out);
    ~OutputFiles();
    OutputFiles(const OutputFiles&) = delete;
    OutputFiles& operator=(const OutputFiles&) = delete;

    void on_event(const EventRecord& r, const Simulator& sim);
    // Writes the summary and renames every file to its final name.
    void finish(const Simulator& sim, const RunCounts& counts, StopReason stop, std::uint64_t fingerprint);

    // The final names of the files a run writes, for the user.
    std::vector<std::string> file_names() const;
    static std::string summary_json(const Scenario& sc, const Simulator& sim, const RunCounts& counts, StopReason stop, std::uint64_t fingerprint);

private:
    std::filesystem::path partial(const std::string& name) const { return dir_ / (name + ".partial"); }
    static std::string output_name(std::size_t k);

    std::filesystem::path dir_;
    const Scenario& sc_;
    std::vector<char> record_potential_; // per neuron
    std::ofstream spikes_;
    std::ofstream potentials_;
    std::ofstream output_data_; // raw float32 of every spike output, in spike order
    struct OutputEntry {
        std::string name;
        std::int32_t rows, cols;
        std::string neuron;
        std::int64_t time_ticks;
    };
    std::vector<OutputEntry> outputs_;
    std::vector<std::string> written_; // final names
    struct Resume {
        std::uint64_t spikes, potentials, outputs; // the files' lengths at the checkpoint
    };
    std::optional<Resume> resume_;
};

// The scenario's log file (log.file) in dir and the older files its rotation keeps.
std::vector<std::filesystem::path> log_file_names(const std::filesystem::path& dir, const Scenario& sc);

// Exact decimal seconds of a tick count ("1.5", "0.000000001").
std::string seconds_text(Time t);

} // namespace spikenn
