// The pending-event set behind a small interface, so that a faster structure can
// replace the binary heap without touching the simulator.
//
// Every implementation pops events in increasing EventKey order. Keys pushed may be
// smaller than the last key popped (a spike scheduled at the current time runs before
// the remaining inputs at that time), but never earlier in time than it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include <spikenn/event.hpp>

namespace spikenn {

class EventQueue {
public:
    virtual ~EventQueue() = default;
    virtual void push(const Event& e) = 0;
    // On an empty queue: std::logic_error (a bug of the caller's), checked in every build.
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
    const Event& top() const override;
    Event pop() override;
    bool empty() const override { return heap_.empty(); }
    std::size_t size() const override { return heap_.size(); }
    std::vector<Event> pending() const override;
    std::string_view name() const override { return "binary-heap"; }

private:
    std::vector<Event> heap_;
};

// A radix heap on the event time (Ahuja, Mehlhorn, Orlin and Tarjan, 1990) for the monotone
// keys of a discrete-event simulation: no event is ever earlier than the last one popped.
// Bucket b > 0 holds the events whose time first differs from the last popped time in bit
// b - 1; bucket 0 (the run) holds the events at exactly that time, sorted once on the whole
// key when that time is reached (many events share a time), with a small heap beside it for
// events scheduled at that time afterwards (a spike at the time of its input). push is O(1);
// pop is O(1) from the sorted run or O(log k) from the side heap, plus amortised O(1)
// redistribution: an event moves only to lower buckets, at most 64 times, and in practice
// once or twice. Events are kept in the buckets by value; each bucket knows its earliest
// time, so that redistribution reads a bucket once. A run of 256 events or more is sorted
// by an LSD radix sort on its keys packed into one word (each field less its least value in
// the run), and popped through the sorted index: a comparison sort mispredicted a branch at
// about every other comparison, and was half the cost of an event.
class RadixHeapQueue final: public EventQueue {
public:
    RadixHeapQueue();
    void push(const Event& e) override;
    const Event& top() const override;
    Event pop() override;
    bool empty() const override { return size_ == 0; }
    std::size_t size() const override { return size_; }
    std::vector<Event> pending() const override;
    std::string_view name() const override { return "radix-heap"; }

private:
    static int bucket_of(std::int64_t time, std::int64_t last);
    // Makes the run hold the earliest events, if there are any.
    void settle() const;
    // Moves every event back into the buckets for a new, earlier last time.
    void rebuild(std::int64_t time);
    void place(const Event& e) const;
    void sort_run() const;
    bool run_empty() const { return next_ == order_.size(); }
    const Event& run_top() const { return buckets_[0][order_[next_]]; }
    void run_advance() const;

    mutable std::vector<Event> buckets_[65]; // bucket 0: the run, in the order it was filled
    mutable std::int64_t min_time_[65];      // the earliest time in each bucket; INT64_MAX when empty
    mutable std::uint64_t filled_ = 0;       // bit b - 1 set: bucket b > 0 holds events
    mutable std::vector<std::uint32_t> order_; // the run in key order, by index into buckets_[0]
    mutable std::size_t next_ = 0;             // the next of order_ to pop
    mutable std::vector<Event> late_;        // at the current time, pushed after sorting: a heap
    // Scratch for sorting the run: the key after its time, packed into one word.
    struct Digit {
        std::uint64_t word;
        std::uint32_t index;
    };
    mutable std::vector<Digit> digits_, digits_out_;
    mutable std::int64_t last_ = INT64_MIN;  // the time of the events in the run
    std::size_t size_ = 0;
};

std::unique_ptr<EventQueue> make_default_queue();
std::unique_ptr<EventQueue> make_queue(std::string_view name); // "binary-heap" or "radix-heap"; nullptr if unknown

} // namespace spikenn
