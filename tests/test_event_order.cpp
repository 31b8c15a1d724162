#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <vector>

#include <spikenn/event_queue.hpp>

using namespace spikenn;

namespace {
Event ev(std::int64_t t, EventKind k, EntityId target, EntityId source, std::uint64_t seq) {
    Event e;
    e.key = {Time::from_ticks(t), k, target, source, seq};
    return e;
}
} // namespace

// At one time, kinds run in the order of docs/semantics.md: refractory expiry, decay update, spike, input.
TEST_CASE("kinds at one time pop in the semantic order") {
    BinaryHeapQueue q;
    q.push(ev(5, EventKind::input, 0, 1, 0));
    q.push(ev(5, EventKind::spike, 0, 0, 0));
    q.push(ev(5, EventKind::decay_update, 0, 0, 1));
    q.push(ev(5, EventKind::refractory_end, 0, 0, 2));
    q.push(ev(4, EventKind::input, 9, 9, 9));
    CHECK(q.pop().key.time.ticks() == 4);
    CHECK(q.pop().key.kind == EventKind::refractory_end);
    CHECK(q.pop().key.kind == EventKind::decay_update);
    CHECK(q.pop().key.kind == EventKind::spike);
    CHECK(q.pop().key.kind == EventKind::input);
    CHECK(q.empty());
}

// The key orders by time, kind, target, source and the source's sequence number, in that order.
TEST_CASE("the key's fields order lexicographically") {
    CHECK(ev(1, EventKind::input, 0, 0, 0).key < ev(2, EventKind::refractory_end, 0, 0, 0).key);
    CHECK(ev(1, EventKind::spike, 9, 9, 9).key < ev(1, EventKind::input, 0, 0, 0).key);
    CHECK(ev(1, EventKind::input, 1, 9, 9).key < ev(1, EventKind::input, 2, 0, 0).key);
    CHECK(ev(1, EventKind::input, 1, 1, 9).key < ev(1, EventKind::input, 1, 2, 0).key);
    CHECK(ev(1, EventKind::input, 1, 1, 1).key < ev(1, EventKind::input, 1, 1, 2).key);
    // Neurons (small ids) come before external sources such as stimuli (top bit set).
    CHECK(ev(1, EventKind::input, 1, 5, 0).key < ev(1, EventKind::input, 1, external_source(0), 0).key);
}

// The pop order is a function of the events only, never of the order they were pushed in.
TEST_CASE("shuffled insertion orders pop in one order") {
    std::vector<Event> events;
    for (int t = 0; t < 4; ++t)
        for (int k = 0; k < event_kind_count; ++k)
            for (EntityId target = 0; target < 3; ++target)
                for (EntityId source: {EntityId{0}, EntityId{2}, external_source(1)})
                    for (std::uint64_t seq = 0; seq < 2; ++seq) events.push_back(ev(t, static_cast<EventKind>(k), target, source, seq));
    std::vector<EventKey> first;
    std::mt19937 rng(12345);
    for (int round = 0; round < 20; ++round) {
        std::shuffle(events.begin(), events.end(), rng);
        BinaryHeapQueue q;
        for (const auto& e: events) q.push(e);
        std::vector<EventKey> order;
        while (!q.empty()) order.push_back(q.pop().key);
        CHECK(std::is_sorted(order.begin(), order.end()));
        if (round == 0) first = order;
        else CHECK(order == first);
    }
    CHECK(first.size() == events.size());
}
