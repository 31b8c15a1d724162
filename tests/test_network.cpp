#include <doctest/doctest.h>

#include <limits>
#include <map>

#include <spikenn/rng.hpp>
#include <spikenn/network.hpp>
#include <spikenn/network_builder.hpp>
#include "block_batcher.hpp"

using namespace spikenn;

namespace {

NeuronParams params(double threshold = 1.0) {
    NeuronParams p;
    p.shape = {8, 2, 16};
    p.threshold = threshold;
    p.refractory_period = parse_time("10ms");
    p.decay = {DecayKind::linear, 1.0, Time::zero()};
    return p;
}

// Random weights whose mean readout is exactly `bias` per accepted input: LayerNorm2's
// output has mean equal to its bias when its weight is constant.
WeightsSpec bias_of(float bias) {
    WeightsSpec w;
    w.norm2.bias = bias;
    return w;
}

// A neuron as the builder makes it (seed 1), for the tests of the prefetcher.
TransformerNeuron neuron(const std::string& name, float bias, double threshold = 1.0) {
    NetworkBuilder b(1);
    b.add_neuron(name, params(threshold), bias_of(bias));
    return b.build().neurons[0];
}

std::vector<Time> times(std::initializer_list<const char*> ts) {
    std::vector<Time> v;
    for (auto t: ts) v.push_back(parse_time(t));
    return v;
}

// The stimulus every test uses: a constant 0.5 of 3 rows at the given times.
void constant_at(NetworkBuilder& b, const std::string& name, std::string_view to, std::initializer_list<const char*> at) {
    b.add_stimulus(name, to, Schedule::times(times(at)), StimulusTensor::constant(3, 0.5f));
}

struct Trace {
    std::vector<EventRecord> records;
    std::map<std::uint64_t, Tensor> carried; // event number -> tensor it carried
};

Trace run(Network& net, Time end = Time::max()) {
    Trace tr;
    Simulator sim(net);
    sim.set_limits({end, UINT64_MAX});
    sim.add_observer([&](const EventRecord& r, const Simulator& s) {
        tr.records.push_back(r);
        if (r.event.payload != no_payload) tr.carried[r.number] = s.payloads().get(r.event.payload);
    });
    sim.run();
    if (sim.queue().empty()) CHECK(sim.payloads().live() == 0); // every payload released once nothing is pending
    return tr;
}

std::vector<std::string> outcomes_of(const Trace& tr, EntityId id, EventKind kind) {
    std::vector<std::string> v;
    for (const auto& r: tr.records)
        if (r.event.key.target == id && r.event.key.kind == kind) v.emplace_back(to_string(r.result.outcome));
    return v;
}

} // namespace

// An input at the same time as a spike, after it in the order, falls in the refractory period;
// an input exactly when the period ends is accepted (refractory expiry runs first).
TEST_CASE("spike resets before later inputs at the same time; the period's end admits an input") {
    NetworkBuilder b(1);
    b.add_neuron("a", params(), bias_of(0.6f));
    constant_at(b, "s0", "a", {"1ms", "2ms", "22ms"});
    constant_at(b, "s1", "a", {"2ms", "12ms"});
    Network net = b.build();
    const Trace tr = run(net);
    // 1ms: 0.6; 2ms (s0): 0.6 - 0.001 + 0.6 >= 1, spike at 2ms; 2ms (s1): dropped;
    // 12ms: refractory over at exactly 12ms: accepted; 22ms: accepted, spikes again.
    CHECK(outcomes_of(tr, 0, EventKind::input) == std::vector<std::string>{"accumulated", "spiked", "dropped", "accumulated", "spiked"});
    std::vector<std::string> order;
    for (const auto& r: tr.records)
        if (r.event.key.time == parse_time("12ms")) order.emplace_back(to_string(r.event.key.kind));
    CHECK(order == std::vector<std::string>{"refractory_end", "input"});
    for (const auto& r: tr.records) {
        if (r.event.key.kind == EventKind::spike) {
            CHECK(r.result.potential == 0.0); // reset
            CHECK(r.event.cause > 0);         // caused by the crossing input
            CHECK(tr.records[r.event.cause - 1].result.outcome == Outcome::spiked);
        }
    }
}

