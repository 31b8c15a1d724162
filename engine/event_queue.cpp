#include <spikenn/error.hpp>
#include <spikenn/event_queue.hpp>

#include <algorithm>
#include <bit>
#include <stdexcept>

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

const Event& BinaryHeapQueue::top() const {
    if (heap_.empty()) [[unlikely]] throw InternalError("BinaryHeapQueue::top: the queue is empty");
    return heap_.front();
}

Event BinaryHeapQueue::pop() {
    if (heap_.empty()) [[unlikely]] throw InternalError("BinaryHeapQueue::pop: the queue is empty");
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

int RadixHeapQueue::bucket_of(std::int64_t time, std::int64_t last) {
    const auto x = static_cast<std::uint64_t>(time) ^ static_cast<std::uint64_t>(last);
    return x == 0 ? 0 : 64 - std::countl_zero(x);
}

void RadixHeapQueue::push(const Event& e) {
    const std::int64_t t = e.key.time.ticks();
    if (size_ == 0) last_ = t; // an empty queue restarts at the first time it is given
    if (t < last_) {
        // top() looked ahead past the current time and something earlier came after (the
        // simulator's clock was moved to a time between events). Rare: rebuild the buckets.
        std::vector<Event> all;
        all.reserve(size_);
        for (auto& b: buckets_) {
            all.insert(all.end(), b.begin(), b.end());
            b.clear();
        }
        all.insert(all.end(), late_.begin(), late_.end());
        late_.clear();
        last_ = t;
        for (const Event& x: all) buckets_[bucket_of(x.key.time.ticks(), last_)].push_back(x);
        sort_run();
    }
    const int b = bucket_of(t, last_);
    if (b == 0) {
        late_.push_back(e);
        std::push_heap(late_.begin(), late_.end(), Later{});
    }
    else {
        buckets_[b].push_back(e);
    }
    ++size_;
}

void RadixHeapQueue::sort_run() const {
    auto& run = buckets_[0];
    if (run.size() < 2) return;
    // Within one time the key is (kind, target, source, seq): packed into two words as
    // kind (2 bits), target (31), source's high 31 bits | source's low bit, seq (63). Targets
    // are neurons (below 2^31); sequence numbers below 2^63 (else: a plain sort).
    proxies_.resize(run.size());
    for (std::size_t i = 0; i < run.size(); ++i) {
        const EventKey& k = run[i].key;
        if (k.target >= external_bit || k.seq >> 63) {
            std::sort(run.begin(), run.end(), Later{});
            return;
        }
        proxies_[i] = {static_cast<std::uint64_t>(k.kind) << 62 | static_cast<std::uint64_t>(k.target) << 31 | k.source >> 1,
            static_cast<std::uint64_t>(k.source & 1) << 63 | k.seq, static_cast<std::uint32_t>(i)};
    }
    // Latest key first, so that pop takes from the back.
    std::sort(proxies_.begin(), proxies_.end(), [](const Proxy& a, const Proxy& b) { return a.hi != b.hi ? a.hi > b.hi : a.lo > b.lo; });
    scratch_.resize(run.size());
    for (std::size_t i = 0; i < run.size(); ++i) scratch_[i] = run[proxies_[i].index];
    run.swap(scratch_);
}

void RadixHeapQueue::settle() const {
    if (!buckets_[0].empty() || !late_.empty() || size_ == 0) return;
    int b = 1;
    while (buckets_[b].empty()) ++b;
    auto& src = buckets_[b];
    std::int64_t min_time = src.front().key.time.ticks();
    for (const Event& e: src) min_time = std::min(min_time, e.key.time.ticks());
    last_ = min_time;
    // Every event of bucket b moves to a lower bucket relative to the new last time.
    for (Event& e: src) buckets_[bucket_of(e.key.time.ticks(), last_)].push_back(std::move(e));
    src.clear();
    sort_run();
}

const Event& RadixHeapQueue::top() const {
    if (size_ == 0) [[unlikely]] throw InternalError("RadixHeapQueue::top: the queue is empty");
    settle();
    const auto& run = buckets_[0];
    if (late_.empty()) return run.back();
    if (run.empty() || late_.front().key < run.back().key) return late_.front();
    return run.back();
}

Event RadixHeapQueue::pop() {
    if (size_ == 0) [[unlikely]] throw InternalError("RadixHeapQueue::pop: the queue is empty");
    settle();
    auto& run = buckets_[0];
    --size_;
    if (!late_.empty() && (run.empty() || late_.front().key < run.back().key)) {
        std::pop_heap(late_.begin(), late_.end(), Later{});
        Event e = late_.back();
        late_.pop_back();
        return e;
    }
    Event e = run.back();
    run.pop_back();
    return e;
}

std::vector<Event> RadixHeapQueue::pending() const {
    std::vector<Event> v;
    v.reserve(size_);
    for (const auto& b: buckets_) v.insert(v.end(), b.begin(), b.end());
    v.insert(v.end(), late_.begin(), late_.end());
    std::sort(v.begin(), v.end(), [](const Event& a, const Event& b) { return a.key < b.key; });
    return v;
}

std::unique_ptr<EventQueue> make_queue(std::string_view name) {
    if (name == "binary-heap") return std::make_unique<BinaryHeapQueue>();
    if (name == "radix-heap") return std::make_unique<RadixHeapQueue>();
    return nullptr;
}

std::unique_ptr<EventQueue> make_default_queue() { return std::make_unique<RadixHeapQueue>(); }

} // namespace spikenn
