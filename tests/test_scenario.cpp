#include <doctest/doctest.h>

#include <sys/stat.h>

#include <chrono>

#include <filesystem>
#include <fstream>

#include <spikenn/error.hpp>
#include "golden_util.hpp"
#include <spikenn/scenario.hpp>
#include <spikenn/simulation.hpp>
#include <spikenn/tensor_io.hpp>

using namespace spikenn;
namespace fs = std::filesystem;

// Every file in scenarios/invalid/ starts with "# expect: MESSAGE" and must fail to load
// with an InputError that contains MESSAGE and names the file.
TEST_CASE("every invalid scenario fails with its message") {
    const auto cases = test::invalid_scenarios();
    CHECK(cases.size() >= 30);
    for (const auto& c: cases) {
        CAPTURE(c.file);
        REQUIRE(!c.expect.empty());
        std::string message;
        try {
            load_scenario(fs::path(SPIKENN_SOURCE_DIR "/scenarios/invalid") / c.file);
        }
        catch (const InputError& e) {
            message = e.what();
        }
        CHECK(message.find(c.expect) != std::string::npos);
        CHECK(message.find(c.file) != std::string::npos);
    }
}

// `spikenn validate` builds no weights (issue: library, "validate must not build what it
// checks"), yet refuses every invalid scenario with run's message: weights files are
// checked from their headers, and the memory a run needs is estimated alike.
TEST_CASE("checking a scenario without its weights finds every error a full load finds") {
    ScenarioOverrides check;
    check.weights = false;
    check.check_weights = true;
    for (const auto& c: test::invalid_scenarios()) {
        CAPTURE(c.file);
        std::string message;
        try {
            load_scenario(fs::path(SPIKENN_SOURCE_DIR "/scenarios/invalid") / c.file, check);
        }
        catch (const InputError& e) {
            message = e.what();
        }
        CHECK(message.find(c.expect) != std::string::npos);
    }
    const Scenario sc = load_scenario(SPIKENN_SOURCE_DIR "/tests/golden/network/scenario.yaml", check);
    REQUIRE(sc.network.size() > 0);
    for (const auto& n: sc.network.neurons) CHECK(n.weights == nullptr);
}

// The place in the file is exact: line and column of the offending value.
TEST_CASE("errors point at line and column") {
    std::string message;
    try {
        load_scenario(SPIKENN_SOURCE_DIR "/scenarios/invalid/unknown_key.yaml");
    }
    catch (const InputError& e) {
        message = e.what();
    }
    CHECK(message.find("unknown_key.yaml:7:5: neurons[0].treshold: unknown key 'treshold'") != std::string::npos);
}

TEST_CASE("bundled scenarios load") {
    for (const char* name: {"demo.yaml", "seed.yaml"}) {
        CAPTURE(name);
        const Scenario sc = load_scenario(fs::path(SPIKENN_SOURCE_DIR "/scenarios") / name);
        CHECK(sc.network.size() > 0);
        CHECK(!sc.network.stimuli.empty());
    }
}

// Populations expand to named members; selectors take names, members and lists.
TEST_CASE("populations, selectors, connections, schedules") {
    const Scenario sc = load_scenario(SPIKENN_SOURCE_DIR "/scenarios/demo.yaml");
    const Network& n = sc.network;
    REQUIRE(n.size() == 14);
    CHECK(n.names[0] == "in[0]");
    CHECK(n.names[4] == "hidden[0]");
    CHECK(n.names[13] == "out[1]");
    CHECK(n.synapses[0].size() == 8); // in -> hidden, all to all
    std::size_t to_out = 0; // hidden -> out, each pair with probability 0.75
    for (EntityId h = 4; h < 12; ++h) {
        for (const Synapse& syn: n.synapses[h]) to_out += syn.target >= 12;
        CHECK(n.synapses[h].size() <= 2);
    }
    CHECK(to_out > 6);
    CHECK(to_out < 16);
    EntityId h = 4;
    while (n.synapses[h].empty()) ++h;
    CHECK(n.synapses[h][0].weight == 1.0f);
    CHECK(n.synapses[h][0].efficacy == 0.6f);
    CHECK(n.synapses[h][0].delay == parse_time("3ms"));
    CHECK(n.synapses[0][0].efficacy == 0.7f);
    CHECK(n.neurons[12].weights == n.neurons[13].weights); // shared weights
    CHECK(n.neurons[4].weights != n.neurons[5].weights);
    CHECK(n.neurons[0].params.readout == Readout::linear);
    const Stimulus& noise = n.stimuli[0];
    CHECK(noise.rate == 60.0);
    CHECK(noise.independent);
    CHECK(noise.per_target_times());
    const Stimulus& s = n.stimuli[1];
    CHECK(s.efficacy == 0.5f);
    CHECK(s.occurrence_time(0, n.seed) == parse_time("10ms"));
    CHECK(s.occurrence_time(1, n.seed) == parse_time("70ms"));
    CHECK(s.occurrence_time(24, n.seed) == parse_time("1450ms"));
    CHECK(!s.occurrence_time(25, n.seed)); // until is exclusive
    CHECK(sc.record.potentials == std::vector<EntityId>{0, 4, 12, 13});
}