// A spike's output FFN(x) reaches each target after its delay, scaled by the weight.
TEST_CASE("delivery along connections: delay, weight and cause") {
    NetworkBuilder b(1);
    b.add_neuron("src", params(), bias_of(1.5f));
    b.add_neuron("dst", params(100.0), bias_of(0.1f));
    b.connect("src", "dst", Pattern::all_to_all, {parse_time("3ms"), 0.5f});
    constant_at(b, "s", "src", {"1ms"});
    Network net = b.build();
    const Trace tr = run(net);
    const EventRecord* spike = nullptr;
    const EventRecord* delivered = nullptr;
    for (const auto& r: tr.records) {
        if (r.event.key.kind == EventKind::spike) spike = &r;
        if (r.event.key.kind == EventKind::input && r.event.key.target == 1) delivered = &r;
    }
    REQUIRE(spike);
    REQUIRE(delivered);
    CHECK(delivered->event.key.time == parse_time("4ms"));
    CHECK(delivered->event.key.source == 0);
    CHECK(delivered->event.cause == spike->number);
    Tensor x(3, 8);
    std::fill(x.data.begin(), x.data.end(), 0.5f);
    Tensor expect = feed_forward(*net.neurons[0].weights, x);
    for (auto& v: expect.data) v *= 0.5f;
    CHECK(tr.carried.at(delivered->number) == expect);
    CHECK(delivered->result.outcome == Outcome::accumulated);
}

// A decay update marks the first tick at which the potential is 0, and is cancelled when a
// later input moves that tick; neither changes any potential.
TEST_CASE("decay updates are scheduled, cancelled and rescheduled") {
    NetworkBuilder b(1);
    b.add_neuron("a", params(10.0), bias_of(0.3f));
    constant_at(b, "s", "a", {"0s", "100ms"});
    Network net = b.build();
    const Trace tr = run(net);
    // 0s: p = 0.3, zero at 300ms; 100ms: p = 0.2 + 0.3 = 0.5, zero at 600ms.
    CHECK(outcomes_of(tr, 0, EventKind::decay_update) == std::vector<std::string>{"cancelled", "decay_update"});
    const auto& last = tr.records.back();
    CHECK(last.event.key.kind == EventKind::decay_update);
    CHECK(last.event.key.time.ticks() == doctest::Approx(600'000'000).epsilon(1e-6)); // the readout is a float32
    CHECK(last.result.potential == 0.0);
}

// A schedule delivers at from, from + every, ... before until; lazily, one occurrence at a time.
TEST_CASE("scheduled stimuli and the end time") {
    NetworkBuilder b(1);
    b.add_neuron("a", params(10.0), bias_of(0.01f));
    b.add_neuron("b", params(10.0), bias_of(0.01f));
    b.add_stimulus("s", "all", Schedule::every(parse_time("10ms"), parse_time("5ms"), parse_time("1s")), StimulusTensor::constant(3, 0.5f));
    Network net = b.build();
    const Trace tr = run(net, parse_time("50ms"));
    std::vector<std::int64_t> times;
    for (const auto& r: tr.records)
        if (r.event.key.kind == EventKind::input && r.event.key.target == 1) times.push_back(r.event.key.time.ticks() / 1'000'000);
    CHECK(times == std::vector<std::int64_t>{5, 15, 25, 35, 45});
}

// Regression: only the readout was checked, and max() skips a NaN that is not first.
TEST_CASE("a NaN anywhere in the block's output stops the run") {
    NeuronParams p = params();
    p.readout = Readout::max;
    BlockWeights w = neuron("a", 0.1f).weights->unpack();
    w[Param::norm2_bias][5] = std::numeric_limits<float>::quiet_NaN();
    WeightsSpec given;
    given.given = std::make_shared<const BlockWeights>(std::move(w));
    NetworkBuilder b(1);
    b.add_neuron("a", p, given);
    constant_at(b, "s", "a", {"1ms"});
    Network net = b.build();
    Simulator sim(net);
    std::string message;
    try {
        sim.run();
    }
    catch (const SimulationError& e) {
        message = e.what();
        CHECK(e.event_number == 1);
    }
    CHECK(message.find("neuron a: the block's output is not finite") != std::string::npos);
    CHECK(message.find("at 1ms") != std::string::npos);
}

