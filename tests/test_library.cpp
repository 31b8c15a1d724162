// The library's public API: the network builder, Simulation, recorders and checkpoints,
// and the errors a caller tells apart.
#include <doctest/doctest.h>

#include <filesystem>
#include <limits>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include <spikenn/checkpoint.hpp>
#include <spikenn/error.hpp>
#include <spikenn/event_log_recorder.hpp>
#include <spikenn/in_memory.hpp>
#include <spikenn/network_builder.hpp>
#include <spikenn/outputs.hpp>
#include <spikenn/scenario.hpp>
#include <spikenn/simulation.hpp>

using namespace spikenn;
namespace fs = std::filesystem;

namespace {

const fs::path demo = SPIKENN_SOURCE_DIR "/scenarios/demo.yaml";

NeuronParams layer(double threshold, double reset, Time refractory, double decay) {
    NeuronParams p;
    p.shape = {64, 4, 256};
    p.threshold = threshold;
    p.reset_potential = reset;
    p.refractory_period = refractory;
    p.decay = {DecayKind::linear, decay, Time::zero()};
    return p;
}

// LayerNorm2 drawn per element, as the demo's hidden and output layers have it.
WeightsSpec drawn_norm2(bool shared = false) {
    WeightsSpec w;
    w.norm2.weight = NormFill::normal(1.0, 0.5);
    w.norm2.bias = NormFill::normal(0.3, 0.2);
    w.shared = shared;
    return w;
}

// scenarios/demo.yaml, written with the builder.
NetworkBuilder demo_builder() {
    NetworkBuilder b(7);
    NeuronParams in = layer(0.3, 0.0, Time::from_ms(60), 0.8);
    in.readout = Readout::linear;
    b.add_population("in", 4, in);
    b.add_population("hidden", 8, layer(0.8, 0.1, Time::from_ms(80), 1.0), drawn_norm2());
    b.add_population("out", 2, layer(0.9, 0.0, Time::from_ms(50), 0.5), drawn_norm2(true));
    b.connect("in", "hidden", Pattern::all_to_all, {Time::from_ms(2), 1.0f, 0.7f});
    b.connect("hidden", "out", Pattern::random, {Time::from_ms(3), 1.0f, 0.6f}, 0.75);
    b.add_stimulus("noise", "in", Schedule::poisson(60, Time::zero(), Time::from_ms(1500)), StimulusTensor::random_normal(10, 1.0f), {1.0f, true});
    b.add_stimulus("beat", "in", Schedule::every(Time::from_ms(60), Time::from_ms(10), Time::from_ms(1500)), StimulusTensor::random_normal(10, 2.0f),
        {0.5f, true});
    return b;
}

SimulationOptions until_3s() {
    SimulationOptions o;
    o.until = Time::from_ms(3000);
    return o;
}

// A checkpoint of `sim` at 900ms with the counts of 500ms: each part well formed, the whole
// refused only once the parts are compared.
std::vector<unsigned char> counts_of_another_time(Simulation& sim) {
    sim.run_until(Time::from_ms(500));
    const Checkpoint at_500 = parse_checkpoint(sim.checkpoint(), "a");
    sim.run_until(Time::from_ms(900));
    const Checkpoint at_900 = parse_checkpoint(sim.checkpoint(), "b");
    CheckpointBody body = CheckpointBody::decode(at_900, "b");
    body.counts = CheckpointBody::decode(at_500, "a").counts;
    return encode_checkpoint(at_900.info, body.encode());
}

template <typename F>
BuildError build_error(F&& f) {
    try {
        f();
    }
    catch (const BuildError& e) {
        return e;
    }
    FAIL("no BuildError");
    return BuildError("", "", "");
}

} // namespace

