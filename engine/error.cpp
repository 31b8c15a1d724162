#include <spikenn/error.hpp>

#include <fmt/format.h>

namespace spikenn {

namespace {

std::string place_text(const InputPlace& p) {
    std::string s = p.file;
    if (!s.empty() && p.line > 0) s += fmt::format(":{}:{}", p.line, p.column);
    if (!p.key.empty()) s += (s.empty() ? "" : ": ") + p.key;
    return s;
}

} // namespace

InputError::InputError(InputPlace place, const std::string& problem):
    Error(place_text(place).empty() ? problem : place_text(place) + ": " + problem), place_(std::move(place)), problem_(problem) {}

DamagedFileError::DamagedFileError(const std::string& path, std::uint64_t offset, const std::string& problem):
    InputError(InputPlace{path, 0, 0, fmt::format("byte {}", offset)}, problem), offset_(offset) {}

} // namespace spikenn
