#include <spikenn/in_memory.hpp>

#include <algorithm>

namespace spikenn {

void SpikeRecorder::record(const RecordedEvent& e) {
    if (e.event.result.outcome == Outcome::delivered) spikes_.push_back({e.event.event.key.time, e.event.event.key.target});
}

PotentialRecorder::PotentialRecorder(std::vector<EntityId> neurons): neurons_(std::move(neurons)) {
    std::sort(neurons_.begin(), neurons_.end());
    neurons_.erase(std::unique(neurons_.begin(), neurons_.end()), neurons_.end());
}

void PotentialRecorder::record(const RecordedEvent& e) {
    const EventKey& k = e.event.event.key;
    if (!neurons_.empty() && !std::binary_search(neurons_.begin(), neurons_.end(), k.target)) return;
    potentials_.push_back({e.event.number, k.time, k.target, e.event.result.potential});
}

void SpikeOutputRecorder::record(const RecordedEvent& e) {
    const auto& r = e.event;
    if (r.result.outcome != Outcome::delivered || r.result.produced == no_payload) return;
    outputs_.push_back({r.event.key.time, r.event.key.target, e.sim.payloads().get(r.result.produced)});
}

} // namespace spikenn
