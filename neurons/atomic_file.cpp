#include <spikenn/atomic_file.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include <spikenn/error.hpp>

namespace spikenn {

namespace fs = std::filesystem;

void write_file_atomically(const fs::path& path, std::string_view bytes) {
    const fs::path tmp = path.string() + ".partial";
    std::error_code ec;
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        if (!f) throw IoError(fmt::format("{}: cannot be opened for writing: {}", tmp.string(), std::strerror(errno)));
        f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        f.close();
        if (!f) {
            const std::string why = std::strerror(errno);
            fs::remove(tmp, ec);
            throw IoError(fmt::format("{}: write failed: {}", path.string(), why));
        }
    }
    fs::rename(tmp, path, ec);
    if (ec) {
        const std::string why = ec.message();
        fs::remove(tmp, ec);
        throw IoError(fmt::format("{}: cannot be written: {}", path.string(), why));
    }
}

} // namespace spikenn
