// Inputs that matter: efficacies, independent draws, Poisson timing, and the record of the
// stimuli a run delivered.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "cli_util.hpp"
#include <spikenn/in_memory.hpp>
#include <spikenn/network_builder.hpp>
#include <spikenn/scenario.hpp>
#include <spikenn/simulation.hpp>
#include <spikenn/tensor_io.hpp>

using namespace spikenn;
using test::run_cli;
using test::scratch;

namespace {

NeuronParams small(double threshold = 1e9) {
    NeuronParams p;
    p.shape = {8, 2, 16};
    p.threshold = threshold;
    p.refractory_period = Time::from_ms(1);
    p.decay = {DecayKind::linear, 0.0, Time::zero()};
    return p;
}

// Per-element LayerNorm2 weights would make the readout depend on the input; a fill of the
// bias alone keeps it equal to the bias (the seed's semantics), so these tests can tell an
// efficacy from a change of input.
WeightsSpec bias_of(float b) {
    WeightsSpec w;
    w.norm2.bias = b;
    return w;
}

// The potential of each neuron after each of its inputs.
std::vector<PotentialRecord> potentials(Network net, Time until) {
    Simulation sim(std::move(net), {until});
    const auto& rec = sim.add_recorder(std::make_unique<PotentialRecorder>()).potentials();
    sim.run();
    return rec;
}

// Every input event a run processed: (time, target, source, seq).
std::vector<EventKey> inputs(Network net, Time until, unsigned threads = 1) {
    struct Inputs final: Recorder {
        std::vector<EventKey> keys;
        void record(const RecordedEvent& e) override {
            if (e.event.event.key.kind == EventKind::input) keys.push_back(e.event.event.key);
        }
    };
    Simulation sim(std::move(net), {until, UINT64_MAX, threads});
    const auto& rec = sim.add_recorder(std::make_unique<Inputs>());
    sim.run();
    return rec.keys;
}

} // namespace

// A connection's efficacy scales the potential change its deliveries cause, exactly; its
// weight scales the delivered tensor, which the LayerNorms normalise away.
TEST_CASE("a connection's efficacy scales the potential change, its weight does not") {
    auto build = [](float weight, float efficacy) {
        NetworkBuilder b(3);
        NeuronParams src = small(0.0); // spikes at its first input
        b.add_neuron("a", src, bias_of(0.25f));
        b.add_neuron("b", small(), bias_of(0.25f));
        Connection c{Time::from_ms(2), weight, efficacy};
        b.connect("a", "b", Pattern::all_to_all, c);
        b.add_stimulus("drive", "a", Schedule::times({Time::from_ms(1)}), StimulusTensor::random_normal(4, 1.0f));
        return b.build();
    };
    auto potential_of_b = [](const std::vector<PotentialRecord>& ps) {
        for (const auto& p: ps)
            if (p.neuron == 1 && p.time == Time::from_ms(3)) return p.potential;
        FAIL("b received nothing");
        return 0.0;
    };
    const double base = potential_of_b(potentials(build(1.0f, 1.0f), Time::from_ms(10)));
    CHECK(base == doctest::Approx(0.25).epsilon(1e-6));
    CHECK(potential_of_b(potentials(build(1.0f, 0.5f), Time::from_ms(10))) == 0.5 * base);
    CHECK(potential_of_b(potentials(build(1.0f, -2.0f), Time::from_ms(10))) == -2.0 * base);
    // The weight changes the tensor, and LayerNorm2's mean is its bias whatever the tensor.
    CHECK(potential_of_b(potentials(build(0.001f, 1.0f), Time::from_ms(10))) == base);
}

