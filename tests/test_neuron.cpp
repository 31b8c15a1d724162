#include <doctest/doctest.h>

#include <map>

#include "golden_util.hpp"
#include <spikenn/network.hpp>
#include <spikenn/scenario.hpp>

using namespace spikenn;
using namespace spikenn::test;

namespace {

bool close(double a, double b) { return std::abs(a - b) <= 1e-5 * std::max(1.0, std::abs(b)); }

struct Captured {
    std::vector<EventRecord> records;
    std::map<std::pair<std::int64_t, EntityId>, Tensor> outputs; // (time, neuron) -> spike output
};

Captured run_scenario(Scenario& sc) {
    Captured c;
    Simulator sim(sc.network);
    sim.set_limits({sc.end, sc.max_events});
    sim.add_observer([&](const EventRecord& r, const Simulator& s) {
        c.records.push_back(r);
        if (r.result.produced != no_payload) c.outputs[{r.event.key.time.ticks(), r.event.key.target}] = s.payloads().get(r.result.produced);
    });
    sim.run();
    return c;
}

} // namespace

// The seed's network (its three neuron configurations at small dims), saved by PyTorch as a
// safetensors state_dict, driven at fixed times by the seed's own code under a simulated clock
// (tests/golden/gen_golden.py): the engine gives the same outcomes, potentials and spike outputs.
TEST_CASE("the seed's network from a PyTorch state_dict reproduces the seed's run") {
    Scenario sc = load_scenario(golden("network/scenario.yaml"));
    REQUIRE(sc.network.size() == 3);
    const Captured c = run_scenario(sc);

    std::map<std::pair<std::int64_t, EntityId>, const EventRecord*> inputs, spikes;
    for (const auto& r: c.records) {
        const auto key = std::make_pair(r.event.key.time.ticks(), r.event.key.target);
        if (r.event.key.kind == EventKind::input) inputs[key] = &r;
        if (r.event.key.kind == EventKind::spike) spikes[key] = &r;
    }
    std::vector<std::string> h;
    const auto rows = read_csv(golden("network/expected.csv"), h);
    REQUIRE(rows.size() == 120);
    CHECK(inputs.size() == rows.size());
    std::size_t expected_spikes = 0, zero_potentials = 0;
    for (const auto& row: rows) {
        const std::int64_t t = std::stoll(row[0]) * 1'000'000;
        const auto id = static_cast<EntityId>(std::stoi(row[1].substr(1)));
        CAPTURE(row[0]);
        CAPTURE(row[1]);
        REQUIRE(inputs.contains({t, id}));
        const EventRecord& in = *inputs[{t, id}];
        const bool spiked = row[4] == "1";
        const Outcome want = row[2] == "dropped" ? Outcome::dropped : (spiked ? Outcome::spiked : Outcome::accumulated);
        CHECK(to_string(in.result.outcome) == to_string(want));
        CHECK(close(in.result.potential, std::stod(row[3])));
        if (std::stod(row[3]) == 0.0) ++zero_potentials;
        CHECK(spikes.contains({t, id}) == spiked);
        if (spiked && spikes.contains({t, id})) {
            ++expected_spikes;
            CHECK(close(spikes[{t, id}]->result.potential, std::stod(row[5])));
            const Tensor want_out = npy_tensor(golden(fmt::format("network/spike_{}_n{}.npy", row[0], id)));
            CHECK(relative_error(c.outputs.at({t, id}), want_out) < 1e-5);
        }
    }
    CHECK(spikes.size() == expected_spikes);
    CHECK(expected_spikes == 19);
    CHECK(zero_potentials >= 3); // the long gap lets every neuron decay to 0
}

namespace {
TransformerNeuron make_neuron(double p, Time t_last, double rate) {
    TransformerNeuron n;
    n.params.decay = {DecayKind::linear, rate, Time::zero()};
    n.state.potential = p;
    n.state.last_update = t_last;
    return n;
}
} // namespace

// Linear decay clamps at 0; the decay update lands on the first tick where the formula gives 0.
TEST_CASE("linear decay and its zero time") {
    const Time s = Time::from_ticks(Time::ticks_per_second);
    TransformerNeuron n = make_neuron(1.0, s, 0.5);
    CHECK(n.potential_at(s) == 1.0);
    CHECK(n.potential_at(s + s) == doctest::Approx(0.5));
    CHECK(n.potential_at(s + s + s + s) == 0.0);
    auto z = n.zero_time();
    REQUIRE(z);
    CHECK(n.potential_at(*z) == 0.0);
    CHECK(n.potential_at(*z - Time::from_ticks(1)) > 0.0);
    CHECK(z->ticks() == 3 * Time::ticks_per_second);
    // A negative potential (a negative readout) is lifted to 0 by the clamp on the next tick.
    TransformerNeuron neg = make_neuron(-0.25, s, 0.5);
    CHECK(neg.zero_time() == s + Time::from_ticks(1));
    CHECK(neg.potential_at(s + Time::from_ticks(1)) == 0.0);
    // No decay, or already 0: no decay update.
    CHECK(!make_neuron(1.0, s, 0.0).zero_time());
    CHECK(!make_neuron(0.0, s, 0.5).zero_time());
}

TEST_CASE("exponential decay") {
    TransformerNeuron n;
    n.params.decay = {DecayKind::exponential, 0.0, parse_time("100ms")};
    n.state.potential = 2.0;
    CHECK(n.potential_at(parse_time("100ms")) == doctest::Approx(2.0 * std::exp(-1.0)));
    CHECK(!n.zero_time());
}

// Refractory uses '<' as the seed: an input at exactly last_spike + period is accepted.
TEST_CASE("refractory boundary") {
    TransformerNeuron n;
    n.params.refractory_period = parse_time("1s");
    CHECK(!n.refractory_at(Time::zero())); // no spike yet, including a spike-free time 0
    n.state.last_spike = Time::zero();     // a spike at time 0 counts (the seed's quirk is not kept)
    CHECK(n.refractory_at(parse_time("999ms")));
    CHECK(!n.refractory_at(parse_time("1s")));
}
