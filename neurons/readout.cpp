#include <spikenn/readout.hpp>

#include <cmath>
#include <stdexcept>
#include <string>

#include <spikenn/rng.hpp>

namespace spikenn {

LinearReadout LinearReadout::random(std::int32_t embed_dim, std::uint64_t seed, std::uint64_t entity) {
    // The block's Linear layers draw the same way (BlockWeights::random): fan_in = embed_dim.
    const auto bound = static_cast<float>(1.0 / std::sqrt(static_cast<double>(embed_dim)));
    LinearReadout r;
    r.weight.resize(static_cast<std::size_t>(embed_dim));
    RandomStream ws(seed, entity, readout_weight_purpose);
    for (auto& x: r.weight) x = bound * (2.0f * ws.uniform01() - 1.0f);
    RandomStream bs(seed, entity, readout_bias_purpose);
    r.bias = bound * (2.0f * bs.uniform01() - 1.0f);
    return r;
}

double LinearReadout::apply(const Tensor& y) const {
    if (static_cast<std::size_t>(y.cols) != weight.size() || y.rows <= 0) {
        throw std::invalid_argument("a block output of shape [" + std::to_string(y.rows) + ", " + std::to_string(y.cols) +
            "] does not fit a linear readout of " + std::to_string(weight.size()) + " weights");
    }
    const std::size_t cols = weight.size();
    double total = 0;
    for (std::int32_t i = 0; i < y.rows; ++i) {
        const float* row = y.data.data() + static_cast<std::size_t>(i) * cols;
        double s = 0;
        for (std::size_t j = 0; j < cols; ++j) s += static_cast<double>(row[j]) * static_cast<double>(weight[j]);
        s += static_cast<double>(bias);
        total += s;
    }
    return total / static_cast<double>(y.rows);
}

} // namespace spikenn
