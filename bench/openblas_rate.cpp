#include "bench/openblas_rate.hpp"

#ifdef SPIKENN_BENCH_OPENBLAS
#include <cblas.h>
#endif

#include <cstddef>
#include <vector>

#include "bench/bench_common.hpp"

namespace spikenn::bench {

std::optional<BlasRate> openblas_sgemm_rate([[maybe_unused]] int n, [[maybe_unused]] int rounds) {
#ifdef SPIKENN_BENCH_OPENBLAS
    // Set through the API rather than OPENBLAS_NUM_THREADS, so that the figure is a single
    // thread's whatever the environment says; Debian's OpenBLAS is the pthread build, whose pool
    // may have been started with more threads, and this limits every later call to one.
    openblas_set_num_threads(1);
    BlasRate b;
    b.config = openblas_get_config();
    b.threads = "openblas_set_num_threads(1)";
    const std::size_t nn = static_cast<std::size_t>(n) * static_cast<std::size_t>(n);
    // Values in [-1, 1) from a fixed integer recurrence: no denormals, no infinities, and the
    // same input every run.
    std::vector<float> a(nn), bm(nn), c(nn);
    unsigned state = 1;
    for (auto* m: {&a, &bm})
        for (auto& v: *m) {
            state = state * 1664525u + 1013904223u;
            v = static_cast<float>(state >> 8) / 8388608.0f - 1.0f;
        }
    const auto product = [&] {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, bm.data(), n, 0.0f, c.data(), n);
    };
    product();  // untimed: first touch of C, OpenBLAS's buffers, the core's vector clock
    std::vector<double> rates;
    const double flops = 2.0 * n * n * static_cast<double>(n);  // n^3 multiply-adds
    for (int r = 0; r < rounds; ++r) rates.push_back(flops / seconds_of(product) / 1e9);
    b.gflops = median(rates);
    return b;
#else
    return std::nullopt;
#endif
}

} // namespace spikenn::bench