// Regression: t + delay could pass the largest time (undefined behaviour); such an event can
// never come due and is not scheduled.
TEST_CASE("deliveries beyond the last representable time are not scheduled") {
    NeuronParams forever = params();
    forever.refractory_period = Time::max();
    NetworkBuilder b(1);
    b.add_neuron("src", forever, bias_of(1.5f));
    b.add_neuron("dst", params(100.0), bias_of(0.1f));
    b.connect("src", "dst", Pattern::all_to_all, {Time::max(), 1.0f});
    constant_at(b, "s", "src", {"1ms"});
    Network net = b.build();
    const Trace tr = run(net);
    CHECK(outcomes_of(tr, 0, EventKind::spike) == std::vector<std::string>{"delivered"});
    CHECK(outcomes_of(tr, 1, EventKind::input).empty());
}

// Regression: a second simulator on the same network started from the state the first left.
TEST_CASE("a network runs the same twice") {
    NeuronParams p = params();
    p.reset_potential = 0.2;
    NetworkBuilder b(1);
    b.add_neuron("a", p, bias_of(0.6f));
    constant_at(b, "s", "a", {"1ms", "2ms", "30ms"});
    Network net = b.build();
    auto summary = [](const Trace& tr) {
        std::vector<std::tuple<std::int64_t, std::string, double>> v;
        for (const auto& r: tr.records) v.emplace_back(r.event.key.time.ticks(), std::string(to_string(r.result.outcome)), r.result.potential);
        return v;
    };
    const auto first = summary(run(net));
    CHECK(first.size() > 5);
    CHECK(summary(run(net)) == first);
}

// Saving and restoring the whole state is exact: restore an earlier state, run the same
// events again, and the state is byte for byte what the first run had there.
TEST_CASE("restoring a saved state and re-running reaches the same state") {
    NetworkBuilder b(1);
    b.add_neuron("a", params(), bias_of(0.6f));
    b.add_neuron("b", params(), bias_of(0.4f));
    b.connect("a", "b", Pattern::all_to_all, {parse_time("2ms"), 0.5f});
    b.connect("b", "a", Pattern::all_to_all, {parse_time("3ms"), 1.0f});
    constant_at(b, "s", "all", {"1ms", "4ms", "6ms", "9ms", "15ms", "40ms"});
    Network net = b.build();
    Simulator sim(net);
    sim.start();
    std::vector<std::vector<unsigned char>> states;
    auto save = [&] {
        StateWriter w;
        sim.save_state(w);
        return w.bytes();
    };
    states.push_back(save());
    while (sim.step()) states.push_back(save());
    REQUIRE(states.size() > 20);
    for (std::size_t from: {std::size_t{0}, std::size_t{5}, std::size_t{13}}) {
        CAPTURE(from);
        StateReader r(states[from]);
        sim.load_state(r);
        CHECK(save() == states[from]);
        for (std::size_t k = from + 1; k < states.size(); ++k) {
            REQUIRE(sim.step());
            CHECK(save() == states[k]);
        }
        CHECK(!sim.step());
    }
    // Bytes that are cut short are refused, and leave a clear error.
    std::vector<unsigned char> cut(states[5].begin(), states[5].begin() + static_cast<std::ptrdiff_t>(states[5].size() / 2));
    StateReader r(cut);
    CHECK_THROWS_AS(sim.load_state(r), StateError);
}

// The batcher computes the inputs due at one time to neurons with the same weights together,
// except those whose target is refractory then, and forms the other weights' batches of that
// time at the same moment; each input gets the result it would get alone; an input never
// registered is computed alone.
TEST_CASE("a batch gives each input its own result, and skips refractory targets") {
    std::vector<TransformerNeuron> ns = {neuron("a", 0.25f), neuron("b", 0.25f), neuron("c", 0.25f)};
    ns[1].weights = ns[0].weights; // a and b share weights; c has its own
    ns[2].weights = std::make_shared<const PackedBlock>(BlockWeights::random(ns[2].params.shape, 9, entity_id("other")));
    ns[1].state.last_spike = parse_time("4ms"); // b is refractory at 5ms (its period is 1s)
    PayloadStore payloads;
    std::vector<Event> events;
    for (EntityId target: {0u, 0u, 1u, 2u}) {
        Tensor x(3, 8);
        RandomStream rs(2, entity_id("x"), static_cast<std::uint32_t>(events.size()));
        for (auto& v: x.data) v = rs.normal();
        Event e;
        e.key = {parse_time("5ms"), EventKind::input, target, static_cast<EntityId>(10 + events.size()), 0};
        e.payload = payloads.add(std::move(x), 1);
        events.push_back(e);
    }
    BlockBatcher batcher(1, true);
    for (const Event& e: events) batcher.submit(e, ns);
    const BlockResult r0 = batcher.take(events[0], ns, payloads);
    // At the first need of 5ms, one batch of the two inputs to a (b is refractory), and one
    // of c's, which has other weights: both formed now.
    CHECK(batcher.stats().batches == 2);
    CHECK(batcher.stats().blocks == 3);
    CHECK(r0.readout == compute_block(ns[0], payloads.get(events[0].payload)).readout);
    const BlockResult r1 = batcher.take(events[1], ns, payloads);
    CHECK(r1.readout == compute_block(ns[0], payloads.get(events[1].payload)).readout);
    const BlockResult r3 = batcher.take(events[3], ns, payloads);
    CHECK(batcher.stats().batches == 2); // computed already
    CHECK(r3.readout == compute_block(ns[2], payloads.get(events[3].payload)).readout);
    batcher.drop(events[2].key, ns); // b's input: dropped, never computed
    CHECK(batcher.stats().blocks == 3);
    CHECK(batcher.stats().unused == 0);
    Event never = events[3];
    never.key.seq = 7;
    CHECK(batcher.take(never, ns, payloads).readout == r3.readout); // alone
    CHECK(batcher.stats().batches == 3);
}

