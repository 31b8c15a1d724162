#include <doctest/doctest.h>

#include <vector>

#include <spikenn/simulator.hpp>

using namespace spikenn;

namespace {

// A toy model: every input to entity 0 schedules an input to entity 1 one tick later;
// the first input also schedules a decay update that a second input cancels.
struct Relay final: Model {
    std::vector<EventKey> seen;
    std::vector<EventKey> initial;
    std::uint64_t seq = 0;
    std::optional<EventKey> pending;

    void start(Simulator& sim) override {
        for (const auto& k: initial) sim.schedule({k, no_payload, 0});
    }
    EventResult handle(const Event& e, Simulator& sim) override {
        seen.push_back(e.key);
        if (e.key.kind == EventKind::input && e.key.target == 0) {
            Event next;
            next.key = {e.key.time + Time::from_ticks(1), EventKind::input, 1, 0, seq++};
            next.cause = sim.event_number();
            sim.schedule(next);
            if (pending) {
                sim.cancel(*pending);
                pending.reset();
            }
            else {
                Event d;
                d.key = {e.key.time + Time::from_ticks(100), EventKind::decay_update, 0, 0, seq++};
                pending = d.key;
                sim.schedule(d);
            }
        }
        return {Outcome::accumulated, 0.0, no_payload};
    }
    EventResult cancelled(const Event&, Simulator&) override { return {Outcome::cancelled, 0.0, no_payload}; }
    void save_state(StateWriter& out) const override {
        out.put(seq);
        out.put<std::uint8_t>(pending.has_value());
        out.put(pending.value_or(EventKey{}));
    }
    void load_state(StateReader& in, SavedState&) override {
        loaded_seq = in.get<std::uint64_t>();
        const bool has = in.get<std::uint8_t>() != 0;
        const auto key = in.get<EventKey>();
        loaded_pending.reset();
        if (has) loaded_pending = key;
    }
    void commit_state() override {
        seq = loaded_seq;
        pending = loaded_pending;
    }
    std::uint64_t loaded_seq = 0;
    std::optional<EventKey> loaded_pending;
};

EventKey input_at(std::int64_t t, std::uint64_t seq) { return {Time::from_ticks(t), EventKind::input, 0, external_source(0), seq}; }

} // namespace

// step() processes exactly one event and numbers it; causes point at the scheduling event.
TEST_CASE("step processes exactly one event") {
    Relay m;
    m.initial = {input_at(10, 0)};
    Simulator sim(m);
    auto r1 = sim.step();
    REQUIRE(r1);
    CHECK(r1->number == 1);
    CHECK(r1->event.key.time.ticks() == 10);
    CHECK(m.seen.size() == 1);
    CHECK(sim.now().ticks() == 10);
    CHECK(sim.queue().size() == 2); // the relay and the decay update
    auto r2 = sim.step();
    REQUIRE(r2);
    CHECK(r2->event.key.target == 1);
    CHECK(r2->event.cause == 1);
    CHECK(m.seen.size() == 2);
}

// A cancelled event is recorded as cancelled when it comes due and is not handed to the model.
TEST_CASE("cancelled events are reported, not handled") {
    Relay m;
    m.initial = {input_at(10, 0), input_at(20, 1)};
    Simulator sim(m);
    std::vector<EventRecord> recs;
    sim.add_observer([&](const EventRecord& r, const Simulator&) { recs.push_back(r); });
    CHECK(sim.run() == StopReason::queue_empty);
    REQUIRE(recs.size() == 5); // 2 inputs, 2 relays, 1 cancelled decay update
    CHECK(recs.back().event.key.kind == EventKind::decay_update);
    CHECK(recs.back().result.outcome == Outcome::cancelled);
    CHECK(m.seen.size() == 4);
}

// run_until(t) processes every event at or before t and leaves the clock at t.
TEST_CASE("run_until stops at a time, inclusive, and resumes") {
    Relay m;
    m.initial = {input_at(10, 0), input_at(20, 1), input_at(30, 2)};
    Simulator sim(m);
    sim.run_until(Time::from_ticks(20));
    CHECK(sim.now().ticks() == 20);
    CHECK(m.seen.size() == 3); // 10, 11, 20
    sim.run_until(Time::from_ticks(25));
    CHECK(sim.now().ticks() == 25);
    CHECK(m.seen.size() == 4); // 21
    sim.run();
    CHECK(m.seen.size() == 7); // 30, 31, and the decay update the third input scheduled
    CHECK(sim.now().ticks() == 130);
}

TEST_CASE("limits: end time and event count") {
    Relay m;
    m.initial = {input_at(10, 0), input_at(20, 1), input_at(30, 2)};
    Simulator sim(m);
    sim.set_limits({Time::from_ticks(20), 100});
    CHECK(sim.run() == StopReason::end_time);
    CHECK(sim.now().ticks() == 20);
    Relay m2;
    m2.initial = m.initial;
    Simulator sim2(m2);
    sim2.set_limits({Time::max(), 3});
    CHECK(sim2.run() == StopReason::max_events);
    CHECK(sim2.events_processed() == 3);
    CHECK(!sim2.step());
}

// Scheduling into the past is a model bug, refused in every build.
TEST_CASE("scheduling before now throws") {
    Relay m;
    m.initial = {input_at(10, 0)};
    Simulator sim(m);
    sim.step();
    Event e;
    e.key = {Time::from_ticks(5), EventKind::input, 0, 0, 99};
    CHECK_THROWS_AS(sim.schedule(e), InternalError);
}

// Equal runs give equal records: the simulator has no hidden source of variation.
TEST_CASE("two simulators on equal models give equal records") {
    auto run = [] {
        Relay m;
        m.initial = {input_at(10, 0), input_at(10, 1), input_at(11, 2)};
        Simulator sim(m);
        std::vector<std::pair<std::uint64_t, EventKey>> out;
        sim.add_observer([&](const EventRecord& r, const Simulator&) { out.emplace_back(r.number, r.event.key); });
        sim.run();
        return out;
    };
    CHECK(run() == run());
}
