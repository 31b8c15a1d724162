#include "block_batcher.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include <spikenn/error.hpp>
#include <spikenn/state.hpp>
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
// Batches of one weights at one time formed at one need, at most: enough for the threads and
// the ranks to share, few enough to bound the results held ahead.
constexpr int max_batches_per_group = 16;

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

namespace {

void put_tensor(StateWriter& w, const Tensor& t) {
    w.put(t.rows);
    w.put(t.cols);
    w.put_bytes(t.data.data(), t.data.size() * sizeof(float));
}

// A block's result between ranks: readout, finiteness, and the spike output if there is one.
void put_result(StateWriter& w, const BlockResult& r) {
    w.put(r.readout);
    w.put<std::uint8_t>(r.finite ? 1 : 0);
    w.put<std::uint8_t>(r.spike_output ? 1 : 0);
    if (r.spike_output) put_tensor(w, *r.spike_output);
}

Tensor get_tensor(StateReader& in) {
    Tensor t;
    t.rows = in.get<std::int32_t>();
    t.cols = in.get<std::int32_t>();
    if (t.rows < 0 || t.cols < 0) throw InternalError("a tensor of negative shape from another rank");
    t.data.resize(static_cast<std::size_t>(t.rows) * static_cast<std::size_t>(t.cols));
    in.get_bytes(t.data.data(), t.data.size() * sizeof(float));
    return t;
}

BlockResult get_result(StateReader& in) {
    BlockResult r;
    r.readout = in.get<double>();
    r.finite = in.get<std::uint8_t>() != 0;
    if (in.get<std::uint8_t>() != 0) r.spike_output = std::make_shared<const Tensor>(get_tensor(in));
    return r;
}


} // namespace

BlockBatcher::BlockBatcher(unsigned threads, bool batch, std::shared_ptr<Communicator> comm):
    batch_(batch), pool_(threads > 1 ? threads - 1 : 0), comm_(std::move(comm)) {
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
    window_ = old.window_;
    round_ = old.round_;
}

