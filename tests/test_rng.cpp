#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include <algorithm>
#include <bit>
#include <cmath>
#include <fstream>
#include <sstream>
#include <numbers>
#include <string>

#include <spikenn/portable_math.hpp>
#include <spikenn/rng.hpp>

using namespace spikenn;

// Philox4x32-10 known-answer vectors from its authors' reference (Random123, kat_vectors).
TEST_CASE("philox4x32_10 matches the published known answers") {
    CHECK(philox4x32_10({0, 0, 0, 0}, {0, 0}) == Philox4x32{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
    CHECK(philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}) ==
          Philox4x32{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
    CHECK(philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}) ==
          Philox4x32{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
}

// The streams as the golden-data generator computes them independently in Python.
TEST_CASE("streams match the golden generator's words") {
    std::ifstream in(SPIKENN_SOURCE_DIR "/tests/golden/philox.csv");
    REQUIRE(in);
    std::string line;
    std::getline(in, line); // header
    int rows = 0;
    while (std::getline(in, line)) {
        std::stringstream ss(line);
        std::string seed, entity_string, entity, purpose, index, word;
        std::getline(ss, seed, ',');
        std::getline(ss, entity_string, ',');
        std::getline(ss, entity, ',');
        std::getline(ss, purpose, ',');
        std::getline(ss, index, ',');
        std::getline(ss, word, ',');
        CHECK(entity_id(entity_string) == std::stoull(entity));
        RandomStream rs(std::stoull(seed), std::stoull(entity), static_cast<std::uint32_t>(std::stoul(purpose)));
        CHECK(rs.word(std::stoull(index)) == static_cast<std::uint32_t>(std::stoul(word, nullptr, 16)));
        ++rows;
    }
    CHECK(rows >= 8);
}

// A stream's numbers depend on its name only: not on other streams, nor on the order of creation.
TEST_CASE("streams are independent of creation order and of each other") {
    RandomStream a1(42, entity_id("neuron:a"), 1);
    RandomStream b(42, entity_id("neuron:b"), 1);
    for (int i = 0; i < 100; ++i) b.next_u32();
    RandomStream a2(42, entity_id("neuron:a"), 1);
    for (int i = 0; i < 50; ++i) CHECK(a1.next_u32() == a2.next_u32());
    // Different purpose, entity or seed: a different stream.
    CHECK(RandomStream(42, entity_id("neuron:a"), 2).word(0) != RandomStream(42, entity_id("neuron:a"), 1).word(0));
    CHECK(RandomStream(43, entity_id("neuron:a"), 1).word(0) != RandomStream(42, entity_id("neuron:a"), 1).word(0));
    // seek() moves to any position directly.
    RandomStream s(1, 2, 3);
    const auto w10 = s.word(10);
    s.seek(10);
    CHECK(s.next_u32() == w10);
}

TEST_CASE("uniform and normal draws have the expected moments") {
    RandomStream u(7, entity_id("test"), 1);
    RandomStream n(7, entity_id("test"), 2);
    double su = 0, sn = 0, sn2 = 0;
    const int count = 200000;
    for (int i = 0; i < count; ++i) {
        const float x = u.uniform01();
        REQUIRE(x >= 0.0f);
        REQUIRE(x < 1.0f);
        su += x;
        const double z = n.normal();
        REQUIRE(std::isfinite(z));
        sn += z;
        sn2 += z * z;
    }
    CHECK(su / count == doctest::Approx(0.5).epsilon(0.01));
    CHECK(std::abs(sn / count) < 0.01);
    CHECK(sn2 / count == doctest::Approx(1.0).epsilon(0.01));
}

namespace {
// Distance in units in the last place between two finite doubles of one sign.
double ulps(double a, double b) {
    if (a == b) return 0;
    return std::abs(a - b) / std::abs(std::nextafter(b, a) - b);
}
} // namespace

// The portable functions against the C library: within a few units in the last place over
// the ranges the engine uses, and the special values exact.
TEST_CASE("portable exp, log and cos are accurate") {
    RandomStream rs(1, entity_id("math"), 0);
    double worst_exp = 0, worst_log = 0, worst_cos = 0;
    for (int i = 0; i < 200000; ++i) {
        const double u = rs.uniform01();
        const double x = (u - 0.5) * 200;                    // exp: [-100, 100]
        worst_exp = std::max(worst_exp, ulps(portable_exp(x), std::exp(x)));
        const double y = std::ldexp(u + 0x1p-30, static_cast<int>(i % 200) - 100); // log: 2^-100 .. 2^100
        worst_log = std::max(worst_log, ulps(portable_log(y), std::log(y)));
        const double z = u * 2 * std::numbers::pi;           // cos: [0, 2 pi), as Box-Muller uses it
        const double c = std::cos(z);
        // Near its zeros cos is tiny and ulps are too: compare with the size of the argument's error.
        worst_cos = std::max(worst_cos, std::abs(c) > 1e-3 ? ulps(portable_cos(z), c) : std::abs(portable_cos(z) - c) / 1e-19);
    }
    MESSAGE("worst ulps: exp " << worst_exp << ", log " << worst_log << ", cos " << worst_cos);
    CHECK(worst_exp <= 2);
    CHECK(worst_log <= 3);
    CHECK(worst_cos <= 4);
    CHECK(portable_exp(0) == 1);
    CHECK(portable_log(1) == 0);
    CHECK(portable_cos(0) == 1);
    CHECK(portable_exp(-1000) == 0);
    CHECK(std::isinf(portable_exp(1000)));
    CHECK(std::isnan(portable_log(-1)));
    CHECK(std::isinf(portable_log(0)));
}

// The bits themselves are pinned: a change of algorithm, compiler flags (a fused multiply-add)
// or platform that moved one of them would change recorded runs.
TEST_CASE("portable exp, log and cos give the pinned bits") {
    std::uint64_t h = 0;
    for (int i = 0; i < 1000; ++i) {
        const double x = -20 + i * 0.0437;
        for (double v: {portable_exp(x), portable_log(std::abs(x) + 1e-3), portable_cos(x)}) {
            h = (h ^ std::bit_cast<std::uint64_t>(v)) * 0x100000001B3ull;
        }
    }
    CAPTURE(h);
    CHECK(h == 0x2b45a4a81449c580ull);
}

// The softmax's exp, four at a time: the bits of the scalar function for every value, from
// the ones a softmax meets (at most 0) to the edges where the vector path hands lanes back
// (beyond +-700, NaN, infinities), at every position of a vector and in the tail.
TEST_CASE("exp on floats four at a time gives the scalar function's bits") {
    std::vector<float> v;
    RandomStream rs(1, entity_id("exp-floats"), 0);
    for (int i = 0; i < 200000; ++i) v.push_back(static_cast<float>(-40.0 * rs.uniform01()));
    for (int i = 0; i < 20000; ++i) v.push_back(static_cast<float>(1600.0 * rs.uniform01() - 800.0));
    for (float x: {0.0f, -0.0f, -1e-30f, -103.9f, -104.0f, -105.0f, -699.99f, -700.0f, -700.01f, -745.0f, -746.0f, 88.7f, 88.8f, 700.0f, 700.1f,
             709.0f, 710.0f, INFINITY, -INFINITY, NAN, 1e-45f, -1e-45f})
        v.push_back(x);
    v.push_back(-3.0f); // a tail of 3 after the multiples of 4
    v.push_back(-2.0f);
    std::vector<float> fast = v;
    portable_exp_floats(fast.data(), fast.size());
    std::size_t differ = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const float slow = static_cast<float>(portable_exp(static_cast<double>(v[i])));
        if (std::memcmp(&slow, &fast[i], sizeof slow) != 0) ++differ;
    }
    CHECK(differ == 0);
}
