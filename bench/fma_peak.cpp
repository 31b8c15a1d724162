// The project builds for baseline x86-64, so the vector code is compiled per function with
// [[gnu::target]] and picked at run time with __builtin_cpu_supports, as neurons/matmul.cpp does.
#include "bench/fma_peak.hpp"

#include <immintrin.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "bench/bench_common.hpp"

namespace spikenn::bench {
namespace {

// 12 independent chains: an FMA's result is ready 4 to 5 cycles after it issues, and current
// cores (Intel since Haswell, AMD since Zen 2) issue 2 FMAs per cycle, so at least 8 to 10
// chains are needed to keep both units busy every cycle. 12 covers them with room to spare and
// still leaves AVX2's 16 registers enough for the two operands, so that nothing spills to
// memory and the loop measures the FMA units alone.
constexpr int chains = 12;

// Each chain computes acc = acc * m + c with m just below 1: it converges to c / (1 - m), so
// the values stay normal (no overflow, no denormal slow path) however long the loop runs. m and
// c are read through volatile so that the compiler cannot fold the loop; the sum of the chains
// is written to a volatile so that it cannot drop it.
volatile float multiplier = 0.999999f;
volatile float addend = 1e-6f;
volatile float sink;

[[gnu::target("avx512f")]] void fma_loop_avx512(std::int64_t iterations) {
    const __m512 m = _mm512_set1_ps(multiplier), c = _mm512_set1_ps(addend);
    __m512 acc[chains];
    for (auto& a: acc) a = _mm512_set1_ps(1.0f);
    for (std::int64_t i = 0; i < iterations; ++i)
        for (auto& a: acc) a = _mm512_fmadd_ps(a, m, c);
    __m512 s = acc[0];
    for (int j = 1; j < chains; ++j) s = _mm512_add_ps(s, acc[j]);
    // Through memory rather than _mm512_reduce_add_ps, whose GCC 12 header warns of an
    // uninitialised register; this runs once, after the timed loop.
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, s);
    float t = 0;
    for (float v: lanes) t += v;
    sink = t;
}

[[gnu::target("avx2,fma")]] void fma_loop_avx2(std::int64_t iterations) {
    const __m256 m = _mm256_set1_ps(multiplier), c = _mm256_set1_ps(addend);
    __m256 acc[chains];
    for (auto& a: acc) a = _mm256_set1_ps(1.0f);
    for (std::int64_t i = 0; i < iterations; ++i)
        for (auto& a: acc) a = _mm256_fmadd_ps(a, m, c);
    __m256 s = acc[0];
    for (int j = 1; j < chains; ++j) s = _mm256_add_ps(s, acc[j]);
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, s);
    float t = 0;
    for (float v: lanes) t += v;
    sink = t;
}

} // namespace

std::optional<FmaPeak> fma_peak(int rounds) {
    void (*loop)(std::int64_t);
    FmaPeak p;
    int lanes;
    if (__builtin_cpu_supports("avx512f")) {
        loop = &fma_loop_avx512, p.isa = "AVX-512F", lanes = 16;
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        loop = &fma_loop_avx2, p.isa = "AVX2+FMA", lanes = 8;
    } else {
        return std::nullopt;
    }
    p.accumulators = chains;
    // 2^22 iterations: about 25 ms at 2 FMAs per cycle and 3 GHz, long enough for the clock's
    // resolution and a scheduler tick not to matter, short enough to repeat.
    constexpr std::int64_t iterations = std::int64_t{1} << 22;
    loop(iterations);  // untimed: lets the core reach the clock it runs vector code at
    std::vector<double> rates;
    for (int r = 0; r < 3 * rounds; ++r) {
        const double s = seconds_of([&] { loop(iterations); });
        // Two floating-point operations (a multiply and an add) per lane per FMA.
        rates.push_back(2.0 * lanes * chains * static_cast<double>(iterations) / s / 1e9);
    }
    p.gflops = median(rates);
    return p;
}

} // namespace spikenn::bench
