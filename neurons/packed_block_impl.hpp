// What a PackedBlock holds (private to the neurons layer: the panel layout is the kernel's
// business, neurons/gemm.hpp).
#pragma once

#include <spikenn/block.hpp>
#include "gemm.hpp"

namespace spikenn {

struct PackedBlock::Impl {
    BlockShape shape;
    PanelMatrix qkv; // [embed_dim][3·embed_dim]: query, key, value weights transposed, side by side
    PanelMatrix out; // [embed_dim][embed_dim]
    PanelMatrix fc1; // [embed_dim][hidden_dim]
    PanelMatrix fc2; // [hidden_dim][embed_dim]
    std::vector<float> qkv_bias, out_bias, fc1_bias, fc2_bias;
    std::vector<float> norm1_weight, norm1_bias, norm2_weight, norm2_bias;
};

} // namespace spikenn
