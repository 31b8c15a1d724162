#include <doctest/doctest.h>

#include <spikenn/rng.hpp>
#include "golden_util.hpp"
#include <spikenn/block.hpp>

using namespace spikenn;
using namespace spikenn::test;

// The block against the seed's PyTorch modules, with the engine's own random weights
// (reproduced bit for bit by tests/golden/gen_golden.py): several shapes, relative error < 1e-5.
TEST_CASE("block and feed-forward match the seed's PyTorch modules") {
    std::vector<std::string> h;
    const auto cases = read_csv(golden("block/cases.csv"), h);
    REQUIRE(cases.size() >= 5);
    for (const auto& c: cases) {
        const std::string name = c[0];
        CAPTURE(name);
        const BlockShape shape{std::stoi(c[2]), std::stoi(c[3]), std::stoi(c[4])};
        BlockWeights w = BlockWeights::random(shape, std::stoull(c[5]), entity_id("neuron:" + name));
        std::fill(w[Param::norm1_weight].begin(), w[Param::norm1_weight].end(), std::stof(c[6]));
        std::fill(w[Param::norm1_bias].begin(), w[Param::norm1_bias].end(), std::stof(c[7]));
        std::fill(w[Param::norm2_weight].begin(), w[Param::norm2_weight].end(), std::stof(c[8]));
        std::fill(w[Param::norm2_bias].begin(), w[Param::norm2_bias].end(), std::stof(c[9]));
        const Tensor x = npy_tensor(golden("block/" + name + "/x.npy"));
        REQUIRE(x.rows == std::stoi(c[1]));
        const Tensor out = block_forward(w, x);
        const Tensor ffn = feed_forward(w, x);
        CHECK(relative_error(out, npy_tensor(golden("block/" + name + "/out.npy"))) < 1e-5);
        CHECK(relative_error(ffn, npy_tensor(golden("block/" + name + "/ffn.npy"))) < 1e-5);
    }
}

// Parameter names and shapes are PyTorch's, so a state_dict maps without renaming.
TEST_CASE("parameter names and shapes follow PyTorch") {
    const BlockShape s{512, 8, 2048};
    CHECK(param_name(Param::query_weight) == "attention.query.weight");
    CHECK(param_name(Param::fc2_bias) == "feed_forward.fc2.bias");
    CHECK(param_name(Param::norm2_weight) == "norm2.weight");
    CHECK(param_shape(Param::fc1_weight, s) == std::vector<std::int64_t>{2048, 512});
    CHECK(param_shape(Param::fc2_weight, s) == std::vector<std::int64_t>{512, 2048});
    CHECK(param_shape(Param::fc1_bias, s) == std::vector<std::int64_t>{2048});
    CHECK(param_shape(Param::out_bias, s) == std::vector<std::int64_t>{512});
}

// PyTorch's default ranges: |w| <= 1/sqrt(fan_in) for Linear, LayerNorm 1 and 0.
TEST_CASE("random weights follow PyTorch's default distributions") {
    const BlockShape s{64, 4, 256};
    const BlockWeights w = BlockWeights::random(s, 3, entity_id("neuron:x"));
    auto max_abs = [](const std::vector<float>& v) {
        float m = 0;
        for (float x: v) m = std::max(m, std::abs(x));
        return m;
    };
    CHECK(max_abs(w[Param::query_weight]) <= 1.0f / 8.0f);
    CHECK(max_abs(w[Param::query_weight]) > 0.12f); // the range is used, not a narrow part of it
    CHECK(max_abs(w[Param::fc2_weight]) <= 1.0f / 16.0f);
    CHECK(max_abs(w[Param::fc2_bias]) <= 1.0f / 16.0f);
    CHECK(std::all_of(w[Param::norm1_weight].begin(), w[Param::norm1_weight].end(), [](float x) { return x == 1.0f; }));
    CHECK(std::all_of(w[Param::norm2_bias].begin(), w[Param::norm2_bias].end(), [](float x) { return x == 0.0f; }));
    // Another entity draws other weights.
    CHECK(BlockWeights::random(s, 3, entity_id("neuron:y"))[Param::query_weight] != w[Param::query_weight]);
}

TEST_CASE("an input of the wrong width is refused") {
    const BlockWeights w = BlockWeights::random({32, 4, 64}, 1, 1);
    CHECK_THROWS(block_forward(w, Tensor(3, 16)));
}