// A neuron's random weights depend on its name, not on what else the scenario holds.
TEST_CASE("adding a neuron does not change the others' weights") {
    const fs::path d = fs::temp_directory_path() / "spikenn_test_scenario";
    fs::create_directories(d);
    const std::string neuron = "  - name: {}\n    embed_dim: 16\n    num_heads: 2\n    hidden_dim: 32\n";
    std::ofstream(d / "one.yaml") << "run: {seed: 5}\nneurons:\n" << fmt::format(fmt::runtime(neuron), "b");
    std::ofstream(d / "two.yaml") << "run: {seed: 5}\nneurons:\n" << fmt::format(fmt::runtime(neuron), "a") << fmt::format(fmt::runtime(neuron), "b");
    const Scenario one = load_scenario(d / "one.yaml");
    const Scenario two = load_scenario(d / "two.yaml");
    CHECK(one.network.neurons[0].weights->unpack().params == two.network.neurons[1].weights->unpack().params);
    CHECK(one.network.neurons[0].weights->unpack().params != two.network.neurons[0].weights->unpack().params);
}

// Random weights are drawn on several threads when asked: each neuron's come from its own
// stream, so they are the same for any number of threads.
TEST_CASE("weights drawn on several threads equal those drawn on one") {
    const fs::path d = fs::temp_directory_path() / "spikenn_test_scenario";
    fs::create_directories(d);
    std::ofstream(d / "pop7.yaml") << "run: {seed: 9}\nneurons:\n  - population: p\n    size: 7\n    embed_dim: 16\n    num_heads: 2\n    hidden_dim: 32\n"
                                      "  - name: solo\n    embed_dim: 16\n    num_heads: 2\n    hidden_dim: 32\n";
    ScenarioOverrides three;
    three.threads = 3;
    const Scenario a = load_scenario(d / "pop7.yaml");
    const Scenario b = load_scenario(d / "pop7.yaml", three);
    REQUIRE(a.network.size() == 8);
    REQUIRE(b.network.size() == 8);
    for (std::size_t i = 0; i < a.network.size(); ++i) {
        CAPTURE(i);
        CHECK(a.network.neurons[i].weights->unpack().params == b.network.neurons[i].weights->unpack().params);
        if (i > 0) CHECK(a.network.neurons[i].weights->unpack().params != a.network.neurons[i - 1].weights->unpack().params);
    }
}

// Regression: "p[0]" of a population of one was refused as an unknown neuron.
TEST_CASE("a population of one is indexed like any other") {
    const fs::path d = fs::temp_directory_path() / "spikenn_test_scenario";
    fs::create_directories(d);
    std::ofstream(d / "pop1.yaml") << "neurons:\n  - population: p\n    size: 1\n    embed_dim: 16\n    num_heads: 2\n    hidden_dim: 32\n"
                                      "record:\n  potentials: [\"p[0]\"]\n";
    const Scenario sc = load_scenario(d / "pop1.yaml");
    CHECK(sc.network.names[0] == "p[0]");
    CHECK(sc.record.potentials == std::vector<EntityId>{0});
}