// A stimulus's efficacy does the same for its inputs.
TEST_CASE("a stimulus's efficacy scales the potential change of each of its inputs") {
    auto build = [](float efficacy) {
        NetworkBuilder b(3);
        b.add_neuron("a", small(), bias_of(0.25f));
        b.add_stimulus("drive", "a", Schedule::times({Time::from_ms(1), Time::from_ms(2)}), StimulusTensor::constant(2, 0.5f), {efficacy, false});
        return b.build();
    };
    const auto one = potentials(build(1.0f), Time::from_ms(5));
    const auto third = potentials(build(0.75f), Time::from_ms(5));
    REQUIRE(one.size() == third.size());
    for (std::size_t i = 0; i < one.size(); ++i) CHECK(third[i].potential == doctest::Approx(0.75 * one[i].potential).epsilon(1e-12));
    CHECK(one.back().potential == doctest::Approx(0.5).epsilon(1e-6));
}

// An independent stimulus draws each target's tensor from a stream keyed by the target's
// name: the targets differ, and adding a target changes no other's draws.
TEST_CASE("independent draws differ between targets and do not move when a target is added") {
    auto build = [](std::size_t size, bool independent) {
        NetworkBuilder b(11);
        b.add_population("p", size, small());
        b.add_stimulus("drive", "p", Schedule::every(Time::from_ms(1), {}, Time::from_ms(3)), StimulusTensor::random_normal(3, 1.0f),
            {1.0f, independent});
        return b.build();
    };
    const Network three = build(3, true), four = build(4, true), shared = build(3, false);
    for (std::uint64_t k = 0; k < 3; ++k) {
        CHECK(three.stimulus_tensor(0, k, 0).data != three.stimulus_tensor(0, k, 1).data);
        CHECK(three.stimulus_tensor(0, k, 1).data != three.stimulus_tensor(0, k, 2).data);
        for (EntityId t = 0; t < 3; ++t) CHECK(four.stimulus_tensor(0, k, t).data == three.stimulus_tensor(0, k, t).data);
        CHECK(shared.stimulus_tensor(0, k, 0).data == shared.stimulus_tensor(0, k, 2).data);
    }
    CHECK(three.stimulus_tensor(0, 0, 0).data != three.stimulus_tensor(0, 1, 0).data);
}

// Poisson times: the count in a long window and the gaps follow the rate. With rate r over
// T seconds the count is Poisson(rT): 10,000 expected here, standard deviation 100, and
// the tolerance is 5 of them. The gaps' mean is 1/r within 5 standard errors (1/(r sqrt n))
// and their coefficient of variation is 1 within 5 standard errors (about 1/sqrt n).
TEST_CASE("Poisson times follow the rate") {
    Stimulus st;
    st.name = "noise";
    st.rate = 1000; // per second
    st.from = Time::from_ms(100);
    st.until = Time::from_ms(10100);
    std::vector<Time> t;
    for (std::uint64_t k = 0;; ++k) {
        const auto at = st.occurrence_time(k, 5);
        if (!at) break;
        t.push_back(*at);
    }
    const double n = static_cast<double>(t.size());
    CHECK(std::abs(n - 10000) < 5 * 100);
    CHECK(t.front() >= st.from);
    CHECK(t.back() < st.until);
    CHECK(std::is_sorted(t.begin(), t.end()));
    std::vector<double> gaps;
    for (std::size_t i = 1; i < t.size(); ++i) gaps.push_back((t[i] - t[i - 1]).seconds());
    double mean = 0, var = 0;
    for (double g: gaps) mean += g;
    mean /= static_cast<double>(gaps.size());
    for (double g: gaps) var += (g - mean) * (g - mean);
    var /= static_cast<double>(gaps.size() - 1);
    const double se = 1.0 / std::sqrt(static_cast<double>(gaps.size()));
    CHECK(std::abs(mean - 1e-3) < 5 * 1e-3 * se);
    CHECK(std::abs(std::sqrt(var) / mean - 1.0) < 5 * se);
    // Another seed, other times; the same seed, the same times.
    CHECK(st.occurrence_time(0, 6) != st.occurrence_time(0, 5));
    CHECK(st.occurrence_time(17, 5) == t[17]);
}

