// The simulator: one object per run, built from a model; no globals.
//
// The event loop pops the smallest pending key, hands the event to the model, tells the
// observers what happened, and releases the event's payload. step() processes exactly one
// event; run() and run_until() are loops of step() and stop at the limits. Nothing here
// reads a clock: a run is a function of the model and its inputs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <spikenn/error.hpp>
#include <spikenn/event.hpp>
#include <spikenn/event_queue.hpp>
#include <spikenn/payload.hpp>
#include <spikenn/state.hpp>
#include <spikenn/time.hpp>

namespace spikenn {

// The layout save_state() writes. 2: each event ends with its efficacy (f32); 1: events
// without it (every efficacy 1).
inline constexpr std::uint32_t state_layout = 2;

class Simulator;
struct SavedState;

// What handling one event produced.
struct EventResult {
    Outcome outcome = Outcome::accumulated;
    double potential = 0; // the target's potential after the event
    // A payload the event produced (a spike's output), with one reference that the
    // simulator releases after the observers have seen it.
    PayloadId produced = no_payload;
};

// The record of one processed event, as observers see it.
struct EventRecord {
    std::uint64_t number = 0; // 1 for the first processed event
    Event event;
    EventResult result;
};

// The model: what the events mean. The engine knows only this interface.
class Model {
public:
    virtual ~Model() = default;
    // Schedules the model's initial events. Called once, by Simulator::start().
    virtual void start(Simulator& sim) = 0;
    // Handles one event that is due now. It may schedule events at or after now.
    virtual EventResult handle(const Event& e, Simulator& sim) = 0;
    // Reports a cancelled event as it comes due (the outcome is Outcome::cancelled);
    // it must not change the model's state.
    virtual EventResult cancelled(const Event& e, Simulator& sim) = 0;
    // The model's mutable state, for checkpoints; load_state() restores what save_state()
    // wrote, exactly.
    virtual void save_state(StateWriter& out) const = 0;
    // Saved state comes from files, and a file can say anything: load_state() reads the
    // model's part and checks it, and every pending event in `saved`, against the model,
    // throwing StateError for anything this model could not have saved (a target that does
    // not exist, an input of the wrong shape, a time after the clock, ...). It leaves the
    // model as it was; it adds the payload references its state holds to saved.references.
    // Only commit_state() then makes the checked state the model's own, so that a state the
    // simulator refuses after the model's checks never reaches the model.
    virtual void load_state(StateReader& in, SavedState& saved) = 0;
    virtual void commit_state() = 0;
};

// The simulator's part of a saved state, read and checked, before it is taken: what a
// model checks its own state against in Model::load_state().
struct SavedState {
    Time now;
    std::uint64_t processed = 0;
    std::vector<Event> pending;             // in key order, distinct keys
    std::vector<std::uint64_t> offsets;     // where each pending event was read
    std::vector<EventKey> cancelled;        // in key order, each one pending
    PayloadStore payloads;
    std::vector<std::uint32_t> references;  // per payload slot: pending events, then the model's

    // The pending event with key k, if any.
    const Event* find(const EventKey& k) const;
    bool is_cancelled(const EventKey& k) const;
    // A live payload's tensor, or StateError naming `what` and `offset`.
    const Tensor& payload(PayloadId id, std::uint64_t offset, std::string_view what) const;
};

struct SavedClock {
    Time now;
    std::uint64_t processed = 0;
};

struct RunLimits {
    Time end = Time::max();                           // events after `end` are not processed
    std::uint64_t max_events = UINT64_MAX;            // processed events, cancelled ones included
};

// An event key in saved state; get_key refuses kinds that do not exist (StateError).
void put_key(StateWriter& out, const EventKey& k);
EventKey get_key(StateReader& in);

enum class StopReason { queue_empty, end_time, max_events };
std::string_view to_string(StopReason r);

// A failure inside the model during a run, with where it happened.
class SimulationError: public Error {
public:
    SimulationError(std::uint64_t number, const Event& e, const std::string& what);
    std::uint64_t event_number;
    Event event;
};

using EventObserver = std::function<void(const EventRecord&, const Simulator&)>;

class Simulator {
public:
    explicit Simulator(Model& model, std::unique_ptr<EventQueue> queue = make_default_queue());

    // Calls model.start() once; step()/run() call it if it has not been called.
    void start();

    // Schedules e. Throws std::logic_error if e is earlier than now: that is a model bug,
    // and it is checked in every build.
    void schedule(const Event& e);
    // Marks a pending event as stale; when it comes due it is recorded as cancelled and
    // not handed to the model. Cancelling a key that is not pending is a model bug.
    void cancel(const EventKey& key);

    // Processes exactly one event, unless the queue is empty or a limit stops the run.
    // The payloads the record names are released when step() returns: observers see
    // them, callers of step() must not look them up.
    std::optional<EventRecord> step();
    StopReason run();
    // Processes every event at or before t (within the limits); now() is t afterwards
    // unless a limit stopped the run first.
    StopReason run_until(Time t);

    void set_limits(const RunLimits& limits) { limits_ = limits; }
    const RunLimits& limits() const { return limits_; }
    void add_observer(EventObserver o) { observers_.push_back(std::move(o)); }

    // The whole state: clock, counters, pending events, their payloads, cancellations and
    // the model's state. Equal states give equal bytes (pending events in key order).
    void save_state(StateWriter& out) const;
    // Replaces the state with saved bytes. Throws StateError, leaving the simulator and the
    // model as they were, for bytes that are cut, malformed, or that this model could not
    // have saved: a loaded state is one the run could have reached, so that nothing after
    // it can read out of bounds. `layout` is the layout the bytes were saved in (older
    // checkpoints keep theirs).
    void load_state(StateReader& in, std::uint32_t layout = state_layout);
    // The clock and the count of processed events of a saved state, read from its first
    // bytes without loading it (StateError when they are cut), for checks made before a load.
    static SavedClock saved_clock(StateReader in);

    Time now() const { return now_; }
    // Number of the event being handled (during handle()) or of the last one processed.
    std::uint64_t event_number() const { return processed_; }
    std::uint64_t events_processed() const { return processed_; }
    std::optional<StopReason> stop_reason() const { return stop_; }

    PayloadStore& payloads() { return payloads_; }
    const PayloadStore& payloads() const { return payloads_; }
    const EventQueue& queue() const { return *queue_; }
    bool is_cancelled(const EventKey& key) const { return cancelled_.contains(key); }

private:
    // Removes key from the cancelled keys, if it is one (the smallest is not below it).
    bool take_cancelled(const EventKey& key);

    Model& model_;
    std::unique_ptr<EventQueue> queue_;
    PayloadStore payloads_;
    // Cancelled keys in key order. Events come due in key order and every pending key is at
    // least the one popped, so a popped event can be cancelled only if no cancelled key is
    // smaller than its own: the common, uncancelled event costs one comparison with the
    // smallest cancelled key (a hash and a probe of a table, before, which missed the cache).
    // A smaller cancelled key is one that is not pending (a model bug); it is kept, and looked
    // up, as before, so that the semantics do not depend on the model being right.
    std::set<EventKey> cancelled_;
    std::vector<EventObserver> observers_;
    RunLimits limits_;
    Time now_ = Time::zero();
    std::uint64_t processed_ = 0;
    bool started_ = false;
    std::optional<StopReason> stop_;
};

} // namespace spikenn
