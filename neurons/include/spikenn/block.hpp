// The transformer block of one neuron: multi-head self-attention, a ReLU feed-forward
// network and two LayerNorms, in float32, as the seed's PyTorch modules compute them:
//
//   a   = LayerNorm1(attention(x) + x)
//   out = LayerNorm2(fc2(ReLU(fc1(a))) + a)
//
// Parameters are kept as flat float vectors under PyTorch's names and shapes
// (`attention.query.weight` is [embed_dim, embed_dim], row-major), so a state_dict
// saved from the seed model maps onto them without renaming. Eigen stays inside
// block.cpp: this header is included widely and carries no heavy templates.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include <spikenn/payload.hpp>

namespace spikenn {

struct BlockShape {
    std::int32_t embed_dim = 0;
    std::int32_t num_heads = 0;
    std::int32_t hidden_dim = 0;
    bool operator==(const BlockShape&) const = default;
};

enum class Param: int {
    query_weight, query_bias, key_weight, key_bias, value_weight, value_bias, out_weight, out_bias,
    fc1_weight, fc1_bias, fc2_weight, fc2_bias,
    norm1_weight, norm1_bias, norm2_weight, norm2_bias,
};
inline constexpr int param_count = 16;

// PyTorch's name of a parameter within one TransformerNeuron, e.g. "attention.query.weight".
std::string_view param_name(Param p);
// PyTorch's shape of a parameter: [out, in] for weights, [out] for biases.
std::vector<std::int64_t> param_shape(Param p, BlockShape s);
// The number of values of that shape.
std::size_t param_size(Param p, BlockShape s);
// The purpose number of a Linear parameter's random stream (1..12), 0 for LayerNorms.
std::uint32_t param_purpose(Param p);
// The purpose number of a LayerNorm parameter's stream when it is drawn per element (a
// normal or uniform fill, network_builder.hpp): 13..16 for norm1.weight, norm1.bias,
// norm2.weight, norm2.bias; 0 for the others. Apart from 1..12, so that drawing a LayerNorm
// changes no other draw; 17 and 18 are the linear readout's (readout.hpp).
std::uint32_t norm_draw_purpose(Param p);

struct BlockWeights {
    BlockShape shape;
    std::array<std::vector<float>, param_count> params;

    std::vector<float>& operator[](Param p) { return params[static_cast<int>(p)]; }
    const std::vector<float>& operator[](Param p) const { return params[static_cast<int>(p)]; }

    // PyTorch's default initialisation, drawn from the stream (seed, entity, purpose):
    // Linear weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)); LayerNorm weight 1, bias 0.
    static BlockWeights random(BlockShape shape, std::uint64_t seed, std::uint64_t entity);
};

// LayerNorm2's output for input x (rows = seq_len, cols = embed_dim).
Tensor block_forward(const BlockWeights& w, const Tensor& x);
// The feed-forward network alone, fc2(ReLU(fc1(x))): the seed's spike output.
Tensor feed_forward(const BlockWeights& w, const Tensor& x);

} // namespace spikenn