namespace {
std::string load_error(const fs::path& p) {
    try {
        load_scenario(p);
    }
    catch (const InputError& e) {
        return e.what();
    }
    return "";
}
fs::path scratch_scenario(const std::string& name, const std::string& text) {
    const fs::path d = fs::temp_directory_path() / "spikenn_test_scenario";
    fs::create_directories(d);
    std::ofstream(d / name, std::ios::binary) << text;
    return d / name;
}
std::string slurp_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
const std::string one_neuron = "neurons:\n  - name: a\n    embed_dim: 16\n    num_heads: 4\n    hidden_dim: 32\n";
} // namespace

// Regression (issue 10, item 11): a key given twice was accepted and the first one won.
// Both places are named, at the top level and in any mapping below it.
TEST_CASE("a key given twice in a mapping is refused, naming both places") {
    const std::string top = SPIKENN_SOURCE_DIR "/scenarios/invalid/duplicate_key_top.yaml";
    const std::string m = load_error(top);
    CHECK(m.find(top + ":13:1: neurons: the key 'neurons' is given twice in one mapping (first at " + top + ":3:1)") != std::string::npos);
    const fs::path item = scratch_scenario("dup_item.yaml", one_neuron + "    embed_dim: 32\n");
    CHECK(load_error(item).find(item.string() + ":6:5: neurons[0].embed_dim: the key 'embed_dim' is given twice in one mapping (first at " +
                                item.string() + ":3:5)") != std::string::npos);
    const fs::path deep = scratch_scenario("dup_deep.yaml", one_neuron + "    weights: { norm2: { bias: 0.1, bias: 0.2 } }\n");
    CHECK(load_error(deep).find("neurons[0].weights.norm2.bias: the key 'bias' is given twice") != std::string::npos);
    // The same key in two different mappings is fine.
    const fs::path two = scratch_scenario("dup_none.yaml", "neurons:\n  - {name: a, embed_dim: 16, num_heads: 4, hidden_dim: 32}\n"
                                                           "  - {name: b, embed_dim: 16, num_heads: 4, hidden_dim: 32}\n");
    CHECK(load_scenario(two).network.size() == 2);
}

// Regression (issue 10, item 10): names that are not UTF-8 reached summary.json and the
// exports as they were, making them invalid JSON. Every text of the scenario must be UTF-8.
TEST_CASE("text that is not UTF-8 is refused with its place") {
    const fs::path pop = scratch_scenario("bad_pop.yaml", "neurons:\n  - population: p\xc0\xaf\n    size: 2\n    embed_dim: 16\n    num_heads: 4\n    hidden_dim: 32\n");
    CHECK(load_error(pop).find(pop.string() + ":2:17: neurons[0].population: the text is not valid UTF-8 (byte 0xc0 at offset 1") != std::string::npos);
    const fs::path desc = scratch_scenario("bad_desc.yaml", "description: caf\xe9\n" + one_neuron);
    CHECK(load_error(desc).find(desc.string() + ":1:14: description: the text is not valid UTF-8") != std::string::npos);
    const fs::path key = scratch_scenario("bad_key.yaml", one_neuron + "    \xfe: 1\n");
    CHECK(load_error(key).find("neurons[0].\xfe: the text is not valid UTF-8 (byte 0xfe at offset 0 of the key)") != std::string::npos);
    const fs::path surrogate = scratch_scenario("bad_surrogate.yaml", "description: \xed\xa0\x80\n" + one_neuron);
    CHECK(load_error(surrogate).find("not valid UTF-8") != std::string::npos);
    // UTF-8 beyond ASCII is welcome.
    const fs::path good = scratch_scenario("good_utf8.yaml", "description: caf\xc3\xa9 \xf0\x9f\xa7\xa0\nneurons:\n  - name: n\xc3\xa9\n    embed_dim: 16\n    num_heads: 4\n    hidden_dim: 32\n");
    CHECK(load_scenario(good).network.names[0] == "n\xc3\xa9");
}

