// A 64-bit number as it is printed wherever one is shown to the user: fingerprints, the
// hashes of tensors, files and scenario texts. "0x" and sixteen lower-case hex digits
// ("0x72b312c6e6264da6"), so that two printed values line up and compare as text.
#pragma once

#include <cstdint>
#include <string>

#include <fmt/format.h>

namespace spikenn {

inline std::string hex64(std::uint64_t v) { return fmt::format("0x{:016x}", v); }

} // namespace spikenn
