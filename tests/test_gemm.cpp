#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include <spikenn/block.hpp>
#include <spikenn/rng.hpp>
#include "gemm.hpp"

using namespace spikenn;

namespace {

std::vector<float> random_values(std::size_t n, std::uint32_t purpose) {
    RandomStream rs(7, entity_id("gemm"), purpose);
    std::vector<float> v(n);
    for (auto& x: v) x = rs.normal();
    return v;
}

// The documented order written out plainly: one fused multiply-add per term in increasing k,
// from 0, and the bias last.
float reference_entry(const float* a, const float* w, std::int32_t k, const float* bias) {
    float acc = 0.0f;
    for (std::int32_t i = 0; i < k; ++i) acc = std::fma(a[i], w[i], acc);
    if (bias) acc = acc + *bias;
    return acc;
}

struct Shape {
    std::int32_t m, n, k;
};

// Restores the kernel in use when a test that forces one ends, even by an exception.
struct KernelGuard {
    std::string before{gemm_kernel_name()};
    ~KernelGuard() { select_gemm_kernel(before); }
};

} // namespace

// Every kernel this CPU runs gives the bits of the plain scalar order, for shapes that
// exercise each tile edge (rows left over, columns past the last full panel, an odd panel)
// and each k slice (k below, at and above the slice of 192, and one more).
TEST_CASE("every product kernel gives the same bits as the documented order") {
    const auto kernels = gemm_kernels();
    REQUIRE(!kernels.empty());
    CHECK(kernels.front().name == "sse2");
    MESSAGE("kernels on this CPU: " << kernels.size() << ", in use: " << gemm_kernel_name());
    const Shape shapes[] = {{1, 1, 1}, {10, 512, 512}, {1, 37, 100}, {7, 13, 33}, {64, 20, 48}, {3, 5, 15}, {11, 9, 2048}, {13, 48, 192},
        {25, 33, 193}, {6, 64, 385}, {12, 16, 7}, {73, 50, 200}, {2, 0, 5}, {4, 17, 0},
        // Past one row block (72 rows on AVX2, 144 on AVX-512 and SSE2) and one column block (16 panels).
        {150, 40, 200}, {300, 530, 20}};
    for (const auto& s: shapes) {
        CAPTURE(s.m);
        CAPTURE(s.n);
        CAPTURE(s.k);
        const std::int64_t lda = s.k + 3, ldw = s.k + 1, ldc = s.n + 2; // strides wider than the rows
        const auto a = random_values(static_cast<std::size_t>(s.m * lda), 1);
        const auto w = random_values(static_cast<std::size_t>(s.n * ldw) + 1, 2);
        const auto bias = random_values(static_cast<std::size_t>(s.n) + 1, 3);
        PanelMatrix b;
        pack_transposed(b, w.data(), ldw, s.n, s.k);
        for (const bool with_bias: {false, true}) {
            std::vector<float> expect(static_cast<std::size_t>(s.m * ldc), -1.0f);
            for (std::int32_t i = 0; i < s.m; ++i) {
                for (std::int32_t j = 0; j < s.n; ++j) {
                    expect[static_cast<std::size_t>(i * ldc + j)] = reference_entry(&a[static_cast<std::size_t>(i * lda)], &w[static_cast<std::size_t>(j * ldw)], s.k, with_bias ? &bias[static_cast<std::size_t>(j)] : nullptr);
                }
            }
            for (const auto& kern: kernels) {
                CAPTURE(kern.name);
                std::vector<float> c(expect.size(), -1.0f);
                const GemmArgs g{s.m, a.data(), lda, &b, with_bias ? bias.data() : nullptr, c.data(), ldc};
                kern.run(g, 0, b.panels());
                // Bitwise: the padding between rows is untouched too.
                CHECK(std::memcmp(c.data(), expect.data(), c.size() * sizeof(float)) == 0);
                // Split by panels, as threads split a product: the same bits.
                std::vector<float> split(expect.size(), -1.0f);
                const GemmArgs h{s.m, a.data(), lda, &b, with_bias ? bias.data() : nullptr, split.data(), ldc};
                for (std::int32_t p = 0; p < b.panels(); p += 3) kern.run(h, p, std::min(b.panels(), p + 3));
                CHECK(std::memcmp(split.data(), expect.data(), split.size() * sizeof(float)) == 0);
            }
        }
    }
}

// A row's result never depends on the rows computed with it: each row alone, and every batch
// size from 1 to 70 starting at every offset of a few, give the same bits, on every kernel.
TEST_CASE("a row of a product has the same bits alone and in a batch of any size") {
    const std::int32_t rows = 75, n = 40, k = 300;
    const auto a = random_values(static_cast<std::size_t>(rows * k), 4);
    const auto w = random_values(static_cast<std::size_t>(n * k), 5);
    const auto bias = random_values(static_cast<std::size_t>(n), 6);
    PanelMatrix b;
    pack_transposed(b, w.data(), k, n, k);
    for (const auto& kern: gemm_kernels()) {
        CAPTURE(kern.name);
        std::vector<float> alone(static_cast<std::size_t>(rows * n));
        for (std::int32_t i = 0; i < rows; ++i) kern.run({1, &a[static_cast<std::size_t>(i * k)], k, &b, bias.data(), &alone[static_cast<std::size_t>(i * n)], n}, 0, b.panels());
        bool same = true;
        for (std::int32_t size = 1; size <= 70; ++size) {
            for (std::int32_t first: {0, 1, 5}) {
                std::vector<float> c(static_cast<std::size_t>(size * n));
                kern.run({size, &a[static_cast<std::size_t>(first * k)], k, &b, bias.data(), c.data(), n}, 0, b.panels());
                same = same && std::memcmp(c.data(), &alone[static_cast<std::size_t>(first * n)], c.size() * sizeof(float)) == 0;
            }
        }
        CHECK(same);
    }
}

