#include <spikenn/error.hpp>
#include <spikenn/payload.hpp>

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace spikenn {

PayloadId PayloadStore::add(Tensor t, std::uint32_t references) {
    if (references == 0) throw InternalError("PayloadStore::add: a payload needs at least one reference");
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
    // A release of a slot that does not exist or holds no reference would write out of
    // bounds or wrap the count and free the slot twice: checked in every build.
    if (id >= slots_.size() || slots_[id].references == 0) [[unlikely]] {
        throw InternalError(fmt::format("PayloadStore::release: payload {} is not live ({} slots)", id, slots_.size()));
    }
    Slot& s = slots_[id];
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
    std::vector<std::uint64_t> offsets(slots.size());
    for (std::size_t i = 0; i < slots.size(); ++i) {
        Slot& s = slots[i];
        offsets[i] = in.offset();
        s.references = in.get<std::uint32_t>();
        s.stamp = in.get<std::uint64_t>();
        s.tensor.rows = in.get<std::int32_t>();
        s.tensor.cols = in.get<std::int32_t>();
        s.tensor.data.resize(in.get_count(sizeof(float)));
        if (s.tensor.rows < 0 || s.tensor.cols < 0 ||
            s.tensor.data.size() != static_cast<std::size_t>(s.tensor.rows) * static_cast<std::size_t>(s.tensor.cols)) {
            throw StateError(fmt::format("payload {}: a shape of {} x {} does not match its {} values", i, s.tensor.rows, s.tensor.cols,
                                 s.tensor.data.size()),
                offsets[i] + 12);
        }
        in.get_bytes(s.tensor.data.data(), s.tensor.data.size() * sizeof(float));
    }
    std::vector<PayloadId> free(in.get_count(4));
    std::vector<char> is_free(slots.size(), 0);
    for (PayloadId& id: free) {
        const std::uint64_t at = in.offset();
        id = in.get<PayloadId>();
        if (id >= slots.size()) throw StateError(fmt::format("the free payload slot {} does not exist ({} slots)", id, slots.size()), at);
        if (is_free[id]) throw StateError(fmt::format("the free payload slot {} is listed twice", id), at);
        is_free[id] = 1;
    }
    const std::uint64_t at = in.offset();
    const auto next_stamp = in.get<std::uint64_t>();
    for (std::size_t i = 0; i < slots.size(); ++i) {
        const Slot& s = slots[i];
        if (is_free[i] && (s.references != 0 || !s.tensor.data.empty())) {
            throw StateError(fmt::format("payload {} is on the free list but holds a tensor or references", i), offsets[i]);
        }
        if (!is_free[i] && s.references == 0) throw StateError(fmt::format("payload {} is in use but has no references", i), offsets[i]);
        if (!is_free[i] && s.stamp >= next_stamp) {
            throw StateError(fmt::format("payload {} has stamp {}, not below the next stamp {}", i, s.stamp, next_stamp), offsets[i] + 4);
        }
    }
    if (next_stamp == 0) throw StateError("the next payload stamp is 0", at);
    // Stamps key caches of what is derived from a tensor (its hash): two tensors in use
    // must not share one.
    std::vector<std::pair<std::uint64_t, std::size_t>> stamps;
    for (std::size_t i = 0; i < slots.size(); ++i) {
        if (!is_free[i]) stamps.emplace_back(slots[i].stamp, i);
    }
    std::sort(stamps.begin(), stamps.end());
    for (std::size_t i = 1; i < stamps.size(); ++i) {
        if (stamps[i].first == stamps[i - 1].first) {
            throw StateError(fmt::format("payloads {} and {} share stamp {}", stamps[i - 1].second, stamps[i].second, stamps[i].first),
                offsets[stamps[i].second] + 4);
        }
    }
    next_stamp_ = next_stamp;
    slots_ = std::move(slots);
    free_ = std::move(free);
}

} // namespace spikenn
