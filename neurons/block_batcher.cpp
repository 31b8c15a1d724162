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

BlockResult compute_block(const TransformerNeuron& n, const Tensor& x) { return result_of(n, block_forward(*n.weights, x)); }

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

BlockResult BlockBatcher::take(const Event& e, std::span<const TransformerNeuron> neurons, const PayloadStore& payloads) {
    auto it = pending_.find(slot(e.key, neurons));
    if (it == pending_.end()) {
        // Never registered (it looked refractory when it was scheduled): alone.
        ++stats_.blocks;
        ++stats_.batches;
        const TransformerNeuron& n = neurons[e.key.target];
        if (!parallel()) return compute_block(n, payloads.get(e.payload));
        const Tensor* in[1] = {&payloads.get(e.payload)};
        Tensor out[1];
        block_forward(*n.weights, in, out, parallel());
        return result_of(n, out[0]);
    }
    if (!it->second.result) compute_batch(it, neurons, payloads);
    if (!it->second.result) throw InternalError("BlockBatcher: a batch left out the input it was formed for");
    BlockResult r = std::move(*it->second.result);
    pending_.erase(it);
    return r;
}

void BlockBatcher::compute_batch(Pending::iterator self, std::span<const TransformerNeuron> neurons, const PayloadStore& payloads) {
    const Time t = self->first.time;
    const PackedBlock* weights = self->first.weights;
    std::vector<Pending::iterator> members;
    // Per neuron of the group: its potential at t plus the readouts known so far, how many
    // of its inputs this batch takes, and whether the readouts say it spikes before the rest.
    struct Guess {
        double potential = 0;
        int taken = 0;
        bool spikes = false;
    };
    std::map<EntityId, Guess> guess;
    std::int32_t rows = 0;
    if (batch_) {
        for (auto it = pending_.lower_bound(Slot{t, weights, EventKey{}}); it != pending_.end() && it->first.time == t && it->first.weights == weights; ++it) {
            const EntityId target = it->first.key.target;
            const TransformerNeuron& n = neurons[target];
            auto [g, fresh] = guess.try_emplace(target);
            if (fresh) {
                g->second.potential = n.potential_at(t);
                // A neuron refractory at t drops them all (the one being handled is not).
                g->second.spikes = target != self->first.key.target && n.refractory_at(t);
            }
            Guess& gs = g->second;
            if (gs.spikes) continue;
            if (it->second.result) {
                gs.potential += static_cast<double>(it->second.efficacy) * it->second.result->readout;
                gs.spikes = gs.potential >= n.params.threshold;
                continue;
            }
            // A neuron's volley in chunks, so that few blocks are computed past its spike.
            if (gs.taken < volley_chunk) {
                const std::int32_t r = payloads.get(it->second.payload).rows;
                if (!members.empty() && rows + r > max_batch_rows) break;
                rows += r;
                ++gs.taken;
                members.push_back(it);
            }
        }
    }
    else {
        members.push_back(self);
    }
    std::vector<const Tensor*> inputs;
    for (auto m: members) inputs.push_back(&payloads.get(m->second.payload));
    std::vector<Tensor> outputs(inputs.size());
    block_forward(*weights, inputs, outputs, parallel());
    ++stats_.batches;
    stats_.blocks += members.size();
    for (std::size_t i = 0; i < members.size(); ++i) members[i]->second.result = result_of(neurons[members[i]->first.key.target], outputs[i]);
    if (!batch_) return;
    // The inputs the readouts say will make their neuron spike, continuing each neuron's
    // guess in key order (members are in key order).
    std::vector<std::size_t> spiking;
    for (std::size_t i = 0; i < members.size(); ++i) {
        const EventKey& k = members[i]->first.key;
        Guess& g = guess[k.target];
        if (g.spikes) continue;
        g.potential += static_cast<double>(members[i]->second.efficacy) * members[i]->second.result->readout;
        if (g.potential >= neurons[k.target].params.threshold) {
            g.spikes = true;
            spiking.push_back(i);
        }
    }
    if (spiking.empty()) return;
    std::vector<const Tensor*> spike_inputs;
    for (std::size_t i: spiking) spike_inputs.push_back(inputs[i]);
    std::vector<Tensor> spike_outputs(spiking.size());
    feed_forward(*weights, spike_inputs, spike_outputs, parallel());
    stats_.spike_outputs += spiking.size();
    for (std::size_t j = 0; j < spiking.size(); ++j) members[spiking[j]]->second.result->spike_output = std::make_shared<const Tensor>(std::move(spike_outputs[j]));
}

} // namespace spikenn
