// How many events of each kind and outcome a run processed, and each neuron's spikes and
// dropped inputs: what the summary reports. Part of a checkpoint.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <spikenn/simulator.hpp>
#include <spikenn/state.hpp>

namespace spikenn {

// Counts by kind, outcome and neuron, for the summary.
struct RunCounts {
    std::uint64_t events = 0;
    std::array<std::uint64_t, event_kind_count> by_kind{};
    std::array<std::uint64_t, outcome_count> by_outcome{};
    std::vector<std::uint64_t> spikes; // per neuron
    std::vector<std::uint64_t> drops;  // per neuron

    explicit RunCounts(std::size_t neurons): spikes(neurons), drops(neurons) {}
    void add(const EventRecord& r) { add(r.event.key.kind, r.result.outcome, r.event.key.target); }
    void add(EventKind kind, Outcome outcome, EntityId target);
    void save_state(StateWriter& out) const;
    void load_state(StateReader& in);
};

} // namespace spikenn
