// What moves a potential: LayerNorm parameters drawn per element, why the mean readout
// needs them, and the linear readout (README, "Modelling").
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include <spikenn/block.hpp>
#include <spikenn/in_memory.hpp>
#include <spikenn/network_builder.hpp>
#include <spikenn/readout.hpp>
#include <spikenn/rng.hpp>
#include <spikenn/scenario.hpp>
#include <spikenn/simulation.hpp>
#include <spikenn/tensor_io.hpp>
#include "cli_util.hpp"
#include "block_batcher.hpp"

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
    for (const auto& n: net.neurons) {
        const auto values = n.weights->param(p);
        v.insert(v.end(), values.begin(), values.end());
    }
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
        CHECK(one.neurons[0].weights->param(p) == two.neurons[0].weights->param(p));
        CHECK(one.neurons[1].weights->param(p) == two.neurons[1].weights->param(p));
        CHECK(one.neurons[0].weights->param(p) != one.neurons[1].weights->param(p));
        CHECK(one.neurons[0].weights->param(p) != other_seed.neurons[0].weights->param(p));
    }
    for (int i = 0; i < param_count; ++i) {
        const auto p = static_cast<Param>(i);
        if (p == Param::norm2_weight || p == Param::norm2_bias) continue;
        CAPTURE(param_name(p));
        CHECK(one.neurons[0].weights->param(p) == plain.neurons[0].weights->param(p));
        CHECK(one.neurons[1].weights->param(p) == plain.neurons[1].weights->param(p));
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
        const auto& g = net.neurons[neuron].weights->param(Param::norm1_weight);
        const auto& beta = net.neurons[neuron].weights->param(Param::norm1_bias);
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

    const auto& bias = net.neurons[0].weights->param(Param::norm2_bias);
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
    for (float g: net.neurons[0].weights->param(Param::norm2_weight)) CHECK(g == 0.75f);
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
            CHECK(sc.network.neurons[k].weights->param(p) == net.neurons[k].weights->param(p));
        }
    }
}

namespace {

// The linear readout written out as readout.hpp defines it: each product in double, the
// row's products in increasing j, then the bias; the rows in increasing i; divided by rows.
double linear_by_hand(const Tensor& y, const LinearReadout& r) {
    double total = 0;
    for (std::int32_t i = 0; i < y.rows; ++i) {
        double row = 0;
        for (std::int32_t j = 0; j < y.cols; ++j) row += static_cast<double>(y(i, j)) * static_cast<double>(r.weight[static_cast<std::size_t>(j)]);
        total += row + static_cast<double>(r.bias);
    }
    return total / y.rows;
}

NeuronParams linear_params(std::int32_t embed_dim = 64) {
    NeuronParams p = small(embed_dim);
    p.readout = Readout::linear;
    return p;
}

const fs::path linear_scenario = SPIKENN_SOURCE_DIR "/tests/data/linear_readout.yaml";

} // namespace

// The linear readout is the formula of readout.hpp, on the block's output, on the event
// loop's path and the workers' (compute_block) alike; and unlike the mean under PyTorch's
// default LayerNorm parameters, it depends on the input.
TEST_CASE("the linear readout computes its formula, and depends on the input") {
    NetworkBuilder b(8);
    b.add_neuron("n", linear_params());
    const Network net = b.build();
    const TransformerNeuron& n = net.neurons[0];
    REQUIRE(n.linear);
    const Tensor x1 = random_input(10, 64, "x1"), x2 = random_input(3, 64, "x2");
    const Tensor y1 = block_forward(*n.weights, x1), y2 = block_forward(*n.weights, x2);
    CHECK(n.readout(y1) == linear_by_hand(y1, *n.linear));
    CHECK(compute_block(n, x1).readout == linear_by_hand(y1, *n.linear));
    CHECK(compute_block(n, x2).readout == linear_by_hand(y2, *n.linear));
    CHECK(std::abs(compute_block(n, x1).readout - compute_block(n, x2).readout) > 1e-3);

    // A readout given in code, on a tensor given in code: rows of 1, 2 and -1 times w.
    LinearReadout r;
    r.weight = {0.5f, -0.25f};
    r.bias = 0.125f;
    const Tensor y(3, 2, {1.0f, 2.0f, 3.0f, 4.0f, -1.0f, 0.0f});
    CHECK(r.apply(y) == linear_by_hand(y, r));
    CHECK(r.apply(y) == ((0.5 - 0.5 + 0.125) + (1.5 - 1.0 + 0.125) + (-0.5 + 0.125)) / 3);
}

