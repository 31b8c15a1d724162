#include "matmul.hpp"

#include <cmath>
#include <cstring>
#include <utility>

#include <immintrin.h>

// Each product term is one fused multiply-add, written out explicitly; the compiler must not
// fuse anything else (-ffp-contract=off, set for the whole project in CMakeLists.txt).

namespace spikenn {

#define SPIKENN_MATMUL_ISA 0
#define SPIKENN_MATMUL_NS isa_sse2
#define SPIKENN_MATMUL_TARGET
#include "matmul_kernel.inc"
#undef SPIKENN_MATMUL_ISA
#undef SPIKENN_MATMUL_NS
#undef SPIKENN_MATMUL_TARGET

#define SPIKENN_MATMUL_ISA 1
#define SPIKENN_MATMUL_NS isa_avx2
#define SPIKENN_MATMUL_TARGET [[gnu::target("avx2,fma")]]
#include "matmul_kernel.inc"
#undef SPIKENN_MATMUL_ISA
#undef SPIKENN_MATMUL_NS
#undef SPIKENN_MATMUL_TARGET

// GCC 12 warns inside its own AVX-512 header (the "undefined" source operand of extract and
// shuffle intrinsics, GCC bug 105593); the warning is about the header, not this code. Clang
// has no such warning.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#define SPIKENN_MATMUL_ISA 2
#define SPIKENN_MATMUL_NS isa_avx512
#define SPIKENN_MATMUL_TARGET [[gnu::target("avx512f")]]
#include "matmul_kernel.inc"
#undef SPIKENN_MATMUL_ISA
#undef SPIKENN_MATMUL_NS
#undef SPIKENN_MATMUL_TARGET
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace {

// Tile sizes per register file: MR x NJ accumulators of 16 lanes each.
void run_sse2(const MatmulArgs& g) { isa_sse2::run_tiles<2, 1>(g); }
[[gnu::target("avx2,fma")]] void run_avx2(const MatmulArgs& g) { isa_avx2::run_tiles<2, 3>(g); }
[[gnu::target("avx512f")]] void run_avx512(const MatmulArgs& g) { isa_avx512::run_tiles<5, 4>(g); }

std::vector<MatmulVariant> detect() {
    std::vector<MatmulVariant> v{{"sse2", &run_sse2}};
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) v.push_back({"avx2", &run_avx2});
    if (__builtin_cpu_supports("avx512f")) v.push_back({"avx512", &run_avx512});
    return v;
}

const MatmulVariant& best() {
    static const MatmulVariant b = detect().back();
    return b;
}

} // namespace

void matmul_nt(const MatmulArgs& args) {
    if (args.m <= 0 || args.n <= 0) return;
    best().run(args);
}

std::vector<MatmulVariant> matmul_variants() { return detect(); }

std::string_view matmul_variant_name() { return best().name; }

} // namespace spikenn
