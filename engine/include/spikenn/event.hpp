// Events and their total order.
//
// Sorting by time alone makes the order of coincident events depend on insertion order,
// and so on the queue, the thread count and the history of the run. The key below is
// total: two distinct events never compare equal, because a source numbers the events
// it creates (seq) and (target, source, seq) is unique. The order is therefore a pure
// function of the events, whatever order they were scheduled in.
#pragma once

#include <compare>
#include <cstdint>
#include <string_view>

#include <spikenn/payload.hpp>
#include <spikenn/time.hpp>

namespace spikenn {

// Kinds in the order they run at one time (docs/semantics.md, "Time and order"):
// a refractory period that ends at t admits an input at t; a spike scheduled at t
// resets the neuron before any further input at t reaches it.
enum class EventKind: std::uint8_t {
    refractory_end = 0,
    decay_update = 1,
    spike = 2,
    input = 3,
};
inline constexpr int event_kind_count = 4;

std::string_view to_string(EventKind k);

// Entities are neurons (ids from 0) and external sources such as stimuli
// (ids with the top bit set), so that both fit one field of the key.
using EntityId = std::uint32_t;
inline constexpr EntityId external_bit = 0x8000'0000u;
constexpr EntityId external_source(std::uint32_t index) { return external_bit | index; }
constexpr bool is_external(EntityId id) { return (id & external_bit) != 0; }
constexpr std::uint32_t external_index(EntityId id) { return id & ~external_bit; }

struct EventKey {
    Time time;
    EventKind kind = EventKind::input;
    EntityId target = 0;
    EntityId source = 0;
    std::uint64_t seq = 0; // the source's own count of events it created

    friend constexpr auto operator<=>(const EventKey&, const EventKey&) = default;
};

struct EventKeyHash {
    std::size_t operator()(const EventKey& k) const {
        std::uint64_t h = static_cast<std::uint64_t>(k.time.ticks()) * 0x9E3779B97F4A7C15ull;
        h ^= (static_cast<std::uint64_t>(k.target) << 32 | k.source) + 0x632BE59BD9B4E019ull + (h << 6) + (h >> 2);
        h ^= k.seq * 0xBF58476D1CE4E5B9ull + static_cast<std::uint64_t>(k.kind);
        return static_cast<std::size_t>(h ^ (h >> 31));
    }
};

struct Event {
    EventKey key;
    PayloadId payload = no_payload;
    // How strongly an input acts on its target: the model scales the potential change it
    // causes by it (a synapse's or a stimulus's efficacy). Not part of the key: two events
    // never differ by efficacy alone. Here it fills the padding after `payload`, so an
    // event stays 48 bytes (saved states write it last, field by field).
    float efficacy = 1.0f;
    // Number of the processed event that scheduled this one; 0 for events scheduled
    // before the run (initial state, stimuli). Event numbers start at 1.
    std::uint64_t cause = 0;
};
static_assert(sizeof(Event) == 48, "an event is 48 bytes: the queue and the memory estimate count on it");

// What handling an event did. Every processed event has exactly one outcome.
enum class Outcome: std::uint8_t {
    accumulated = 0,    // input added to the potential, threshold not reached
    dropped = 1,        // input arrived during the refractory period
    spiked = 2,         // input added, threshold reached: a spike is scheduled now
    delivered = 3,      // spike: reset, output sent to the targets
    decay_update = 4,   // the potential reached 0 by decay
    refractory_end = 5, // the refractory period is over
    cancelled = 6,      // made stale by a later input; nothing happened
};
inline constexpr int outcome_count = 7;

std::string_view to_string(Outcome o);

} // namespace spikenn
