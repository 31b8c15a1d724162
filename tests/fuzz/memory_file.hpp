// An in-memory file (memfd) that the readers open by name, for fuzz targets over readers
// that take a path. The readers are fuzzed exactly as the program calls them, with no
// bytes-based entry point added for the fuzzer, and no input touches the disk. The name,
// /proc/self/fd/N, is a symbolic link to a regular file, as a user's file may be; a reader
// that refused symbolic links would refuse every input here.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>

namespace spikenn::fuzz {

class MemoryFile {
public:
    explicit MemoryFile(const char* name): fd_(memfd_create(name, 0)) {
        if (fd_ < 0) {
            std::perror("memfd_create");
            std::abort();
        }
        // Each open of this name is a fresh description of the memfd, at offset 0.
        path_ = "/proc/self/fd/" + std::to_string(fd_);
    }
    MemoryFile(const MemoryFile&) = delete;
    MemoryFile& operator=(const MemoryFile&) = delete;
    ~MemoryFile() { close(fd_); }

    // Replaces the file's contents.
    void assign(const std::uint8_t* data, std::size_t size) {
        if (ftruncate(fd_, 0) != 0) fail("ftruncate");
        std::size_t done = 0;
        while (done < size) {
            const ssize_t n = pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
            if (n <= 0) fail("pwrite");
            done += static_cast<std::size_t>(n);
        }
    }
    const std::string& path() const { return path_; }

private:
    [[noreturn]] static void fail(const char* what) {
        std::perror(what);
        std::abort();
    }
    int fd_;
    std::string path_;
};

} // namespace spikenn::fuzz
