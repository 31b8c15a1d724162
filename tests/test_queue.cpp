#include <doctest/doctest.h>

#include <random>
#include <set>

#include <spikenn/event_queue.hpp>
#include <spikenn/payload.hpp>

using namespace spikenn;

namespace {

// The plain reference: an ordered multiset of keys.
struct ReferenceQueue {
    std::multiset<EventKey> keys;
};

} // namespace

// Every queue implementation must pop exactly what a sorted set pops, under random pushes
// and pops that respect the engine's rule (never earlier in time than the last pop).
TEST_CASE_TEMPLATE("queue conformance against a reference under random operations", Q, BinaryHeapQueue, RadixHeapQueue) {
    for (std::uint32_t seed: {1u, 2u, 3u}) {
        std::mt19937_64 rng(seed);
        Q q;
        ReferenceQueue ref;
        std::int64_t now = 0;
        std::uint64_t seq = 0;
        for (int op = 0; op < 20000; ++op) {
            const bool push = ref.keys.empty() || rng() % 100 < 55;
            if (push) {
                Event e;
                // Many ties in time, so that the rest of the key decides.
                // Mostly ahead of the last pop; now and then earlier than what top() has seen
                // (the simulator may move its clock between events and schedule there).
                e.key.time = Time::from_ticks(now + static_cast<std::int64_t>(rng() % 50));
                if (!ref.keys.empty() && rng() % 20 == 0) (void)q.top();
                e.key.kind = static_cast<EventKind>(rng() % event_kind_count);
                e.key.target = static_cast<EntityId>(rng() % 8);
                e.key.source = rng() % 4 == 0 ? external_source(static_cast<std::uint32_t>(rng() % 3)) : static_cast<EntityId>(rng() % 8);
                e.key.seq = seq++;
                e.payload = static_cast<PayloadId>(e.key.seq);
                q.push(e);
                ref.keys.insert(e.key);
            }
            else {
                REQUIRE(!q.empty());
                CHECK(q.top().key == *ref.keys.begin());
                const Event e = q.pop();
                CHECK(e.key == *ref.keys.begin());
                CHECK(e.payload == static_cast<PayloadId>(e.key.seq)); // the event travels whole
                ref.keys.erase(ref.keys.begin());
                now = e.key.time.ticks();
            }
            CHECK(q.size() == ref.keys.size());
        }
        // pending() lists everything in pop order without disturbing the queue.
        const auto pending = q.pending();
        REQUIRE(pending.size() == ref.keys.size());
        auto it = ref.keys.begin();
        for (const auto& e: pending) CHECK(e.key == *it++);
        while (!q.empty()) {
            CHECK(q.pop().key == *ref.keys.begin());
            ref.keys.erase(ref.keys.begin());
        }
    }
}

// The radix heap sorts a large run of events at one time by a radix sort on the key packed
// into one word, and falls back to a comparison sort when the fields' ranges do not fit one
// word (external sources, large sequence numbers): both must pop in key order, and events
// pushed at the current time while a run is being popped must interleave with it.
TEST_CASE("radix heap: large runs at one time pop in key order, packed or not") {
    for (int variant = 0; variant < 3; ++variant) {
        std::mt19937_64 rng(100 + variant);
        RadixHeapQueue q;
        std::multiset<EventKey> ref;
        std::uint64_t seq = variant == 2 ? std::uint64_t{1} << 62 : 0;
        const auto make = [&](std::int64_t t) {
            Event e;
            e.key.time = Time::from_ticks(t);
            e.key.kind = static_cast<EventKind>(rng() % event_kind_count);
            e.key.target = static_cast<EntityId>(rng() % 3000);
            e.key.source = variant == 1 && rng() % 3 == 0 ? external_source(static_cast<std::uint32_t>(rng() % 5)) : static_cast<EntityId>(rng() % 3000);
            // Sequence numbers far apart now and then: runs of 47 bits packed (variant 0), of
            // 61 with a 32-bit source range (1), more than 64 (2, a comparison sort).
            const std::uint64_t jump = variant == 0 ? std::uint64_t{1} << 20 : variant == 2 ? std::uint64_t{1} << 40 : 0;
            e.key.seq = seq++ + (rng() % 50 == 0 ? jump : 0);
            e.payload = static_cast<PayloadId>(e.key.seq);
            return e;
        };
        for (int i = 0; i < 20000; ++i) {
            const Event e = make(static_cast<std::int64_t>(rng() % 16)); // runs of about 1,250
            q.push(e);
            ref.insert(e.key);
        }
        std::int64_t now = 0;
        while (!ref.empty()) {
            REQUIRE(q.top().key == *ref.begin());
            const Event e = q.pop();
            REQUIRE(e.key == *ref.begin());
            CHECK(e.payload == static_cast<PayloadId>(e.key.seq));
            ref.erase(ref.begin());
            now = e.key.time.ticks();
            if (rng() % 10 == 0 && now < 40) {
                // At the current time, mid-run, or later.
                const Event f = make(now + static_cast<std::int64_t>(rng() % 3));
                q.push(f);
                ref.insert(f.key);
            }
            REQUIRE(q.size() == ref.size());
        }
    }
}

// Issue 11, item 4: what an assert guarded (and NDEBUG removed) is checked in every build:
// top or pop of an empty queue, and releasing a payload that is not live, are logic errors
// rather than reads or writes out of bounds.
TEST_CASE_TEMPLATE("an empty queue refuses top and pop in every build", Q, BinaryHeapQueue, RadixHeapQueue) {
    Q q;
    CHECK_THROWS_AS((void)q.top(), InternalError);
    CHECK_THROWS_AS((void)q.pop(), InternalError);
    Event e;
    e.key.time = Time::from_ticks(5);
    q.push(e);
    CHECK(q.pop().key == e.key);
    CHECK(q.empty());
    CHECK_THROWS_AS((void)q.pop(), InternalError);
    CHECK(q.size() == 0); // the refused pop changed nothing
    q.push(e);
    CHECK(q.top().key == e.key);
}

TEST_CASE("using or releasing a payload that is not live is refused in every build") {
    PayloadStore store;
    CHECK_THROWS_AS((void)store.get(0), InternalError); // no such slot: never an out-of-bounds read
    CHECK_THROWS_AS(store.retain(7), InternalError);
    CHECK_THROWS_AS(store.release(0), InternalError); // no such slot
    const PayloadId id = store.add(Tensor(1, 2), 2);
    store.release(id);
    store.release(id);
    CHECK(!store.is_live(id));
    CHECK_THROWS_AS(store.release(id), InternalError); // a third release of two references
    CHECK(store.references(id) == 0);
    // The freed slot is reused once, not handed out twice.
    const PayloadId a = store.add(Tensor(1, 1), 1);
    const PayloadId b = store.add(Tensor(1, 1), 1);
    CHECK(a != b);
}
