#include <spikenn/error.hpp>
#include <spikenn/network.hpp>

#include <algorithm>
#include <cmath>
#include <span>
#include <stdexcept>

#include <fmt/format.h>

#include <spikenn/portable_math.hpp>
#include <spikenn/rng.hpp>

#include "block_batcher.hpp"

namespace spikenn {

Network::Network() = default;
Network::~Network() = default;
Network::Network(Network&&) noexcept = default;
Network& Network::operator=(Network&& o) noexcept {
    // The workers read the neurons: they stop before the neurons they read are replaced.
    batcher_.reset();
    seed = o.seed;
    names = std::move(o.names);
    neurons = std::move(o.neurons);
    synapses = std::move(o.synapses);
    stimuli = std::move(o.stimuli);
    drives_ = std::move(o.drives_);
    first_drive_ = std::move(o.first_drive_);
    next_occurrence_ = std::move(o.next_occurrence_);
    loaded_ = std::move(o.loaded_);
    spike_outputs_ = std::move(o.spike_outputs_);
    partition = o.partition;
    comm_ = std::move(o.comm_);
    batch_ = o.batch_;
    batcher_ = std::move(o.batcher_);
    return *this;
}

void Network::check() const {
    auto fail = [](const std::string& what) { throw InputError("the network is inconsistent: " + what); };
    const std::size_t n = neurons.size();
    if (n == 0) fail("it has no neurons");
    if (names.size() != n || synapses.size() != n) fail(fmt::format("{} neurons, {} names and {} lists of synapses", n, names.size(), synapses.size()));
    if (n >= external_bit) fail("too many neurons");
    for (std::size_t i = 0; i < n; ++i) {
        const TransformerNeuron& x = neurons[i];
        const BlockShape& s = x.params.shape;
        if (s.embed_dim < 1 || s.num_heads < 1 || s.hidden_dim < 1 || s.embed_dim % s.num_heads != 0) fail(fmt::format("neuron {} has a bad shape", names[i]));
        // Built for one rank of several, the others' neurons have no weights here.
        const bool mine = owner_of(static_cast<EntityId>(i), partition.ranks) == partition.rank;
        if (!x.weights && mine) fail(fmt::format("neuron {} has no weights (the network was built with parameters only)", names[i]));
        // (A PackedBlock checked its parameters' sizes against its shape when it was made.)
        if (x.weights && x.weights->shape() != s) fail(fmt::format("neuron {}'s weights are of another shape", names[i]));
        if (x.params.readout == Readout::linear && (!x.linear || x.linear->weight.size() != static_cast<std::size_t>(s.embed_dim))) {
            fail(fmt::format("neuron {} has a linear readout without {} readout weights", names[i], s.embed_dim));
        }
        for (const Synapse& syn: synapses[i]) {
            if (syn.target >= n) fail(fmt::format("a synapse of {} targets neuron {}, which does not exist", names[i], syn.target));
            if (syn.delay < Time::from_ticks(1)) fail(fmt::format("a synapse of {} has a delay under one tick", names[i]));
            if (neurons[syn.target].params.shape.embed_dim != s.embed_dim) fail(fmt::format("{} feeds {} of another embed_dim", names[i], names[syn.target]));
            if (!std::isfinite(syn.weight) || !std::isfinite(syn.efficacy)) fail(fmt::format("a synapse of {} has a weight or efficacy that is not finite", names[i]));
        }
    }
    for (const Stimulus& st: stimuli) {
        if (st.targets.empty() || !std::is_sorted(st.targets.begin(), st.targets.end()) ||
            std::adjacent_find(st.targets.begin(), st.targets.end()) != st.targets.end() || st.targets.back() >= n) {
            fail(fmt::format("stimulus {}'s targets are not sorted, distinct neurons", st.name));
        }
        for (EntityId t: st.targets) {
            if (neurons[t].params.shape.embed_dim != st.tensor.cols) fail(fmt::format("stimulus {}'s tensor is not as wide as its targets' input", st.name));
        }
        if (st.tensor.rows < 1) fail(fmt::format("stimulus {}'s tensor has no rows", st.name));
        if (st.tensor.kind == StimulusTensor::Kind::fixed &&
            (st.tensor.tensor.rows != st.tensor.rows || st.tensor.tensor.cols != st.tensor.cols ||
                st.tensor.tensor.data.size() != static_cast<std::size_t>(st.tensor.rows) * static_cast<std::size_t>(st.tensor.cols))) {
            fail(fmt::format("stimulus {}'s tensor does not match its shape", st.name));
        }
        if (st.every == Time::zero() && !st.poisson() && (st.at.empty() || !std::is_sorted(st.at.begin(), st.at.end()) || st.at.front() < Time::zero())) {
            fail(fmt::format("stimulus {}'s times are not sorted times of at least 0", st.name));
        }
        if (st.every < Time::zero() || st.from < Time::zero() || !(st.rate >= 0) || !std::isfinite(st.rate)) fail(fmt::format("stimulus {}'s schedule is negative", st.name));
        if (st.every > Time::zero() && st.poisson()) fail(fmt::format("stimulus {} has both a period and a rate", st.name));
        if (!std::isfinite(st.efficacy)) fail(fmt::format("stimulus {}'s efficacy is not finite", st.name));
        if (st.targets.size() >= UINT32_MAX) fail(fmt::format("stimulus {} has too many targets", st.name));
    }
}

namespace {

// Poisson gap k of a stream, in ticks: -ln(U) / rate seconds with U uniform in (0, 1] from
// 53 random bits (words 2k and 2k + 1), rounded to the nearest tick.
std::int64_t poisson_gap(const RandomStream& rs, std::uint64_t k, double rate) {
    const std::uint64_t a = rs.word(2 * k) >> 5, b = rs.word(2 * k + 1) >> 6;
    const double u = static_cast<double>((a << 26 | b) + 1) * 0x1p-53;
    const double ticks = -portable_log(u) / rate * static_cast<double>(Time::ticks_per_second);
    if (!(ticks < 9e18)) return INT64_MAX;
    return static_cast<std::int64_t>(std::floor(ticks + 0.5));
}

RandomStream times_stream(std::uint64_t seed, const Stimulus& st, const std::string& target) {
    const std::uint64_t times = entity_id("stimulus-times:" + st.name);
    return RandomStream(seed, st.per_target_times() ? entity_pair(times, entity_id("neuron:" + target)) : times, 0);
}

// The time after `t` by `gap` ticks, or nothing at `until` or past it (or past the last
// representable time).
std::optional<Time> next_poisson(Time t, std::int64_t gap, Time until) {
    if (gap > Time::max().ticks() - t.ticks()) return std::nullopt;
    const Time next = t + Time::from_ticks(gap);
    if (next >= until) return std::nullopt;
    return next;
}

} // namespace

std::optional<Time> Stimulus::occurrence_time(std::uint64_t k, std::uint64_t seed, const std::string& target) const {
    if (poisson()) {
        const RandomStream rs = times_stream(seed, *this, target);
        std::optional<Time> t = from;
        for (std::uint64_t i = 0; i <= k && t; ++i) t = next_poisson(*t, poisson_gap(rs, i, rate), until);
        return t;
    }
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

void Network::make_drives() {
    drives_.clear();
    first_drive_.clear();
    for (std::size_t s = 0; s < stimuli.size(); ++s) {
        first_drive_.push_back(drives_.size());
        if (stimuli[s].per_target_times()) {
            for (std::size_t j = 0; j < stimuli[s].targets.size(); ++j) drives_.push_back({static_cast<std::uint32_t>(s), static_cast<std::uint32_t>(j)});
        }
        else {
            drives_.push_back({static_cast<std::uint32_t>(s)});
        }
    }
}

std::size_t Network::drive_of(std::uint32_t s, EntityId target) const {
    const Stimulus& st = stimuli[s];
    if (!st.per_target_times()) return first_drive_[s];
    const auto it = std::lower_bound(st.targets.begin(), st.targets.end(), target);
    return first_drive_[s] + static_cast<std::size_t>(it - st.targets.begin());
}

std::optional<Time> Network::drive_time(Drive& d, std::uint64_t k) const {
    const Stimulus& st = stimuli[d.stimulus];
    if (!st.poisson()) return st.occurrence_time(k, seed);
    if (d.last_k != UINT64_MAX && k == d.last_k) return d.last_time;
    const std::string no_target;
    const std::string& target = d.target == UINT32_MAX ? no_target : names[st.targets[d.target]];
    // Occurrences are scheduled one after another: each adds one gap to the last, and only
    // a state just loaded sums the gaps from the start.
    const std::optional<Time> t = d.last_k != UINT64_MAX && k == d.last_k + 1
        ? next_poisson(d.last_time, poisson_gap(times_stream(seed, st, target), k, st.rate), st.until)
        : st.occurrence_time(k, seed, target);
    if (t) {
        d.last_k = k;
        d.last_time = *t;
    }
    return t;
}

Tensor Network::stimulus_tensor(std::size_t s, std::uint64_t k, EntityId target) const {
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
        // An independent stimulus keys it by the target's name as well.
        const std::uint64_t stream = entity_id("stimulus:" + st.name);
        RandomStream rs(seed, st.independent ? entity_pair(stream, entity_id("neuron:" + names[target])) : stream, static_cast<std::uint32_t>(k));
        Tensor t(src.rows, src.cols);
        for (auto& x: t.data) x = src.value * rs.normal();
        return t;
    }
    }
    return {};
}

