// The block's forward pass, for one input or a batch of inputs to the same weights:
//
//   a   = LayerNorm1(attention(x) + x)
//   out = LayerNorm2(fc2(ReLU(fc1(a))) + a)
//
// Every Linear layer is one product (neurons/gemm.hpp) over the rows of all inputs stacked;
// attention is per input and head. Every value of a row is computed from that row (and, in
// attention, the rows of its own input) by the same operations in the same order whoever
// shares the batch, so a batch gives each input the bits it would get alone. The sums of the
// softmax and the LayerNorms are kept in 8 lanes (element c goes to lane c mod 8, in
// increasing c), which the compiler may vectorise at any width without changing the order,
// and the lanes are added in a fixed tree.
#include <spikenn/block.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include <spikenn/portable_math.hpp>
#include "packed_block_impl.hpp"

namespace spikenn {

namespace {

constexpr int lanes = 8;

// Sum of v[0..n) in the fixed order: 8 lanes, then (l, l+4), (l, l+2), (0, 1).
template <typename Acc, typename T>
Acc lane_sum(const T* v, std::int32_t n) {
    Acc lane[lanes] = {};
    std::int32_t c = 0;
    for (; c + lanes <= n; c += lanes)
        for (int l = 0; l < lanes; ++l) lane[l] = lane[l] + static_cast<Acc>(v[c + l]);
    for (int l = 0; c + l < n; ++l) lane[l] = lane[l] + static_cast<Acc>(v[c + l]);
    for (int l = 0; l < 4; ++l) lane[l] = lane[l] + lane[l + 4];
    for (int l = 0; l < 2; ++l) lane[l] = lane[l] + lane[l + 2];
    return lane[0] + lane[1];
}

// PyTorch's LayerNorm over one row: biased variance, eps 1e-5, affine. Mean and variance in
// double, each rounded once.
void layer_norm(float* x, std::int32_t d, const float* g, const float* b, double* dev) {
    const double mean = lane_sum<double>(x, d) / d;
    for (std::int32_t c = 0; c < d; ++c) {
        const double e = x[c] - mean;
        dev[c] = e * e;
    }
    const double inv = 1.0 / std::sqrt(lane_sum<double>(dev, d) / d + 1e-5);
    for (std::int32_t c = 0; c < d; ++c) x[c] = static_cast<float>((x[c] - mean) * inv) * g[c] + b[c];
}

// One row of attention scores into probabilities: divided by the scale, the max subtracted,
// exp in double rounded once to float (the same bits everywhere), divided by their sum.
void softmax(float* s, std::int32_t n, float scale) {
    float m = -INFINITY;
    for (std::int32_t c = 0; c < n; ++c) {
        s[c] = s[c] / scale;
        m = std::max(m, s[c]);
    }
    for (std::int32_t c = 0; c < n; ++c) s[c] = s[c] - m;
    portable_exp_floats(s, static_cast<std::size_t>(n));
    const float sum = lane_sum<float>(s, n);
    for (std::int32_t c = 0; c < n; ++c) s[c] = s[c] / sum;
}

// Buffers reused from call to call: allocating megabytes per block would cost page faults.
struct Scratch {
    std::vector<float> x, qkv, concat, a, h, y, scores;
    std::vector<double> dev;
    PanelMatrix keys, values;
};
Scratch& scratch() {
    thread_local Scratch s;
    return s;
}

void grow(std::vector<float>& v, std::size_t n) {
    if (v.size() < n) v.resize(n);
}

void check_input(const PackedBlock::Impl& w, const Tensor& x) {
    if (x.cols != w.shape.embed_dim || x.rows <= 0 || x.data.size() != static_cast<std::size_t>(x.rows) * static_cast<std::size_t>(x.cols)) {
        throw std::invalid_argument("input of shape [" + std::to_string(x.rows) + ", " + std::to_string(x.cols) +
            "] does not fit a block of embed_dim " + std::to_string(w.shape.embed_dim));
    }
}

// Runs f(i) for i < n, through `parallel` when given.
void for_each(std::size_t n, const ParallelFor* parallel, const std::function<void(std::size_t)>& f) {
    if (parallel && n > 1) {
        (*parallel)(n, f);
        return;
    }
    for (std::size_t i = 0; i < n; ++i) f(i);
}

// Work below this many multiply-adds runs on the calling thread: waking the workers and
// waiting for them costs more than they would save (measured on bench/large.yaml's products
// of 30 rows by 128 by 384).
constexpr double min_parallel_work = 8e6;

// C = A·B + bias, split for `parallel`: by rows when there are many (each task streams the
// weights once and keeps its own rows of A in cache), otherwise by columns, a few panels each.
void product(const GemmArgs& g, const ParallelFor* parallel) {
    const std::int32_t panels = g.b->panels();
    if (!parallel || static_cast<double>(g.m) * g.b->n * g.b->k < min_parallel_work) {
        gemm(g);
        return;
    }
    constexpr std::int32_t row_chunk = 72;
    if (g.m >= 2 * row_chunk) {
        const std::int32_t chunks = (g.m + row_chunk - 1) / row_chunk;
        (*parallel)(static_cast<std::size_t>(chunks), [&](std::size_t i) {
            const auto r0 = static_cast<std::int32_t>(i) * row_chunk;
            GemmArgs part = g;
            part.m = std::min(row_chunk, g.m - r0);
            part.a = g.a + std::int64_t{r0} * g.lda;
            part.c = g.c + std::int64_t{r0} * g.ldc;
            gemm(part);
        });
        return;
    }
    if (panels < 2) {
        gemm(g);
        return;
    }
    constexpr std::int32_t chunk = 4;
    const std::int32_t chunks = (panels + chunk - 1) / chunk;
    (*parallel)(static_cast<std::size_t>(chunks), [&](std::size_t i) {
        const auto p0 = static_cast<std::int32_t>(i) * chunk;
        gemm(g, p0, std::min(panels, p0 + chunk));
    });
}

// fc2(ReLU(fc1(x))) for `rows` rows of x, into y (both rows d apart).
void ffn(const PackedBlock::Impl& w, const float* x, std::int32_t rows, float* y, std::vector<float>& h, const ParallelFor* parallel) {
    const std::int32_t d = w.shape.embed_dim, hid = w.shape.hidden_dim;
    grow(h, static_cast<std::size_t>(rows) * static_cast<std::size_t>(hid));
    product({rows, x, d, &w.fc1, w.fc1_bias.data(), h.data(), hid}, parallel);
    // max(v, 0) that keeps a NaN a NaN, so that the finiteness checks see it.
    for (std::size_t i = 0, n = static_cast<std::size_t>(rows) * static_cast<std::size_t>(hid); i < n; ++i) h[i] = h[i] < 0.0f ? 0.0f : h[i];
    product({rows, h.data(), hid, &w.fc2, w.fc2_bias.data(), y, d}, parallel);
}

// Checks the inputs and stacks them into one [rows][embed_dim] matrix (one input is read
// where it is): the stacked rows, and where each input's rows begin (first_row[i], and the
// total last).
const float* stack(const PackedBlock::Impl& w, std::span<const Tensor* const> inputs, std::vector<float>& buffer, std::vector<std::int32_t>& first_row) {
    first_row.assign(inputs.size() + 1, 0);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        check_input(w, *inputs[i]);
        first_row[i + 1] = first_row[i] + inputs[i]->rows;
    }
    if (inputs.size() == 1) return inputs[0]->data.data();
    const std::int64_t d = w.shape.embed_dim;
    grow(buffer, static_cast<std::size_t>(first_row.back() * d));
    for (std::size_t i = 0; i < inputs.size(); ++i) std::copy(inputs[i]->data.begin(), inputs[i]->data.end(), buffer.begin() + first_row[i] * d);
    return buffer.data();
}

// Each input's rows of the stacked result y, into its output tensor.
void unstack(const std::vector<float>& y, std::int32_t d, const std::vector<std::int32_t>& first_row, std::span<Tensor> outputs) {
    for (std::size_t i = 0; i < outputs.size(); ++i) {
        Tensor& out = outputs[i];
        out.rows = first_row[i + 1] - first_row[i];
        out.cols = d;
        const auto begin = y.begin() + std::int64_t{first_row[i]} * d;
        out.data.assign(begin, begin + std::int64_t{out.rows} * d);
    }
}

} // namespace

