#include "engine/event_queue.hpp"

#include <algorithm>
#include <cassert>

namespace spikenn {

std::string_view to_string(EventKind k) {
    switch (k) {
    case EventKind::refractory_end: return "refractory_end";
    case EventKind::decay_update: return "decay_update";
    case EventKind::spike: return "spike";
    case EventKind::input: return "input";
    }
    return "unknown";
}

std::string_view to_string(Outcome o) {
    switch (o) {
    case Outcome::accumulated: return "accumulated";
    case Outcome::dropped: return "dropped";
    case Outcome::spiked: return "spiked";
    case Outcome::delivered: return "delivered";
    case Outcome::decay_update: return "decay_update";
    case Outcome::refractory_end: return "refractory_end";
    case Outcome::cancelled: return "cancelled";
    }
    return "unknown";
}

namespace {
// std::push_heap builds a max-heap; ordering by "greater key" makes the smallest key the top.
struct Later {
    bool operator()(const Event& a, const Event& b) const { return b.key < a.key; }
};
} // namespace

void BinaryHeapQueue::push(const Event& e) {
    heap_.push_back(e);
    std::push_heap(heap_.begin(), heap_.end(), Later{});
}

Event BinaryHeapQueue::pop() {
    assert(!heap_.empty());
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    Event e = heap_.back();
    heap_.pop_back();
    return e;
}

std::vector<Event> BinaryHeapQueue::pending() const {
    std::vector<Event> v = heap_;
    std::sort(v.begin(), v.end(), [](const Event& a, const Event& b) { return a.key < b.key; });
    return v;
}

std::unique_ptr<EventQueue> make_default_queue() { return std::make_unique<BinaryHeapQueue>(); }

} // namespace spikenn