void Network::set_communicator(std::shared_ptr<Communicator> comm) {
    if (partition.ranks > 1 && (!comm || comm->size() != partition.ranks || comm->rank() != partition.rank)) {
        throw InputError(fmt::format("the network was built for rank {} of {}, and holds only that rank's weights; it runs on that rank of a run on {} ranks",
            partition.rank, partition.ranks, partition.ranks));
    }
    if (comm && comm->size() > 1) {
        // Every rank must hold the weights of the neurons it owns.
        for (EntityId i = 0; i < neurons.size(); ++i) {
            if (owner_of(i, comm->size()) == comm->rank() && !neurons[i].weights) throw InputError(fmt::format("neuron {} has no weights on rank {}, which owns it", names[i], comm->rank()));
        }
    }
    comm_ = comm && comm->size() > 1 ? std::move(comm) : nullptr;
    set_compute(batcher_ ? batcher_->threads() : 1, batch_); // a batcher with the communicator
}

void Network::set_compute(unsigned threads, bool batch) {
    batch_ = batch;
    // The inputs registered so far go on to the new batcher: a run continued after this
    // batches as it would have.
    auto next = std::make_unique<BlockBatcher>(threads, batch, comm_);
    if (batcher_) next->adopt(*batcher_);
    batcher_ = std::move(next);
}