TEST_CASE("packing a Linear weight and unpacking it gives it back") {
    for (const Shape s: {Shape{0, 1, 1}, Shape{0, 16, 3}, Shape{0, 37, 29}, Shape{0, 64, 512}}) {
        const auto w = random_values(static_cast<std::size_t>(s.n * s.k), 7);
        PanelMatrix b;
        pack_transposed(b, w.data(), s.k, s.n, s.k);
        CHECK(b.panels() == (s.n + 15) / 16);
        CHECK(unpack_transposed(b) == w);
        // Columns past n are zero, so that the kernel's extra lanes stay finite.
        for (std::int32_t t = 0; t < s.k; ++t)
            for (std::int32_t j = s.n; j < b.panels() * 16; ++j) CHECK(b.panel(b.panels() - 1)[t * 16 + j % 16] == 0.0f);
    }
}

// The order is a good one: close to the product in double precision.
TEST_CASE("the product is accurate") {
    const std::int32_t m = 4, n = 6, k = 2048;
    const auto a = random_values(static_cast<std::size_t>(m * k), 8);
    const auto w = random_values(static_cast<std::size_t>(n * k), 9);
    PanelMatrix b;
    pack_transposed(b, w.data(), k, n, k);
    std::vector<float> c(static_cast<std::size_t>(m * n));
    gemm({m, a.data(), k, &b, nullptr, c.data(), n});
    for (std::int32_t i = 0; i < m; ++i) {
        for (std::int32_t j = 0; j < n; ++j) {
            double exact = 0, scale = 0;
            for (std::int32_t t = 0; t < k; ++t) {
                exact += double(a[static_cast<std::size_t>(i * k + t)]) * w[static_cast<std::size_t>(j * k + t)];
                scale += std::abs(double(a[static_cast<std::size_t>(i * k + t)]) * w[static_cast<std::size_t>(j * k + t)]);
            }
            CHECK(std::abs(c[static_cast<std::size_t>(i * n + j)] - exact) <= 1e-6 * scale);
        }
    }
}

TEST_CASE("a kernel can be forced, and an unknown one is refused") {
    KernelGuard guard;
    for (const auto& k: gemm_kernels()) {
        select_gemm_kernel(k.name);
        CHECK(gemm_kernel_name() == k.name);
    }
    CHECK_THROWS_AS(select_gemm_kernel("avx1024"), std::invalid_argument);
}

namespace {

Tensor random_input(std::int32_t rows, std::int32_t d, std::uint32_t purpose) {
    Tensor x(rows, d);
    RandomStream rs(3, entity_id("block-batch"), purpose);
    for (auto& v: x.data) v = rs.normal();
    return x;
}

} // namespace

// A block's inputs computed alone and in batches of every size up to 70, of mixed lengths,
// give the same bits, on every kernel and with the products split across tasks.
TEST_CASE("a block's output has the same bits alone, in a batch of any size, and on every kernel") {
    KernelGuard guard;
    const BlockShape shape{24, 3, 40};
    const PackedBlock w(BlockWeights::random(shape, 5, entity_id("neuron:batch")));
    std::vector<Tensor> inputs;
    for (std::uint32_t i = 0; i < 70; ++i) inputs.push_back(random_input(1 + static_cast<std::int32_t>(i % 7), shape.embed_dim, i));
    std::vector<Tensor> alone;
    for (const auto& x: inputs) alone.push_back(block_forward(w, x));
    // Any split of the work: here tasks run in reverse order on this thread.
    const ParallelFor reversed = [](std::size_t n, const std::function<void(std::size_t)>& f) {
        for (std::size_t i = n; i-- > 0;) f(i);
    };
    for (const auto& kern: gemm_kernels()) {
        CAPTURE(kern.name);
        select_gemm_kernel(kern.name);
        bool same = true;
        for (std::size_t size = 1; size <= inputs.size(); ++size) {
            std::vector<const Tensor*> in;
            for (std::size_t i = 0; i < size; ++i) in.push_back(&inputs[(i * 13 + size) % inputs.size()]);
            std::vector<Tensor> out(size);
            block_forward(w, in, out, size % 2 ? &reversed : nullptr);
            for (std::size_t i = 0; i < size; ++i) same = same && out[i] == alone[(i * 13 + size) % inputs.size()];
        }
        CHECK(same);
        CHECK(feed_forward(w, inputs[3]) == feed_forward(w.unpack(), inputs[3]));
    }
}

TEST_CASE("packed weights unpack to the weights they were made from, and are checked") {
    const BlockShape shape{16, 2, 48};
    const BlockWeights w = BlockWeights::random(shape, 2, entity_id("neuron:pack"));
    const PackedBlock p(w);
    CHECK(p.shape() == shape);
    const BlockWeights back = p.unpack();
    for (int i = 0; i < param_count; ++i) CHECK(back[static_cast<Param>(i)] == w[static_cast<Param>(i)]);
    CHECK(p.bytes() >= sizeof(float) * (3 * 16 * 16 + 16 * 16 + 2 * 16 * 48));
    BlockWeights bad = w;
    bad[Param::fc1_bias].pop_back();
    CHECK_THROWS_WITH_AS(PackedBlock{bad}, doctest::Contains("feed_forward.fc1.bias"), std::invalid_argument);
}
