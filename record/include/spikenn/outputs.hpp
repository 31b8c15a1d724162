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
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <spikenn/atomic_file.hpp>
#include <spikenn/json.hpp>
#include <spikenn/simulator.hpp>
#include <spikenn/network.hpp>
#include <spikenn/recorder.hpp>
#include <spikenn/spike_stats.hpp>

namespace spikenn {

// Every file a run may leave in its output directory (besides the scenario's log file).
std::span<const char* const> result_file_names();

// What a run records besides spikes (a scenario's `record:` section).
struct RecordSettings {
    std::vector<EntityId> potentials; // neurons whose potential is written after each event
    bool outputs = true;              // every spike's output tensor
    bool weights = false;             // the weights the run used
    bool stimuli = false;             // every tensor a stimulus delivered, as its target took it
};

struct OutputSettings {
    RecordSettings record;
    std::string scenario_name; // for the summary: the scenario file's name
    // Files of an earlier run that start() removes besides the results (the scenario's log
    // file and its rotated files), so that two runs leave the same directory.
    std::vector<std::filesystem::path> stale;
};

class TensorSeries; // record/tensor_series.hpp

// The output directory's files, as a recorder (checkpoint section "files"): spikes.csv,
// potentials.csv, outputs.safetensors, stimuli.safetensors, weights.safetensors and
// summary.json.
class OutputFiles final: public Recorder {
public:
    // Changes nothing yet. `net` must outlive the recorder.
    OutputFiles(const std::filesystem::path& dir, const Network& net, OutputSettings settings);
    // Removes any earlier results from the directory and opens the .partial files; after
    // load_state(), continues the interrupted run's files instead, cut back to where the
    // checkpoint was taken.
    void start() override;
    void record(const RecordedEvent& e) override;
    // Writes the summary and renames every file to its final name.
    void finish(const RunEnd& end) override;

    CheckpointSection section() const override { return CheckpointSection::files; }
    // Flushes the files and saves how far they are.
    void save_state(StateWriter& out) override;
    // Reads and checks a checkpoint's part, and checks that the interrupted run's files are
    // there and long enough (StateError, InputError); changes no file.
    void load_state(StateReader& in, std::uint32_t checkpoint_version) override;
    void commit_state() override;
    void discard_state() override { loaded_.reset(); }
    ~OutputFiles() override;
    OutputFiles(const OutputFiles&) = delete;
    OutputFiles& operator=(const OutputFiles&) = delete;

    // The final names of the files the run wrote, for the user.
    std::vector<std::string> file_names() const;
    // `stats`: the spike statistics of the run, over [0, sim.now()] (spike_stats.hpp).
    static std::string summary_json(const Network& net, const std::string& scenario_name, const Simulator& sim, const RunCounts& counts,
        StopReason stop, std::uint64_t fingerprint, const SpikeStats& stats);

private:
    std::filesystem::path partial(const std::string& name) const { return dir_ / (name + ".partial"); }
    // The run's spike trains, read back from spikes.csv.partial: a resumed run's file holds
    // the spikes from before the checkpoint too, which no checkpoint keeps.
    SpikeTrains spike_trains(const RunCounts& counts) const;

    std::filesystem::path dir_;
    const Network& net_;
    OutputSettings settings_;
    std::vector<char> record_potential_; // per neuron
    std::ofstream spikes_;
    std::ofstream potentials_;
    // Every spike output, in spike order; every delivered stimulus tensor, in event order.
    std::unique_ptr<TensorSeries> outputs_, stimuli_;
    std::vector<std::string> written_; // final names
    struct Resume {
        std::uint64_t spikes, potentials; // the files' lengths at the checkpoint
    };
    std::optional<Resume> resume_;
    struct Loaded {
        Resume resume;
    };
    std::optional<Loaded> loaded_; // by load_state(), until commit_state()
};

// A log file in dir and the older files its rotation keeps (`keep` of them).
std::vector<std::filesystem::path> log_file_names(const std::filesystem::path& dir, const std::optional<std::string>& file, std::uint32_t keep);

// Exact decimal seconds of a tick count ("1.5", "0.000000001").
std::string seconds_text(Time t);

} // namespace spikenn
