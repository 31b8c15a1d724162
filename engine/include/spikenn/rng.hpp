// Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11).
//
// A stream is named by (seed, entity, purpose) and its n-th number is a pure function
// of that name and n. No generator object carries hidden state between entities, so
// adding a neuron, reordering a scenario or running on more threads never changes
// what any other entity draws. An entity is named by a 64-bit hash of a stable string
// ("neuron:hidden[3]"), not by its creation index.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace spikenn {

using Philox4x32 = std::array<std::uint32_t, 4>;

// One Philox4x32-10 block: 10 rounds on `counter` under `key`.
Philox4x32 philox4x32_10(Philox4x32 counter, std::array<std::uint32_t, 2> key);

// FNV-1a 64-bit hash of a name, for entity ids.
constexpr std::uint64_t entity_id(std::string_view name) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (char c: name) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ull;
    }
    return h;
}

// The entity of a pair of entities, such as a stimulus's draws for one of its targets:
// FNV-1a 64 over the 16 bytes of a then b, little-endian. Joining the two names into one
// would let two pairs share a stream ("a" with "b>c" and "a>b" with "c"); two pairs share
// this only if their hashes collide.
constexpr std::uint64_t entity_pair(std::uint64_t a, std::uint64_t b) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (std::uint64_t v: {a, b}) {
        for (int i = 0; i < 8; ++i) {
            h ^= (v >> (8 * i)) & 0xff;
            h *= 0x100000001b3ull;
        }
    }
    return h;
}

class RandomStream {
public:
    RandomStream(std::uint64_t seed, std::uint64_t entity, std::uint32_t purpose);

    // The n-th 32-bit word of the stream, without moving the position.
    std::uint32_t word(std::uint64_t n) const;
    std::uint32_t next_u32() { return word(position_++); }
    // Uniform in [0, 1), 24 random bits: exact in float.
    float uniform01() { return static_cast<float>(next_u32() >> 8) * 0x1p-24f; }
    // Standard normal by Box-Muller from two words (the cosine branch only).
    float normal();

    std::uint64_t position() const { return position_; }
    void seek(std::uint64_t position) { position_ = position; }

private:
    std::array<std::uint32_t, 2> key_;
    std::uint32_t purpose_;
    std::uint64_t entity_;
    std::uint64_t position_ = 0;
    // The last block computed: sequential draws use all four of its words.
    mutable std::uint64_t cached_block_ = UINT64_MAX;
    mutable Philox4x32 cached_{};
};

} // namespace spikenn
