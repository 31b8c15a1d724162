#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include <spikenn/rng.hpp>
#include "matmul.hpp"

using namespace spikenn;

namespace {

std::vector<float> random_values(std::size_t n, std::uint32_t purpose) {
    RandomStream rs(7, entity_id("matmul"), purpose);
    std::vector<float> v(n);
    for (auto& x: v) x = rs.normal();
    return v;
}

// The documented order written out plainly: lane k % 16 in increasing k with one fused
// multiply-add per term, the fixed tree, the bias last.
float reference_entry(const float* a, const float* b, std::int32_t k, const float* bias) {
    float lane[16] = {};
    for (std::int32_t i = 0; i < k; ++i) lane[i % 16] = std::fma(a[i], b[i], lane[i % 16]);
    for (int i = 0; i < 8; ++i) lane[i] = lane[i] + lane[i + 8];
    for (int i = 0; i < 4; ++i) lane[i] = lane[i] + lane[i + 4];
    for (int i = 0; i < 2; ++i) lane[i] = lane[i] + lane[i + 2];
    float r = lane[0] + lane[1];
    if (bias) r = r + *bias;
    return r;
}

struct Shape {
    std::int32_t m, n, k;
};

} // namespace

// Every variant this CPU runs gives the bits of the plain scalar order, for shapes that
// exercise each tile edge (rows and outputs left over) and each k tail.
TEST_CASE("every product variant gives the same bits as the documented order") {
    const auto variants = matmul_variants();
    REQUIRE(!variants.empty());
    CHECK(variants.front().name == "sse2");
    MESSAGE("variants on this CPU: " << variants.size() << ", in use: " << matmul_variant_name());
    const Shape shapes[] = {{1, 1, 1}, {10, 512, 512}, {1, 37, 100}, {7, 13, 33}, {64, 20, 48}, {3, 5, 15}, {11, 9, 2048}};
    for (const auto& s: shapes) {
        CAPTURE(s.m);
        CAPTURE(s.n);
        CAPTURE(s.k);
        const std::int64_t lda = s.k + 3, ldb = s.k + 1, ldc = s.n + 2; // strides wider than the rows
        const auto a = random_values(static_cast<std::size_t>(s.m * lda), 1);
        const auto b = random_values(static_cast<std::size_t>(s.n * ldb), 2);
        const auto bias = random_values(static_cast<std::size_t>(s.n), 3);
        for (const bool with_bias: {false, true}) {
            std::vector<float> expect(static_cast<std::size_t>(s.m * ldc), -1.0f);
            for (std::int32_t i = 0; i < s.m; ++i) {
                for (std::int32_t j = 0; j < s.n; ++j) {
                    expect[i * ldc + j] = reference_entry(&a[i * lda], &b[j * ldb], s.k, with_bias ? &bias[j] : nullptr);
                }
            }
            for (const auto& v: variants) {
                CAPTURE(v.name);
                std::vector<float> c(expect.size(), -1.0f);
                v.run({s.m, s.n, s.k, a.data(), lda, b.data(), ldb, with_bias ? bias.data() : nullptr, c.data(), ldc});
                // Bitwise: the padding between rows is untouched too.
                CHECK(std::memcmp(c.data(), expect.data(), c.size() * sizeof(float)) == 0);
            }
        }
    }
}

// The order is a good one: close to the product in double precision.
TEST_CASE("the product is accurate") {
    const std::int32_t m = 4, n = 6, k = 2048;
    const auto a = random_values(static_cast<std::size_t>(m * k), 4);
    const auto b = random_values(static_cast<std::size_t>(n * k), 5);
    std::vector<float> c(static_cast<std::size_t>(m * n));
    matmul_nt({m, n, k, a.data(), k, b.data(), k, nullptr, c.data(), n});
    for (std::int32_t i = 0; i < m; ++i) {
        for (std::int32_t j = 0; j < n; ++j) {
            double exact = 0, scale = 0;
            for (std::int32_t t = 0; t < k; ++t) {
                exact += double(a[i * k + t]) * b[j * k + t];
                scale += std::abs(double(a[i * k + t]) * b[j * k + t]);
            }
            CHECK(std::abs(c[i * n + j] - exact) <= 1e-6 * scale);
        }
    }
}
