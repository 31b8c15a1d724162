#include "engine/simulator.hpp"

#include <algorithm>

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
    std::runtime_error(fmt::format("event {} ({} at {} for neuron {}): {}", number, to_string(e.key.kind), e.key.time,
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
        throw std::logic_error(fmt::format("an event for neuron {} was scheduled at {}, before the current time {}",
            e.key.target, e.key.time, now_));
    }
    queue_->push(e);
}

void Simulator::cancel(const EventKey& key) {
    if (!cancelled_.insert(key).second) {
        throw std::logic_error(fmt::format("the event at {} for neuron {} was cancelled twice", key.time, key.target));
    }
    ++cancel_slots_[KeyHash{}(key) & 0xffff];
}

std::optional<EventRecord> Simulator::step() {
    start();
    if (queue_->empty()) {
        stop_ = StopReason::queue_empty;
        return std::nullopt;
    }
    if (queue_->top().key.time > limits_.end) {
        stop_ = StopReason::end_time;
        return std::nullopt;
    }
    if (processed_ >= limits_.max_events) {
        stop_ = StopReason::max_events;
        return std::nullopt;
    }
    stop_.reset();
    EventRecord rec;
    rec.event = queue_->pop();
    now_ = rec.event.key.time;
    rec.number = ++processed_;
    std::uint32_t* slot = cancelled_.empty() ? nullptr : &cancel_slots_[KeyHash{}(rec.event.key) & 0xffff];
    if (slot && *slot && cancelled_.erase(rec.event.key) > 0) {
        --*slot;
        rec.result = model_.cancelled(rec.event, *this);
        rec.result.outcome = Outcome::cancelled;
    }
    else {
        try {
            rec.result = model_.handle(rec.event, *this);
        }
        catch (const SimulationError&) {
            throw;
        }
        catch (const std::exception& ex) {
            throw SimulationError(rec.number, rec.event, ex.what());
        }
    }
    for (const auto& o: observers_) o(rec, *this);
    if (rec.event.payload != no_payload) payloads_.release(rec.event.payload);
    if (rec.result.produced != no_payload) payloads_.release(rec.result.produced);
    return rec;
}

void put_key(StateWriter& out, const EventKey& k) {
    out.put(k.time.ticks());
    out.put(static_cast<std::uint8_t>(k.kind));
    out.put(k.target);
    out.put(k.source);
    out.put(k.seq);
}

EventKey get_key(StateReader& in) {
    EventKey k;
    k.time = Time::from_ticks(in.get<std::int64_t>());
    const auto kind = in.get<std::uint8_t>();
    if (kind >= event_kind_count) throw StateError("state: an event of unknown kind");
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
}
Event get_event(StateReader& in) {
    Event e;
    e.key = get_key(in);
    e.payload = in.get<PayloadId>();
    e.cause = in.get<std::uint64_t>();
    return e;
}
} // namespace

void Simulator::save_state(StateWriter& out) const {
    out.put(now_.ticks());
    out.put(processed_);
    out.put<std::uint8_t>(started_);
    const std::vector<Event> pending = queue_->pending();
    out.put<std::uint64_t>(pending.size());
    for (const Event& e: pending) put_event(out, e);
    std::vector<EventKey> cancelled(cancelled_.begin(), cancelled_.end());
    std::sort(cancelled.begin(), cancelled.end());
    out.put<std::uint64_t>(cancelled.size());
    for (const EventKey& k: cancelled) put_event(out, Event{k, no_payload, 0});
    payloads_.save_state(out);
    model_.save_state(out);
}

void Simulator::load_state(StateReader& in) {
    const Time now = Time::from_ticks(in.get<std::int64_t>());
    const auto processed = in.get<std::uint64_t>();
    const bool started = in.get<std::uint8_t>() != 0;
    std::vector<Event> pending(in.get_count(33));
    for (Event& e: pending) e = get_event(in);
    std::vector<EventKey> cancelled(in.get_count(33));
    for (EventKey& k: cancelled) k = get_event(in).key;
    payloads_.load_state(in);
    for (const Event& e: pending) {
        if (e.payload != no_payload && e.payload >= payloads_.slots()) throw StateError("state: an event names a payload that does not exist");
    }
    model_.load_state(in);
    while (!queue_->empty()) queue_->pop();
    for (const Event& e: pending) queue_->push(e);
    cancelled_ = std::unordered_set<EventKey, KeyHash>(cancelled.begin(), cancelled.end());
    std::fill(cancel_slots_.begin(), cancel_slots_.end(), 0u);
    for (const EventKey& k: cancelled) ++cancel_slots_[KeyHash{}(k) & 0xffff];
    now_ = now;
    processed_ = processed;
    started_ = started;
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
