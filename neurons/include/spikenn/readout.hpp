// The linear readout: a learnable map from a block's output to the change of potential,
// the one readout that depends on the input whatever LayerNorm2's parameters are.
//
// With LayerNorm2's weight g the same for every element (PyTorch's default, and any one-number
// fill), the mean of its output y_j = g (x_j - mu) / sigma + b_j over a row is mean(b): the
// normalised deviations sum to 0. So the `mean` readout is a constant, and `sum` too; the
// linear readout weighs each element with its own w_j and is not (README, "Modelling").
//
//   delta p = (1 / rows) * sum over rows i of ( sum over j of y_ij * w_j  +  b )
//
// Arithmetic, the same on every x86-64 machine and on any thread: each product y_ij * w_j is
// formed in double from the two float32 values (exact: 24 + 24 bits fit in 53), the row's
// products are added in double in increasing j, then b (widened); the rows' sums are added in
// double in increasing i, and the total is divided by rows once. The result stays a double.
// The project is built with -ffp-contract=off, so no addition is fused with a product.
#pragma once

#include <cstdint>
#include <vector>

#include <spikenn/payload.hpp>

namespace spikenn {

// The purposes of a linear readout's random streams, beside the block's (block.hpp): the
// weight's and the bias's, on the neuron's (or shared population's) entity.
inline constexpr std::uint32_t readout_weight_purpose = 17;
inline constexpr std::uint32_t readout_bias_purpose = 18;

struct LinearReadout {
    std::vector<float> weight; // embed_dim values: PyTorch's nn.Linear(embed_dim, 1).weight, [1, embed_dim]
    float bias = 0;            // its bias, [1]

    // PyTorch's default initialisation of nn.Linear(embed_dim, 1): weight and bias
    // ~ U(-1/sqrt(embed_dim), 1/sqrt(embed_dim)), drawn as the block's Linear layers are,
    // from the streams (seed, entity, readout_weight_purpose) and (..., readout_bias_purpose).
    static LinearReadout random(std::int32_t embed_dim, std::uint64_t seed, std::uint64_t entity);

    // The change of potential for the block output y (rows x embed_dim), in the order above.
    double apply(const Tensor& y) const;
};

} // namespace spikenn
