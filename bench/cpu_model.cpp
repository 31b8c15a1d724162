#include "bench/cpu_model.hpp"

#include <fstream>

namespace spikenn::bench {

namespace {
// The value of the first "KEY : value" line of /proc/cpuinfo whose key is `key`.
std::string cpuinfo_field(const std::string& key) {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        const auto key_end = line.substr(0, colon).find_last_not_of(" \t");
        if (line.substr(0, key_end == std::string::npos ? 0 : key_end + 1) != key) continue;
        const auto start = line.find_first_not_of(" \t", colon + 1);
        return start == std::string::npos ? std::string() : line.substr(start);
    }
    return {};
}
} // namespace

std::string cpu_model_name() {
    std::string name = cpuinfo_field("model name");
    if (name.empty()) return "unknown CPU";
    // A virtual machine may show only "AMD EPYC" or "Intel Xeon Processor": the family and
    // model numbers still tell the generation (AMD family 25 is Zen 3 and 4, 26 is Zen 5).
    const std::string family = cpuinfo_field("cpu family"), model = cpuinfo_field("model");
    if (!family.empty() && !model.empty()) name += ", family " + family + " model " + model;
    return name;
}

} // namespace spikenn::bench
