// Timing helpers for the benchmarks: medians of several runs, measured side by side.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

namespace spikenn::bench {

inline double seconds_of(const std::function<void()>& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

inline double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Runs the variants in turn, `rounds` times, so that drifts in the machine's load touch all
// of them alike; returns each variant's median.
inline std::vector<double> interleaved_medians(const std::vector<std::function<void()>>& variants, int rounds) {
    std::vector<std::vector<double>> t(variants.size());
    for (int r = 0; r < rounds; ++r)
        for (std::size_t i = 0; i < variants.size(); ++i) t[i].push_back(seconds_of(variants[i]));
    std::vector<double> m;
    for (auto& v: t) m.push_back(median(v));
    return m;
}

// Sends standard output to /dev/null for the lifetime of the object.
class Silence {
public:
    Silence() {
        std::fflush(stdout);
        saved_ = ::dup(1);
        const int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 1);
        ::close(null);
    }
    ~Silence() {
        std::fflush(stdout);
        ::dup2(saved_, 1);
        ::close(saved_);
    }

private:
    int saved_;
};

} // namespace spikenn::bench