// The promise of the builder: the same network in code and in YAML is the same run.
TEST_CASE("a network built in code gives the fingerprint of the same network in YAML") {
    Scenario sc = load_scenario(demo);
    REQUIRE(sc.expect_fingerprint);
    Simulation from_yaml(std::move(sc.network), sc.simulation_options());
    from_yaml.run();
    CHECK(from_yaml.fingerprint() == *sc.expect_fingerprint);

    NetworkBuilder b = demo_builder();
    Simulation in_code(b.build(), until_3s());
    in_code.run();
    CHECK(in_code.fingerprint() == *sc.expect_fingerprint);
    CHECK(in_code.events_processed() == from_yaml.events_processed());
    CHECK(in_code.network().names == from_yaml.network().names);
}

// Each refused call names the item and the parameter, and leaves the builder as it was.
TEST_CASE("the builder names what is wrong and a refused call changes nothing") {
    NetworkBuilder b(1);
    NeuronParams p;
    p.shape = {6, 4, 8};
    BuildError e = build_error([&] { b.add_neuron("a", p); });
    CHECK(e.item() == "neuron 'a'");
    CHECK(e.param() == "num_heads");
    CHECK(std::string(e.what()) == "neuron 'a': num_heads: embed_dim 6 is not divisible by num_heads 4");
    CHECK(b.size() == 0);
    p.shape = {8, 2, 16};
    b.add_neuron("a", p); // the name is free again
    b.add_population("p", 3, p);
    CHECK(b.size() == 4);
    CHECK(build_error([&] { b.add_neuron("p", p); }).problem() == "the name 'p' is used twice");
    CHECK(build_error([&] { b.add_neuron("all", p); }).param() == "name");
    CHECK(build_error([&] { b.select("p[3]"); }).problem() == "'p[3]' is out of range: population 'p' has 3 neurons");
    CHECK(build_error([&] { b.select("q"); }).problem() == "unknown neuron or population 'q'");

    e = build_error([&] { b.connect("a", "p", Pattern::all_to_all, {Time::zero()}); });
    CHECK(e.item() == "connection 0");
    CHECK(e.param() == "delay");
    e = build_error([&] { b.connect("a", "p", Pattern::one_to_one, {Time::from_ticks(1)}); });
    CHECK(e.problem() == "one_to_one needs as many sources as targets (1 and 3)");
    NeuronParams wide = p;
    wide.shape = {16, 2, 16};
    b.add_neuron("w", wide);
    CHECK(build_error([&] { b.connect("a", "w", Pattern::all_to_all, {Time::from_ticks(1)}); }).problem().find("same embed_dim") != std::string::npos);
    CHECK(build_error([&] { b.add_stimulus("", "a", Schedule::times({Time::zero()}), StimulusTensor::random_normal(2, 1)); }).problem() ==
          "a random stimulus needs a 'name': its random stream is keyed by it");
    CHECK(build_error([&] { b.add_stimulus("s", "a", Schedule::every(Time::zero()), StimulusTensor::constant(2, 1)); }).param() == "every");
    CHECK(b.stimuli().empty());
    CHECK(b.size() == 5);

    // Refused connect calls took no number: the random pattern's stream is still that of
    // connection 0, as in a network without them.
    NetworkBuilder plain(1);
    plain.add_neuron("a", p);
    plain.add_population("p", 3, p);
    plain.add_neuron("w", wide);
    b.connect("all", "p", Pattern::random, {Time::from_ticks(1)}, 0.5);
    plain.connect("all", "p", Pattern::random, {Time::from_ticks(1)}, 0.5);
    const Network x = b.build(), y = plain.build();
    REQUIRE(x.synapses.size() == y.synapses.size());
    for (std::size_t i = 0; i < x.synapses.size(); ++i) {
        REQUIRE(x.synapses[i].size() == y.synapses[i].size());
        for (std::size_t k = 0; k < x.synapses[i].size(); ++k) CHECK(x.synapses[i][k].target == y.synapses[i][k].target);
    }
}

