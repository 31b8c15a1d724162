// What moves a potential: LayerNorm parameters drawn per element, and why the mean readout
// needs them (README, "Modelling").
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include <spikenn/block.hpp>
#include <spikenn/network_builder.hpp>
#include <spikenn/rng.hpp>
#include <spikenn/scenario.hpp>
#include "prefetch.hpp"

using namespace spikenn;
namespace fs = std::filesystem;

namespace {

NeuronParams small(std::int32_t embed_dim = 64) {
    NeuronParams p;
    p.shape = {embed_dim, 4, 32};
    return p;
}

// Every value of one LayerNorm parameter over the members of `net`.
std::vector<double> values_of(const Network& net, Param p) {
    std::vector<double> v;
    for (const auto& n: net.neurons) v.insert(v.end(), (*n.weights)[p].begin(), (*n.weights)[p].end());
    return v;
}

double mean_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); }

double variance_of(const std::vector<double>& v) {
    const double m = mean_of(v);
    double s = 0;
    for (double x: v) s += (x - m) * (x - m);
    return s / static_cast<double>(v.size() - 1);
}

Tensor random_input(std::int32_t rows, std::int32_t cols, const std::string& name) {
    Tensor t(rows, cols);
    RandomStream rs(3, entity_id(name), 0);
    for (auto& x: t.data) x = rs.normal();
    return t;
}

std::string problem_of(NetworkBuilder& b, const WeightsSpec& w, std::string* param = nullptr) {
    try {
        b.add_neuron("x", small(), w);
    }
    catch (const BuildError& e) {
        if (param) *param = e.param();
        return e.problem();
    }
    return "";
}

} // namespace

// The same seed and name draw the same LayerNorm values; another neuron, or another seed,
// draws others; and nothing else of the weights changes (the draws have purposes of their own).
TEST_CASE("LayerNorm draws are reproducible, differ between neurons and change no other weight") {
    WeightsSpec w;
    w.norm2.weight = NormFill::normal(1.0, 0.1);
    w.norm2.bias = NormFill::uniform(-0.5, 0.5);
    auto build = [&](std::uint64_t seed, const WeightsSpec& spec) {
        NetworkBuilder b(seed);
        b.add_neuron("a", small(), spec);
        b.add_neuron("b", small(), spec);
        return b.build();
    };
    const Network one = build(5, w), two = build(5, w), other_seed = build(6, w), plain = build(5, {});
    for (Param p: {Param::norm2_weight, Param::norm2_bias}) {
        CAPTURE(param_name(p));
        CHECK((*one.neurons[0].weights)[p] == (*two.neurons[0].weights)[p]);
        CHECK((*one.neurons[1].weights)[p] == (*two.neurons[1].weights)[p]);
        CHECK((*one.neurons[0].weights)[p] != (*one.neurons[1].weights)[p]);
        CHECK((*one.neurons[0].weights)[p] != (*other_seed.neurons[0].weights)[p]);
    }
    for (int i = 0; i < param_count; ++i) {
        const auto p = static_cast<Param>(i);
        if (p == Param::norm2_weight || p == Param::norm2_bias) continue;
        CAPTURE(param_name(p));
        CHECK((*one.neurons[0].weights)[p] == (*plain.neurons[0].weights)[p]);
        CHECK((*one.neurons[1].weights)[p] == (*plain.neurons[1].weights)[p]);
    }
}

