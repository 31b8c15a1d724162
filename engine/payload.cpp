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

} // namespace spikenn
