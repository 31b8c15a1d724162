#include "engine/payload.hpp"

#include <cassert>
#include <stdexcept>

namespace spikenn {

PayloadId PayloadStore::add(Tensor t, std::uint32_t references) {
    if (references == 0) throw std::logic_error("PayloadStore::add: a payload needs at least one reference");
    PayloadId id;
    if (!free_.empty()) {
        id = free_.back();
        free_.pop_back();
    }
    else {
        id = static_cast<PayloadId>(slots_.size());
        slots_.emplace_back();
    }
    slots_[id].tensor = std::move(t);
    slots_[id].references = references;
    slots_[id].stamp = next_stamp_++;
    return id;
}

void PayloadStore::release(PayloadId id) {
    Slot& s = slots_[id];
    assert(s.references > 0);
    if (--s.references == 0) {
        s.tensor = Tensor{};
        free_.push_back(id);
    }
}

void PayloadStore::save_state(StateWriter& out) const {
    out.put<std::uint64_t>(slots_.size());
    for (const Slot& s: slots_) {
        out.put(s.references);
        out.put(s.stamp);
        out.put(s.tensor.rows);
        out.put(s.tensor.cols);
        out.put<std::uint64_t>(s.tensor.data.size());
        out.put_bytes(s.tensor.data.data(), s.tensor.data.size() * sizeof(float));
    }
    out.put<std::uint64_t>(free_.size());
    for (PayloadId id: free_) out.put(id);
    out.put(next_stamp_);
}

void PayloadStore::load_state(StateReader& in) {
    std::vector<Slot> slots(in.get_count(28));
    for (Slot& s: slots) {
        s.references = in.get<std::uint32_t>();
        s.stamp = in.get<std::uint64_t>();
        s.tensor.rows = in.get<std::int32_t>();
        s.tensor.cols = in.get<std::int32_t>();
        s.tensor.data.resize(in.get_count(sizeof(float)));
        if (s.tensor.data.size() != static_cast<std::size_t>(s.tensor.rows) * static_cast<std::size_t>(s.tensor.cols) || s.tensor.rows < 0) {
            throw StateError("state: a payload's shape does not match its data");
        }
        in.get_bytes(s.tensor.data.data(), s.tensor.data.size() * sizeof(float));
    }
    std::vector<PayloadId> free(in.get_count(4));
    for (PayloadId& id: free) {
        id = in.get<PayloadId>();
        if (id >= slots.size()) throw StateError("state: a free payload slot out of range");
    }
    next_stamp_ = in.get<std::uint64_t>();
    slots_ = std::move(slots);
    free_ = std::move(free);
}

} // namespace spikenn
