#include <doctest/doctest.h>

#include <limits>
#include <map>

#include <spikenn/rng.hpp>
#include <spikenn/network.hpp>
#include "prefetch.hpp"

using namespace spikenn;

namespace {

// A neuron whose mean readout is exactly `bias` per accepted input: LayerNorm2's output
// has mean equal to its bias when its weight is constant.
TransformerNeuron neuron(const std::string& name, float bias, double threshold = 1.0) {
    TransformerNeuron n;
    n.params.shape = {8, 2, 16};
    n.params.threshold = threshold;
    n.params.refractory_period = parse_time("10ms");
    n.params.decay = {DecayKind::linear, 1.0, Time::zero()};
    BlockWeights w = BlockWeights::random(n.params.shape, 1, entity_id("neuron:" + name));
    std::fill(w[Param::norm2_bias].begin(), w[Param::norm2_bias].end(), bias);
    n.weights = std::make_shared<const BlockWeights>(std::move(w));
    return n;
}

Stimulus constant_at(const std::string& name, std::vector<EntityId> to, std::vector<const char*> times) {
    Stimulus s;
    s.name = name;
    s.targets = std::move(to);
    for (auto t: times) s.at.push_back(parse_time(t));
    s.tensor.kind = StimulusTensor::Kind::constant;
    s.tensor.rows = 3;
    s.tensor.cols = 8;
    s.tensor.value = 0.5f;
    return s;
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
    Network net;
    net.names = {"a"};
    net.neurons = {neuron("a", 0.6f)};
    net.synapses.resize(1);
    net.stimuli = {constant_at("s0", {0}, {"1ms", "2ms", "22ms"}), constant_at("s1", {0}, {"2ms", "12ms"})};
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
    Network net;
    net.names = {"src", "dst"};
    net.neurons = {neuron("src", 1.5f), neuron("dst", 0.1f, 100.0)};
    net.synapses = {{{1, parse_time("3ms"), 0.5f}}, {}};
    net.stimuli = {constant_at("s", {0}, {"1ms"})};
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
    Network net;
    net.names = {"a"};
    net.neurons = {neuron("a", 0.3f, 10.0)};
    net.synapses.resize(1);
    net.stimuli = {constant_at("s", {0}, {"0s", "100ms"})};
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
    Network net;
    net.names = {"a", "b"};
    net.neurons = {neuron("a", 0.01f, 10.0), neuron("b", 0.01f, 10.0)};
    net.synapses.resize(2);
    Stimulus s = constant_at("s", {0, 1}, {});
    s.every = parse_time("10ms");
    s.from = parse_time("5ms");
    s.until = parse_time("1s");
    net.stimuli = {s};
    const Trace tr = run(net, parse_time("50ms"));
    std::vector<std::int64_t> times;
    for (const auto& r: tr.records)
        if (r.event.key.kind == EventKind::input && r.event.key.target == 1) times.push_back(r.event.key.time.ticks() / 1'000'000);
    CHECK(times == std::vector<std::int64_t>{5, 15, 25, 35, 45});
}

// Regression: only the readout was checked, and max() skips a NaN that is not first.
TEST_CASE("a NaN anywhere in the block's output stops the run") {
    Network net;
    net.names = {"a"};
    net.neurons = {neuron("a", 0.1f)};
    net.neurons[0].params.readout = Readout::max;
    BlockWeights w = *net.neurons[0].weights;
    w[Param::norm2_bias][5] = std::numeric_limits<float>::quiet_NaN();
    net.neurons[0].weights = std::make_shared<const BlockWeights>(std::move(w));
    net.synapses.resize(1);
    net.stimuli = {constant_at("s", {0}, {"1ms"})};
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
    Network net;
    net.names = {"src", "dst"};
    net.neurons = {neuron("src", 1.5f), neuron("dst", 0.1f, 100.0)};
    net.neurons[0].params.refractory_period = Time::max();
    net.synapses = {{{1, Time::max(), 1.0f}}, {}};
    net.stimuli = {constant_at("s", {0}, {"1ms"})};
    const Trace tr = run(net);
    CHECK(outcomes_of(tr, 0, EventKind::spike) == std::vector<std::string>{"delivered"});
    CHECK(outcomes_of(tr, 1, EventKind::input).empty());
}

// Regression: a second simulator on the same network started from the state the first left.
TEST_CASE("a network runs the same twice") {
    Network net;
    net.names = {"a"};
    net.neurons = {neuron("a", 0.6f)};
    net.neurons[0].params.reset_potential = 0.2;
    net.synapses.resize(1);
    net.stimuli = {constant_at("s", {0}, {"1ms", "2ms", "30ms"})};
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
    Network net;
    net.names = {"a", "b"};
    net.neurons = {neuron("a", 0.6f), neuron("b", 0.4f)};
    net.synapses = {{{1, parse_time("2ms"), 0.5f}}, {{0, parse_time("3ms"), 1.0f}}};
    net.stimuli = {constant_at("s", {0, 1}, {"1ms", "4ms", "6ms", "9ms", "15ms", "40ms"})};
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

// The prefetcher's hints (a spike's refractory period, the potential) only steer which blocks
// are computed ahead: a block skipped on a hint that turns out to be needed is computed then,
// with the result it has anyway.
TEST_CASE("a block skipped on a hint is still computed when needed") {
    const TransformerNeuron n = neuron("hinted", 0.25f);
    Tensor x(3, 8);
    RandomStream rs(2, entity_id("x"), 0);
    for (auto& v: x.data) v = rs.normal();
    const BlockResult direct = compute_block(n, x);
    BlockPrefetcher p(0, 1); // no workers: nothing runs behind the test's back
    const EventKey k1{parse_time("5ms"), EventKind::input, 0, 1, 0};
    const EventKey k2{parse_time("5ms"), EventKind::input, 0, 2, 0};
    p.submit(k1, n, x);
    p.submit(k2, n, x);
    p.refractory(0, parse_time("15ms")); // both look dropped now
    const auto r1 = p.take(k1, true);
    REQUIRE(r1);
    CHECK(r1->readout == direct.readout);
    CHECK(r1->finite);
    const auto r2 = p.take(k2, false); // dropped after all: nothing to compute
    REQUIRE(r2);
    CHECK(!p.take(k2, true)); // taken once only
    const EventKey never{parse_time("6ms"), EventKind::input, 0, 3, 0};
    CHECK(!p.take(never, true));
}
