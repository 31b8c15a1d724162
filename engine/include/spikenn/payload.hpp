// Tensors carried by events, held once and shared by reference count.
//
// A stimulus sent to 1,000 neurons, or a spike delivered to 1,000 targets, holds one
// tensor and 1,000 references. Every pending event that names a payload owns one
// reference; the simulator releases it once the event has been handled and observed.
#pragma once

#include <cstdint>
#include <vector>

#include <spikenn/state.hpp>

namespace spikenn {

// A row-major float32 matrix: seq_len rows of embed_dim values.
struct Tensor {
    std::int32_t rows = 0;
    std::int32_t cols = 0;
    std::vector<float> data;

    Tensor() = default;
    Tensor(std::int32_t r, std::int32_t c): rows(r), cols(c), data(static_cast<std::size_t>(r) * static_cast<std::size_t>(c)) {}
    Tensor(std::int32_t r, std::int32_t c, std::vector<float> d): rows(r), cols(c), data(std::move(d)) {}
    float& operator()(std::int32_t r, std::int32_t c) { return data[static_cast<std::size_t>(r) * static_cast<std::size_t>(cols) + static_cast<std::size_t>(c)]; }
    float operator()(std::int32_t r, std::int32_t c) const { return data[static_cast<std::size_t>(r) * static_cast<std::size_t>(cols) + static_cast<std::size_t>(c)]; }
    bool operator==(const Tensor&) const = default;
};

using PayloadId = std::uint32_t;
inline constexpr PayloadId no_payload = 0xffff'ffffu;

// Slots are reused after release; ids are therefore not stable across runs of
// different length and are never recorded, only the tensors they name.
class PayloadStore {
public:
    // Stores t with `references` owners (at least one).
    PayloadId add(Tensor t, std::uint32_t references);
    // get, stamp and retain of a payload that is not live are a bug of the caller's:
    // InternalError, in every build (an id from a damaged state must never index memory).
    const Tensor& get(PayloadId id) const {
        SPIKENN_CHECK(is_live(id), "PayloadStore::get: the payload is not live");
        return slots_[id].tensor;
    }
    // A number that no other tensor stored in this run shares, even in a reused slot: a key
    // for caching what is derived from the tensor (its hash).
    std::uint64_t stamp(PayloadId id) const {
        SPIKENN_CHECK(is_live(id), "PayloadStore::stamp: the payload is not live");
        return slots_[id].stamp;
    }
    void retain(PayloadId id, std::uint32_t n = 1) {
        SPIKENN_CHECK(is_live(id), "PayloadStore::retain: the payload is not live");
        slots_[id].references += n;
    }
    // Drops one reference; the last frees the slot. Releasing a payload that is not live is
    // a bug of the caller's: InternalError, in every build.
    void release(PayloadId id);
    std::size_t live() const { return slots_.size() - free_.size(); }
    std::size_t slots() const { return slots_.size(); }
    // Whether id names a stored tensor (a slot in use has at least one reference).
    bool is_live(PayloadId id) const { return id < slots_.size() && slots_[id].references > 0; }
    std::uint32_t references(PayloadId id) const { return slots_[id].references; }
    void save_state(StateWriter& out) const;
    // Throws StateError, leaving the store as it was, unless the bytes describe a store
    // this class could have been in: each slot either free (no references, no tensor, on
    // the free list once) or in use (references, a tensor whose data matches its shape),
    // stamps below the next stamp. Whether the references have owners is the caller's
    // check (Simulator::load_state).
    void load_state(StateReader& in);

private:
    struct Slot {
        Tensor tensor;
        std::uint32_t references = 0;
        std::uint64_t stamp = 0;
    };
    std::vector<Slot> slots_;
    std::vector<PayloadId> free_;
    std::uint64_t next_stamp_ = 1;
};

} // namespace spikenn
