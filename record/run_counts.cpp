#include <spikenn/run_counts.hpp>

#include <fmt/format.h>

namespace spikenn {

void RunCounts::add(EventKind kind, Outcome outcome, EntityId target) {
    ++events;
    ++by_kind[static_cast<std::size_t>(kind)];
    ++by_outcome[static_cast<std::size_t>(outcome)];
    if (outcome == Outcome::delivered) ++spikes[target];
    if (outcome == Outcome::dropped) ++drops[target];
}

void RunCounts::save_state(StateWriter& out) const {
    out.put(events);
    out.put(by_kind);
    out.put(by_outcome);
    out.put<std::uint64_t>(spikes.size());
    for (std::size_t i = 0; i < spikes.size(); ++i) {
        out.put(spikes[i]);
        out.put(drops[i]);
    }
}

void RunCounts::load_state(StateReader& in) {
    const std::uint64_t at = in.offset();
    RunCounts c(spikes.size());
    c.events = in.get<std::uint64_t>();
    c.by_kind = in.get<decltype(by_kind)>();
    c.by_outcome = in.get<decltype(by_outcome)>();
    const std::uint64_t n_at = in.offset();
    if (in.get<std::uint64_t>() != spikes.size()) throw StateError("the counts are of another number of neurons", n_at);
    std::uint64_t kinds = 0, outcomes = 0, spiked = 0, dropped = 0;
    for (auto v: c.by_kind) kinds += v;
    for (auto v: c.by_outcome) outcomes += v;
    for (std::size_t i = 0; i < spikes.size(); ++i) {
        spiked += c.spikes[i] = in.get<std::uint64_t>();
        dropped += c.drops[i] = in.get<std::uint64_t>();
    }
    if (kinds != c.events || outcomes != c.events || spiked != c.by_outcome[static_cast<std::size_t>(Outcome::delivered)] ||
        dropped != c.by_outcome[static_cast<std::size_t>(Outcome::dropped)]) {
        throw StateError("the counts of events by kind, outcome and neuron do not add up", at);
    }
    *this = std::move(c);
}

} // namespace spikenn