// A Poisson stimulus in a run: one event per occurrence and target, at the times the stream
// gives; independent, each target its own times, unchanged when a target is added.
TEST_CASE("Poisson stimuli drive a run at their times, per target when independent") {
    auto build = [](std::size_t size, bool independent) {
        NetworkBuilder b(21);
        b.add_population("p", size, small());
        b.add_stimulus("noise", "p", Schedule::poisson(200, Time::from_ms(5), Time::from_ms(205)), StimulusTensor::random_normal(2, 1.0f),
            {1.0f, independent});
        return b.build();
    };
    auto by_target = [](const std::vector<EventKey>& keys) {
        std::map<EntityId, std::vector<Time>> m;
        for (const auto& k: keys) m[k.target].push_back(k.time);
        return m;
    };
    const Network reference = build(3, false);
    const auto shared = by_target(inputs(build(3, false), Time::max()));
    REQUIRE(shared.size() == 3);
    CHECK(shared.at(0) == shared.at(2));
    for (std::size_t k = 0; k < shared.at(0).size(); ++k) CHECK(shared.at(0)[k] == *reference.stimuli[0].occurrence_time(k, 21));
    // 200/s over 0.2 s: 40 expected, standard deviation about 6.3.
    CHECK(std::abs(static_cast<double>(shared.at(0).size()) - 40) < 5 * 6.33);

    const auto three = by_target(inputs(build(3, true), Time::max()));
    const auto four = by_target(inputs(build(4, true), Time::max()));
    CHECK(three.at(0) != three.at(1));
    for (EntityId t = 0; t < 3; ++t) CHECK(four.at(t) == three.at(t));
    // And on two threads, the same events.
    CHECK(inputs(build(4, true), Time::max(), 2) == inputs(build(4, true), Time::max(), 1));
}

// A run with Poisson and independent stimuli resumed from a checkpoint taken part-way gives
// the uninterrupted run's fingerprint (the Poisson times are recomputed from the state).
TEST_CASE("a run with Poisson and independent stimuli resumes from a checkpoint") {
    auto build = [] {
        NetworkBuilder b(8);
        b.add_population("p", 4, small(0.6));
        b.add_neuron("out", small(0.9), bias_of(0.3f));
        b.connect("p", "out", Pattern::all_to_all, {Time::from_ms(1), 1.0f, 0.5f});
        b.add_stimulus("noise", "p", Schedule::poisson(300, {}, Time::from_ms(400)), StimulusTensor::random_normal(2, 1.0f), {1.0f, true});
        b.add_stimulus("tick", "p", Schedule::every(Time::from_ms(7), {}, Time::from_ms(400)), StimulusTensor::random_normal(2, 1.0f), {0.2f, true});
        return b.build();
    };
    Simulation whole(build(), {Time::from_ms(500)});
    whole.run();
    Simulation first(build(), {Time::from_ms(500)});
    first.run_until(Time::from_ms(180));
    const auto bytes = first.checkpoint();
    Simulation second(build(), {Time::from_ms(500)});
    second.load_checkpoint(bytes, "mid");
    second.run();
    CHECK(second.fingerprint() == whole.fingerprint());
    CHECK(second.counts().events == whole.counts().events);
}

// The builder refuses what would not mean anything.
TEST_CASE("the builder refuses bad efficacies, rates and independent stimuli that cannot differ") {
    NetworkBuilder b(1);
    b.add_population("p", 2, small());
    const float inf = std::numeric_limits<float>::infinity();
    CHECK_THROWS_WITH_AS(b.connect("p", "p", Pattern::all_to_all, {Time::from_ms(1), 1.0f, inf}), doctest::Contains("expected a finite number"), BuildError);
    CHECK_THROWS_WITH_AS(b.add_stimulus("s", "p", Schedule::poisson(-1, {}, Time::from_ms(1)), StimulusTensor::constant(1, 1.0f)),
        doctest::Contains("is not a rate above 0"), BuildError);
    CHECK_THROWS_WITH_AS(b.add_stimulus("s", "p", Schedule::poisson(2e9, {}, Time::from_ms(1)), StimulusTensor::constant(1, 1.0f)),
        doctest::Contains("at most one per tick"), BuildError);
    CHECK_THROWS_WITH_AS(b.add_stimulus("s", "p", Schedule::times({Time::zero()}), StimulusTensor::constant(1, 1.0f), {1.0f, true}),
        doctest::Contains("would give each the same"), BuildError);
    CHECK_THROWS_WITH_AS(b.add_stimulus("s", "p", Schedule::times({Time::zero()}), StimulusTensor::constant(1, 1.0f), {inf, false}),
        doctest::Contains("expected a finite number"), BuildError);
    // Independent constant tensors at Poisson times are fine: the times differ.
    b.add_stimulus("s", "p", Schedule::poisson(5, {}, Time::from_ms(1)), StimulusTensor::constant(1, 1.0f), {1.0f, true});
    CHECK(!b.build().stimuli.empty());
}