// What a loader's error says is also in its fields, for programs (and Python) to read.
TEST_CASE("a scenario error carries its file, line, column and key") {
    const fs::path bad = SPIKENN_SOURCE_DIR "/scenarios/invalid/heads_not_divisible.yaml";
    try {
        load_scenario(bad);
        FAIL("loaded");
    }
    catch (const InputError& e) {
        CHECK(e.file() == bad.string());
        CHECK(e.line() == 5);
        CHECK(e.column() == 16);
        CHECK(e.key() == "neurons[0].num_heads");
        CHECK(e.problem() == "embed_dim 18 is not divisible by num_heads 4");
        CHECK(std::string(e.what()) == fmt::format("{}:5:16: neurons[0].num_heads: embed_dim 18 is not divisible by num_heads 4", bad.string()));
    }
}

// step(), run_until() and run() are one run, however it is driven.
TEST_CASE("stepping, running in stages and running at once give the same run") {
    Simulation whole(demo_builder().build(), until_3s());
    whole.run();

    Simulation staged(demo_builder().build(), until_3s());
    CHECK(staged.run_until(Time::from_ms(400)) == StopReason::end_time);
    CHECK(staged.now() == Time::from_ms(400));
    CHECK(!staged.finished());
    for (int i = 0; i < 50; ++i) REQUIRE(staged.step());
    staged.run();
    CHECK(staged.finished());
    CHECK(staged.fingerprint() == whole.fingerprint());
    CHECK(staged.events_processed() == whole.events_processed());
    CHECK(staged.now() == Time::from_ms(3000));
}

// A checkpoint taken part-way and loaded into a new simulation continues the same run; the
// in-memory recorders then see the events after it.
TEST_CASE("a checkpoint continues the run in another simulation") {
    Simulation whole(demo_builder().build(), until_3s());
    const auto& all = whole.add_recorder(std::make_unique<SpikeRecorder>()).spikes();
    whole.run();

    Simulation first(demo_builder().build(), until_3s());
    first.run_until(Time::from_ms(700));
    const std::uint64_t done = first.events_processed();
    const auto bytes = first.checkpoint();

    Simulation second(demo_builder().build(), until_3s());
    const auto& later = second.add_recorder(std::make_unique<SpikeRecorder>()).spikes();
    second.load_checkpoint(bytes, "mem.ckpt");
    REQUIRE(second.loaded_checkpoint());
    CHECK(second.loaded_checkpoint()->events == done);
    CHECK(second.events_processed() == done);
    second.run();
    CHECK(second.fingerprint() == whole.fingerprint());
    std::size_t before = 0;
    while (before < all.size() && all[before].time <= Time::from_ms(700)) ++before;
    REQUIRE(later.size() == all.size() - before);
    for (std::size_t i = 0; i < later.size(); ++i) {
        CHECK(later[i].time == all[before + i].time);
        CHECK(later[i].neuron == all[before + i].neuron);
    }
}

// A checkpoint whose parts disagree is refused after the simulator's part was read: the
// simulation goes back to where it was, and runs on as if nothing had been tried.
TEST_CASE("a refused checkpoint leaves the simulation as it was") {
    Simulation reference(demo_builder().build(), until_3s());
    reference.run();

    Simulation a(demo_builder().build(), until_3s());
    const auto forged = counts_of_another_time(a);

    Simulation b(demo_builder().build(), until_3s());
    b.run_until(Time::from_ms(200));
    const auto state_before = b.checkpoint();
    try {
        b.load_checkpoint(forged, "forged.ckpt");
        FAIL("loaded");
    }
    catch (const DamagedFileError& e) {
        CHECK(e.path() == "forged.ckpt");
        CHECK(std::string(e.what()).find("the counts say") != std::string::npos);
    }
    CHECK(b.now() == Time::from_ms(200));
    CHECK(b.checkpoint() == state_before);
    b.run();
    CHECK(b.fingerprint() == reference.fingerprint());

    // A checkpoint of another source is refused before anything is read.
    SimulationOptions other = until_3s();
    other.source_hash = 42;
    Simulation c(demo_builder().build(), other);
    CHECK_THROWS_AS(c.load_checkpoint(forged, "forged.ckpt"), InputError);
}

