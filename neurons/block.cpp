#include <spikenn/block.hpp>

#include <cmath>
#include <stdexcept>

#include <Eigen/Core>

#include <spikenn/portable_math.hpp>
#include <spikenn/rng.hpp>
#include "matmul.hpp"

namespace spikenn {

namespace {

using MatrixRM = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const MatrixRM>;

// y = x·Wᵀ + b, as torch.nn.Linear, through the fixed-order product (neurons/matmul.hpp).
MatrixRM linear(const MatrixRM& x, const BlockWeights& w, Param wp, Param bp, std::int32_t out) {
    const auto in = static_cast<std::int32_t>(x.cols());
    MatrixRM y(x.rows(), out);
    matmul_nt({static_cast<std::int32_t>(x.rows()), out, in, x.data(), in, w[wp].data(), in, w[bp].data(), y.data(), out});
    return y;
}

// PyTorch's LayerNorm over the last dimension: biased variance, eps 1e-5, affine.
// Mean and variance are accumulated in double and rounded once.
void layer_norm(MatrixRM& x, const BlockWeights& w, Param wp, Param bp) {
    const auto d = static_cast<std::int32_t>(x.cols());
    const float* g = w[wp].data();
    const float* b = w[bp].data();
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
        double sum = 0;
        for (std::int32_t c = 0; c < d; ++c) sum += x(r, c);
        const double mean = sum / d;
        double sq = 0;
        for (std::int32_t c = 0; c < d; ++c) {
            const double dev = x(r, c) - mean;
            sq += dev * dev;
        }
        const double inv = 1.0 / std::sqrt(sq / d + 1e-5);
        for (std::int32_t c = 0; c < d; ++c) {
            x(r, c) = static_cast<float>((x(r, c) - mean) * inv) * g[c] + b[c];
        }
    }
}

MatrixRM to_matrix(const Tensor& t) { return ConstMap(t.data.data(), t.rows, t.cols); }

Tensor to_tensor(const MatrixRM& m) {
    Tensor t(static_cast<std::int32_t>(m.rows()), static_cast<std::int32_t>(m.cols()));
    Eigen::Map<MatrixRM>(t.data.data(), m.rows(), m.cols()) = m;
    return t;
}

MatrixRM ffn(const MatrixRM& x, const BlockWeights& w) {
    const BlockShape s = w.shape;
    MatrixRM h = linear(x, w, Param::fc1_weight, Param::fc1_bias, s.hidden_dim);
    h = h.cwiseMax(0.0f);
    return linear(h, w, Param::fc2_weight, Param::fc2_bias, s.embed_dim);
}

void check_input(const BlockWeights& w, const Tensor& x) {
    if (x.cols != w.shape.embed_dim || x.rows <= 0) {
        throw std::invalid_argument("input of shape [" + std::to_string(x.rows) + ", " + std::to_string(x.cols) +
            "] does not fit a block of embed_dim " + std::to_string(w.shape.embed_dim));
    }
}

} // namespace

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

Tensor block_forward(const BlockWeights& w, const Tensor& xt) {
    check_input(w, xt);
    const BlockShape s = w.shape;
    const std::int32_t d = s.embed_dim, heads = s.num_heads, hd = d / heads;
    const MatrixRM x = to_matrix(xt);
    const MatrixRM q = linear(x, w, Param::query_weight, Param::query_bias, d);
    const MatrixRM k = linear(x, w, Param::key_weight, Param::key_bias, d);
    const MatrixRM v = linear(x, w, Param::value_weight, Param::value_bias, d);
    const auto scale = static_cast<float>(std::sqrt(static_cast<double>(hd)));
    const std::int32_t n = xt.rows;
    const MatrixRM vt = v.transpose(); // row c holds feature c of every position
    MatrixRM concat(n, d);
    MatrixRM scores(n, n);
    for (std::int32_t h = 0; h < heads; ++h) {
        matmul_nt({n, n, hd, q.data() + h * hd, d, k.data() + h * hd, d, nullptr, scores.data(), n});
        scores /= scale;
        for (Eigen::Index r = 0; r < scores.rows(); ++r) {
            const float m = scores.row(r).maxCoeff();
            // exp in double, rounded once to float, with the same bits everywhere.
            for (Eigen::Index c = 0; c < scores.cols(); ++c) scores(r, c) = static_cast<float>(portable_exp(static_cast<double>(scores(r, c) - m)));
            scores.row(r) /= scores.row(r).sum();
        }
        matmul_nt({n, hd, n, scores.data(), n, vt.data() + std::int64_t{h} * hd * n, n, nullptr, concat.data() + h * hd, d});
    }
    MatrixRM a = linear(concat, w, Param::out_weight, Param::out_bias, d) + x;
    layer_norm(a, w, Param::norm1_weight, Param::norm1_bias);
    MatrixRM out = ffn(a, w) + a;
    layer_norm(out, w, Param::norm2_weight, Param::norm2_bias);
    return to_tensor(out);
}

Tensor feed_forward(const BlockWeights& w, const Tensor& xt) {
    check_input(w, xt);
    return to_tensor(ffn(to_matrix(xt), w));
}

} // namespace spikenn
