#include <spikenn/input_file.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include <spikenn/error.hpp>

namespace spikenn {

namespace fs = std::filesystem;

namespace {

const char* kind_of(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

// An error of the file as a whole: its place is the file alone, and the message "PATH: problem".
[[noreturn]] void refuse_file(const fs::path& path, const std::string& problem) {
    throw InputError(InputPlace{path.string(), 0, 0, ""}, problem, fmt::format("{}: {}", path.string(), problem));
}

[[noreturn]] void refuse(const fs::path& path, mode_t mode) {
    if (S_ISDIR(mode)) refuse_file(path, "is a directory, not a file");
    refuse_file(path, fmt::format("is {}, not a regular file", kind_of(mode)));
}

} // namespace

std::string file_kind(const fs::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return "missing";
    return S_ISREG(st.st_mode) ? "a regular file" : kind_of(st.st_mode);
}

InputFile::InputFile(const fs::path& path): path_(path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) refuse_file(path, "no such file");
        refuse_file(path, fmt::format("cannot be opened for reading: {}", std::strerror(errno)));
    }
    if (!S_ISREG(st.st_mode)) refuse(path, st.st_mode);
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd_ < 0) refuse_file(path, fmt::format("cannot be opened for reading: {}", std::strerror(errno)));
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
        const mode_t mode = st.st_mode;
        ::close(fd_);
        fd_ = -1;
        refuse(path, mode);
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
}

InputFile::~InputFile() {
    if (fd_ >= 0) ::close(fd_);
}

void InputFile::read(std::uint64_t offset, void* out, std::size_t n) const {
    auto* p = static_cast<char*>(out);
    while (n > 0) {
        const ssize_t got = ::pread(fd_, p, n, static_cast<off_t>(offset));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) refuse_file(path_, fmt::format("read failed: {}", std::strerror(errno)));
        if (got == 0) refuse_file(path_, fmt::format("the file ends at byte {}, before the {} bytes it had when opened", offset, size_));
        p += got;
        n -= static_cast<std::size_t>(got);
        offset += static_cast<std::uint64_t>(got);
    }
}

std::string InputFile::read_string(std::uint64_t offset, std::size_t n) const {
    std::string s(n, '\0');
    read(offset, s.data(), n);
    return s;
}

void InputFile::read_chunks(std::uint64_t offset, std::uint64_t n, const std::function<void(const char*, std::size_t)>& take) const {
    std::vector<char> chunk(static_cast<std::size_t>(std::min<std::uint64_t>(n, 1 << 20)));
    for (std::uint64_t done = 0; done < n;) {
        const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(n - done, chunk.size()));
        read(offset + done, chunk.data(), k);
        take(chunk.data(), k);
        done += k;
    }
}

std::string InputFile::read_all(std::uint64_t max_bytes, const char* what) const {
    if (size_ > max_bytes) {
        refuse_file(path_, fmt::format("{} bytes, more than a {} may have ({} bytes)", size_, what, max_bytes));
    }
    return read_string(0, static_cast<std::size_t>(size_));
}

} // namespace spikenn
