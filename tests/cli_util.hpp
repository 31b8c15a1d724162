// Running the spikenn binary from tests: exit code, standard output and standard error.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <fmt/format.h>

namespace fs = std::filesystem;

namespace spikenn::test {

inline const fs::path scratch = fs::temp_directory_path() / "spikenn_test_cli";

struct Result {
    int code;
    std::string out, err;
};

inline std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline Result run_cli(const std::string& args) {
    fs::create_directories(scratch);
    // CTest runs cases in parallel processes: each call captures into files of its own.
    static int calls = 0;
    const std::string tag = fmt::format("{}_{}", ::getpid(), calls++);
    const fs::path out = scratch / ("stdout_" + tag), err = scratch / ("stderr_" + tag);
    const std::string cmd = fmt::format("cd '{}' && '{}' {} >'{}' 2>'{}' </dev/null", SPIKENN_SOURCE_DIR, SPIKENN_BINARY, args,
        out.string(), err.string());
    const int status = std::system(cmd.c_str());
    Result r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
    fs::remove(out);
    fs::remove(err);
    return r;
}

// Every regular file in a folder, by name.
inline std::map<std::string, std::string> files_of(const fs::path& dir) {
    std::map<std::string, std::string> m;
    for (const auto& e: fs::directory_iterator(dir)) m[e.path().filename().string()] = slurp(e.path());
    return m;
}

} // namespace spikenn::test

using namespace spikenn::test;
