// Helpers for tests that compare against the golden data in tests/golden/.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <spikenn/payload.hpp>
#include <spikenn/tensor_io.hpp>

namespace spikenn::test {

inline std::string golden(const std::string& rel) { return std::string(SPIKENN_SOURCE_DIR "/tests/golden/") + rel; }

// Rows of a CSV file as maps from column name to text.
inline std::vector<std::vector<std::string>> read_csv(const std::string& path, std::vector<std::string>& header) {
    std::ifstream in(path);
    std::vector<std::vector<std::string>> rows;
    std::string line;
    bool first = true;
    while (std::getline(in, line)) {
        std::vector<std::string> cells;
        std::stringstream ss(line);
        std::string cell;
        while (std::getline(ss, cell, ',')) cells.push_back(cell);
        if (!line.empty() && line.back() == ',') cells.emplace_back();
        if (first) header = cells;
        else rows.push_back(cells);
        first = false;
    }
    return rows;
}

inline Tensor npy_tensor(const std::string& path) {
    NpyArray a = read_npy(path);
    const auto cols = static_cast<std::int32_t>(a.shape.back());
    const auto rows = static_cast<std::int32_t>(a.data.size() / static_cast<std::size_t>(cols));
    return Tensor(rows, cols, std::move(a.data));
}

// max |a - b| / max |b|: the error relative to the reference's scale.
inline double relative_error(const Tensor& a, const Tensor& b) {
    if (a.rows != b.rows || a.cols != b.cols) return INFINITY;
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < a.data.size(); ++i) {
        diff = std::max(diff, std::abs(static_cast<double>(a.data[i]) - b.data[i]));
        scale = std::max(scale, std::abs(static_cast<double>(b.data[i])));
    }
    return diff / scale;
}

struct InvalidScenario {
    std::string file;   // name within scenarios/invalid/
    std::string expect; // the message it must produce (its first line: "# expect: MESSAGE")
};

// The bad scenarios, in name order.
inline std::vector<InvalidScenario> invalid_scenarios() {
    std::vector<InvalidScenario> v;
    for (const auto& entry: std::filesystem::directory_iterator(SPIKENN_SOURCE_DIR "/scenarios/invalid")) {
        if (entry.path().extension() != ".yaml") continue;
        std::ifstream in(entry.path());
        std::string first;
        std::getline(in, first);
        const std::string tag = "# expect: ";
        v.push_back({entry.path().filename().string(), first.rfind(tag, 0) == 0 ? first.substr(tag.size()) : ""});
    }
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.file < b.file; });
    return v;
}

} // namespace spikenn::test
