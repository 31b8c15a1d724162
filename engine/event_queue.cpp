#include <spikenn/error.hpp>
#include <spikenn/event_queue.hpp>

#include <algorithm>
#include <bit>
#include <numeric>
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

RadixHeapQueue::RadixHeapQueue() { std::fill(std::begin(min_time_), std::end(min_time_), INT64_MAX); }

int RadixHeapQueue::bucket_of(std::int64_t time, std::int64_t last) {
    const auto x = static_cast<std::uint64_t>(time) ^ static_cast<std::uint64_t>(last);
    return x == 0 ? 0 : 64 - std::countl_zero(x);
}

inline void RadixHeapQueue::place(const Event& e) const {
    const std::int64_t t = e.key.time.ticks();
    const int b = bucket_of(t, last_);
    buckets_[b].push_back(e);
    if (b > 0) {
        min_time_[b] = std::min(min_time_[b], t);
        filled_ |= std::uint64_t{1} << (b - 1);
    }
}

void RadixHeapQueue::rebuild(std::int64_t time) {
    std::vector<Event> all;
    all.reserve(size_);
    for (int b = 1; b <= 64; ++b) {
        all.insert(all.end(), buckets_[b].begin(), buckets_[b].end());
        buckets_[b].clear();
        min_time_[b] = INT64_MAX;
    }
    filled_ = 0;
    for (std::size_t i = next_; i < order_.size(); ++i) all.push_back(buckets_[0][order_[i]]);
    buckets_[0].clear();
    order_.clear();
    next_ = 0;
    all.insert(all.end(), late_.begin(), late_.end());
    late_.clear();
    last_ = time;
    for (const Event& x: all) place(x);
    sort_run();
}

void RadixHeapQueue::push(const Event& e) {
    const std::int64_t t = e.key.time.ticks();
    if (size_ == 0) last_ = t; // an empty queue restarts at the first time it is given
    // top() looked ahead past the current time and something earlier came after (the
    // simulator's clock was moved to a time between events). Rare: rebuild the buckets.
    if (t < last_) rebuild(t);
    if (bucket_of(t, last_) == 0) {
        late_.push_back(e);
        std::push_heap(late_.begin(), late_.end(), Later{});
    }
    else {
        place(e);
    }
    ++size_;
}

