// A file the user named (a scenario, weights, a .npy stimulus), opened for reading only if
// it is a regular file.
//
// Anything else fails obscurely or worse when read as a file: a directory gives a stream
// error, /dev/zero never ends and fills the memory, a FIFO blocks the open and the read
// forever. The file is checked with stat() before it is opened (no device is opened at
// all), opened with O_NONBLOCK (a FIFO put in its place meanwhile cannot block the open)
// and checked again with fstat() on what was opened. Its size is known before anything is
// read, so readers compare what a header claims with the size, never reading to the end
// to find out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace spikenn {

class InputFile {
public:
    // Throws InputError "PATH: no such file", "PATH: is a directory, not a file", "PATH: is
    // a FIFO, not a regular file", "PATH: cannot be opened for reading: REASON".
    explicit InputFile(const std::filesystem::path& path);
    ~InputFile();
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::uint64_t size() const { return size_; }
    // Exactly n bytes at `offset`; InputError if the file has fewer there (it was cut
    // after it was opened) or the read fails.
    void read(std::uint64_t offset, void* out, std::size_t n) const;
    std::string read_string(std::uint64_t offset, std::size_t n) const;
    // The n bytes at `offset`, handed to `take(data, size)` a megabyte at a time, so that a
    // large file is streamed (hashed, copied) without being held in memory whole.
    void read_chunks(std::uint64_t offset, std::uint64_t n, const std::function<void(const char*, std::size_t)>& take) const;
    // The whole file; InputError naming `what` if it is larger than `max_bytes`.
    std::string read_all(std::uint64_t max_bytes, const char* what) const;

private:
    std::filesystem::path path_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
};

// What a file that is not regular is ("a directory", "a FIFO", "a character device", ...).
std::string file_kind(const std::filesystem::path& path);

} // namespace spikenn
