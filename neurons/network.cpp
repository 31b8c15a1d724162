#include "neurons/network.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "engine/rng.hpp"

namespace spikenn {

std::optional<Time> Stimulus::occurrence_time(std::uint64_t k) const {
    if (every == Time::zero()) {
        if (k < at.size()) return at[k];
        return std::nullopt;
    }
    // from + k * every < until, without overflow.
    const std::int64_t span = until.ticks() - from.ticks();
    if (span <= 0) return std::nullopt;
    const auto count = static_cast<std::uint64_t>((span - 1) / every.ticks()) + 1;
    if (k >= count) return std::nullopt;
    return from + Time::from_ticks(static_cast<std::int64_t>(k) * every.ticks());
}

Tensor Network::stimulus_tensor(std::size_t s, std::uint64_t k) const {
    const Stimulus& st = stimuli[s];
    const StimulusTensor& src = st.tensor;
    switch (src.kind) {
    case StimulusTensor::Kind::fixed: return src.tensor;
    case StimulusTensor::Kind::constant: {
        Tensor t(src.rows, src.cols);
        std::fill(t.data.begin(), t.data.end(), src.value);
        return t;
    }
    case StimulusTensor::Kind::random: {
        // One stream per occurrence: the draw at occurrence k does not depend on how many
        // occurrences came before it were run.
        RandomStream rs(seed, entity_id("stimulus:" + st.name), static_cast<std::uint32_t>(k));
        Tensor t(src.rows, src.cols);
        for (auto& x: t.data) x = src.value * rs.normal();
        return t;
    }
    }
    return {};
}

void Network::set_threads(unsigned threads) {
    prefetch_.reset();
    if (threads > 1) {
        prefetch_ = std::make_unique<BlockPrefetcher>(threads - 1, neurons.size());
        for (EntityId id = 0; id < neurons.size(); ++id) prefetch_->note_potential(id, neurons[id].state.potential);
    }
}

void Network::prefetch(const Event& e, Simulator& sim) {
    if (!prefetch_) return;
    // An input that arrives within the target's current refractory period will be dropped:
    // the neuron cannot spike again before the period ends. Its block is not needed.
    const TransformerNeuron& n = neurons[e.key.target];
    if (n.refractory_at(e.key.time)) return;
    prefetch_->submit(e.key, n, sim.payloads().get(e.payload));
}

void Network::schedule_occurrence(Simulator& sim, std::size_t s, std::uint64_t k) {
    const Stimulus& st = stimuli[s];
    auto t = st.occurrence_time(k);
    if (!t || st.targets.empty()) return;
    const PayloadId p = sim.payloads().add(stimulus_tensor(s, k), static_cast<std::uint32_t>(st.targets.size()));
    for (EntityId target: st.targets) {
        Event e;
        e.key = {*t, EventKind::input, target, external_source(static_cast<std::uint32_t>(s)), k};
        e.payload = p;
        e.cause = 0;
        sim.schedule(e);
        prefetch(e, sim);
    }
}

namespace {
// t + d, or nothing when the sum would pass the last representable time: such an event
// could never come due.
std::optional<Time> later(Time t, Time d) {
    if (t.ticks() > Time::max().ticks() - d.ticks()) return std::nullopt;
    return t + d;
}
} // namespace

void Network::start(Simulator& sim) {
    if (prefetch_) prefetch_->clear();
    spike_outputs_.clear();
    // A run starts from the parameters, whatever an earlier run left in the state.
    for (EntityId id = 0; id < neurons.size(); ++id) {
        TransformerNeuron& n = neurons[id];
        n.state = NeuronState{};
        n.state.potential = n.params.reset_potential; // as the seed
        if (prefetch_) prefetch_->note_potential(id, n.state.potential);
    }
    next_occurrence_.assign(stimuli.size(), 1);
    for (std::size_t s = 0; s < stimuli.size(); ++s) schedule_occurrence(sim, s, 0);
    for (EntityId id = 0; id < neurons.size(); ++id) update_decay_event(id, sim);
}

Event Network::own_event(EntityId id, Time t, EventKind kind, Simulator& sim) {
    Event e;
    e.key = {t, kind, id, id, neurons[id].state.seq++};
    e.cause = sim.event_number();
    return e;
}

void Network::update_decay_event(EntityId id, Simulator& sim) {
    TransformerNeuron& n = neurons[id];
    const std::optional<Time> due = n.zero_time();
    if (n.state.pending_decay && due && n.state.pending_decay->time == *due) return;
    if (n.state.pending_decay) {
        sim.cancel(*n.state.pending_decay);
        n.state.pending_decay.reset();
    }
    if (due) {
        Event e = own_event(id, *due, EventKind::decay_update, sim);
        n.state.pending_decay = e.key;
        sim.schedule(e);
    }
}

EventResult Network::on_input(EntityId id, const Event& e, Simulator& sim) {
    TransformerNeuron& n = neurons[id];
    const Time t = e.key.time;
    // Decay first, refractory or not (the seed's order).
    n.state.potential = n.potential_at(t);
    n.state.last_update = t;
    if (n.refractory_at(t)) {
        if (prefetch_) prefetch_->take(e.key, false);
        update_decay_event(id, sim);
        return {Outcome::dropped, n.state.potential, no_payload};
    }
    std::optional<BlockResult> block;
    if (prefetch_) block = prefetch_->take(e.key, true);
    if (!block) block = compute_block(n, sim.payloads().get(e.payload));
    if (!block->finite) throw std::runtime_error(fmt::format("neuron {}: the block's output is not finite (NaN or infinity)", names[id]));
    const double r = block->readout;
    if (!std::isfinite(r)) throw std::runtime_error(fmt::format("neuron {}: the readout is not finite ({})", names[id], r));
    n.state.potential += r;
    if (n.state.potential >= n.params.threshold) {
        // The spike runs at this same time, before any further input to this neuron.
        sim.payloads().retain(e.payload);
        n.state.spike_input = e.payload;
        if (n.state.pending_decay) {
            sim.cancel(*n.state.pending_decay);
            n.state.pending_decay.reset();
        }
        sim.schedule(own_event(id, t, EventKind::spike, sim));
        if (block->spike_output) {
            spike_outputs_.resize(neurons.size());
            spike_outputs_[id] = std::move(block->spike_output);
        }
        return {Outcome::spiked, n.state.potential, no_payload};
    }
    update_decay_event(id, sim);
    return {Outcome::accumulated, n.state.potential, no_payload};
}

EventResult Network::on_spike(EntityId id, const Event& e, Simulator& sim) {
    TransformerNeuron& n = neurons[id];
    const Time t = e.key.time;
    Tensor output;
    if (id < spike_outputs_.size() && spike_outputs_[id]) {
        output = *spike_outputs_[id];
        spike_outputs_[id].reset();
    }
    else {
        output = feed_forward(*n.weights, sim.payloads().get(n.state.spike_input));
    }
    sim.payloads().release(n.state.spike_input);
    n.state.spike_input = no_payload;
    for (float v: output.data) {
        if (!std::isfinite(v)) {
            throw std::runtime_error(fmt::format("neuron {}: the spike output is not finite", names[id]));
        }
    }
    n.state.potential = n.params.reset_potential;
    n.state.last_update = t;
    n.state.last_spike = t;
    if (n.params.refractory_period > Time::zero()) {
        const auto end = later(t, n.params.refractory_period);
        if (end) sim.schedule(own_event(id, *end, EventKind::refractory_end, sim));
        if (prefetch_) prefetch_->refractory(id, end.value_or(Time::max()));
    }
    // Targets share one tensor per distinct weight: the output itself for weight 1, one
    // scaled copy for each other weight. Each holds a reference per delivery.
    const auto& out = synapses[id];
    std::vector<std::pair<float, PayloadId>> by_weight{{1.0f, sim.payloads().add(output, 1)}};
    const PayloadId produced = by_weight.front().second;
    for (const Synapse& s: out) {
        const std::optional<Time> arrival = later(t, s.delay);
        if (!arrival) continue;
        auto it = std::find_if(by_weight.begin(), by_weight.end(), [&](const auto& w) { return w.first == s.weight; });
        if (it == by_weight.end()) {
            Tensor scaled = output;
            for (auto& v: scaled.data) v *= s.weight;
            by_weight.emplace_back(s.weight, sim.payloads().add(std::move(scaled), 1));
            it = by_weight.end() - 1;
        }
        else {
            sim.payloads().retain(it->second);
        }
        Event d;
        d.key = {*arrival, EventKind::input, s.target, id, n.state.seq++};
        d.payload = it->second;
        d.cause = sim.event_number();
        sim.schedule(d);
        prefetch(d, sim);
    }
    // A scaled copy was added with the reference of its first delivery; the output itself
    // with the reference of the record (released after the observers).
    update_decay_event(id, sim);
    return {Outcome::delivered, n.state.potential, produced};
}

EventResult Network::handle(const Event& e, Simulator& sim) {
    const EntityId id = e.key.target;
    TransformerNeuron& n = neurons[id];
    switch (e.key.kind) {
    case EventKind::input: {
        if (is_external(e.key.source)) {
            // Keep exactly one future occurrence of each stimulus in the queue.
            const std::size_t s = external_index(e.key.source);
            if (next_occurrence_[s] == e.key.seq + 1) {
                next_occurrence_[s] = e.key.seq + 2;
                schedule_occurrence(sim, s, e.key.seq + 1);
            }
        }
        const EventResult r = on_input(id, e, sim);
        if (prefetch_) prefetch_->note_potential(id, n.state.potential);
        return r;
    }
    case EventKind::spike: {
        const EventResult r = on_spike(id, e, sim);
        if (prefetch_) prefetch_->note_potential(id, n.state.potential);
        return r;
    }
    case EventKind::decay_update:
        n.state.pending_decay.reset();
        return {Outcome::decay_update, n.potential_at(e.key.time), no_payload};
    case EventKind::refractory_end: return {Outcome::refractory_end, n.potential_at(e.key.time), no_payload};
    }
    throw std::logic_error("unknown event kind");
}

void Network::save_state(StateWriter& out) const {
    out.put<std::uint64_t>(neurons.size());
    for (const auto& n: neurons) {
        const NeuronState& st = n.state;
        out.put(st.potential);
        out.put(st.last_update.ticks());
        out.put<std::uint8_t>(st.last_spike.has_value());
        out.put(st.last_spike.value_or(Time::zero()).ticks());
        out.put<std::uint8_t>(st.pending_decay.has_value());
        put_key(out, st.pending_decay.value_or(EventKey{}));
        out.put(st.spike_input);
        out.put(st.seq);
    }
    out.put<std::uint64_t>(next_occurrence_.size());
    for (auto k: next_occurrence_) out.put(k);
}

void Network::load_state(StateReader& in) {
    if (prefetch_) prefetch_->clear(); // the queued blocks belong to the replaced state
    spike_outputs_.clear();
    const auto n = in.get<std::uint64_t>();
    if (n != neurons.size()) {
        throw StateError(fmt::format("the saved state has {} neurons, this network {}", n, neurons.size()));
    }
    std::vector<NeuronState> states(neurons.size());
    for (NeuronState& st: states) {
        st.potential = in.get<double>();
        st.last_update = Time::from_ticks(in.get<std::int64_t>());
        const bool spiked = in.get<std::uint8_t>() != 0;
        const Time last = Time::from_ticks(in.get<std::int64_t>());
        if (spiked) st.last_spike = last;
        const bool pending = in.get<std::uint8_t>() != 0;
        const EventKey k = get_key(in);
        if (pending) st.pending_decay = k;
        st.spike_input = in.get<PayloadId>();
        st.seq = in.get<std::uint64_t>();
    }
    const auto s = in.get<std::uint64_t>();
    if (s != stimuli.size()) throw StateError(fmt::format("the saved state has {} stimuli, this network {}", s, stimuli.size()));
    std::vector<std::uint64_t> next(s);
    for (auto& k: next) k = in.get<std::uint64_t>();
    for (EntityId i = 0; i < neurons.size(); ++i) {
        neurons[i].state = states[i];
        if (prefetch_) prefetch_->note_potential(i, states[i].potential);
    }
    next_occurrence_ = std::move(next);
}

EventResult Network::cancelled(const Event& e, Simulator&) {
    return {Outcome::cancelled, neurons[e.key.target].potential_at(e.key.time), no_payload};
}

} // namespace spikenn