// Regression (issue 10, item 8): only the weights were counted, so 16,777,216 neurons
// all_to_all ran for 19 s into std::bad_alloc. The estimate comes before anything is built.
TEST_CASE("a scenario too large for its memory limit is refused before it is built") {
    const fs::path huge = scratch_scenario("huge.yaml", "neurons:\n  - population: p\n    size: 16777216\n    embed_dim: 16\n    num_heads: 4\n    hidden_dim: 32\n"
                                                        "    weights: { shared: true }\nconnections:\n  - from: p\n    to: p\n    delay: 1ms\n");
    const auto start = std::chrono::steady_clock::now();
    const std::string m = load_error(huge);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2)); // no neuron was built
    CHECK(m.find(huge.string() + ":9:5: connections[0]: the run would need about") != std::string::npos);
    CHECK(m.find("synapses") != std::string::npos);
    CHECK(m.find("by default half of this machine's memory; run.memory_limit sets it") != std::string::npos);
    // The limit is the user's to set, with units.
    const std::string demo = slurp_text(SPIKENN_SOURCE_DIR "/scenarios/demo.yaml");
    const fs::path tight = scratch_scenario("tight.yaml", "run: { memory_limit: 2MiB }\n" + demo.substr(demo.find("neurons:")));
    CHECK(load_error(tight).find("more than its limit of 2.0 MiB (run.memory_limit)") != std::string::npos);
    const fs::path roomy = scratch_scenario("roomy.yaml", "run: { memory_limit: 0.5GiB }\n" + demo.substr(demo.find("neurons:")));
    CHECK(load_scenario(roomy).network.size() == 14);
    ScenarioOverrides budget;
    budget.memory_limit = 2 << 20; // wins over the scenario's 0.5GiB
    std::string message;
    try {
        load_scenario(roomy, budget);
    }
    catch (const InputError& e) {
        message = e.what();
    }
    CHECK(message.find("more than its limit of 2.0 MiB (set by the program reading the scenario)") != std::string::npos);
    const fs::path tiny = scratch_scenario("tiny.yaml", "run: { memory_limit: 100KB }\n" + one_neuron);
    CHECK(load_error(tiny).find("run.memory_limit: '100KB' is too small for a run (at least 1MiB)") != std::string::npos);
    // Long inputs: attention's seq_len x seq_len per block.
    const fs::path long_input = scratch_scenario("long.yaml", one_neuron + "stimuli:\n  - {name: s, to: a, at: 0s, tensor: {random: {seq_len: 1048576}}}\n");
    CHECK(load_error(long_input).find("stimuli[0].tensor.random.seq_len: the run would need about 4.0 TiB of memory") != std::string::npos);
}

// Regression (issue 10, item 9): a directory as the scenario gave "basic_filebuf::underflow",
// /dev/zero was read until memory ran out, a FIFO hung. Only regular files are read.
TEST_CASE("a scenario that is not a regular file is refused") {
    const fs::path dir = fs::temp_directory_path() / "spikenn_test_scenario";
    fs::create_directories(dir);
    CHECK(load_error(dir).find(dir.string() + ": is a directory, not a file") != std::string::npos);
    CHECK(load_error("/dev/zero").find("/dev/zero: is a character device, not a regular file") != std::string::npos);
    const fs::path fifo = dir / "scenario.fifo";
    fs::remove(fifo);
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(load_error(fifo).find("scenario.fifo: is a FIFO, not a regular file") != std::string::npos);
    fs::remove(fifo);
}

