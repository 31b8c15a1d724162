// The matrix product every Linear layer and attention head of a block goes through, with one
// summation order on every x86-64 machine.
//
//   C[i][j] = sum_k A[i][k] * B[j][k]  (+ bias[j])      (B row-major [n, k]: a torch Linear weight)
//
// Each sum is kept in 16 lanes: lane l takes the products of k = l, l + 16, l + 32, ... in
// increasing k, each with one fused multiply-add (a single rounding), and the 16 lanes are
// then added in a fixed tree; the bias is added last. The AVX-512 and AVX2 variants hold the
// 16 lanes in 1 or 2 registers; the SSE2 variant, for CPUs without FMA, calls the C library's
// correctly rounded fmaf per lane (slow). Every variant performs the same float operations
// and gives the same bits; the fastest the CPU offers is picked once, at first use. A
// block's products are therefore the same on any x86-64 machine, whatever its vector width
// or cache sizes. (Eigen's own product would not: its blocking, and with it the order of the
// sums, follows the vector width and the cache sizes it detects.) The softmax's exp comes
// from engine/portable_math.hpp for the same reason.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace spikenn {

struct MatmulArgs {
    std::int32_t m = 0, n = 0, k = 0;
    const float* a = nullptr;
    std::int64_t lda = 0;
    const float* b = nullptr;
    std::int64_t ldb = 0;
    const float* bias = nullptr; // may be null
    float* c = nullptr;
    std::int64_t ldc = 0;
};

// C = A·Bᵀ (+ bias), with the fastest variant this CPU supports.
void matmul_nt(const MatmulArgs& args);

// The variants this CPU can run, by name ("sse2", "avx2", "avx512"), for tests and benchmarks.
struct MatmulVariant {
    std::string_view name;
    void (*run)(const MatmulArgs&);
};
std::vector<MatmulVariant> matmul_variants();
// The name of the variant matmul_nt uses.
std::string_view matmul_variant_name();

} // namespace spikenn