// record.stimuli: every stimulus input the run processed is in stimuli.safetensors, with its
// stimulus, target and time, and the tensor the target received; a resumed run writes the
// same file.
TEST_CASE("record.stimuli writes every delivered stimulus tensor") {
    const fs::path dir = scratch / "record_stimuli";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string text = R"(run: { seed: 4, until: 300ms }
record: { stimuli: true, outputs: false }
neurons:
  - { population: p, size: 3, embed_dim: 8, num_heads: 2, hidden_dim: 16, threshold: 0.5, refractory_period: 20ms }
stimuli:
  - { name: noise, to: p, rate: 50/s, until: 250ms, independent: true, tensor: { random: { seq_len: 2 } } }
  - { name: beat, to: "p[1]", every: 100ms, efficacy: 0.5, tensor: { constant: { seq_len: 2, value: 0.3 } } }
)";
    std::ofstream(dir / "s.yaml") << text;
    REQUIRE(run_cli(fmt::format("run '{}' --out '{}' -q", (dir / "s.yaml").string(), (dir / "a").string())).code == 0);
    const SafetensorsFile f(dir / "a" / "stimuli.safetensors");
    Scenario sc = load_scenario(dir / "s.yaml");
    const auto keys = inputs(load_scenario(dir / "s.yaml").network, sc.end);
    REQUIRE(!keys.empty());
    CHECK(f.entries().size() == keys.size());
    std::size_t i = 0;
    for (const auto& k: keys) {
        const std::string name = fmt::format("stimulus.{:09}", i++);
        REQUIRE(f.contains(name));
        const Stimulus& st = sc.network.stimuli.at(external_index(k.source));
        CHECK(f.metadata().at(name + ".stimulus") == st.name);
        CHECK(f.metadata().at(name + ".target") == sc.network.names[k.target]);
        CHECK(f.metadata().at(name + ".time_ticks") == std::to_string(k.time.ticks()));
        CHECK(f.get_f32(name, {2, 8}) == sc.network.stimulus_tensor(external_index(k.source), k.seq, k.target).data);
    }
    // Interrupted by a checkpoint and resumed: the same file.
    REQUIRE(run_cli(fmt::format("run '{}' --out '{}' --checkpoint-every 100ms -q", (dir / "s.yaml").string(), (dir / "b").string())).code == 0);
    const fs::path ck = dir / "b" / "checkpoints" / "checkpoint-0000000000100000000.ckpt";
    REQUIRE(fs::exists(ck));
    REQUIRE(run_cli(fmt::format("run '{}' --out '{}' --resume '{}' -q", (dir / "s.yaml").string(), (dir / "b").string(), ck.string())).code == 0);
    CHECK(test::slurp(dir / "b" / "stimuli.safetensors") == test::slurp(dir / "a" / "stimuli.safetensors"));
}

