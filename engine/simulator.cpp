#include <spikenn/error.hpp>
#include <spikenn/simulator.hpp>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace spikenn {

std::string_view to_string(StopReason r) {
    switch (r) {
    case StopReason::queue_empty: return "no events left";
    case StopReason::end_time: return "end time reached";
    case StopReason::max_events: return "event limit reached";
    }
    return "unknown";
}

SimulationError::SimulationError(std::uint64_t number, const Event& e, const std::string& what):
    Error(fmt::format("event {} ({} at {} for neuron {}): {}", number, to_string(e.key.kind), e.key.time,
        e.key.target, what)),
    event_number(number),
    event(e) {}


Simulator::Simulator(Model& model, std::unique_ptr<EventQueue> queue): model_(model), queue_(std::move(queue)) {}

void Simulator::start() {
    if (started_) return;
    started_ = true;
    model_.start(*this);
}

void Simulator::schedule(const Event& e) {
    if (e.key.time < now_) {
        throw InternalError(fmt::format("an event for neuron {} was scheduled at {}, before the current time {}",
            e.key.target, e.key.time, now_));
    }
    queue_->push(e);
}

void Simulator::cancel(const EventKey& key) {
    if (!cancelled_.insert(key).second) {
        throw InternalError(fmt::format("the event at {} for neuron {} was cancelled twice", key.time, key.target));
    }
}

bool Simulator::take_cancelled(const EventKey& key) {
    auto it = cancelled_.begin();
    if (*it != key) it = cancelled_.find(key); // a stale key is smaller: look the event's up
    if (it == cancelled_.end()) return false;
    cancelled_.erase(it);
    return true;
}

std::optional<EventRecord> Simulator::step() {
    start();
    // The next event, or nullptr where the run stops.
    const Event* next = [this]() -> const Event* {
        if (queue_->empty()) {
            stop_ = StopReason::queue_empty;
            return nullptr;
        }
        const Event& e = queue_->top();
        if (e.key.time > limits_.end) {
            stop_ = StopReason::end_time;
            return nullptr;
        }
        if (processed_ >= limits_.max_events) {
            stop_ = StopReason::max_events;
            return nullptr;
        }
        return &e;
    }();
    // The record is built where it is returned (one object on every path), from its fields:
    // an empty optional, or a value-initialised record, cost a clear of 88 bytes with rep
    // stos, slow to start, a third of step()'s own time. The event is copied from the
    // queue's own storage before pop(), and the model's result field by field: whole-struct
    // copies through temporaries, written field by field and read back in wider words,
    // stalled on store forwarding.
    // (Braces, not std::in_place: clang 14 has no parenthesised aggregate initialisation.)
    std::optional<EventRecord> out = next ? std::optional<EventRecord>(EventRecord{processed_ + 1, *next, EventResult{}}) : std::nullopt;
    if (!out) return out;
    stop_.reset();
    EventRecord& rec = *out;
    queue_->pop();
    now_ = rec.event.key.time;
    ++processed_;
    const auto take = [&rec](const EventResult& r) {
        rec.result.outcome = r.outcome;
        rec.result.potential = r.potential;
        rec.result.produced = r.produced;
    };
    if (!cancelled_.empty() && !(rec.event.key < *cancelled_.begin()) && take_cancelled(rec.event.key)) {
        take(model_.cancelled(rec.event, *this));
        rec.result.outcome = Outcome::cancelled;
    }
    else {
        try {
            take(model_.handle(rec.event, *this));
        }
        catch (const SimulationError&) {
            throw;
        }
        catch (const InternalError&) {
            throw; // a bug of ours, not a failed run
        }
        catch (const std::exception& ex) {
            throw SimulationError(rec.number, rec.event, ex.what());
        }
    }
    for (const auto& o: observers_) o(rec, *this);
    if (rec.event.payload != no_payload) payloads_.release(rec.event.payload);
    if (rec.result.produced != no_payload) payloads_.release(rec.result.produced);
    return out;
}

