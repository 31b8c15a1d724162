// One neuron's accumulate (the block and the readout) for the seed's shape and others, single
// thread, against the seed's PyTorch code measured in the same run (bench/seed_block_bench.py,
// when Debian's python3-torch is installed).
// Usage: spikenn_bench_block [ROUNDS] [SEED_REFERENCE_PY]   (default 7, ../shared/seed/seed_reference.py)
#include <cstdio>
#include <cstdlib>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "bench/bench_common.hpp"
#include <spikenn/rng.hpp>
#include <spikenn/block.hpp>

using namespace spikenn;

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? std::atoi(argv[1]) : 7;
    const std::string seed_ref = argc > 2 ? argv[2] : "../shared/seed/seed_reference.py";
    const std::vector<std::tuple<int, int, int, int>> shapes = {{10, 512, 8, 2048}, {1, 512, 8, 2048}, {64, 512, 8, 2048}, {10, 64, 4, 256}};

    // The seed's PyTorch code first, on the same shapes (one thread).
    std::map<std::tuple<int, int, int, int>, double> torch_ms;
    const std::string cmd = fmt::format("/usr/bin/python3.11 bench/seed_block_bench.py '{}' {} 2>/dev/null", seed_ref, rounds);
    if (std::FILE* p = ::popen(cmd.c_str(), "r")) {
        int s, d, h, hid;
        double ms;
        while (std::fscanf(p, "%d %d %d %d %lf", &s, &d, &h, &hid, &ms) == 5) torch_ms[{s, d, h, hid}] = ms;
        ::pclose(p);
    }

    fmt::print("one accumulate (block + mean readout), single thread, medians of {} rounds\n\n", rounds);
    fmt::print("{:>26} {:>12} {:>14} {:>10}\n", "(seq, embed, heads, hidden)", "spike-nn ms", "PyTorch ms", "speed-up");
    for (const auto& [seq, d, h, hid]: shapes) {
        const PackedBlock w(BlockWeights::random({d, h, hid}, 1, entity_id("bench")));
        Tensor x(seq, d);
        RandomStream rs(1, entity_id("bench-input"), 0);
        for (auto& v: x.data) v = rs.normal();
        volatile float sink = 0;
        const int reps = d >= 512 ? 20 : 200;
        std::vector<double> t;
        for (int r = 0; r < rounds; ++r) {
            t.push_back(bench::seconds_of([&] {
                for (int i = 0; i < reps; ++i) sink = sink + block_forward(w, x).data[0];
            }) / reps);
        }
        const double ms = bench::median(t) * 1e3;
        const auto it = torch_ms.find({seq, d, h, hid});
        fmt::print("{:>26} {:>12.3f} {:>14} {:>10}\n", fmt::format("({}, {}, {}, {})", seq, d, h, hid), ms,
            it == torch_ms.end() ? std::string("-") : fmt::format("{:.3f}", it->second),
            it == torch_ms.end() ? std::string("-") : fmt::format("{:.2f}x", it->second / ms));
    }
    if (torch_ms.empty()) fmt::print("\n(PyTorch not measured: bench/seed_block_bench.py needs python3-torch and the seed reference)\n");
    return 0;
}