// The output files are a recorder: what they list is what the in-memory recorders keep.
TEST_CASE("the output files and the in-memory recorders record the same spikes and potentials") {
    const fs::path dir = fs::temp_directory_path() / "spikenn_test_library_outputs";
    fs::remove_all(dir);
    fs::create_directories(dir);
    Network net = demo_builder().build();
    Simulation sim(std::move(net), until_3s());
    OutputSettings settings;
    settings.record.potentials = {0, 5};
    settings.record.outputs = true;
    settings.scenario_name = "in code";
    auto& files = sim.add_recorder(std::make_unique<OutputFiles>(dir, sim.network(), settings));
    const auto& spikes = sim.add_recorder(std::make_unique<SpikeRecorder>()).spikes();
    const auto& potentials = sim.add_recorder(std::make_unique<PotentialRecorder>(std::vector<EntityId>{5, 0})).potentials();
    const auto& outputs = sim.add_recorder(std::make_unique<SpikeOutputRecorder>()).outputs();
    sim.run();
    CHECK(files.file_names() == std::vector<std::string>{"spikes.csv", "potentials.csv", "outputs.safetensors", "summary.json"});

    std::ifstream csv(dir / "spikes.csv");
    std::string line;
    std::getline(csv, line); // the header
    std::size_t n = 0;
    while (std::getline(csv, line)) {
        REQUIRE(n < spikes.size());
        CHECK(line.starts_with(fmt::format("{},", spikes[n].time.ticks())));
        CHECK(line.find(fmt::format(",{},{},", spikes[n].neuron, sim.network().names[spikes[n].neuron])) != std::string::npos);
        ++n;
    }
    CHECK(n == spikes.size());
    CHECK(outputs.size() == spikes.size());
    for (const auto& o: outputs) CHECK(o.output.rows == 10);

    std::ifstream pcsv(dir / "potentials.csv");
    std::getline(pcsv, line);
    n = 0;
    while (std::getline(pcsv, line)) {
        REQUIRE(n < potentials.size());
        CHECK(line.starts_with(fmt::format("{},{},", potentials[n].event, potentials[n].time.ticks())));
        ++n;
    }
    CHECK(n == potentials.size());
    CHECK(n > 0);
    fs::remove_all(dir);
}

// What the Simulation refuses to run.
TEST_CASE("a simulation refuses an endless schedule with no end, and a network without weights") {
    NetworkBuilder b(1);
    NeuronParams p;
    p.shape = {8, 2, 16};
    b.add_neuron("a", p);
    b.add_stimulus("s", "a", Schedule::every(Time::from_ms(1)), StimulusTensor::constant(2, 0.1f));
    CHECK(!b.ends());
    CHECK_THROWS_WITH_AS(Simulation(b.build()), doctest::Contains("this schedule never ends"), InputError);

    NetworkBuilder none(1, {1, WeightsMode::none});
    none.add_neuron("a", p);
    CHECK_THROWS_WITH_AS(Simulation(none.build()), doctest::Contains("has no weights"), InputError);
}

