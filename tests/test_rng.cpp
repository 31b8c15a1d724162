#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/rng.hpp"

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
