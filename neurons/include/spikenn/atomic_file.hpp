// Writing a whole file so that no reader ever sees half of it.
#pragma once

#include <filesystem>
#include <string_view>

namespace spikenn {

// Writes `bytes` to `path` through PATH.partial and a rename; the temporary file is removed
// if anything fails (IoError naming the file and the system's reason).
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

} // namespace spikenn