void RadixHeapQueue::sort_run() const {
    const auto& run = buckets_[0];
    const std::size_t n = run.size();
    order_.resize(n);
    next_ = 0;
    for (std::size_t i = 0; i < n; ++i) order_[i] = static_cast<std::uint32_t>(i);
    if (n < 2) return;
    // Within one time the key is (kind, target, source, seq). Each field less its least value
    // in the run needs only as many bits as its range; when the four ranges fit 64 bits
    // together, the concatenation is one word whose order is the key's, and the sort needs
    // only as many passes as that word has varying digits (a run of 1,000 events in which
    // a thousand neurons take part: 45 bits, 6 passes, where the whole key needs 193 bits).
    EventKey lo = run[0].key, hi = run[0].key;
    for (const Event& e: run) {
        const EventKey& k = e.key;
        lo.kind = std::min(lo.kind, k.kind);
        hi.kind = std::max(hi.kind, k.kind);
        lo.target = std::min(lo.target, k.target);
        hi.target = std::max(hi.target, k.target);
        lo.source = std::min(lo.source, k.source);
        hi.source = std::max(hi.source, k.source);
        lo.seq = std::min(lo.seq, k.seq);
        hi.seq = std::max(hi.seq, k.seq);
    }
    const int w_kind = static_cast<int>(std::bit_width(static_cast<unsigned>(hi.kind) - static_cast<unsigned>(lo.kind)));
    const int w_target = static_cast<int>(std::bit_width(hi.target - lo.target));
    const int w_source = static_cast<int>(std::bit_width(hi.source - lo.source));
    const int w_seq = static_cast<int>(std::bit_width(hi.seq - lo.seq));
    const int width = w_kind + w_target + w_source + w_seq;
    if (width > 64) {
        std::sort(order_.begin(), order_.end(), [&](std::uint32_t a, std::uint32_t b) { return run[a].key < run[b].key; });
        return;
    }
    digits_.resize(n);
    digits_out_.resize(n);
    // Shifts by 64 cannot happen: a field that is shifted by the others' widths leaves room
    // for them, and the whole fits 64 bits. A field of width 0 contributes 0.
    const auto pack = [&](const EventKey& k) {
        std::uint64_t w = static_cast<std::uint64_t>(static_cast<unsigned>(k.kind) - static_cast<unsigned>(lo.kind));
        w = (w << w_target) | (k.target - lo.target);
        w = (w << w_source) | (k.source - lo.source);
        return w_seq == 64 ? k.seq - lo.seq : (w << w_seq) | (k.seq - lo.seq);
    };
    // A radix pass costs its counters on top of its n moves: small runs sort faster by
    // comparison, of the packed words rather than of whole keys.
    if (n < 256) {
        for (std::size_t i = 0; i < n; ++i) digits_[i] = {pack(run[i].key), static_cast<std::uint32_t>(i)};
        std::sort(digits_.begin(), digits_.end(), [](const Digit& a, const Digit& b) { return a.word < b.word; });
        for (std::size_t i = 0; i < n; ++i) order_[i] = digits_[i].index;
        return;
    }
    // Every pass's counts at once, while packing: the counts do not depend on the order.
    const int passes = (width + 7) / 8;
    std::uint32_t count[8][256] = {};
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t w = pack(run[i].key);
        digits_[i] = {w, static_cast<std::uint32_t>(i)};
        for (int p = 0; p < passes; ++p) ++count[p][(w >> (8 * p)) & 0xff];
    }
    // Least significant digit first, each pass a stable counting sort on one byte; the last
    // writes the order itself.
    for (int p = 0; p < passes; ++p) {
        std::uint32_t at = 0;
        for (std::uint32_t& c: count[p]) {
            const std::uint32_t here = c;
            c = at;
            at += here;
        }
        const int shift = 8 * p;
        if (p + 1 < passes) {
            for (const Digit& d: digits_) digits_out_[count[p][(d.word >> shift) & 0xff]++] = d;
            digits_.swap(digits_out_);
        }
        else {
            for (const Digit& d: digits_) order_[count[p][(d.word >> shift) & 0xff]++] = d.index;
        }
    }
    if (passes == 0) std::iota(order_.begin(), order_.end(), 0u); // one key: cannot happen, keys are distinct
}

void RadixHeapQueue::settle() const {
    if (!run_empty() || !late_.empty() || size_ == 0) return;
    const int b = std::countr_zero(filled_) + 1;
    auto& src = buckets_[b];
    last_ = min_time_[b];
    // Every event of bucket b moves to a lower bucket relative to the new last time.
    for (const Event& e: src) place(e);
    src.clear();
    min_time_[b] = INT64_MAX;
    filled_ &= ~(std::uint64_t{1} << (b - 1));
    sort_run();
}

void RadixHeapQueue::run_advance() const {
    if (++next_ == order_.size()) {
        buckets_[0].clear();
        order_.clear();
        next_ = 0;
    }
}

const Event& RadixHeapQueue::top() const {
    if (size_ == 0) [[unlikely]] throw InternalError("RadixHeapQueue::top: the queue is empty");
    settle();
    if (late_.empty()) return run_top();
    if (run_empty() || late_.front().key < run_top().key) return late_.front();
    return run_top();
}

Event RadixHeapQueue::pop() {
    if (size_ == 0) [[unlikely]] throw InternalError("RadixHeapQueue::pop: the queue is empty");
    settle();
    --size_;
    if (!late_.empty() && (run_empty() || late_.front().key < run_top().key)) {
        std::pop_heap(late_.begin(), late_.end(), Later{});
        Event e = late_.back();
        late_.pop_back();
        return e;
    }
    Event e = run_top();
    run_advance();
    return e;
}

std::vector<Event> RadixHeapQueue::pending() const {
    std::vector<Event> v;
    v.reserve(size_);
    for (int b = 1; b <= 64; ++b) v.insert(v.end(), buckets_[b].begin(), buckets_[b].end());
    for (std::size_t i = next_; i < order_.size(); ++i) v.push_back(buckets_[0][order_[i]]);
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
