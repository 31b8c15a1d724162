// The matrix product every Linear layer and attention head of a block goes through, with one
// order of operations on every x86-64 machine, whatever its vector width or cache sizes.
//
//   C[i][j] = chain_k(A[i][k] * B[k][j]) (+ bias[j])
//
// chain_k is one fused multiply-add per term, in increasing k, starting from 0: a single
// rounding per term, and no other order of adding. The bias, when there is one, is added
// last. B is kept packed in panels of 16 columns (PanelMatrix): panel p holds, for each k in
// turn, the 16 values B[k][16p .. 16p + 15]. The micro-kernels hold a tile of C in vector
// registers, one output per lane, and walk k: each step loads one row of the panel, broadcasts
// one value of A per row of the tile, and does one fused multiply-add per accumulator. Lanes
// hold different outputs, so the vector width never changes any output's operations: the
// AVX-512 and AVX2 kernels, and the SSE2 one for CPUs without FMA (which calls the C
// library's correctly rounded fmaf per lane: slow, but the same bits), give the same bits.
//
// The kernels block over k to keep a slice of the panel in the L1 cache: at the end of a
// slice the partial sums are stored to C, and the next slice loads them back into the
// accumulators and continues each chain. A float stored and loaded is the same float, so the
// blocking never changes a bit. A row of C depends on its row of A and on B only, never on
// the other rows computed with it: batching rows cannot change a bit either.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

namespace spikenn {

inline constexpr std::int32_t panel_width = 16;

// 64-byte aligned floats: a panel row is one cache line, and a vector load never splits one.
class AlignedFloats {
public:
    AlignedFloats() = default;
    explicit AlignedFloats(std::size_t n);
    float* data() { return p_.get(); }
    const float* data() const { return p_.get(); }
    std::size_t size() const { return n_; }

private:
    struct Free {
        void operator()(float* p) const { std::free(p); }
    };
    std::unique_ptr<float[], Free> p_;
    std::size_t n_ = 0;
};

// B [k][n] in panels of 16 columns; the columns of the last panel beyond n are zero.
struct PanelMatrix {
    std::int32_t k = 0; // rows: the summed dimension
    std::int32_t n = 0; // columns: the outputs
    AlignedFloats data;
    std::int32_t panels() const { return (n + panel_width - 1) / panel_width; }
    const float* panel(std::int32_t p) const { return data.data() + std::int64_t{p} * k * panel_width; }
    std::size_t bytes() const { return data.size() * sizeof(float); } // the buffer's, which may be larger
};

// Packs B = Wᵀ from a torch Linear weight W [n][k] (row-major, rows ldw apart).
void pack_transposed(PanelMatrix& out, const float* w, std::int64_t ldw, std::int32_t n, std::int32_t k);
// Packs B from a row-major [k][n] matrix (rows ldb apart).
void pack_rows(PanelMatrix& out, const float* b, std::int64_t ldb, std::int32_t k, std::int32_t n);
// The torch Linear weight W [n][k] (row-major) back from pack_transposed's panels.
std::vector<float> unpack_transposed(const PanelMatrix& b);

struct GemmArgs {
    std::int32_t m = 0; // rows of A and C
    const float* a = nullptr;
    std::int64_t lda = 0;
    const PanelMatrix* b = nullptr;
    const float* bias = nullptr; // [n], or null
    float* c = nullptr;
    std::int64_t ldc = 0;
};

// C = A·B (+ bias) with the fastest kernel this CPU supports (or the one select_gemm_kernel
// chose), for the panels [first_panel, last_panel) only: the columns 16·first_panel up to
// min(16·last_panel, n). Threads can split one product by panels without changing a bit.
void gemm(const GemmArgs& args, std::int32_t first_panel, std::int32_t last_panel);
inline void gemm(const GemmArgs& args) { gemm(args, 0, args.b->panels()); }

// The kernels this CPU can run, by name ("sse2", "avx2", "avx512"), for tests and benchmarks.
struct GemmKernel {
    std::string_view name;
    void (*run)(const GemmArgs&, std::int32_t first_panel, std::int32_t last_panel);
};
std::vector<GemmKernel> gemm_kernels();
// The name of the kernel gemm uses: the widest this CPU offers, unless the environment
// variable SPIKENN_KERNEL or select_gemm_kernel names another.
std::string_view gemm_kernel_name();
// Makes gemm use the named kernel (for tests that run a whole simulation on each); throws
// std::invalid_argument if this CPU cannot run it.
void select_gemm_kernel(std::string_view name);

} // namespace spikenn
