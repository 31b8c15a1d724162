#include "gemm.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include <immintrin.h>

// Each product term is one fused multiply-add, written out explicitly; the compiler must not
// fuse anything else (-ffp-contract=off, set for the whole project in CMakeLists.txt).

namespace spikenn {

#define SPIKENN_GEMM_ISA 0
#define SPIKENN_GEMM_NS gemm_sse2
#define SPIKENN_GEMM_TARGET
#include "gemm_kernel.inc"
#undef SPIKENN_GEMM_ISA
#undef SPIKENN_GEMM_NS
#undef SPIKENN_GEMM_TARGET

#define SPIKENN_GEMM_ISA 1
#define SPIKENN_GEMM_NS gemm_avx2
#define SPIKENN_GEMM_TARGET [[gnu::target("avx2,fma")]]
#include "gemm_kernel.inc"
#undef SPIKENN_GEMM_ISA
#undef SPIKENN_GEMM_NS
#undef SPIKENN_GEMM_TARGET

#define SPIKENN_GEMM_ISA 2
#define SPIKENN_GEMM_NS gemm_avx512
#define SPIKENN_GEMM_TARGET [[gnu::target("avx512f")]]
#include "gemm_kernel.inc"
#undef SPIKENN_GEMM_ISA
#undef SPIKENN_GEMM_NS
#undef SPIKENN_GEMM_TARGET

AlignedFloats::AlignedFloats(std::size_t n): n_(n) {
    if (n == 0) return;
    const std::size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    p_.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
    if (!p_) throw std::bad_alloc();
}

namespace {

// Room for the panels of a k x n matrix, zeroed; a buffer big enough is reused (attention
// packs a head's keys and values for every input into the same two).
void allocate(PanelMatrix& out, std::int32_t k, std::int32_t n) {
    out.k = k;
    out.n = n;
    const std::size_t needed = static_cast<std::size_t>(out.panels()) * static_cast<std::size_t>(k) * panel_width;
    if (out.data.size() < needed) out.data = AlignedFloats(needed);
    std::fill_n(out.data.data(), needed, 0.0f);
}

// The kernels this CPU runs, narrowest first; detected once.
const std::vector<GemmKernel>& available() {
    static const std::vector<GemmKernel> all = [] {
        std::vector<GemmKernel> v{{"sse2", &gemm_sse2::run}};
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) v.push_back({"avx2", &gemm_avx2::run});
        if (__builtin_cpu_supports("avx512f")) v.push_back({"avx512", &gemm_avx512::run});
        return v;
    }();
    return all;
}

const GemmKernel* find_kernel(std::string_view name) {
    for (const auto& k: available())
        if (k.name == name) return &k;
    return nullptr;
}

// The widest kernel, or the one SPIKENN_KERNEL names (an unknown name is an error at first
// use, not a silent fallback: a test that forces a kernel must get that kernel).
const GemmKernel* initial_kernel() {
    if (const char* env = std::getenv("SPIKENN_KERNEL"); env && *env) {
        if (const GemmKernel* k = find_kernel(env)) return k;
        throw std::invalid_argument(std::string("SPIKENN_KERNEL=") + env + ": this CPU has no such product kernel (it has sse2" +
            (find_kernel("avx2") ? ", avx2" : "") + (find_kernel("avx512") ? ", avx512" : "") + ")");
    }
    return &available().back();
}

std::atomic<const GemmKernel*>& current() {
    static std::atomic<const GemmKernel*> k{initial_kernel()};
    return k;
}

} // namespace

void pack_transposed(PanelMatrix& out, const float* w, std::int64_t ldw, std::int32_t n, std::int32_t k) {
    allocate(out, k, n);
    for (std::int32_t j = 0; j < n; ++j) {
        float* dst = out.data.data() + std::int64_t{j / panel_width} * k * panel_width + j % panel_width;
        const float* src = w + j * ldw;
        for (std::int32_t t = 0; t < k; ++t) dst[std::int64_t{t} * panel_width] = src[t];
    }
}

void pack_rows(PanelMatrix& out, const float* b, std::int64_t ldb, std::int32_t k, std::int32_t n) {
    allocate(out, k, n);
    for (std::int32_t p = 0; p < out.panels(); ++p) {
        const std::int32_t cols = std::min(panel_width, n - p * panel_width);
        float* dst = out.data.data() + std::int64_t{p} * k * panel_width;
        for (std::int32_t t = 0; t < k; ++t) std::memcpy(dst + std::int64_t{t} * panel_width, b + t * ldb + p * panel_width, sizeof(float) * static_cast<std::size_t>(cols));
    }
}

std::vector<float> unpack_transposed(const PanelMatrix& b) {
    std::vector<float> w(static_cast<std::size_t>(b.n) * static_cast<std::size_t>(b.k));
    for (std::int32_t j = 0; j < b.n; ++j) {
        const float* src = b.data.data() + std::int64_t{j / panel_width} * b.k * panel_width + j % panel_width;
        for (std::int32_t t = 0; t < b.k; ++t) w[static_cast<std::size_t>(j) * static_cast<std::size_t>(b.k) + static_cast<std::size_t>(t)] = src[std::int64_t{t} * panel_width];
    }
    return w;
}

void gemm(const GemmArgs& args, std::int32_t first_panel, std::int32_t last_panel) {
    if (args.m <= 0 || first_panel >= last_panel) return;
    current().load(std::memory_order_relaxed)->run(args, first_panel, last_panel);
}

std::vector<GemmKernel> gemm_kernels() { return available(); }

std::string_view gemm_kernel_name() { return current().load()->name; }

void select_gemm_kernel(std::string_view name) {
    const GemmKernel* k = find_kernel(name);
    if (!k) throw std::invalid_argument("this CPU has no product kernel \"" + std::string(name) + "\"");
    current().store(k);
}

} // namespace spikenn