// The demo's spikes depend on what it is given: another efficacy on one connection entry,
// or another std of the drive, moves spikes; the same text gives the same spikes.
TEST_CASE("the demo's spikes change with an efficacy and with the stimulus's std") {
    const std::string text = test::slurp(SPIKENN_SOURCE_DIR "/scenarios/demo.yaml");
    auto spikes_of = [&](const std::string& from, const std::string& to) {
        std::string t = text;
        if (!from.empty()) {
            const auto at = t.find(from);
            REQUIRE(at != std::string::npos);
            t.replace(at, from.size(), to);
        }
        Scenario sc = load_scenario_text("demo.yaml", t);
        Simulation sim(std::move(sc.network), sc.simulation_options(1));
        std::vector<std::pair<std::int64_t, EntityId>> s;
        const auto& rec = sim.add_recorder(std::make_unique<SpikeRecorder>()).spikes();
        sim.run();
        for (const auto& r: rec) s.emplace_back(r.time.ticks(), r.neuron);
        return s;
    };
    const auto base = spikes_of("", "");
    REQUIRE(base.size() > 20);
    CHECK(spikes_of("", "") == base);
    // The connection from the input layer to the hidden layer only (the first efficacy).
    CHECK(spikes_of("efficacy: 0.7", "efficacy: 0.6") != base);
    // The Poisson drive's tensors (std 1 by default), nothing else.
    CHECK(spikes_of("tensor: { random: { seq_len: 10 } }", "tensor: { random: { seq_len: 10, std: 1.5 } }") != base);
}

// Regression: an independent stimulus's stream for a target was named by joining the names
// ("stimulus:a>b"), which another stimulus named "a>b" also had: the two drew the same
// tensors. The stream is now the pair of the two entities' hashes.
TEST_CASE("no two stimulus and target pairs share a stream") {
    NetworkBuilder b(2);
    b.add_neuron("b", small());
    b.add_neuron("c", small());
    b.add_stimulus("a", b.select({"b", "c"}), Schedule::times({Time::from_ms(1)}), StimulusTensor::random_normal(2, 1.0f), {1.0f, true});
    b.add_stimulus("a>b", "c", Schedule::times({Time::from_ms(2)}), StimulusTensor::random_normal(2, 1.0f), {1.0f, true});
    const Network net = b.build();
    CHECK(net.stimulus_tensor(0, 0, 0).data != net.stimulus_tensor(1, 0, 1).data);
    CHECK(net.stimulus_tensor(0, 0, 0).data != net.stimulus_tensor(0, 0, 1).data);
}

// The memory estimate counts an independent stimulus's tensor once per target.
TEST_CASE("the memory estimate counts an independent stimulus's tensors per target") {
    auto text = [](bool independent) {
        return fmt::format(R"(run: {{ until: 1s, memory_limit: 24MiB }}
neurons:
  - {{ population: p, size: 500, embed_dim: 8, num_heads: 2, hidden_dim: 16 }}
stimuli:
  - {{ name: s, to: p, every: 10ms, independent: {}, tensor: {{ random: {{ seq_len: 1000 }} }} }}
)",
            independent);
    };
    CHECK_NOTHROW(load_scenario_text("shared.yaml", text(false)));
    CHECK_THROWS_WITH_AS(load_scenario_text("independent.yaml", text(true)), doctest::Contains("more than its limit of 24.0 MiB"), InputError);
}

// Regression (review): inputs due at the last representable time made the batcher's search
// for the next weights group of that time stay where it was, and the run never ended; and a
// potential left below 0 there scheduled its decay update a tick past the last time, which
// wrapped around. Two neurons with weights of their own give two groups at that time.
TEST_CASE("inputs at the last representable time are handled, batched or not") {
    for (const bool batch: {true, false}) {
        CAPTURE(batch);
        NetworkBuilder b(3);
        b.add_neuron("a", small());
        b.add_neuron("b", small());
        b.add_stimulus("last", "all", Schedule::times({Time::max()}), StimulusTensor::random_normal(2, 1.0f));
        SimulationOptions o;
        o.batch = batch;
        Simulation sim(b.build(), o);
        const auto& rec = sim.add_recorder(std::make_unique<PotentialRecorder>()).potentials();
        sim.run();
        CHECK(rec.size() == 2);
        CHECK(sim.simulator().now() == Time::max());
    }
}