// Element j of a draw is the j-th of the stream (seed, "neuron:NAME" or "population:NAME"
// when shared, norm_draw_purpose), as network_builder.hpp documents.
TEST_CASE("LayerNorm draws come from the documented streams") {
    WeightsSpec w;
    w.norm1.weight = NormFill::normal(1.0, 0.25);
    w.norm1.bias = NormFill::uniform(0.1, 0.7);
    NetworkBuilder b(11);
    b.add_neuron("n", small(), w);
    WeightsSpec shared = w;
    shared.shared = true;
    b.add_population("p", 3, small(), shared);
    const Network net = b.build();
    auto expect = [&](const std::string& entity, std::size_t neuron) {
        CAPTURE(entity);
        RandomStream ws(11, entity_id(entity), norm_draw_purpose(Param::norm1_weight));
        RandomStream bs(11, entity_id(entity), norm_draw_purpose(Param::norm1_bias));
        const auto& g = (*net.neurons[neuron].weights)[Param::norm1_weight];
        const auto& beta = (*net.neurons[neuron].weights)[Param::norm1_bias];
        for (std::size_t j = 0; j < g.size(); ++j) {
            CHECK(g[j] == static_cast<float>(1.0 + 0.25 * static_cast<double>(ws.normal())));
            CHECK(beta[j] == static_cast<float>(0.1 + 0.6 * static_cast<double>(bs.uniform01())));
        }
    };
    expect("neuron:n", 0);
    expect("population:p", 1);
    // A shared population holds one set of weights, draws included.
    CHECK(net.neurons[1].weights == net.neurons[2].weights);
    CHECK(net.neurons[1].weights == net.neurons[3].weights);
    CHECK(norm_draw_purpose(Param::norm1_weight) > param_purpose(Param::fc2_bias));
}

// The draws follow their distributions: over 64 neurons of 64 elements (n = 4096, fixed
// seed), the sample mean is within 5 standard errors of the mean and the sample variance
// within 5 of its own standard errors of the variance.
TEST_CASE("LayerNorm draws follow their distribution") {
    WeightsSpec w;
    const double mean = 1.0, sd = 0.1, low = -0.2, high = 0.6;
    w.norm2.weight = NormFill::normal(mean, sd);
    w.norm2.bias = NormFill::uniform(low, high);
    NetworkBuilder b(21);
    b.add_population("p", 64, small(64), w);
    const Network net = b.build();
    const std::vector<double> g = values_of(net, Param::norm2_weight), beta = values_of(net, Param::norm2_bias);
    const double n = static_cast<double>(g.size());
    REQUIRE(n == 4096);
    // Normal: the mean's standard error is sd/sqrt(n), the variance's sd^2 sqrt(2/(n-1)).
    CHECK(std::abs(mean_of(g) - mean) < 5 * sd / std::sqrt(n));
    CHECK(std::abs(variance_of(g) - sd * sd) < 5 * sd * sd * std::sqrt(2 / (n - 1)));
    // Uniform: variance w^2/12, fourth central moment w^4/80, so the sample variance has a
    // standard error of sqrt((mu4 - var^2 (n-3)/(n-1)) / n).
    const double width = high - low, var = width * width / 12, mu4 = std::pow(width, 4) / 80;
    CHECK(std::abs(mean_of(beta) - (low + high) / 2) < 5 * std::sqrt(var / n));
    CHECK(std::abs(variance_of(beta) - var) < 5 * std::sqrt((mu4 - var * var * (n - 3) / (n - 1)) / n));
    for (double x: beta) {
        CHECK(x >= low);
        CHECK(x <= high);
    }
}

// The statement of the README's "Modelling": with one LayerNorm2 weight for every element,
// the mean readout is mean(norm2.bias) whatever the input; with a weight drawn per element
// it depends on the input.
TEST_CASE("with a uniform LayerNorm2 weight the mean readout ignores the input") {
    WeightsSpec uniform_weight;
    uniform_weight.norm2.weight = 1.7f;
    uniform_weight.norm2.bias = NormFill::normal(0.2, 0.3);
    WeightsSpec drawn_weight = uniform_weight;
    drawn_weight.norm2.weight = NormFill::normal(1.0, 0.5);
    NetworkBuilder b(4);
    b.add_neuron("uniform", small(), uniform_weight);
    b.add_neuron("drawn", small(), drawn_weight);
    const Network net = b.build();
    const Tensor x1 = random_input(10, 64, "x1"), x2 = random_input(7, 64, "x2");
    REQUIRE(x1 != x2);

    const auto& bias = (*net.neurons[0].weights)[Param::norm2_bias];
    const double mean_bias = std::accumulate(bias.begin(), bias.end(), 0.0) / static_cast<double>(bias.size());
    const double r1 = compute_block(net.neurons[0], x1).readout, r2 = compute_block(net.neurons[0], x2).readout;
    // Equal up to float32 rounding of the block's output (a few units of 1e-7 per element).
    CHECK(std::abs(r1 - mean_bias) < 1e-5);
    CHECK(std::abs(r2 - mean_bias) < 1e-5);

    const double d1 = compute_block(net.neurons[1], x1).readout, d2 = compute_block(net.neurons[1], x2).readout;
    CHECK(std::abs(d1 - d2) > 1e-3);
}