// Regression (review): after run() the log had its footer, yet step() and checkpoint() went
// on, and an abandoned log's writer waited for ever once its queue filled.
TEST_CASE("a finished or failed simulation takes no more steps until a checkpoint is loaded") {
    Simulation sim(demo_builder().build(), until_3s());
    sim.run_until(Time::from_ms(300));
    const auto at_300 = sim.checkpoint();
    sim.run();
    CHECK(sim.finished());
    CHECK_THROWS_WITH_AS(sim.step(), doctest::Contains("the simulation has finished"), InputError);
    CHECK_THROWS_AS(sim.run(), InputError);
    CHECK_THROWS_AS(sim.run_until(Time::from_ms(4000)), InputError);
    CHECK_THROWS_AS(sim.checkpoint(), InputError);
    const std::uint64_t whole = sim.fingerprint();
    // A checkpoint takes it back into the run, which ends as before.
    sim.load_checkpoint(at_300, "at_300");
    CHECK(!sim.finished());
    sim.run();
    CHECK(sim.fingerprint() == whole);

    // A failed event: a NaN in LayerNorm2's bias.
    NeuronParams p;
    p.shape = {8, 2, 16};
    NetworkBuilder b(1);
    auto w = std::make_shared<BlockWeights>(BlockWeights::random(p.shape, 1, 9));
    (*w)[Param::norm2_bias][3] = std::numeric_limits<float>::quiet_NaN();
    WeightsSpec given;
    given.given = w;
    b.add_neuron("a", p, given);
    b.add_stimulus("s", "a", Schedule::times({Time::from_ms(1), Time::from_ms(2)}), StimulusTensor::constant(2, 0.5f));
    Simulation failing(b.build());
    CHECK_THROWS_AS(failing.run(), SimulationError);
    CHECK_THROWS_WITH_AS(failing.step(), doctest::Contains("failed at an event"), InputError);
}

// Regression (review): only the source was checked, so a checkpoint of another seed loaded
// into a network of the same description; a refused one left the log recorder's fingerprint
// changed.
TEST_CASE("a checkpoint of another seed or other limits is refused, and a refused one changes no recorder") {
    Simulation a(demo_builder().build(), until_3s());
    a.run_until(Time::from_ms(500));
    const auto bytes = a.checkpoint();

    SimulationOptions longer = until_3s();
    longer.until = Time::from_ms(4000);
    Simulation b(demo_builder().build(), longer);
    CHECK_THROWS_WITH_AS(b.load_checkpoint(bytes, "a.ckpt"), doctest::Contains("not of this one"), InputError);

    // Another seed is another description too.
    NetworkBuilder reseeded(8);
    NeuronParams p;
    p.shape = {64, 4, 256};
    reseeded.add_neuron("x", p);
    Simulation c(reseeded.build(), until_3s());
    CHECK_THROWS_AS(c.load_checkpoint(bytes, "a.ckpt"), InputError);

    // With a log: a checkpoint whose counts disagree is refused after the log's part was
    // read, and the recorder keeps no trace of it.
    const fs::path dir = fs::temp_directory_path() / "spikenn_test_library_log";
    fs::remove_all(dir);
    fs::create_directories(dir);
    Simulation logged(demo_builder().build(), until_3s());
    logged.add_recorder(std::make_unique<EventLogRecorder>(dir / "a.evlog", LogHeader{}));
    const auto forged = counts_of_another_time(logged);
    Simulation fresh(demo_builder().build(), until_3s());
    auto& log = fresh.add_recorder(std::make_unique<EventLogRecorder>(dir / "a.evlog", LogHeader{}));
    CHECK_THROWS_AS(fresh.load_checkpoint(forged, "forged"), DamagedFileError);
    CHECK(log.fingerprint().events() == 0);
    CHECK(fresh.fingerprint() == Simulation(demo_builder().build(), until_3s()).fingerprint());
    fs::remove_all(dir);
}

// Regression (review): given weights were checked for their shape only, and a Network's
// public fields were trusted, so a hand-made network could make the block read out of bounds.
TEST_CASE("weights given in code and networks set by hand are checked") {
    NeuronParams p;
    p.shape = {8, 2, 16};
    auto w = std::make_shared<BlockWeights>(BlockWeights::random(p.shape, 1, 9));
    (*w)[Param::query_weight].pop_back();
    WeightsSpec given;
    given.given = w;
    NetworkBuilder b(1);
    CHECK(build_error([&] { b.add_neuron("a", p, given); }).problem().find("values for") != std::string::npos);

    NetworkBuilder ok(1);
    ok.add_neuron("a", p);
    ok.add_neuron("b", p);
    Network net = ok.build();
    net.synapses[0].push_back({7, Time::from_ticks(1), 1.0f});
    CHECK_THROWS_WITH_AS(Simulation(std::move(net)), doctest::Contains("does not exist"), InputError);
    Network short_names = [&] {
        NetworkBuilder c(1);
        c.add_neuron("a", p);
        return c.build();
    }();
    short_names.names.clear();
    CHECK_THROWS_WITH_AS(Simulation(std::move(short_names)), doctest::Contains("names"), InputError);
}

