// The pending-event set behind a small interface, so that a faster structure can
// replace the binary heap without touching the simulator.
//
// Every implementation pops events in increasing EventKey order. Keys pushed may be
// smaller than the last key popped (a spike scheduled at the current time runs before
// the remaining inputs at that time), but never earlier in time than it.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "engine/event.hpp"

namespace spikenn {

class EventQueue {
public:
    virtual ~EventQueue() = default;
    virtual void push(const Event& e) = 0;
    // Preconditions: !empty().
    virtual const Event& top() const = 0;
    virtual Event pop() = 0;
    virtual bool empty() const = 0;
    virtual std::size_t size() const = 0;
    // Every pending event in pop order. O(n log n); for inspection, not for the event loop.
    virtual std::vector<Event> pending() const = 0;
    virtual std::string_view name() const = 0;
};

// A binary min-heap on a vector: push and pop O(log n), top O(1).
class BinaryHeapQueue final: public EventQueue {
public:
    void push(const Event& e) override;
    const Event& top() const override { return heap_.front(); }
    Event pop() override;
    bool empty() const override { return heap_.empty(); }
    std::size_t size() const override { return heap_.size(); }
    std::vector<Event> pending() const override;
    std::string_view name() const override { return "binary-heap"; }

private:
    std::vector<Event> heap_;
};

std::unique_ptr<EventQueue> make_default_queue();

} // namespace spikenn