void put_key(StateWriter& out, const EventKey& k) {
    out.put(k.time.ticks());
    out.put(static_cast<std::uint8_t>(k.kind));
    out.put(k.target);
    out.put(k.source);
    out.put(k.seq);
}

EventKey get_key(StateReader& in) {
    const std::uint64_t at = in.offset();
    EventKey k;
    k.time = Time::from_ticks(in.get<std::int64_t>());
    const auto kind = in.get<std::uint8_t>();
    if (kind >= event_kind_count) throw StateError(fmt::format("an event of unknown kind {}", kind), at + 8);
    k.kind = static_cast<EventKind>(kind);
    k.target = in.get<EntityId>();
    k.source = in.get<EntityId>();
    k.seq = in.get<std::uint64_t>();
    return k;
}

namespace {
void put_event(StateWriter& out, const Event& e) {
    put_key(out, e.key);
    out.put(e.payload);
    out.put(e.cause);
    out.put(e.efficacy);
}
Event get_event(StateReader& in, std::uint32_t layout) {
    Event e;
    e.key = get_key(in);
    e.payload = in.get<PayloadId>();
    e.cause = in.get<std::uint64_t>();
    if (layout >= 2) {
        const std::uint64_t at = in.offset();
        e.efficacy = in.get<float>();
        if (!std::isfinite(e.efficacy)) throw StateError(fmt::format("an event's efficacy {} is not finite", e.efficacy), at);
    }
    return e;
}
constexpr std::size_t saved_event_bytes(std::uint32_t layout) { return 8 + 1 + 4 + 4 + 8 + 4 + 8 + (layout >= 2 ? 4 : 0); }
std::string describe(const EventKey& k) {
    return fmt::format("{} at {} ticks, target {}, source {:#x}, number {}", to_string(k.kind), k.time.ticks(), k.target, k.source, k.seq);
}
} // namespace

const Event* SavedState::find(const EventKey& k) const {
    const auto it = std::lower_bound(pending.begin(), pending.end(), k, [](const Event& e, const EventKey& key) { return e.key < key; });
    return it != pending.end() && it->key == k ? &*it : nullptr;
}

bool SavedState::is_cancelled(const EventKey& k) const { return std::binary_search(cancelled.begin(), cancelled.end(), k); }

const Tensor& SavedState::payload(PayloadId id, std::uint64_t offset, std::string_view what) const {
    if (id == no_payload || !payloads.is_live(id)) throw StateError(fmt::format("{} names payload {}, which does not exist", what, id), offset);
    return payloads.get(id);
}

SavedClock Simulator::saved_clock(StateReader in) {
    SavedClock c;
    c.now = Time::from_ticks(in.get<std::int64_t>());
    c.processed = in.get<std::uint64_t>();
    return c;
}

void Simulator::save_state(StateWriter& out) const {
    out.put(now_.ticks());
    out.put(processed_);
    out.put<std::uint8_t>(started_);
    const std::vector<Event> pending = queue_->pending();
    out.put<std::uint64_t>(pending.size());
    for (const Event& e: pending) put_event(out, e);
    out.put<std::uint64_t>(cancelled_.size());
    for (const EventKey& k: cancelled_) put_event(out, Event{k}); // in key order
    payloads_.save_state(out);
    model_.save_state(out);
}