// What a program holds in memory (ScenarioOverrides::given_weights, given_tensors: the Python
// module's state_dicts and arrays) runs as the same weights and tensor from files would.
TEST_CASE("weights and stimulus tensors given in memory are those of files") {
    const fs::path dir = fs::temp_directory_path() / "spikenn_test_given_in_memory";
    fs::create_directories(dir);
    const BlockShape shape{8, 2, 16};
    const BlockWeights w = BlockWeights::random(shape, 5, 77);
    std::vector<NamedTensor> named;
    for (int k = 0; k < param_count; ++k) {
        const auto p = static_cast<Param>(k);
        named.push_back({std::string(param_name(p)), param_shape(p, shape), w[p].data()});
    }
    write_safetensors(dir / "w.safetensors", named);
    std::vector<float> x(3 * 8);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.1f * static_cast<float>(i) - 1.0f;
    write_npy(dir / "x.npy", {3, 8}, x.data());

    const std::string neurons = "neurons:\n  - name: a\n    embed_dim: 8\n    num_heads: 2\n    hidden_dim: 16\n    threshold: 0.05\n"
                                "    weights: { norm2: { bias: { normal: { mean: 0.1, std: 0.2 } } } }\n";
    const std::string files_text = "neurons:\n  - name: a\n    embed_dim: 8\n    num_heads: 2\n    hidden_dim: 16\n    threshold: 0.05\n"
                                   "    weights: { file: w.safetensors, norm2: { bias: { normal: { mean: 0.1, std: 0.2 } } } }\n"
                                   "stimuli:\n  - name: s\n    to: a\n    every: 1ms\n    until: 20ms\n    tensor: { npy: x.npy }\n";
    const std::string memory_text = neurons + "stimuli:\n  - name: s\n    to: a\n    every: 1ms\n    until: 20ms\n";
    auto fingerprint = [](Scenario sc) {
        Simulation sim(std::move(sc.network), sc.simulation_options(1));
        sim.run();
        return sim.fingerprint();
    };
    ScenarioOverrides given;
    given.given_weights["a"] = {std::make_shared<BlockWeights>(w), nullptr};
    given.given_tensors["s"] = Tensor(3, 8, x);
    const auto by_files = fingerprint(load_scenario_text(dir / "files.yaml", files_text));
    CHECK(fingerprint(load_scenario_text(dir / "memory.yaml", memory_text, given)) == by_files);
    // Without them, the same text draws other weights (and has no tensor).
    ScenarioOverrides weights_only;
    weights_only.given_weights = given.given_weights;
    CHECK_THROWS_WITH_AS(load_scenario_text(dir / "memory.yaml", memory_text, weights_only), doctest::Contains("stimuli[0].tensor: missing"), InputError);

    // Given for an entry that also names a file, or for a name nothing has: refused.
    CHECK_THROWS_WITH_AS(load_scenario_text(dir / "files.yaml", files_text, weights_only), doctest::Contains("neurons[0].weights.file: weights are given in memory"), InputError);
    ScenarioOverrides stray = given;
    stray.given_weights["b"] = given.given_weights["a"];
    CHECK_THROWS_WITH_AS(load_scenario_text(dir / "memory.yaml", memory_text, stray), doctest::Contains("weights are given for 'b', which no entry defines"), InputError);
    ScenarioOverrides tensor_too;
    tensor_too.given_tensors = given.given_tensors;
    CHECK_THROWS_WITH_AS(load_scenario_text(dir / "files.yaml", files_text, tensor_too), doctest::Contains("stimuli[0].tensor: a tensor is given in memory"), InputError);
    ScenarioOverrides wide = given;
    wide.given_tensors["s"] = Tensor(3, 4, std::vector<float>(12, 0.0f));
    CHECK_THROWS_WITH_AS(load_scenario_text(dir / "memory.yaml", memory_text, wide), doctest::Contains("the tensor given in memory is [3, 4]: expected [seq_len, 8]"), InputError);
}

// Weights given in memory for a population are held once for all its members (the builder
// shares them): the memory estimate charged a copy per member, and refused what fits.
TEST_CASE("weights given in memory for a population are charged once") {
    const BlockShape shape{64, 4, 256};
    ScenarioOverrides ov;
    ov.given_weights["p"] = {std::make_shared<BlockWeights>(BlockWeights::random(shape, 1, 2)), nullptr};
    ov.memory_limit = 16u << 20; // 600 copies would be 120 MB
    const std::string text = "neurons:\n  - population: p\n    size: 600\n    embed_dim: 64\n    num_heads: 4\n    hidden_dim: 256\n";
    CHECK_NOTHROW(load_scenario_text("given.yaml", text, ov));
    ScenarioOverrides drawn;
    drawn.memory_limit = ov.memory_limit;
    CHECK_THROWS_WITH_AS(load_scenario_text("given.yaml", text, drawn), doctest::Contains("memory"), InputError);
}
