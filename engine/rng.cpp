#include <spikenn/rng.hpp>

#include <cmath>
#include <numbers>

#include <spikenn/portable_math.hpp>

namespace spikenn {

Philox4x32 philox4x32_10(Philox4x32 c, std::array<std::uint32_t, 2> k) {
    constexpr std::uint64_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;
    constexpr std::uint32_t w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            k[0] += w0;
            k[1] += w1;
        }
        const std::uint64_t p0 = m0 * c[0];
        const std::uint64_t p1 = m1 * c[2];
        const auto hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
        const auto hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
        c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
    }
    return c;
}

RandomStream::RandomStream(std::uint64_t seed, std::uint64_t entity, std::uint32_t purpose):
    key_{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)},
    purpose_(purpose),
    entity_(entity) {}

std::uint32_t RandomStream::word(std::uint64_t n) const {
    const std::uint64_t block = n / 4;
    if (block != cached_block_) {
        const Philox4x32 counter = {static_cast<std::uint32_t>(block), purpose_, static_cast<std::uint32_t>(entity_),
            static_cast<std::uint32_t>(entity_ >> 32)};
        cached_ = philox4x32_10(counter, key_);
        cached_block_ = block;
    }
    return cached_[n % 4];
}

float RandomStream::normal() {
    // u1 in (0, 1] so that the logarithm is finite; computed in double, rounded once.
    const double u1 = (static_cast<double>(next_u32() >> 8) + 1.0) * 0x1p-24;
    const double u2 = static_cast<double>(next_u32() >> 8) * 0x1p-24;
    const double r = std::sqrt(-2.0 * portable_log(u1)); // sqrt is correctly rounded everywhere
    return static_cast<float>(r * portable_cos(2.0 * std::numbers::pi * u2));
}

} // namespace spikenn