void Simulator::load_state(StateReader& in, std::uint32_t layout) {
    if (layout < 1 || layout > state_layout) throw StateError(fmt::format("the state's layout {} is not known", layout), in.offset());
    // Everything is read and checked into `saved` first; the simulator and the model change
    // only once the whole state has passed.
    SavedState saved;
    std::uint64_t at = in.offset();
    saved.now = Time::from_ticks(in.get<std::int64_t>());
    if (saved.now < Time::zero()) throw StateError(fmt::format("the clock is negative ({} ticks)", saved.now.ticks()), at);
    saved.processed = in.get<std::uint64_t>();
    const std::uint64_t started_at = in.offset();
    const auto started = in.get<std::uint8_t>();
    if (started > 1) throw StateError(fmt::format("the started flag is {}, not 0 or 1", started), started_at);
    saved.pending.resize(in.get_count(saved_event_bytes(layout)));
    saved.offsets.resize(saved.pending.size());
    for (std::size_t i = 0; i < saved.pending.size(); ++i) {
        saved.offsets[i] = in.offset();
        const Event& e = saved.pending[i] = get_event(in, layout);
        if (e.key.time < saved.now) {
            throw StateError(fmt::format("a pending event at {} ticks is before the clock ({} ticks)", e.key.time.ticks(), saved.now.ticks()), saved.offsets[i]);
        }
        if (i > 0 && !(saved.pending[i - 1].key < e.key)) {
            throw StateError(fmt::format("pending event {} ({}) is not after pending event {} ({}) in key order: one of them was changed", i,
                                 describe(e.key), i - 1, describe(saved.pending[i - 1].key)),
                saved.offsets[i]);
        }
        if (e.cause > saved.processed) {
            throw StateError(fmt::format("a pending event names event {} as its cause, after the {} processed", e.cause, saved.processed), saved.offsets[i] + 29);
        }
    }
    saved.cancelled.resize(in.get_count(saved_event_bytes(layout)));
    for (std::size_t i = 0; i < saved.cancelled.size(); ++i) {
        at = in.offset();
        const EventKey k = saved.cancelled[i] = get_event(in, layout).key;
        if (i > 0 && !(saved.cancelled[i - 1] < k)) throw StateError("the cancelled events are not in key order, or one is there twice", at);
        // Cancelling an event that is not pending would fail when the model cancels it.
        if (!saved.find(k)) throw StateError("a cancelled event is not pending", at);
    }
    if (!started && (saved.processed || !saved.pending.empty())) {
        throw StateError("a state that was never started has events", started_at);
    }
    saved.payloads.load_state(in);
    saved.references.assign(saved.payloads.slots(), 0);
    for (std::size_t i = 0; i < saved.pending.size(); ++i) {
        const Event& e = saved.pending[i];
        if (e.payload == no_payload) continue;
        saved.payload(e.payload, saved.offsets[i] + 25, "a pending event");
        ++saved.references[e.payload];
    }
    at = in.offset();
    model_.load_state(in, saved);
    if (!in.at_end()) throw StateError("bytes after the end of the simulator's state", in.offset());
    // Every reference a slot counts has an owner: a count too high would keep a tensor for
    // ever, one too low would free it while an event still names it.
    for (PayloadId id = 0; id < saved.payloads.slots(); ++id) {
        if (saved.payloads.references(id) != saved.references[id]) {
            throw StateError(fmt::format("payload {} counts {} references, but {} events and neurons hold it", id, saved.payloads.references(id),
                                 saved.references[id]),
                at);
        }
    }
    model_.commit_state();
    while (!queue_->empty()) queue_->pop();
    for (const Event& e: saved.pending) queue_->push(e);
    cancelled_ = std::set<EventKey>(saved.cancelled.begin(), saved.cancelled.end());
    payloads_ = std::move(saved.payloads);
    now_ = saved.now;
    processed_ = saved.processed;
    started_ = started != 0;
    stop_.reset();
}

StopReason Simulator::run() { return run_until(limits_.end); }

StopReason Simulator::run_until(Time t) {
    const RunLimits saved = limits_;
    if (t < limits_.end) limits_.end = t;
    while (step()) {}
    const Time reached = limits_.end;
    limits_ = saved;
    // Time advances to the end of the interval, even when no event was left in it.
    if (*stop_ != StopReason::max_events && reached != Time::max() && now_ < reached) now_ = reached;
    return *stop_;
}

} // namespace spikenn