BatchStats Network::batch_stats() const { return batcher_ ? batcher_->stats() : BatchStats{}; }

BlockBatcher& Network::batcher() {
    if (!batcher_) batcher_ = std::make_unique<BlockBatcher>(1, batch_, comm_);
    return *batcher_;
}

void Network::prefetch(const Event& e, Simulator&) {
    // An input that arrives within the target's current refractory period will be dropped:
    // the neuron cannot spike again before the period ends. Its block is not needed.
    if (neurons[e.key.target].refractory_at(e.key.time)) return;
    batcher().submit(e, neurons);
}

void Network::schedule_occurrence(Simulator& sim, std::size_t drive, std::uint64_t k) {
    Drive& d = drives_[drive];
    const Stimulus& st = stimuli[d.stimulus];
    const auto t = drive_time(d, k);
    if (!t || st.targets.empty()) return;
    const std::span<const EntityId> targets = d.target == UINT32_MAX ? std::span<const EntityId>(st.targets) : std::span<const EntityId>(&st.targets[d.target], 1);
    // Targets share one tensor, unless each draws its own.
    PayloadId shared = no_payload;
    if (!st.independent) shared = sim.payloads().add(stimulus_tensor(d.stimulus, k, targets.front()), static_cast<std::uint32_t>(targets.size()));
    // Each target's own random draws, on the threads: a draw is a pure function of the
    // stimulus, the occurrence and the target, and for a population driven together they were
    // a sixth of the event loop's time.
    std::vector<Tensor> drawn;
    const ParallelFor* parallel = batcher().parallel();
    if (st.independent && st.tensor.kind == StimulusTensor::Kind::random && targets.size() > 1 && parallel) {
        drawn.resize(targets.size());
        (*parallel)(targets.size(), [&](std::size_t i) { drawn[i] = stimulus_tensor(d.stimulus, k, targets[i]); });
    }
    for (std::size_t i = 0; i < targets.size(); ++i) {
        const EntityId target = targets[i];
        Event e;
        e.key = {*t, EventKind::input, target, external_source(d.stimulus), k};
        e.payload = !st.independent ? shared : sim.payloads().add(drawn.empty() ? stimulus_tensor(d.stimulus, k, target) : std::move(drawn[i]), 1);
        e.cause = 0;
        e.efficacy = st.efficacy;
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

Time Network::smallest_delay() const {
    Time d = Time::max();
    for (const auto& out: synapses) {
        for (const Synapse& s: out) d = std::min(d, s.delay);
    }
    return d;
}

void Network::start(Simulator& sim) {
    batcher().clear();
    batcher().set_window(smallest_delay());
    spike_outputs_.clear();
    // A run starts from the parameters, whatever an earlier run left in the state.
    for (EntityId id = 0; id < neurons.size(); ++id) {
        TransformerNeuron& n = neurons[id];
        n.state = NeuronState{};
        n.state.potential = n.params.reset_potential; // as the seed
    }
    make_drives();
    next_occurrence_.assign(drives_.size(), 1);
    for (std::size_t d = 0; d < drives_.size(); ++d) schedule_occurrence(sim, d, 0);
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
        batcher().drop(e.key, neurons);
        update_decay_event(id, sim);
        return {Outcome::dropped, n.state.potential, no_payload};
    }
    BlockResult block = batcher().take(e, neurons, sim.payloads());
    if (!block.finite) throw std::runtime_error(fmt::format("neuron {}: the block's output is not finite (NaN or infinity)", names[id]));
    // The input's efficacy scales the potential change (exactly: at 1 the readout is added
    // as it is).
    const double r = static_cast<double>(e.efficacy) * block.readout;
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
        if (block.spike_output) {
            spike_outputs_.resize(neurons.size());
            spike_outputs_[id] = std::move(block.spike_output);
        }
        return {Outcome::spiked, n.state.potential, no_payload};
    }
    if (block.spike_output) batcher().spike_output_unused();
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
        output = batcher().spike_output(neurons, id, sim.payloads().get(n.state.spike_input), t, sim.payloads());
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
        d.efficacy = s.efficacy;
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
            const std::size_t d = drive_of(external_index(e.key.source), id);
            if (next_occurrence_[d] == e.key.seq + 1) {
                next_occurrence_[d] = e.key.seq + 2;
                schedule_occurrence(sim, d, e.key.seq + 1);
            }
        }
        return on_input(id, e, sim);
    }
    case EventKind::spike: return on_spike(id, e, sim);
    case EventKind::decay_update:
        n.state.pending_decay.reset();
        return {Outcome::decay_update, n.potential_at(e.key.time), no_payload};
    case EventKind::refractory_end: return {Outcome::refractory_end, n.potential_at(e.key.time), no_payload};
    }
    throw InternalError("unknown event kind");
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

