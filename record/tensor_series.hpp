// A series of tensors a run records as it goes (the spike outputs, the delivered stimuli),
// kept as one safetensors file in the output directory.
//
// The file's header needs every tensor's shape, so the values are streamed to a raw file
// (NAME.bin.partial) as the run goes and the safetensors file is written at its end. A
// checkpoint saves the raw file's length and the entries; a resume cuts the raw file back to
// that length, or takes it back out of the safetensors file of a run that finished after the
// checkpoint. Private to the record layer: OutputFiles owns its series.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <spikenn/state.hpp>
#include <spikenn/payload.hpp>

namespace spikenn {

class TensorSeries {
public:
    struct Entry {
        std::string name; // "<prefix>.<9-digit number>", in recording order
        std::int32_t rows = 0, cols = 0;
        std::string neuron;   // whose tensor it is: the spiking neuron, the stimulus's target
        std::int64_t time_ticks = 0;
        std::string stimulus; // the stimulus that delivered it (series with a source only)
    };

    // `file`: the final name ("outputs.safetensors"); `raw`: the stream's ("outputs.bin");
    // `prefix` names the tensors; `with_source`: entries name their stimulus.
    TensorSeries(std::string file, std::string raw, std::string prefix, bool with_source);

    const std::string& file() const { return file_; }
    const std::string& raw() const { return raw_; }
    // The name the next tensor gets.
    std::string next_name() const;

    // Starts an empty series in dir (the raw file as .partial).
    void open(const std::filesystem::path& dir);
    // Continues the series of the state commit() took, in dir.
    void reopen(const std::filesystem::path& dir);
    void append(const Tensor& t, Entry e);

    void save_state(StateWriter& out);
    // Reads and checks a checkpoint's part: each entry's name is the one append() gives, its
    // neuron one `known_neuron` knows, and the shapes hold the raw file's length exactly.
    // Then, when the series is recorded, checks that dir holds the interrupted run's file, at
    // least that long. Changes nothing.
    // `known_source` checks each entry's stimulus likewise (series with a source only).
    void load_state(StateReader& in, const std::filesystem::path& dir, const std::function<bool(const std::string&)>& known_neuron,
        const std::function<bool(const std::string&)>& known_source, bool recorded);
    // An empty series as the loaded state (a checkpoint from before the series existed).
    void load_empty() { loaded_ = Loaded{0, {}}; }
    void commit();
    void discard() { loaded_.reset(); }

    // Closes the raw file and writes the safetensors file as FILE.partial; the caller renames it.
    void finish(const std::filesystem::path& dir);

private:
    std::string file_, raw_, prefix_;
    bool with_source_;
    std::ofstream data_;
    std::vector<Entry> entries_;
    std::uint64_t resume_length_ = 0;
    struct Loaded {
        std::uint64_t length;
        std::vector<Entry> entries;
    };
    std::optional<Loaded> loaded_;
};

} // namespace spikenn
