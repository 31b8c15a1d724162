// Tensor files: NumPy .npy (stimuli, spike outputs) and safetensors (weights, outputs).
//
// Readers check everything a file claims against its size and refuse, with an InputError
// naming the file and the problem, any dtype but float32, a shape other than expected,
// or a file cut short. Writers produce files that numpy.load and PyTorch (through the
// safetensors format) read back.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <spikenn/payload.hpp>

namespace spikenn {
class InputFile;
}

namespace spikenn {

struct NpyArray {
    std::vector<std::int64_t> shape;
    std::vector<float> data;
};

// Reads a little-endian float32, C-order .npy file (format versions 1, 2 and 3).
NpyArray read_npy(const std::filesystem::path& path);
void write_npy(const std::filesystem::path& path, const std::vector<std::int64_t>& shape, const float* data);

struct SafetensorsEntry {
    std::string dtype;
    std::vector<std::int64_t> shape;
    std::uint64_t begin = 0; // byte offsets into the data section
    std::uint64_t end = 0;
};

class SafetensorsFile {
public:
    explicit SafetensorsFile(const std::filesystem::path& path);
    bool contains(const std::string& name) const { return entries_.contains(name); }
    const std::map<std::string, SafetensorsEntry>& entries() const { return entries_; }
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    // The float32 tensor `name`, which must have exactly `shape`.
    std::vector<float> get_f32(const std::string& name, const std::vector<std::int64_t>& shape) const;
    // What get_f32 checks (there, float32, of this shape, with the bytes for it), from the
    // header alone: no data is read.
    void check_f32(const std::string& name, const std::vector<std::int64_t>& shape) const;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
    std::map<std::string, SafetensorsEntry> entries_;
    std::map<std::string, std::string> metadata_;
    std::shared_ptr<const InputFile> file_; // tensors are read from it when asked for
    std::uint64_t data_start_ = 0;
};

struct NamedTensor {
    std::string name;
    std::vector<std::int64_t> shape;
    const float* data = nullptr;
};

// Writes float32 tensors, in name order, with string metadata.
void write_safetensors(const std::filesystem::path& path, std::vector<NamedTensor> tensors,
    const std::map<std::string, std::string>& metadata = {});

std::string shape_string(const std::vector<std::int64_t>& shape);

} // namespace spikenn