// fixed_outdegree gives each source exactly that many distinct targets, never itself, drawn
// uniformly (every target about as often) and the same on every build; two sources draw
// different targets.
TEST_CASE("fixed_outdegree draws that many distinct targets per source") {
    auto build = [] {
        NetworkBuilder b(3, {.weights = WeightsMode::none});
        b.add_population("p", 400, params());
        b.connect("p", "p", Pattern::fixed_outdegree, {Time::from_ms(1)}, 25);
        return b.build();
    };
    const Network net = build();
    std::vector<int> in_degree(net.size());
    for (EntityId a = 0; a < net.size(); ++a) {
        const auto& out = net.synapses[a];
        REQUIRE(out.size() == 25);
        for (std::size_t k = 0; k < out.size(); ++k) {
            CHECK(out[k].target != a);
            if (k > 0) CHECK(out[k - 1].target < out[k].target); // sorted, so distinct
            ++in_degree[out[k].target];
        }
    }
    // In-degrees are binomial about 25 (standard deviation 5): none far off.
    CHECK(*std::min_element(in_degree.begin(), in_degree.end()) >= 5);
    CHECK(*std::max_element(in_degree.begin(), in_degree.end()) <= 50);
    CHECK(net.synapses[0][0].target != net.synapses[1][0].target);
    const Network again = build();
    for (EntityId a = 0; a < net.size(); ++a) {
        for (std::size_t k = 0; k < 25; ++k) CHECK(again.synapses[a][k].target == net.synapses[a][k].target);
    }
    NetworkBuilder small(3, {.weights = WeightsMode::none});
    small.add_population("q", 3, params());
    CHECK_THROWS_AS(small.connect("q", "q", Pattern::fixed_outdegree, {Time::from_ms(1)}, 3), BuildError);
    CHECK_THROWS_AS(small.connect("q", "q", Pattern::fixed_outdegree, {Time::from_ms(1)}, 1.5), BuildError);
}

// fixed_outdegree at its limit (every other target) draws them all, in as many draws as the
// degree; a refused call (neurons of two embed_dims) adds no synapse at all.
TEST_CASE("fixed_outdegree at every other target, and refused whole") {
    NetworkBuilder b(5, {.weights = WeightsMode::none});
    b.add_population("p", 300, params());
    b.connect("p", "p", Pattern::fixed_outdegree, {Time::from_ms(1)}, 299);
    const Network net = b.build();
    for (EntityId a = 0; a < net.size(); ++a) {
        REQUIRE(net.synapses[a].size() == 299);
        for (const Synapse& s: net.synapses[a]) CHECK(s.target != a);
    }
    NetworkBuilder mixed(5, {.weights = WeightsMode::none});
    mixed.add_population("q", 10, params());
    NeuronParams wide = params();
    wide.shape = {16, 2, 16};
    mixed.add_neuron("wide", wide);
    CHECK_THROWS_AS(mixed.connect("all", "all", Pattern::fixed_outdegree, {Time::from_ms(1)}, 3), BuildError);
    mixed.connect("q", "q", Pattern::one_to_one, {Time::from_ms(1)}); // the builder is usable after the refusal
    const Network m = mixed.build();
    for (EntityId a = 0; a < 10; ++a) CHECK(m.synapses[a].size() == 1);
    CHECK(m.synapses[10].empty());
}
