#include <spikenn/block.hpp>

#include <stdexcept>
#include <string>

#include "packed_block_impl.hpp"

namespace spikenn {

PackedBlock::PackedBlock(const BlockWeights& w): impl_(std::make_unique<Impl>()) {
    const BlockShape s = w.shape;
    if (s.embed_dim <= 0 || s.num_heads <= 0 || s.hidden_dim <= 0 || s.embed_dim % s.num_heads != 0) {
        throw std::invalid_argument("a block of embed_dim " + std::to_string(s.embed_dim) + ", num_heads " + std::to_string(s.num_heads) +
            " and hidden_dim " + std::to_string(s.hidden_dim) + " is not a valid shape");
    }
    for (int i = 0; i < param_count; ++i) {
        const auto p = static_cast<Param>(i);
        if (w[p].size() != param_size(p, s)) {
            throw std::invalid_argument(std::string(param_name(p)) + " has " + std::to_string(w[p].size()) + " values, not the " +
                std::to_string(param_size(p, s)) + " of its shape");
        }
    }
    Impl& m = *impl_;
    m.shape = s;
    const std::int32_t d = s.embed_dim, h = s.hidden_dim;
    // The three projections side by side: rows 0..d-1 of the stacked [3d][d] weight are the
    // query's, then the key's, then the value's.
    std::vector<float> stacked;
    stacked.reserve(static_cast<std::size_t>(3 * d) * static_cast<std::size_t>(d));
    for (Param p: {Param::query_weight, Param::key_weight, Param::value_weight}) stacked.insert(stacked.end(), w[p].begin(), w[p].end());
    pack_transposed(m.qkv, stacked.data(), d, 3 * d, d);
    pack_transposed(m.out, w[Param::out_weight].data(), d, d, d);
    pack_transposed(m.fc1, w[Param::fc1_weight].data(), d, h, d);
    pack_transposed(m.fc2, w[Param::fc2_weight].data(), h, d, h);
    for (Param p: {Param::query_bias, Param::key_bias, Param::value_bias}) m.qkv_bias.insert(m.qkv_bias.end(), w[p].begin(), w[p].end());
    m.out_bias = w[Param::out_bias];
    m.fc1_bias = w[Param::fc1_bias];
    m.fc2_bias = w[Param::fc2_bias];
    m.norm1_weight = w[Param::norm1_weight];
    m.norm1_bias = w[Param::norm1_bias];
    m.norm2_weight = w[Param::norm2_weight];
    m.norm2_bias = w[Param::norm2_bias];
}

PackedBlock::~PackedBlock() = default;
PackedBlock::PackedBlock(PackedBlock&&) noexcept = default;
PackedBlock& PackedBlock::operator=(PackedBlock&&) noexcept = default;

BlockShape PackedBlock::shape() const { return impl_->shape; }

std::vector<float> PackedBlock::param(Param p) const {
    const Impl& m = *impl_;
    const auto d = static_cast<std::size_t>(m.shape.embed_dim);
    auto part = [&](const std::vector<float>& v, std::size_t i) {
        return std::vector<float>(v.begin() + static_cast<std::ptrdiff_t>(i * d * d), v.begin() + static_cast<std::ptrdiff_t>((i + 1) * d * d));
    };
    auto bias_part = [&](std::size_t i) {
        return std::vector<float>(m.qkv_bias.begin() + static_cast<std::ptrdiff_t>(i * d), m.qkv_bias.begin() + static_cast<std::ptrdiff_t>((i + 1) * d));
    };
    switch (p) {
    case Param::query_weight: return part(unpack_transposed(m.qkv), 0);
    case Param::key_weight: return part(unpack_transposed(m.qkv), 1);
    case Param::value_weight: return part(unpack_transposed(m.qkv), 2);
    case Param::query_bias: return bias_part(0);
    case Param::key_bias: return bias_part(1);
    case Param::value_bias: return bias_part(2);
    case Param::out_weight: return unpack_transposed(m.out);
    case Param::out_bias: return m.out_bias;
    case Param::fc1_weight: return unpack_transposed(m.fc1);
    case Param::fc1_bias: return m.fc1_bias;
    case Param::fc2_weight: return unpack_transposed(m.fc2);
    case Param::fc2_bias: return m.fc2_bias;
    case Param::norm1_weight: return m.norm1_weight;
    case Param::norm1_bias: return m.norm1_bias;
    case Param::norm2_weight: return m.norm2_weight;
    case Param::norm2_bias: return m.norm2_bias;
    }
    return {};
}

BlockWeights PackedBlock::unpack() const {
    BlockWeights w;
    w.shape = impl_->shape;
    for (int i = 0; i < param_count; ++i) w.params[static_cast<std::size_t>(i)] = param(static_cast<Param>(i));
    return w;
}

std::size_t PackedBlock::bytes() const {
    const Impl& m = *impl_;
    std::size_t n = m.qkv.bytes() + m.out.bytes() + m.fc1.bytes() + m.fc2.bytes();
    for (const auto* v: {&m.qkv_bias, &m.out_bias, &m.fc1_bias, &m.fc2_bias, &m.norm1_weight, &m.norm1_bias, &m.norm2_weight, &m.norm2_bias})
        n += v->size() * sizeof(float);
    return n;
}

} // namespace spikenn
