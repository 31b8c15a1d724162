#include "tensor_series.hpp"

#include <cerrno>
#include <cstring>
#include <map>

#include <fmt/format.h>

#include <spikenn/error.hpp>
#include <spikenn/input_file.hpp>
#include <spikenn/tensor_io.hpp>

namespace spikenn {

namespace fs = std::filesystem;

namespace {
fs::path partial(const fs::path& dir, const std::string& name) { return dir / (name + ".partial"); }

// The length of the data section of a safetensors file (the raw values it was written
// from), or nothing when its header cannot be read.
std::optional<std::uint64_t> data_length(const InputFile& in) {
    std::uint64_t header = 0;
    if (in.size() < 8) return std::nullopt;
    in.read(0, &header, 8);
    if (header > in.size() - 8) return std::nullopt;
    return in.size() - 8 - header;
}
} // namespace

TensorSeries::TensorSeries(std::string file, std::string raw, std::string prefix, bool with_source):
    file_(std::move(file)), raw_(std::move(raw)), prefix_(std::move(prefix)), with_source_(with_source) {}

std::string TensorSeries::next_name() const {
    // Fixed-width numbers keep name order and recording order the same, so that the data
    // section of the file is the tensors in the order they were recorded.
    return fmt::format("{}.{:09}", prefix_, entries_.size());
}

void TensorSeries::open(const fs::path& dir) {
    entries_.clear();
    data_.open(partial(dir, raw_), std::ios::binary | std::ios::trunc);
    if (!data_) throw IoError(fmt::format("{}: cannot be opened for writing: {}", partial(dir, raw_).string(), std::strerror(errno)));
}

void TensorSeries::reopen(const fs::path& dir) {
    std::error_code ec;
    const fs::path p = partial(dir, raw_);
    if (!fs::exists(p, ec) && fs::exists(dir / file_, ec)) {
        // A run that finished after the checkpoint: its data section is the raw file as it
        // was. Only a regular file is read.
        const InputFile in(dir / file_);
        const auto length = data_length(in);
        if (!length) throw InputError(fmt::format("{}: not the interrupted run's file (its header is damaged)", (dir / file_).string()));
        std::ofstream raw(p, std::ios::binary | std::ios::trunc);
        in.read_chunks(in.size() - *length, *length, [&](const char* bytes, std::size_t n) { raw.write(bytes, static_cast<std::streamsize>(n)); });
        raw.close();
        if (!raw) throw IoError(fmt::format("{}: write failed: {}", p.string(), std::strerror(errno)));
    }
    fs::resize_file(p, resume_length_, ec);
    if (ec) throw IoError(fmt::format("{}: cannot be cut back to {} bytes: {}", p.string(), resume_length_, ec.message()));
    data_.open(p, std::ios::binary | std::ios::app);
    if (!data_) throw IoError(fmt::format("{}: cannot be opened for writing: {}", p.string(), std::strerror(errno)));
}

void TensorSeries::append(const Tensor& t, Entry e) {
    data_.write(reinterpret_cast<const char*>(t.data.data()), static_cast<std::streamsize>(t.data.size() * sizeof(float)));
    e.rows = t.rows;
    e.cols = t.cols;
    entries_.push_back(std::move(e));
}

void TensorSeries::save_state(StateWriter& out) {
    std::uint64_t length = 0;
    if (data_.is_open()) {
        data_.flush();
        length = static_cast<std::uint64_t>(data_.tellp());
    }
    out.put(length);
    out.put<std::uint64_t>(entries_.size());
    for (const auto& o: entries_) {
        out.put_string(o.name);
        out.put(o.rows);
        out.put(o.cols);
        out.put_string(o.neuron);
        out.put(o.time_ticks);
        if (with_source_) out.put_string(o.stimulus);
    }
}

void TensorSeries::load_state(StateReader& in, const fs::path& dir, const std::function<bool(const std::string&)>& known_neuron,
    const std::function<bool(const std::string&)>& known_source, bool recorded) {
    loaded_.reset();
    Loaded l;
    const std::uint64_t length_at = in.offset();
    l.length = in.get<std::uint64_t>();
    // finish() reads each tensor's values from the raw file by these shapes, and writes
    // their names into a header: the shapes must hold exactly the raw file's length at the
    // checkpoint, and the names be the ones append() gives.
    std::uint64_t values = 0;
    for (std::uint64_t i = 0, n = in.get_count(24); i < n; ++i) {
        Entry o;
        const std::uint64_t at = in.offset();
        o.name = in.get_string();
        o.rows = in.get<std::int32_t>();
        o.cols = in.get<std::int32_t>();
        o.neuron = in.get_string();
        o.time_ticks = in.get<std::int64_t>();
        if (with_source_) o.stimulus = in.get_string();
        if (o.name != fmt::format("{}.{:09}", prefix_, i) || !known_neuron(o.neuron) || o.time_ticks < 0 || (with_source_ && !known_source(o.stimulus))) {
            throw StateError(fmt::format("{} entry {} is not one this run records", file_, i), at);
        }
        if (o.rows < 0 || o.cols < 0) throw StateError(fmt::format("{} entry {} has a negative shape", file_, o.name), at);
        values += static_cast<std::uint64_t>(o.rows) * static_cast<std::uint64_t>(o.cols);
        if (values > l.length / sizeof(float)) throw StateError(fmt::format("{} entry {} goes past the end of {}", file_, o.name, raw_), at);
        l.entries.push_back(std::move(o));
    }
    if (values * sizeof(float) != l.length) {
        throw StateError(fmt::format("the shapes of {} hold {} values, but {} had {} bytes", file_, values, raw_, l.length), length_at);
    }
    if (!recorded) {
        loaded_ = std::move(l);
        return;
    }
    // The raw file is there, as .partial, or inside the final file of a run that finished
    // after the checkpoint, and at least as long as then.
    std::error_code ec;
    std::optional<std::uint64_t> size;
    if (fs::is_regular_file(partial(dir, raw_), ec)) {
        const auto s = fs::file_size(partial(dir, raw_), ec);
        if (!ec) size = s;
    }
    else if (fs::is_regular_file(dir / file_, ec)) {
        const InputFile f(dir / file_);
        size = data_length(f);
        if (!size) throw InputError(fmt::format("{}: not the interrupted run's file (its header is damaged)", (dir / file_).string()));
    }
    if (!size || *size < l.length) {
        throw InputError(fmt::format("{}: the interrupted run's file is missing or shorter than at the checkpoint; resume into the output directory of that run",
            partial(dir, raw_).string()));
    }
    loaded_ = std::move(l);
}

void TensorSeries::commit() {
    SPIKENN_CHECK(loaded_.has_value(), "TensorSeries::commit without a loaded state");
    resume_length_ = loaded_->length;
    entries_ = std::move(loaded_->entries);
    loaded_.reset();
}

void TensorSeries::finish(const fs::path& dir) {
    const fs::path raw = partial(dir, raw_);
    data_.close();
    if (data_.fail()) throw IoError(fmt::format("{}: write failed: {}", raw.string(), std::strerror(errno)));
    std::error_code ec;
    const auto bytes = fs::file_size(raw, ec);
    if (ec) throw IoError(fmt::format("{}: cannot be read: {}", raw.string(), ec.message()));
    std::vector<float> data(bytes / sizeof(float));
    {
        std::ifstream in(raw, std::ios::binary);
        in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size() * sizeof(float)));
        if (!in) throw IoError(fmt::format("{}: read failed: {}", raw.string(), std::strerror(errno)));
    }
    std::vector<NamedTensor> tensors;
    std::map<std::string, std::string> meta{{"format", "pt"}};
    std::size_t offset = 0;
    for (const auto& o: entries_) {
        tensors.push_back({o.name, {o.rows, o.cols}, data.data() + offset});
        offset += static_cast<std::size_t>(o.rows) * static_cast<std::size_t>(o.cols);
        if (with_source_) {
            meta[o.name + ".stimulus"] = o.stimulus;
            meta[o.name + ".target"] = o.neuron;
        }
        else {
            meta[o.name + ".neuron"] = o.neuron;
        }
        meta[o.name + ".time_ticks"] = std::to_string(o.time_ticks);
    }
    write_safetensors(partial(dir, file_), tensors, meta);
    fs::remove(raw, ec);
}

} // namespace spikenn