namespace {
// Where each field of a neuron's saved state starts, from the start of its record.
constexpr std::uint64_t at_last_update = 8, at_last_spike = 17, at_pending_decay = 26, at_spike_input = 51;
} // namespace

void Network::load_state(StateReader& in, SavedState& saved) {
    loaded_.reset();
    std::uint64_t at = in.offset();
    const auto n = in.get<std::uint64_t>();
    if (n != neurons.size()) throw StateError(fmt::format("the saved state has {} neurons, this network {}", n, neurons.size()), at);
    LoadedState l;
    l.neurons.resize(neurons.size());
    std::vector<std::uint64_t> offsets(neurons.size());
    for (std::size_t i = 0; i < l.neurons.size(); ++i) {
        NeuronState& st = l.neurons[i];
        offsets[i] = in.offset();
        st.potential = in.get<double>();
        st.last_update = Time::from_ticks(in.get<std::int64_t>());
        const auto spiked = in.get<std::uint8_t>();
        const Time last = Time::from_ticks(in.get<std::int64_t>());
        if (spiked) st.last_spike = last;
        const auto pending = in.get<std::uint8_t>();
        const EventKey k = get_key(in);
        if (pending) st.pending_decay = k;
        st.spike_input = in.get<PayloadId>();
        st.seq = in.get<std::uint64_t>();
        if (spiked > 1 || pending > 1) throw StateError(fmt::format("neuron {}: a flag that is neither 0 nor 1", names[i]), offsets[i] + (spiked > 1 ? 16 : 25));
    }
    // One count per schedule: per stimulus, or per target of an independent Poisson one.
    make_drives();
    auto drive_name = [&](std::size_t d) {
        const Drive& dr = drives_[d];
        const Stimulus& st = stimuli[dr.stimulus];
        return dr.target == UINT32_MAX ? st.name : fmt::format("{} (to {})", st.name, names[st.targets[dr.target]]);
    };
    at = in.offset();
    const auto s = in.get<std::uint64_t>();
    if (s != drives_.size()) throw StateError(fmt::format("the saved state has {} stimulus schedules, this network {}", s, drives_.size()), at);
    l.next_occurrence.resize(s);
    std::vector<std::uint64_t> occurrence_offsets(s);
    for (std::size_t i = 0; i < s; ++i) {
        occurrence_offsets[i] = in.offset();
        l.next_occurrence[i] = in.get<std::uint64_t>();
        // start() schedules occurrence 0 and counts from 1.
        if (l.next_occurrence[i] == 0) throw StateError(fmt::format("stimulus {}: the next occurrence is 0", drive_name(i)), occurrence_offsets[i]);
    }

    // Each neuron's own state, against the clock and the payloads.
    auto fail = [&](std::size_t i, std::uint64_t field, const std::string& what) {
        throw StateError(fmt::format("neuron {}: {}", names[i], what), offsets[i] + field);
    };
    std::vector<char> spike_pending(neurons.size(), 0), decay_pending(neurons.size(), 0);
    // Every tensor a block reads is a stimulus's or the output of a spike, which has its
    // input's rows: a row count no stimulus has would be a block this run never computes
    // (and the attention's rows x rows could be larger than any memory).
    std::vector<std::int32_t> row_counts;
    for (const Stimulus& st: stimuli) row_counts.push_back(st.tensor.kind == StimulusTensor::Kind::fixed ? st.tensor.tensor.rows : st.tensor.rows);
    std::sort(row_counts.begin(), row_counts.end());
    auto fits = [&](const Tensor& x, EntityId target) {
        return x.cols == neurons[target].params.shape.embed_dim && std::binary_search(row_counts.begin(), row_counts.end(), x.rows);
    };
    for (std::size_t i = 0; i < l.neurons.size(); ++i) {
        const NeuronState& st = l.neurons[i];
        if (!std::isfinite(st.potential)) fail(i, 0, fmt::format("the potential {} is not finite", st.potential));
        if (st.last_update < Time::zero() || st.last_update > saved.now) {
            fail(i, at_last_update, fmt::format("the last update at {} ticks is not between 0 and the clock ({} ticks)", st.last_update.ticks(), saved.now.ticks()));
        }
        if (st.last_spike && (*st.last_spike < Time::zero() || *st.last_spike > saved.now)) {
            fail(i, at_last_spike, fmt::format("the last spike at {} ticks is not between 0 and the clock ({} ticks)", st.last_spike->ticks(), saved.now.ticks()));
        }
        if (st.pending_decay) {
            const EventKey& k = *st.pending_decay;
            if (k.kind != EventKind::decay_update || k.target != i || k.source != i || !saved.find(k) || saved.is_cancelled(k)) {
                fail(i, at_pending_decay, "its decay update is not a pending decay update of this neuron");
            }
        }
        if (st.spike_input != no_payload) {
            const Tensor& x = saved.payload(st.spike_input, offsets[i] + at_spike_input, fmt::format("neuron {}'s pending spike", names[i]));
            if (!fits(x, static_cast<EntityId>(i))) {
                fail(i, at_spike_input, fmt::format("the input of its pending spike is {} x {}: no input of this network has that shape", x.rows, x.cols));
            }
            ++saved.references[st.spike_input];
        }
    }

    // Every pending event is one this network could have scheduled.
    for (std::size_t j = 0; j < saved.pending.size(); ++j) {
        const Event& e = saved.pending[j];
        const EventKey& k = e.key;
        const std::uint64_t off = saved.offsets[j];
        auto bad = [&](std::uint64_t field, const std::string& what) {
            throw StateError(fmt::format("a pending {} at {} ticks: {}", to_string(k.kind), k.time.ticks(), what), off + field);
        };
        if (k.target >= neurons.size()) bad(9, fmt::format("its target {} is not a neuron ({} neurons)", k.target, neurons.size()));
        const NeuronState& st = l.neurons[k.target];
        const bool cancelled = saved.is_cancelled(k);
        if (k.kind != EventKind::input) {
            if (k.source != k.target) bad(13, "a neuron's own event with another source");
            if (e.payload != no_payload) bad(25, "a neuron's own event that carries a tensor");
            if (e.efficacy != 1.0f) bad(37, "a neuron's own event with an efficacy");
        }
        if (!is_external(k.source) && k.source < neurons.size() && k.seq >= l.neurons[k.source].seq) {
            bad(17, fmt::format("its number {} is not below the count of events its source created ({})", k.seq, l.neurons[k.source].seq));
        }
        switch (k.kind) {
        case EventKind::spike:
            // on_spike() reads the input that made the spike; spikes are never cancelled, and
            // run at the time of that input.
            if (st.spike_input == no_payload || cancelled || spike_pending[k.target]++) bad(0, "a spike without the input that caused it");
            if (k.time != st.last_update) bad(0, "a spike at another time than the input that caused it");
            break;
        case EventKind::decay_update:
            if (!cancelled && (decay_pending[k.target]++ || st.pending_decay != k)) bad(0, "a decay update the neuron does not expect");
            break;
        case EventKind::refractory_end: {
            // The end of the last spike's refractory period, and only that.
            const auto& p = neurons[k.target].params;
            if (!st.last_spike || p.refractory_period <= Time::zero() || st.last_spike->ticks() > Time::max().ticks() - p.refractory_period.ticks() ||
                *st.last_spike + p.refractory_period != k.time) {
                bad(0, "a refractory end that is not the end of the neuron's last refractory period");
            }
            break;
        }
        case EventKind::input: {
            if (cancelled) bad(0, "a cancelled input");
            if (is_external(k.source)) {
                const std::uint32_t si = external_index(k.source);
                if (si >= stimuli.size()) bad(13, fmt::format("its source, stimulus {}, does not exist ({} stimuli)", si, stimuli.size()));
                const Stimulus& stim = stimuli[si];
                if (!std::binary_search(stim.targets.begin(), stim.targets.end(), k.target)) {
                    bad(9, fmt::format("stimulus {} does not drive neuron {}", stim.name, names[k.target]));
                }
                const std::size_t d = drive_of(si, k.target);
                if (k.seq >= l.next_occurrence[d]) bad(17, fmt::format("occurrence {} of stimulus {} is not scheduled yet", k.seq, drive_name(d)));
                // Occurrence k is scheduled when occurrence k - 1 is processed: k events at
                // least came before it. (This also bounds the sum of gaps a Poisson time is.)
                if (k.seq > saved.processed) {
                    bad(17, fmt::format("occurrence {} of stimulus {} cannot be pending after {} events", k.seq, drive_name(d), saved.processed));
                }
                if (drive_time(drives_[d], k.seq) != k.time) bad(0, fmt::format("occurrence {} of stimulus {} is not at this time", k.seq, drive_name(d)));
                if (e.efficacy != stim.efficacy) bad(37, fmt::format("its efficacy {} is not stimulus {}'s ({})", e.efficacy, stim.name, stim.efficacy));
            }
            else if (k.source >= neurons.size()) {
                bad(13, fmt::format("its source {} is not a neuron ({} neurons)", k.source, neurons.size()));
            }
            else {
                const auto& out = synapses[k.source];
                const bool known = std::any_of(out.begin(), out.end(), [&](const Synapse& syn) { return syn.target == k.target && syn.efficacy == e.efficacy; });
                if (!known) bad(37, fmt::format("no synapse from {} to {} has its efficacy {}", names[k.source], names[k.target], e.efficacy));
            }
            const Tensor& x = saved.payload(e.payload, off + 25, "a pending input");
            if (!fits(x, k.target)) {
                bad(25, fmt::format("its tensor is {} x {}: no input of neuron {} has that shape", x.rows, x.cols, names[k.target]));
            }
            break;
        }
        }
    }
    for (std::size_t i = 0; i < l.neurons.size(); ++i) {
        if (l.neurons[i].spike_input != no_payload && !spike_pending[i]) fail(i, at_spike_input, "it holds the input of a spike that is not pending");
    }
    // A stimulus keeps its next occurrence in the queue (handle()): the next one not yet
    // scheduled follows the last one pending.
    std::vector<std::uint64_t> last_pending(drives_.size(), 0);
    std::vector<char> has_pending(drives_.size(), 0);
    for (const Event& e: saved.pending) {
        if (e.key.kind == EventKind::input && !saved.is_cancelled(e.key)) l.inputs.push_back(e);
        if (e.key.kind != EventKind::input || !is_external(e.key.source)) continue;
        const std::size_t d = drive_of(external_index(e.key.source), e.key.target);
        last_pending[d] = has_pending[d] ? std::max(last_pending[d], e.key.seq) : e.key.seq;
        has_pending[d] = 1;
    }
    for (std::size_t i = 0; i < drives_.size(); ++i) {
        if (has_pending[i] && l.next_occurrence[i] != last_pending[i] + 1) {
            throw StateError(fmt::format("stimulus {}: the next occurrence is {}, but occurrence {} is pending", drive_name(i), l.next_occurrence[i], last_pending[i]),
                occurrence_offsets[i]);
        }
    }
    loaded_ = std::move(l);
}

void Network::commit_state() {
    if (!loaded_) throw InternalError("Network::commit_state: no state was loaded");
    batcher().clear(); // the registered inputs belong to the replaced state
    batcher().set_window(smallest_delay());
    spike_outputs_.clear();
    for (EntityId i = 0; i < neurons.size(); ++i) neurons[i].state = loaded_->neurons[i];
    // The loaded state's pending inputs, registered as a run that got here registered them
    // (with the refractory check against the state then, so a resumed run batches alike as
    // far as that check goes).
    for (const Event& e: loaded_->inputs) {
        if (!neurons[e.key.target].refractory_at(e.key.time)) batcher().submit(e, neurons);
    }
    next_occurrence_ = std::move(loaded_->next_occurrence);
    loaded_.reset();
}

EventResult Network::cancelled(const Event& e, Simulator&) {
    return {Outcome::cancelled, neurons[e.key.target].potential_at(e.key.time), no_payload};
}

} // namespace spikenn
