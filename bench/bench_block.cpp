// One neuron's accumulate (the block and the readout) for the seed's shape and others, single
// thread, against the seed's PyTorch code measured in the same run (bench/seed_block_bench.py,
// when Debian's python3-torch is installed), and against the machine itself: each shape's GFLOP/s
// as a fraction of the core's FP32 FMA peak and of single-thread OpenBLAS sgemm on a 2048-cubed
// product, both measured in the same run (bench/fma_peak.hpp, bench/openblas_rate.hpp).
// Usage: spikenn_bench_block [ROUNDS] [SEED_REFERENCE_PY]   (default 7, ../shared/seed/seed_reference.py)
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "bench/bench_common.hpp"
#include "bench/cpu_model.hpp"
#include "bench/fma_peak.hpp"
#include "bench/openblas_rate.hpp"
#include <spikenn/rng.hpp>
#include <spikenn/block.hpp>

using namespace spikenn;

// The floating-point operations of one block on seq rows, two per multiply-add of its
// products: the four embed x embed projections (query, key, value, out) and fc1 and fc2 on
// every row, and per head the scores Q K^T and their product with V (seq x seq x head_dim
// each, so embed over all heads). The elementwise work is not counted (biases, the scale,
// softmax, ReLU, the residual adds, the LayerNorms): it grows as seq x (embed + hidden) against
// the products' seq x embed x hidden, and is under 0.5% of the count at embed 512, about 3% at
// (10, 64, 4, 256).
static double block_flops(int seq, int embed, int hidden) {
    const double n = seq, d = embed, h = hidden;
    return 2 * (4 * n * d * d + 2 * n * d * h + 2 * n * n * d);
}

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? std::atoi(argv[1]) : 7;
    const std::string seed_ref = argc > 2 ? argv[2] : "../shared/seed/seed_reference.py";
    const std::vector<std::tuple<int, int, int, int>> shapes = {{10, 512, 8, 2048}, {1, 512, 8, 2048}, {64, 512, 8, 2048}, {10, 64, 4, 256}};

    // The seed's PyTorch code on the same shapes (one thread), one round of it in every round
    // below, so that it is measured side by side with the blocks.
    std::map<std::tuple<int, int, int, int>, std::vector<double>> torch_times;
    auto time_torch = [&] {
        const std::string cmd = fmt::format("/usr/bin/python3.11 bench/seed_block_bench.py '{}' 1 2>/dev/null", seed_ref);
        if (std::FILE* p = ::popen(cmd.c_str(), "r")) {
            int s, d, h, hid;
            double ms;
            while (std::fscanf(p, "%d %d %d %d %lf", &s, &d, &h, &hid, &ms) == 5) torch_times[{s, d, h, hid}].push_back(ms);
            ::pclose(p);
        }
    };

    // Every round measures the machine (FMA peak, OpenBLAS) and then each block, on the same
    // thread, so that a load that comes and goes on a shared machine touches all alike.
    struct Case {
        int seq, d, h, hid;
        int batch; // inputs computed as one batch (1: alone)
        std::unique_ptr<PackedBlock> w;
        std::vector<Tensor> x;
        std::vector<double> t; // seconds per input
    };
    std::vector<Case> cases;
    for (const auto& [seq, d, h, hid]: shapes) cases.push_back({seq, d, h, hid, 1, nullptr, {}, {}});
    // The population batch: 64 inputs of 10 rows to one set of weights (bench/population.yaml).
    cases.push_back({10, 512, 8, 2048, 64, nullptr, {}, {}});
    for (Case& c: cases) {
        c.w = std::make_unique<PackedBlock>(BlockWeights::random({c.d, c.h, c.hid}, 1, entity_id("bench")));
        for (int i = 0; i < c.batch; ++i) {
            Tensor x(c.seq, c.d);
            RandomStream rs(1, entity_id("bench-input"), static_cast<std::uint32_t>(i));
            for (auto& v: x.data) v = rs.normal();
            c.x.push_back(std::move(x));
        }
    }
    std::vector<double> peaks, blases;
    std::optional<bench::FmaPeak> peak;
    std::optional<bench::BlasRate> blas;
    volatile float sink = 0;
    for (int r = 0; r < rounds; ++r) {
        time_torch();
        if ((peak = bench::fma_peak(1))) peaks.push_back(peak->gflops);
        if ((blas = bench::openblas_sgemm_rate(2048, 1))) blases.push_back(blas->gflops);
        for (Case& c: cases) {
            std::vector<const Tensor*> in;
            for (const Tensor& x: c.x) in.push_back(&x);
            std::vector<Tensor> out(in.size());
            const int reps = c.batch > 1 ? 2 : c.d >= 512 ? 20 : 200;
            c.t.push_back(bench::seconds_of([&] {
                for (int i = 0; i < reps; ++i) {
                    if (c.batch == 1) sink = sink + block_forward(*c.w, c.x[0]).data[0];
                    else {
                        block_forward(*c.w, in, out);
                        sink = sink + out[0].data[0];
                    }
                }
            }) / reps / c.batch);
        }
    }
    std::map<std::tuple<int, int, int, int>, double> torch_ms;
    for (const auto& [shape, t]: torch_times) torch_ms[shape] = bench::median(t);
    if (peak) peak->gflops = bench::median(peaks);
    if (blas) blas->gflops = bench::median(blases);
    fmt::print("cpu: {}\n", bench::cpu_model_name());
    fmt::print("FP32 FMA peak, one core: {}\n",
        peak ? fmt::format("{:.1f} GFLOP/s ({}, {} independent accumulators)", peak->gflops, peak->isa, peak->accumulators)
             : std::string("- (no AVX2+FMA or AVX-512F)"));
    fmt::print("OpenBLAS sgemm 2048x2048x2048, one thread: {}\n",
        blas ? fmt::format("{:.1f} GFLOP/s ({}; {})", blas->gflops, blas->config, blas->threads)
             : std::string("- (built without OpenBLAS: libopenblas-dev)"));
    fmt::print("product kernel: {}\n\n", product_kernel());

    fmt::print("one accumulate (block + mean readout), single thread, medians of {} interleaved rounds\n\n", rounds);
    fmt::print("{:>26} {:>12} {:>14} {:>10} {:>9} {:>8} {:>9}\n", "(seq, embed, heads, hidden)", "spike-nn ms", "PyTorch ms",
        "speed-up", "GFLOP/s", "of peak", "of BLAS");
    double alone_ms = 0;
    for (const Case& c: cases) {
        const double ms = bench::median(c.t) * 1e3;
        const auto it = torch_ms.find({c.seq, c.d, c.h, c.hid});
        const bool torch = c.batch == 1 && it != torch_ms.end();
        const double gflops = block_flops(c.seq, c.d, c.hid) / (ms * 1e-3) / 1e9;
        if (c.batch == 1 && c.seq == 10 && c.d == 512) alone_ms = ms;
        const std::string label = c.batch == 1 ? fmt::format("({}, {}, {}, {})", c.seq, c.d, c.h, c.hid)
                                               : fmt::format("{} x ({}, {}, {}, {})", c.batch, c.seq, c.d, c.h, c.hid);
        fmt::print("{:>26} {:>12.3f} {:>14} {:>10} {:>9.1f} {:>8} {:>9}\n", label, ms,
            torch ? fmt::format("{:.3f}", it->second) : std::string("-"), torch ? fmt::format("{:.2f}x", it->second / ms) : std::string("-"), gflops,
            peak ? fmt::format("{:.0f}%", 100 * gflops / peak->gflops) : std::string("-"),
            blas ? fmt::format("{:.0f}%", 100 * gflops / blas->gflops) : std::string("-"));
        if (c.batch > 1 && alone_ms > 0) fmt::print("{:>26} {:.2f}x lower cost per input than alone\n", "", alone_ms / ms);
    }
    fmt::print("\nGFLOP/s: 2 per multiply-add of the block's products (projections, fc1, fc2, attention); of peak, of BLAS:\n"
               "that rate over the FMA peak and over OpenBLAS's 2048-cubed rate above\n");
    if (torch_ms.empty()) fmt::print("\n(PyTorch not measured: bench/seed_block_bench.py needs python3-torch and the seed reference)\n");
    return 0;
}