BlockResult BlockBatcher::take(const Event& e, std::span<const TransformerNeuron> neurons, const PayloadStore& payloads) {
    auto it = pending_.find(slot(e.key, neurons));
    if (it == pending_.end()) {
        // Never registered (it looked refractory when it was scheduled): alone, by its
        // owner, who sends the result to the others.
        const EntityId id = e.key.target;
        BlockResult r;
        std::string failure;
        if (owns(id)) {
            ++stats_.blocks;
            ++stats_.batches;
            try {
                r = compute_block(neurons[id], payloads.get(e.payload), parallel());
            }
            catch (const std::exception& ex) {
                if (!comm_) throw;
                failure = ex.what();
            }
        }
        if (!comm_) return r;
        // The owner's result, or what failed, so that every rank fails at this event.
        StateWriter w;
        if (owns(id)) {
            w.put_string(failure);
            if (failure.empty()) put_result(w, r);
        }
        const int owner = owner_of(id, comm_->size());
        const auto bytes = comm_->broadcast(w.bytes(), owner);
        StateReader in(bytes);
        const std::string what = in.get_string();
        if (!what.empty()) throw std::runtime_error(fmt::format("on rank {}: {}", owner, what));
        return get_result(in);
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
};

BlockBatcher::Group BlockBatcher::form(Time t, const PackedBlock* weights, const EventKey* self, Pending::iterator& it,
    std::span<const TransformerNeuron> neurons, const PayloadStore& payloads) {
    Group g;
    g.weights = weights;
    std::int32_t rows = 0;
    for (; it != pending_.end() && it->first.time == t && it->first.weights == weights; ++it) {
        const EntityId target = it->first.key.target;
        if (!owns(target)) continue; // its owner batches it
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
    for (auto m: g.members) m->second.round = round_;
}

void BlockBatcher::compute_batch(Pending::iterator self, std::span<const TransformerNeuron> neurons, const PayloadStore& payloads) {
    const Time t = self->first.time;
    std::vector<Group> groups;
    if (!batch_) {
        if (owns(self->first.key.target)) {
            Group g;
            g.weights = self->first.weights;
            g.members.push_back(self);
            groups.push_back(std::move(g));
        }
    }
    else {
        // This input's group, and with it every other group of inputs in the window from t:
        // all are formed now, at the first need of time t, so that they can be computed side
        // by side and, on several ranks, exchanged at once. (Of the neurons this rank owns:
        // the others' owners form theirs at the same event.)
        // A (time, weights) group's registered inputs in batches of up to max_batch_rows, as
        // many as max_batches_per_group of them at once (a population of a million driven
        // together is a thousand batches: the next need forms the next ones).
        auto add = [&](Time at, const PackedBlock* w, const EventKey* first) {
            auto it = pending_.lower_bound(Slot{at, w, EventKey{}});
            for (int b = 0; b < max_batches_per_group; ++b) {
                Group g = form(at, w, b == 0 ? first : nullptr, it, neurons, payloads);
                if (!g.members.empty()) groups.push_back(std::move(g));
                if (it == pending_.end() || it->first.time != at || it->first.weights != w) break;
            }
        };
        // (An input of another rank's neuron has no weights here: its owner batches it.)
        if (self->first.weights) add(t, self->first.weights, &self->first.key);
        const Time end = window_end(t);
        for (auto it = pending_.lower_bound(Slot{t, nullptr, EventKey{}}); it != pending_.end() && (it->first.time < end || it->first.time == t);) {
            const Time at = it->first.time;
            const PackedBlock* w = it->first.weights;
            if (w && !(at == t && w == self->first.weights)) add(at, w, nullptr);
            // On to the next group: past the greatest key an input can have (a target's id is
            // below external_bit), so that this holds at Time::max() too.
            it = pending_.upper_bound(Slot{at, w, EventKey{Time::max(), EventKind::input, UINT32_MAX, UINT32_MAX, UINT64_MAX}});
        }
    }
    std::vector<Pending::iterator> extra;
    // On several ranks a failure here (memory, say) is one rank's: it goes out in the
    // exchange, so that every rank fails at this event rather than some waiting for the rest.
    std::optional<std::string> failure;
    try {
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
        }
        // The spike outputs the window's readouts foresee, computed with the blocks and sent
        // with them: a time's spikes then wait for no product of their own.
        if (batch_) {
            const std::vector<Pending::iterator> foreseen = foresee(t, window_end(t), neurons, UINT32_MAX);
            compute_spike_outputs(foreseen, payloads);
            stats_.spike_outputs += foreseen.size();
            for (auto it: foreseen) {
                if (it->second.round != round_) extra.push_back(it); // its result was sent before
            }
        }
    }
    catch (const std::exception& e) {
        if (!comm_) throw;
        failure = e.what();
    }
    if (comm_) exchange(groups, extra, nullptr, failure ? &*failure : nullptr, neurons);
    ++round_;
}

std::vector<BlockBatcher::Pending::iterator> BlockBatcher::foresee(Time from, Time end, std::span<const TransformerNeuron> neurons, EntityId skip) {
    // This rank's registered inputs in the window, by neuron, each neuron's in the order the
    // event loop takes them.
    std::vector<Pending::iterator> window;
    for (auto it = pending_.lower_bound(Slot{from, nullptr, EventKey{}}); it != pending_.end() && (it->first.time < end || it->first.time == from); ++it) {
        if (owns(it->first.key.target) && it->first.key.target != skip) window.push_back(it);
    }
    std::sort(window.begin(), window.end(), [](Pending::iterator a, Pending::iterator b) {
        if (a->first.key.target != b->first.key.target) return a->first.key.target < b->first.key.target;
        return a->first.key < b->first.key;
    });
    // Each neuron's run through its inputs, as the event loop will take them: decay to the
    // input, dropped while refractory, the readout added, a spike and its reset at the
    // threshold. Nothing else reaches the neuron in the window (a delivery comes at least the
    // smallest delay after its spike), so the guess is exact up to the first input without a
    // result (or a stimulus's occurrence not yet registered).
    std::vector<Pending::iterator> spiking;
    for (std::size_t i = 0; i < window.size();) {
        const EntityId id = window[i]->first.key.target;
        TransformerNeuron n = neurons[id];
        bool known = true;
        for (; i < window.size() && window[i]->first.key.target == id; ++i) {
            const auto it = window[i];
            if (!known) continue;
            if (!it->second.result) {
                known = false;
                continue;
            }
            const Time at = it->first.time;
            n.state.potential = n.potential_at(at);
            n.state.last_update = at;
            if (n.refractory_at(at)) continue;
            n.state.potential += static_cast<double>(it->second.efficacy) * it->second.result->readout;
            if (n.state.potential < n.params.threshold) continue;
            if (!it->second.result->spike_output) spiking.push_back(it);
            n.state.potential = n.params.reset_potential;
            n.state.last_spike = at;
        }
    }
    return spiking;
}

void BlockBatcher::compute_spike_outputs(const std::vector<Pending::iterator>& inputs, const PayloadStore& payloads) {
    if (inputs.empty()) return;
    // By weights, in products of up to max_batch_rows rows, side by side on the threads.
    struct Job {
        const PackedBlock* weights;
        std::vector<Pending::iterator> members;
        std::vector<const Tensor*> inputs;
        std::vector<Tensor> outputs;
        std::int32_t rows = 0;
    };
    std::map<const PackedBlock*, std::vector<Pending::iterator>, std::less<const PackedBlock*>> by_weights;
    for (auto it: inputs) by_weights[it->first.weights].push_back(it);
    std::vector<Job> jobs;
    for (auto& [w, members]: by_weights) {
        jobs.push_back({w, {}, {}, {}, 0});
        for (auto it: members) {
            const Tensor& x = payloads.get(it->second.payload);
            if (!jobs.back().members.empty() && jobs.back().rows + x.rows > max_batch_rows) jobs.push_back({w, {}, {}, {}, 0});
            jobs.back().members.push_back(it);
            jobs.back().inputs.push_back(&x);
            jobs.back().rows += x.rows;
        }
    }
    for (Job& j: jobs) j.outputs.resize(j.inputs.size());
    if (jobs.size() == 1 || !parallel()) {
        for (Job& j: jobs) feed_forward(*j.weights, j.inputs, j.outputs, parallel());
    }
    else {
        (*parallel())(jobs.size(), [&](std::size_t i) { feed_forward(*jobs[i].weights, jobs[i].inputs, jobs[i].outputs, nullptr); });
    }
    for (Job& j: jobs) {
        for (std::size_t i = 0; i < j.members.size(); ++i) j.members[i]->second.result->spike_output = std::make_shared<const Tensor>(std::move(j.outputs[i]));
    }
}

std::optional<Tensor> BlockBatcher::exchange(const std::vector<Group>& groups, const std::vector<Pending::iterator>& extra, const Tensor* own,
    const std::string* failure, std::span<const TransformerNeuron> neurons) {
    // Each record: a tag, then the input's key and its whole result (0); the key and, for an
    // input whose result went out before, the spike output now computed for it (1); the
    // output of the spike being handled, from its owner (2); or, alone, what failed (3).
    StateWriter w;
    std::optional<Tensor> received;
    std::optional<std::string> failed;
    if (failure) {
        // One write of the whole record (a one-byte write into the empty buffer first trips
        // GCC 12's bogus -Wstringop-overflow).
        StateWriter record;
        record.put_string(*failure);
        std::vector<unsigned char> bytes{3};
        bytes.insert(bytes.end(), record.bytes().begin(), record.bytes().end());
        w.put_bytes(bytes.data(), bytes.size());
        failed = fmt::format("on rank {}: {}", comm_->rank(), *failure);
    }
    for (const Group& g: groups) {
        if (failure) break;
        for (auto m: g.members) {
            w.put<std::uint8_t>(0);
            put_key(w, m->first.key);
            put_result(w, *m->second.result);
        }
    }
    for (auto it: extra) {
        if (failure) break;
        w.put<std::uint8_t>(1);
        put_key(w, it->first.key);
        put_tensor(w, *it->second.result->spike_output);
    }
    if (own && !failure) {
        w.put<std::uint8_t>(2);
        put_tensor(w, *own);
    }
    const auto all = comm_->all_gather(w.bytes());
    for (int r = 0; r < comm_->size(); ++r) {
        if (r == comm_->rank()) continue;
        StateReader in(all[static_cast<std::size_t>(r)]);
        while (!in.at_end()) {
            const auto tag = in.get<std::uint8_t>();
            if (tag == 2) {
                received = get_tensor(in);
                continue;
            }
            if (tag == 3) {
                // The first failing rank's, in rank order: the same message on every rank.
                const std::string what = in.get_string();
                if (!failed || r < comm_->rank()) failed = fmt::format("on rank {}: {}", r, what);
                break;
            }
            const EventKey key = get_key(in);
            const auto it = pending_.find(slot(key, neurons));
            if (tag == 0) {
                if (it == pending_.end() || it->second.result) throw InternalError("BlockBatcher: another rank computed an input this rank has not registered, or has a result of");
                it->second.result = get_result(in);
            }
            else {
                if (it == pending_.end() || !it->second.result || it->second.result->spike_output) throw InternalError("BlockBatcher: another rank sent a spike output for an input this rank has no result for, or has one");
                it->second.result->spike_output = std::make_shared<const Tensor>(get_tensor(in));
            }
        }
    }
    if (failed) throw std::runtime_error(*failed);
    return received;
}

Tensor BlockBatcher::spike_output(std::span<const TransformerNeuron> neurons, EntityId id, const Tensor& x, Time t, const PayloadStore& payloads) {
    // This spike's output, and with it the spike outputs the readouts now foresee for the
    // rest of the window (the spiking neuron's own left out: its state is about to change).
    std::vector<Pending::iterator> foreseen;
    std::optional<Tensor> own;
    std::optional<std::string> failure;
    try {
        if (batch_) foreseen = foresee(t, window_end(t), neurons, id);
        if (owns(id)) {
            const Tensor* in[1] = {&x};
            Tensor out[1];
            feed_forward(*neurons[id].weights, in, out, parallel());
            own = std::move(out[0]);
        }
        compute_spike_outputs(foreseen, payloads);
        stats_.spike_outputs += foreseen.size();
    }
    catch (const std::exception& e) {
        if (!comm_) throw;
        failure = e.what();
        foreseen.clear();
        own.reset();
    }
    if (!comm_) return std::move(*own);
    // One exchange: every rank's foreseen outputs, and this one from its owner.
    std::optional<Tensor> theirs = exchange({}, foreseen, own ? &*own : nullptr, failure ? &*failure : nullptr, neurons);
    if (own) return std::move(*own);
    if (!theirs) throw InternalError("BlockBatcher: the owner of a spiking neuron sent no spike output");
    return std::move(*theirs);
}

} // namespace spikenn