// init: random draws PyTorch's nn.Linear(embed_dim, 1) default, from the neuron's stream
// (or the shared population's) with the readout's own purposes: reproducible, different
// between neurons, and no other weight changes.
TEST_CASE("linear readout weights are drawn like nn.Linear's, from the neuron's stream") {
    auto build = [](Readout readout, std::uint64_t seed) {
        NetworkBuilder b(seed);
        NeuronParams p = linear_params(256);
        p.readout = readout;
        b.add_neuron("a", p);
        b.add_neuron("b", p);
        WeightsSpec shared;
        shared.shared = true;
        b.add_population("p", 2, p, shared);
        return b.build();
    };
    const Network net = build(Readout::linear, 12), again = build(Readout::linear, 12), mean = build(Readout::mean, 12);
    const double bound = 1 / std::sqrt(256.0);
    for (std::size_t i = 0; i < 3; ++i) {
        const std::string entity = i == 0 ? "neuron:a" : i == 1 ? "neuron:b" : "population:p";
        CAPTURE(entity);
        const LinearReadout& r = *net.neurons[i].linear;
        REQUIRE(r.weight.size() == 256);
        CHECK(r.weight == again.neurons[i].linear->weight);
        CHECK(r.bias == again.neurons[i].linear->bias);
        RandomStream ws(12, entity_id(entity), readout_weight_purpose), bs(12, entity_id(entity), readout_bias_purpose);
        const auto b = static_cast<float>(bound);
        for (float w: r.weight) CHECK(w == b * (2.0f * ws.uniform01() - 1.0f));
        CHECK(r.bias == b * (2.0f * bs.uniform01() - 1.0f));
        for (float w: r.weight) CHECK(std::abs(w) <= bound);
        // U(-c, c) has mean 0 and variance c^2/3: within 5 standard errors for 256 draws.
        std::vector<double> v(r.weight.begin(), r.weight.end());
        CHECK(std::abs(mean_of(v)) < 5 * std::sqrt(bound * bound / 3 / 256));
        for (int k = 0; k < param_count; ++k) CHECK(net.neurons[i].weights->param(static_cast<Param>(k)) == mean.neurons[i].weights->param(static_cast<Param>(k)));
        CHECK(mean.neurons[i].linear == nullptr);
    }
    CHECK(net.neurons[0].linear->weight != net.neurons[1].linear->weight);
    // Shared: one readout for the population, as its block's weights.
    CHECK(net.neurons[2].linear == net.neurons[3].linear);
    CHECK(readout_weight_purpose > norm_draw_purpose(Param::norm2_bias));
}

// record.weights saves each neuron's readout under its prefix, and a scenario loading that
// file reads it back bit for bit: the run from the loaded weights is the same run.
TEST_CASE("record.weights saves the linear readout, and loading the file gives it back exactly") {
    const fs::path out = scratch / "readout_round_trip";
    fs::remove_all(out);
    REQUIRE(run_cli(fmt::format("run '{}' --out '{}' -q", linear_scenario.string(), out.string())).code == 0);
    const fs::path saved = out / "weights.safetensors";
    REQUIRE(fs::exists(saved));
    const SafetensorsFile st(saved);
    CHECK(st.contains("neurons.3.readout.weight"));
    CHECK(st.contains("neurons.3.readout.bias"));

    // The same scenario with every weight from the file: the readouts by default too.
    std::string text = slurp(linear_scenario);
    const std::string file = saved.string();
    auto replace = [&](const std::string& from, const std::string& to) {
        const auto at = text.find(from);
        REQUIRE(at != std::string::npos);
        text.replace(at, from.size(), to);
    };
    replace("    readout: { linear: { init: random } }\n",
        fmt::format("    readout: {{ linear: {{ init: file }} }}\n    weights: {{ file: '{}', index: 0 }}\n", file));
    replace("    readout: linear\n", fmt::format("    readout: linear\n    weights: {{ file: '{}', index: 3 }}\n", file));
    const fs::path reloaded = out.parent_path() / "readout_reloaded.yaml";
    std::ofstream(reloaded) << text;

    const Scenario a = load_scenario(linear_scenario), b = load_scenario(reloaded);
    REQUIRE(a.network.size() == 4);
    for (std::size_t i = 0; i < 4; ++i) {
        CAPTURE(i);
        REQUIRE(b.network.neurons[i].linear);
        CHECK(b.network.neurons[i].linear->weight == a.network.neurons[i].linear->weight);
        CHECK(std::bit_cast<std::uint32_t>(b.network.neurons[i].linear->bias) == std::bit_cast<std::uint32_t>(a.network.neurons[i].linear->bias));
        for (int k = 0; k < param_count; ++k) CHECK(b.network.neurons[i].weights->param(static_cast<Param>(k)) == a.network.neurons[i].weights->param(static_cast<Param>(k)));
    }
    const Result first = run_cli(fmt::format("run '{}' --out '{}' -q", linear_scenario.string(), (out / "a").string()));
    const Result second = run_cli(fmt::format("run '{}' --out '{}' -q", reloaded.string(), (out / "b").string()));
    REQUIRE(first.code == 0);
    REQUIRE(second.code == 0);
    CHECK(slurp(out / "a" / "spikes.csv") == slurp(out / "b" / "spikes.csv"));
    CHECK(slurp(out / "a" / "potentials.csv") == slurp(out / "b" / "potentials.csv"));
}

