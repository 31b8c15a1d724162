// The transformer block of one neuron: multi-head self-attention, a ReLU feed-forward
// network and two LayerNorms, in float32, as the seed's PyTorch modules compute them:
//
//   a   = LayerNorm1(attention(x) + x)
//   out = LayerNorm2(fc2(ReLU(fc1(a))) + a)
//
// Parameters come and go as flat float vectors under PyTorch's names and shapes
// (BlockWeights: `attention.query.weight` is [embed_dim, embed_dim], row-major), so a
// state_dict saved from the seed model maps onto them without renaming. A neuron holds them
// packed (PackedBlock): each Linear weight once, in the panel layout the product's kernel
// reads (neurons/gemm.hpp), with no unpacked copy beside it.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
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

// The weights of one block as the product reads them: the query, key and value weights as
// one packed [3·embed_dim, embed_dim] matrix (one pass over the input for all three), the
// output, fc1 and fc2 weights packed, the biases and LayerNorms as they are. Immutable, and
// shared by the members of a shared-weights population.
class PackedBlock {
public:
    // Checks every parameter's size against the shape (std::invalid_argument).
    explicit PackedBlock(const BlockWeights& w);
    ~PackedBlock();
    PackedBlock(PackedBlock&&) noexcept;
    PackedBlock& operator=(PackedBlock&&) noexcept;

    BlockShape shape() const;
    // The parameters under PyTorch's names and shapes again (for record.weights).
    BlockWeights unpack() const;
    // One of them, unpacked.
    std::vector<float> param(Param p) const;
    // The memory the packed weights take.
    std::size_t bytes() const;

    struct Impl;
    const Impl& impl() const { return *impl_; }

private:
    std::unique_ptr<Impl> impl_;
};

// Runs f(0), ..., f(n - 1), each once, in any order, on as many threads as it has; returns
// when all are done. The block's products split by columns and its attention by input and
// head through it; no split changes a bit.
using ParallelFor = std::function<void(std::size_t n, const std::function<void(std::size_t)>& f)>;

// The product kernel the blocks use: "sse2", "avx2" or "avx512", the widest this CPU has
// unless the environment variable SPIKENN_KERNEL names another (every kernel gives the same
// bits). Throws std::invalid_argument if SPIKENN_KERNEL names one this CPU cannot run.
std::string_view product_kernel();

// LayerNorm2's output for input x (rows = seq_len, cols = embed_dim).
Tensor block_forward(const PackedBlock& w, const Tensor& x);
// The blocks of several inputs to the same weights at once: every Linear layer is one product
// over the rows of all of them. outputs[i] is block_forward(w, *inputs[i]), bit for bit.
void block_forward(const PackedBlock& w, std::span<const Tensor* const> inputs, std::span<Tensor> outputs, const ParallelFor* parallel = nullptr);
// The feed-forward network alone, fc2(ReLU(fc1(x))): the seed's spike output.
Tensor feed_forward(const PackedBlock& w, const Tensor& x);
// The same for several inputs as one product per layer; outputs[i] is feed_forward(w, *inputs[i]).
void feed_forward(const PackedBlock& w, std::span<const Tensor* const> inputs, std::span<Tensor> outputs, const ParallelFor* parallel = nullptr);
// The same from unpacked weights (packs them first: for tests and one-off use).
Tensor block_forward(const BlockWeights& w, const Tensor& x);
Tensor feed_forward(const BlockWeights& w, const Tensor& x);

} // namespace spikenn
