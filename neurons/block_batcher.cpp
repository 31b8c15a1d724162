#include "block_batcher.hpp"

#include <cmath>

#include <spikenn/error.hpp>
#include <vector>

namespace spikenn {

namespace {

// Inputs of one neuron at one time taken per batch: after the one that makes it spike the
// rest are dropped, and a chunk wastes at most volley_chunk - 1 blocks per spike.
constexpr int volley_chunk = 4;
// Rows per batch at most: the product's speed has long levelled off by then, and the batch's
// workspace (about (7 embed_dim + hidden_dim) floats a row) stays bounded however large a
// population is driven together. A batch takes at least the input it was formed for.
constexpr std::int32_t max_batch_rows = 1024;

BlockResult result_of(const TransformerNeuron& n, const Tensor& out) {
    BlockResult r;
    for (float v: out.data) r.finite &= std::isfinite(v);
    r.readout = n.readout(out);
    return r;
}

} // namespace

BlockResult compute_block(const TransformerNeuron& n, const Tensor& x, const ParallelFor* parallel) {
    const Tensor* in[1] = {&x};
    Tensor out[1];
    block_forward(*n.weights, in, out, parallel);
    return result_of(n, out[0]);
}

BlockBatcher::BlockBatcher(unsigned threads, bool batch): batch_(batch), pool_(threads > 1 ? threads - 1 : 0) {
    parallel_ = [this](std::size_t n, const std::function<void(std::size_t)>& f) { pool_.run(n, f); };
}

void BlockBatcher::submit(const Event& e, std::span<const TransformerNeuron> neurons) {
    pending_[slot(e.key, neurons)] = Entry{e.payload, e.efficacy, std::nullopt};
}

void BlockBatcher::drop(const EventKey& key, std::span<const TransformerNeuron> neurons) {
    const auto it = pending_.find(slot(key, neurons));
    if (it == pending_.end()) return;
    if (it->second.result) {
        ++stats_.unused;
        if (it->second.result->spike_output) ++stats_.spike_unused;
    }
    pending_.erase(it);
}

void BlockBatcher::clear() { pending_.clear(); }

void BlockBatcher::adopt(BlockBatcher& old) {
    pending_ = std::move(old.pending_);
    old.pending_.clear();
    stats_ = old.stats_;
}

BlockResult BlockBatcher::take(const Event& e, std::span<const TransformerNeuron> neurons, const PayloadStore& payloads) {
    auto it = pending_.find(slot(e.key, neurons));
    if (it == pending_.end()) {
        // Never registered (it looked refractory when it was scheduled): alone.
        ++stats_.blocks;
        ++stats_.batches;
        return compute_block(neurons[e.key.target], payloads.get(e.payload), parallel());
    }
    if (!it->second.result) compute_batch(it, neurons, payloads);
    if (!it->second.result) throw InternalError("BlockBatcher: a batch left out the input it was formed for");
    BlockResult r = std::move(*it->second.result);
    pending_.erase(it);
    return r;
}

namespace {

// A neuron's guess while a batch is formed and computed: its potential at t plus the readouts
// known so far, how many of its inputs the batch takes, and whether the readouts say it spikes
// before the rest.
struct Guess {
    double potential = 0;
    int taken = 0;
    bool spikes = false;
};

} // namespace

struct BlockBatcher::Group {
    const PackedBlock* weights = nullptr;
    std::vector<Pending::iterator> members;
    std::map<EntityId, Guess> guess;
    std::uint64_t spike_outputs = 0;
};

BlockBatcher::Group BlockBatcher::form(Time t, const PackedBlock* weights, const EventKey* self, std::span<const TransformerNeuron> neurons,
    const PayloadStore& payloads) {
    Group g;
    g.weights = weights;
    std::int32_t rows = 0;
    for (auto it = pending_.lower_bound(Slot{t, weights, EventKey{}}); it != pending_.end() && it->first.time == t && it->first.weights == weights; ++it) {
        const EntityId target = it->first.key.target;
        const TransformerNeuron& n = neurons[target];
        auto [gi, fresh] = g.guess.try_emplace(target);
        if (fresh) {
            gi->second.potential = n.potential_at(t);
            // A neuron refractory at t drops them all (the one being handled is not).
            gi->second.spikes = !(self && target == self->target) && n.refractory_at(t);
        }
        Guess& gs = gi->second;
        if (gs.spikes) continue;
        if (it->second.result) {
            gs.potential += static_cast<double>(it->second.efficacy) * it->second.result->readout;
            gs.spikes = gs.potential >= n.params.threshold;
            continue;
        }
        // A neuron's volley in chunks, so that few blocks are computed past its spike.
        if (gs.taken < volley_chunk) {
            const std::int32_t r = payloads.get(it->second.payload).rows;
            if (!g.members.empty() && rows + r > max_batch_rows) break;
            rows += r;
            ++gs.taken;
            g.members.push_back(it);
        }
    }
    return g;
}

void BlockBatcher::run_group(Group& g, std::span<const TransformerNeuron> neurons, const PayloadStore& payloads, const ParallelFor* parallel) {
    std::vector<const Tensor*> inputs;
    for (auto m: g.members) inputs.push_back(&payloads.get(m->second.payload));
    std::vector<Tensor> outputs(inputs.size());
    block_forward(*g.weights, inputs, outputs, parallel);
    for (std::size_t i = 0; i < g.members.size(); ++i) g.members[i]->second.result = result_of(neurons[g.members[i]->first.key.target], outputs[i]);
    if (!batch_) return;
    // The inputs the readouts say will make their neuron spike, continuing each neuron's
    // guess in key order (members are in key order).
    std::vector<std::size_t> spiking;
    for (std::size_t i = 0; i < g.members.size(); ++i) {
        const EventKey& k = g.members[i]->first.key;
        Guess& gs = g.guess[k.target];
        if (gs.spikes) continue;
        gs.potential += static_cast<double>(g.members[i]->second.efficacy) * g.members[i]->second.result->readout;
        if (gs.potential >= neurons[k.target].params.threshold) {
            gs.spikes = true;
            spiking.push_back(i);
        }
    }
    if (spiking.empty()) return;
    std::vector<const Tensor*> spike_inputs;
    for (std::size_t i: spiking) spike_inputs.push_back(inputs[i]);
    std::vector<Tensor> spike_outputs(spiking.size());
    feed_forward(*g.weights, spike_inputs, spike_outputs, parallel);
    g.spike_outputs = spiking.size();
    for (std::size_t j = 0; j < spiking.size(); ++j) g.members[spiking[j]]->second.result->spike_output = std::make_shared<const Tensor>(std::move(spike_outputs[j]));
}

void BlockBatcher::compute_batch(Pending::iterator self, std::span<const TransformerNeuron> neurons, const PayloadStore& payloads) {
    const Time t = self->first.time;
    std::vector<Group> groups;
    if (!batch_) {
        Group g;
        g.weights = self->first.weights;
        g.members.push_back(self);
        groups.push_back(std::move(g));
    }
    else {
        // This input's group, and with it every other group of inputs at t: all are formed
        // now, at the first need of time t, so that they can be computed side by side.
        groups.push_back(form(t, self->first.weights, &self->first.key, neurons, payloads));
        for (auto it = pending_.lower_bound(Slot{t, nullptr, EventKey{}}); it != pending_.end() && it->first.time == t;) {
            const PackedBlock* w = it->first.weights;
            if (w != self->first.weights) {
                Group g = form(t, w, nullptr, neurons, payloads);
                if (!g.members.empty()) groups.push_back(std::move(g));
            }
            // On to the next group. (Stepping, not a lower_bound on a key past the group's:
            // at t = Time::max() no key sorts after an input's, and the search stayed put.)
            while (it != pending_.end() && it->first.time == t && it->first.weights == w) ++it;
        }
    }
    if (groups.size() == 1 || !parallel()) {
        // One group: its products split over the threads.
        for (Group& g: groups) run_group(g, neurons, payloads, parallel());
    }
    else {
        (*parallel())(groups.size(), [&](std::size_t i) { run_group(groups[i], neurons, payloads, nullptr); });
    }
    for (const Group& g: groups) {
        ++stats_.batches;
        stats_.blocks += g.members.size();
        stats_.spike_outputs += g.spike_outputs;
    }
}

} // namespace spikenn