void block_forward(const PackedBlock& pw, std::span<const Tensor* const> inputs, std::span<Tensor> outputs, const ParallelFor* parallel) {
    const PackedBlock::Impl& w = pw.impl();
    if (outputs.size() != inputs.size()) throw std::invalid_argument("block_forward: as many outputs as inputs");
    if (inputs.empty()) return;
    const std::int32_t d = w.shape.embed_dim, heads = w.shape.num_heads, hd = d / heads;
    Scratch& s = scratch();
    std::vector<std::int32_t> first_row;
    const float* x = stack(w, inputs, s.x, first_row);
    const std::int32_t rows = first_row.back();
    const auto cells = static_cast<std::size_t>(rows) * static_cast<std::size_t>(d);
    // Query, key and value of every row, side by side: [rows][3d].
    grow(s.qkv, 3 * cells);
    product({rows, x, d, &w.qkv, w.qkv_bias.data(), s.qkv.data(), 3 * d}, parallel);
    grow(s.concat, cells);
    const auto scale = static_cast<float>(std::sqrt(static_cast<double>(hd)));
    const float* qkv = s.qkv.data();
    float* concat = s.concat.data();
    double attention_work = 0;
    for (const Tensor* in: inputs) attention_work += 2.0 * in->rows * in->rows * d;
    for_each(inputs.size() * static_cast<std::size_t>(heads), attention_work >= min_parallel_work ? parallel : nullptr, [&](std::size_t task) {
        const std::size_t i = task / static_cast<std::size_t>(heads);
        const auto h = static_cast<std::int32_t>(task % static_cast<std::size_t>(heads));
        const std::int32_t r0 = first_row[i], n = inputs[i]->rows;
        Scratch& t = scratch(); // this thread's: tasks may run anywhere
        const float* q = qkv + std::int64_t{r0} * 3 * d + h * hd;
        pack_transposed(t.keys, q + d, 3 * d, n, hd);
        pack_rows(t.values, q + 2 * d, 3 * d, n, hd);
        grow(t.scores, static_cast<std::size_t>(n) * static_cast<std::size_t>(n));
        gemm({n, q, 3 * d, &t.keys, nullptr, t.scores.data(), n});
        for (std::int32_t r = 0; r < n; ++r) softmax(t.scores.data() + std::int64_t{r} * n, n, scale);
        gemm({n, t.scores.data(), n, &t.values, nullptr, concat + std::int64_t{r0} * d + h * hd, d});
    });
    // a = LayerNorm1(out(concat) + x)
    grow(s.a, cells);
    product({rows, concat, d, &w.out, w.out_bias.data(), s.a.data(), d}, parallel);
    s.dev.resize(static_cast<std::size_t>(d));
    for (std::size_t c = 0; c < cells; ++c) s.a[c] = s.a[c] + x[c];
    for (std::int32_t r = 0; r < rows; ++r) layer_norm(s.a.data() + std::int64_t{r} * d, d, w.norm1_weight.data(), w.norm1_bias.data(), s.dev.data());
    // out = LayerNorm2(ffn(a) + a)
    grow(s.y, cells);
    ffn(w, s.a.data(), rows, s.y.data(), s.h, parallel);
    for (std::size_t c = 0; c < cells; ++c) s.y[c] = s.y[c] + s.a[c];
    for (std::int32_t r = 0; r < rows; ++r) layer_norm(s.y.data() + std::int64_t{r} * d, d, w.norm2_weight.data(), w.norm2_bias.data(), s.dev.data());
    unstack(s.y, d, first_row, outputs);
}