namespace {

// A recorder of a program's own that keeps state across checkpoints: spikes per neuron.
class SpikeCounts final: public Recorder {
public:
    void record(const RecordedEvent& e) override {
        if (e.event.result.outcome == Outcome::delivered) ++counts_[e.event.event.key.target];
    }
    CheckpointSection section() const override { return CheckpointSection::named; }
    std::string section_name() const override { return "spike_counts"; }
    void save_state(StateWriter& out) override {
        out.put<std::uint64_t>(counts_.size());
        for (auto [id, n]: counts_) {
            out.put(id);
            out.put(n);
        }
    }
    void load_state(StateReader& in, std::uint32_t) override {
        std::map<EntityId, std::uint64_t> c;
        for (std::uint64_t i = 0, n = in.get_count(12); i < n; ++i) {
            const auto id = in.get<EntityId>();
            c[id] = in.get<std::uint64_t>();
        }
        staged_ = std::move(c);
    }
    void commit_state() override { counts_ = std::move(*staged_); }
    void discard_state() override { staged_.reset(); }
    const std::map<EntityId, std::uint64_t>& counts() const { return counts_; }

private:
    std::map<EntityId, std::uint64_t> counts_;
    std::optional<std::map<EntityId, std::uint64_t>> staged_;
};

} // namespace

// A program's own recorder saves its state in a named section (format version 3); without
// such recorders a checkpoint stays version 2, byte for byte as before.
TEST_CASE("a recorder of a program's own keeps its state across a checkpoint") {
    Simulation whole(demo_builder().build(), until_3s());
    const auto& all = whole.add_recorder(std::make_unique<SpikeCounts>()).counts();
    whole.run();

    Simulation first(demo_builder().build(), until_3s());
    first.add_recorder(std::make_unique<SpikeCounts>());
    first.run_until(Time::from_ms(800));
    const auto bytes = first.checkpoint();
    CHECK(parse_checkpoint(bytes, "a").version == checkpoint_version);
    CHECK(CheckpointBody::decode(parse_checkpoint(bytes, "a"), "a").named.at(0).name == "spike_counts");

    Simulation second(demo_builder().build(), until_3s());
    const auto& counts = second.add_recorder(std::make_unique<SpikeCounts>()).counts();
    second.load_checkpoint(bytes, "a");
    second.run();
    CHECK(counts == all);
    CHECK(second.fingerprint() == whole.fingerprint());

    // A simulation without that recorder refuses to resume from it, and one with it refuses
    // a checkpoint without its section; inspecting takes the state either way.
    Simulation without(demo_builder().build(), until_3s());
    CHECK_THROWS_WITH_AS(without.load_checkpoint(parse_checkpoint(bytes, "a"), "a"), doctest::Contains("does not have"), InputError);
    without.load_checkpoint(parse_checkpoint(bytes, "a"), "a", CheckpointUse::inspect);
    Simulation plain(demo_builder().build(), until_3s());
    plain.run_until(Time::from_ms(800));
    const auto plain_bytes = plain.checkpoint();
    CHECK(parse_checkpoint(plain_bytes, "p").version == checkpoint_version);
    Simulation with(demo_builder().build(), until_3s());
    with.add_recorder(std::make_unique<SpikeCounts>());
    CHECK_THROWS_WITH_AS(with.load_checkpoint(plain_bytes, "p"), doctest::Contains("no section 'spike_counts'"), InputError);
    CHECK_THROWS_AS(with.add_recorder(std::make_unique<SpikeCounts>()), InputError); // one per name
}