// A refused fill names its parameter and leaves the builder as it was.
TEST_CASE("the builder refuses bad LayerNorm fills, naming the parameter") {
    NetworkBuilder b(1);
    std::string param;
    WeightsSpec w;
    w.norm2.weight = NormFill::normal(1.0, -0.1);
    CHECK(problem_of(b, w, &param) == "the standard deviation -0.1 is negative: it must be at least 0");
    CHECK(param == "weights.norm2.weight.normal.std");
    w = {};
    w.norm1.bias = NormFill::uniform(0.5, 0.2);
    CHECK(problem_of(b, w, &param) == "low (0.5) must be below high (0.2)");
    CHECK(param == "weights.norm1.bias.uniform");
    w = {};
    w.norm1.weight = NormFill::normal(std::nan(""), 1.0);
    CHECK(problem_of(b, w, &param) == "expected a finite number");
    CHECK(param == "weights.norm1.weight.normal.mean");
    w = {};
    w.norm2.bias = NormFill::uniform(0.0, INFINITY);
    CHECK(problem_of(b, w, &param) == "expected a finite number");
    CHECK(param == "weights.norm2.bias.uniform.high");
    w = {};
    w.norm2.bias = std::numeric_limits<float>::quiet_NaN();
    CHECK(problem_of(b, w, &param) == "expected a finite number");
    CHECK(param == "weights.norm2.bias");
    w = {};
    w.norm2.weight = NormFill::normal(3e38, 1e37);
    CHECK(problem_of(b, w, &param) == "draws would be out of the range of float32");
    CHECK(b.size() == 0);
    // A standard deviation of 0 is allowed: every element is the mean.
    w = {};
    w.norm2.weight = NormFill::normal(0.75, 0.0);
    CHECK(problem_of(b, w).empty());
    const Network net = b.build();
    for (float g: (*net.neurons[0].weights)[Param::norm2_weight]) CHECK(g == 0.75f);
}

// A scenario's `normal:` and `uniform:` fills are the builder's NormFill, drawn alike.
TEST_CASE("a scenario's LayerNorm draws are the builder's") {
    const fs::path dir = fs::temp_directory_path() / "spikenn_test_readout";
    fs::create_directories(dir);
    const fs::path file = dir / "norm_draws.yaml";
    std::ofstream(file) << "run: { seed: 9 }\n"
                           "neurons:\n"
                           "  - population: p\n    size: 2\n    embed_dim: 64\n    num_heads: 4\n    hidden_dim: 32\n"
                           "    weights:\n"
                           "      norm1: { weight: { uniform: { low: 0.5, high: 1.5 } }, bias: 0.25 }\n"
                           "      norm2: { weight: { normal: { mean: 1.0, std: 0.1 } }, bias: { normal: { mean: 0.2, std: 0.3 } } }\n"
                           "stimuli:\n  - to: p\n    at: [0s]\n    tensor: { constant: { seq_len: 2, value: 0.5 } }\n";
    const Scenario sc = load_scenario(file);
    WeightsSpec w;
    w.norm1.weight = NormFill::uniform(0.5, 1.5);
    w.norm1.bias = 0.25f;
    w.norm2.weight = NormFill::normal(1.0, 0.1);
    w.norm2.bias = NormFill::normal(0.2, 0.3);
    NetworkBuilder b(9);
    b.add_population("p", 2, small(64), w);
    const Network net = b.build();
    for (std::size_t k = 0; k < 2; ++k) {
        for (int i = 0; i < param_count; ++i) {
            const auto p = static_cast<Param>(i);
            CAPTURE(param_name(p));
            CHECK((*sc.network.neurons[k].weights)[p] == (*net.neurons[k].weights)[p]);
        }
    }
}