// The workers compute linear readouts as the event loop does: 1 and 2 threads give the same
// event log, byte for byte, and the run has spikes for it to get right.
TEST_CASE("a run with linear readouts is the same on 1 and 2 threads") {
    const fs::path out = scratch / "readout_threads";
    fs::remove_all(out);
    std::vector<std::string> logs;
    for (int threads: {1, 2}) {
        const fs::path log = out / fmt::format("t{}.evlog", threads);
        fs::create_directories(out);
        const Result r = run_cli(fmt::format("run '{}' --out '{}' --record '{}' --threads {} -q", linear_scenario.string(),
            (out / std::to_string(threads)).string(), log.string(), threads));
        REQUIRE(r.code == 0);
        logs.push_back(slurp(log));
    }
    CHECK(logs[0] == logs[1]);
    const Scenario sc = load_scenario(linear_scenario);
    std::uint64_t fingerprints[2] = {}, spikes = 0;
    for (unsigned threads: {1u, 2u}) {
        Scenario copy = load_scenario(linear_scenario);
        Simulation sim(std::move(copy.network), copy.simulation_options(threads));
        const auto& seen = sim.add_recorder(std::make_unique<SpikeRecorder>()).spikes();
        sim.run();
        fingerprints[threads - 1] = sim.fingerprint();
        spikes = seen.size();
    }
    CHECK(fingerprints[0] == fingerprints[1]);
    CHECK(spikes > 10);
}

// The builder's checks of a linear readout given in code, each naming the parameter and
// leaving the builder as it was; and a network whose linear neuron lost its readout is refused.
TEST_CASE("the builder refuses linear readouts it cannot make") {
    NetworkBuilder b(1);
    auto given = std::make_shared<const BlockWeights>(BlockWeights::random(small().shape, 1, 2));
    auto problem = [&](const NeuronParams& p, const WeightsSpec& w) -> std::string {
        try {
            b.add_neuron("x", p, w);
        }
        catch (const BuildError& e) {
            CHECK(e.param() == "readout");
            return e.problem();
        }
        return "";
    };
    WeightsSpec w;
    w.given = given;
    CHECK(problem(linear_params(), w).find("needs its weights given too") != std::string::npos);
    auto short_readout = std::make_shared<LinearReadout>();
    short_readout->weight.assign(63, 0.1f);
    w.given_readout = short_readout;
    CHECK(problem(linear_params(), w) == "the readout weights given have 63 values, where embed_dim is 64");
    w.readout_random = true;
    CHECK(problem(linear_params(), w) == "give the readout's weights or draw them, not both");
    CHECK(problem(small(), w) == "readout weights are for a linear readout");
    CHECK(b.size() == 0);

    // Given weights with a readout drawn, and with one given.
    WeightsSpec drawn;
    drawn.given = given;
    drawn.readout_random = true;
    CHECK(problem(linear_params(), drawn).empty());
    auto full = std::make_shared<LinearReadout>(LinearReadout::random(64, 5, 6));
    WeightsSpec both;
    both.given = given;
    both.given_readout = full;
    b.add_population("q", 2, linear_params(), both);
    Network net = b.build();
    CHECK(net.neurons[0].linear->weight == LinearReadout::random(64, 1, entity_id("neuron:x")).weight);
    CHECK(net.neurons[1].linear == full);
    CHECK(net.neurons[2].linear == full);
    net.check();
    net.neurons[1].linear.reset();
    CHECK_THROWS_WITH_AS(net.check(), doctest::Contains("q[0] has a linear readout without 64 readout weights"), InputError);
}

// The memory estimate counts a linear readout's weight and bias (embed_dim + 1 floats per
// neuron), so that what validate accepts a run can hold.
TEST_CASE("the memory estimate counts linear readouts") {
    const fs::path dir = fs::temp_directory_path() / "spikenn_test_readout";
    fs::create_directories(dir);
    auto weights_part = [&](const std::string& readout) {
        const fs::path file = dir / "memory.yaml";
        std::ofstream(file) << "run: { memory_limit: 100MiB }\nneurons:\n  - population: p\n    size: 100000\n"
                               "    embed_dim: 16\n    num_heads: 4\n    hidden_dim: 32\n" << readout;
        std::string message;
        try {
            load_scenario(file);
        }
        catch (const InputError& e) {
            message = e.what();
        }
        const auto at = message.find("weights ");
        REQUIRE(at != std::string::npos);
        return std::stod(message.substr(at + 8));
    };
    // A block of (16, 4, 32) holds 4*16*16 + 2*16*32 + 32 + 9*16 = 2224 floats; the readout 17 more.
    const double plain = weights_part(""), linear = weights_part("    readout: linear\n");
    CHECK(linear / plain == doctest::Approx(2241.0 / 2224.0).epsilon(1e-3));
}