std::string_view product_kernel() { return gemm_kernel_name(); }

Tensor block_forward(const PackedBlock& w, const Tensor& x) {
    const Tensor* in[1] = {&x};
    Tensor out[1];
    block_forward(w, in, out);
    return std::move(out[0]);
}

void feed_forward(const PackedBlock& pw, std::span<const Tensor* const> inputs, std::span<Tensor> outputs, const ParallelFor* parallel) {
    const PackedBlock::Impl& w = pw.impl();
    if (outputs.size() != inputs.size()) throw std::invalid_argument("feed_forward: as many outputs as inputs");
    if (inputs.empty()) return;
    const std::int32_t d = w.shape.embed_dim;
    Scratch& s = scratch();
    std::vector<std::int32_t> first_row;
    const float* x = stack(w, inputs, s.x, first_row);
    const std::int32_t rows = first_row.back();
    grow(s.y, static_cast<std::size_t>(rows) * static_cast<std::size_t>(d));
    ffn(w, x, rows, s.y.data(), s.h, parallel);
    unstack(s.y, d, first_row, outputs);
}

Tensor feed_forward(const PackedBlock& w, const Tensor& x) {
    const Tensor* in[1] = {&x};
    Tensor out[1];
    feed_forward(w, in, out);
    return std::move(out[0]);
}

Tensor block_forward(const BlockWeights& w, const Tensor& x) { return block_forward(PackedBlock(w), x); }

Tensor feed_forward(const BlockWeights& w, const Tensor& x) { return feed_forward(PackedBlock(w), x); }

} // namespace spikenn
