#include <spikenn/block.hpp>

#include <cmath>
#include <stdexcept>

#include <spikenn/rng.hpp>

namespace spikenn {


std::string_view param_name(Param p) {
    static constexpr std::string_view names[param_count] = {
        "attention.query.weight", "attention.query.bias", "attention.key.weight", "attention.key.bias",
        "attention.value.weight", "attention.value.bias", "attention.out.weight", "attention.out.bias",
        "feed_forward.fc1.weight", "feed_forward.fc1.bias", "feed_forward.fc2.weight", "feed_forward.fc2.bias",
        "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"};
    return names[static_cast<int>(p)];
}

std::vector<std::int64_t> param_shape(Param p, BlockShape s) {
    const std::int64_t d = s.embed_dim, h = s.hidden_dim;
    switch (p) {
    case Param::query_weight: case Param::key_weight: case Param::value_weight: case Param::out_weight: return {d, d};
    case Param::fc1_weight: return {h, d};
    case Param::fc1_bias: return {h};
    case Param::fc2_weight: return {d, h};
    default: return {d};
    }
}

std::uint32_t param_purpose(Param p) {
    const int i = static_cast<int>(p);
    return i < static_cast<int>(Param::norm1_weight) ? static_cast<std::uint32_t>(i + 1) : 0u;
}

std::uint32_t norm_draw_purpose(Param p) {
    const int i = static_cast<int>(p) - static_cast<int>(Param::norm1_weight);
    return i >= 0 ? static_cast<std::uint32_t>(13 + i) : 0u;
}

std::size_t param_size(Param p, BlockShape s) {
    std::size_t n = 1;
    for (auto dim: param_shape(p, s)) n *= static_cast<std::size_t>(dim);
    return n;
}

BlockWeights BlockWeights::random(BlockShape shape, std::uint64_t seed, std::uint64_t entity) {
    BlockWeights w;
    w.shape = shape;
    for (int i = 0; i < param_count; ++i) {
        const auto p = static_cast<Param>(i);
        auto& v = w[p];
        v.resize(param_size(p, shape));
        if (p == Param::norm1_weight || p == Param::norm2_weight) {
            std::fill(v.begin(), v.end(), 1.0f);
        }
        else if (p == Param::norm1_bias || p == Param::norm2_bias) {
            std::fill(v.begin(), v.end(), 0.0f);
        }
        else {
            // fan_in is the weight's input width, for the weight and for its bias.
            const std::int64_t fan_in = (p == Param::fc2_weight || p == Param::fc2_bias) ? shape.hidden_dim : shape.embed_dim;
            const auto bound = static_cast<float>(1.0 / std::sqrt(static_cast<double>(fan_in)));
            RandomStream rs(seed, entity, param_purpose(p));
            for (auto& x: v) x = bound * (2.0f * rs.uniform01() - 1.0f);
        }
    }
    return w;
}

} // namespace spikenn
