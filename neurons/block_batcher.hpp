// Blocks computed in batches: the inputs that come due at the same time to neurons with the
// same weights (one neuron's volley, or a shared-weights population driven together) run as
// one product per layer (block_forward over a span of inputs), on the event loop's thread and
// the workers of a WorkerPool.
//
// A block's output is a pure function of the weights and the input tensor, and a row's result
// does not depend on the rows computed with it (neurons/gemm.hpp), so batching changes no
// bit. Which inputs are batched depends on the event stream only, never on the thread count:
// every input is registered (submit) when it is scheduled, and the first time the event loop
// needs the block of an input at time t, every registered input at t to a neuron with the
// same weights is computed with it, except those whose target is then refractory at t (they
// will be dropped); the batches of the other weights' inputs at t are formed at the same
// moment, so that the threads can compute them side by side (one batch per thread; a lone
// batch splits its products over them instead). All inputs at t usually exist by then: an input is scheduled by an event
// before t (a connection's delay is at least one tick; a stimulus schedules its next
// occurrence when it delivers one, and only two Poisson occurrences in one tick come later:
// that one forms a batch of its own when it is needed).
//
// Inputs at t to a neuron that arrive after the one that makes it spike are dropped too, so
// their blocks are wasted: a batch takes up to 4 inputs of each neuron, in key order, and none
// of a neuron the readouts already say spikes before them; and at most 1024 rows, which bounds
// its workspace. The input a batch is formed for is the first of its group (the event loop
// goes in key order), so it is always in. A batch also computes, for each input the readouts say will make
// its neuron spike, the spike's output (feed_forward) with the others. Both are guesses made
// from the state when the batch is formed, counted in BatchStats; a wrong guess costs time,
// never a result: an input or spike without a result computes its own.
//
// On several ranks (a Communicator, engine/include/spikenn/communicator.hpp) every rank runs
// the same event loop, registers the same inputs and so reaches the first need of a time at
// the same event. Each then forms and computes the batches of the neurons it owns, and the
// results (readout, finiteness, spike output) are exchanged, so that every rank holds every
// result of the time before the event loop goes on. The owner decides how its neurons' inputs
// are batched from the state every rank shares: which results exist is the same on every rank.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <spikenn/communicator.hpp>
#include <spikenn/event.hpp>
#include <spikenn/network.hpp>
#include <spikenn/neuron.hpp>
#include <spikenn/payload.hpp>
#include "worker_pool.hpp"

namespace spikenn {

struct BlockResult {
    double readout = 0;
    bool finite = true; // every element of the block's output is finite
    // The spike output, feed_forward(x), when the batch expected this input to make the
    // neuron spike and computed it too.
    std::shared_ptr<const Tensor> spike_output;
};

// The block and readout of `n` for input x alone (its products split through `parallel`).
BlockResult compute_block(const TransformerNeuron& n, const Tensor& x, const ParallelFor* parallel = nullptr);

class BlockBatcher {
public:
    // With batch == false every block is computed alone (for comparison: the same results).
    // With `comm`, this rank computes only the blocks of the neurons it owns (owner_of).
    BlockBatcher(unsigned threads, bool batch, std::shared_ptr<Communicator> comm = nullptr);

    // Registers input e (to neurons[e.key.target]) as one whose block may be needed.
    void submit(const Event& e, std::span<const TransformerNeuron> neurons);
    // The block of input e, computed with its batch if it has no result yet.
    BlockResult take(const Event& e, std::span<const TransformerNeuron> neurons, const PayloadStore& payloads);
    // Input `key` is dropped: its block is not needed.
    void drop(const EventKey& key, std::span<const TransformerNeuron> neurons);
    // Forgets every registered input (the state was replaced).
    void clear();
    // Takes over the registered inputs and the counts of another batcher (the network's
    // threads or batching changed while inputs were pending).
    void adopt(BlockBatcher& old);

    // Inputs due within `w` of the time of a first need are batched with it (one tick: those
    // at that time only). Where every connection's delay is at least w, no event in the
    // window schedules an input into it, so the window's inputs are all known (bar a
    // stimulus's next occurrences): the network sets its smallest delay.
    void set_window(Time w) { window_ = w < Time::from_ticks(1) ? Time::from_ticks(1) : w; }
    const BatchStats& stats() const { return stats_; }
    unsigned threads() const { return static_cast<unsigned>(pool_.workers()) + 1; }
    // The spike output of neuron `id` for input x at time t, computed now (no batch computed
    // it ahead): by its owner, and sent to every other rank; with it, the spike outputs the
    // readouts now foresee for the rest of the window (on several ranks, each rank its own
    // neurons', in the same exchange), so that a window's unforeseen spikes cost one product.
    Tensor spike_output(std::span<const TransformerNeuron> neurons, EntityId id, const Tensor& x, Time t, const PayloadStore& payloads);
    // Whether this rank computes neuron id's blocks.
    bool owns(EntityId id) const { return !comm_ || owner_of(id, comm_->size()) == comm_->rank(); }
    // A spike output computed ahead for an input that did not make a spike after all.
    void spike_output_unused() { ++stats_.spike_unused; }
    // Runs work on the event loop's thread and the workers.
    const ParallelFor* parallel() const { return pool_.workers() ? &parallel_ : nullptr; }

private:
    struct Entry {
        PayloadId payload = no_payload;
        float efficacy = 1.0f;
        std::optional<BlockResult> result;
        std::uint64_t round = 0; // the need whose batches computed the result
    };
    // Registered inputs by time, then weights, then key: a batch is one contiguous range.
    // (The weights' addresses order the groups of one time among themselves; no result and
    // no batch depends on that order.)
    struct Slot {
        Time time;
        const PackedBlock* weights = nullptr;
        EventKey key;
        bool operator<(const Slot& o) const {
            if (time != o.time) return time < o.time;
            if (weights != o.weights) return std::less<const PackedBlock*>{}(weights, o.weights);
            return key < o.key;
        }
    };
    using Pending = std::map<Slot, Entry>;
    // The inputs of one product: one weights' inputs at one time.
    struct Group;
    void compute_batch(Pending::iterator self, std::span<const TransformerNeuron> neurons, const PayloadStore& payloads);
    // The members of the batch of `weights` at t; `self` is the input being handled, if it
    // is of this group.
    // From `it`, an input of that group, which it leaves at the first input the batch had no
    // room for (or past the group).
    Group form(Time t, const PackedBlock* weights, const EventKey* self, Pending::iterator& it, std::span<const TransformerNeuron> neurons,
        const PayloadStore& payloads);
    // Computes a group's blocks (and the spike outputs its readouts predict) into its
    // members' entries: different groups touch different entries, so groups can run at once.
    void run_group(Group& g, std::span<const TransformerNeuron> neurons, const PayloadStore& payloads, const ParallelFor* parallel);
    static Slot slot(const EventKey& key, std::span<const TransformerNeuron> neurons) {
        return {key.time, neurons[key.target].weights.get(), key};
    }
    // Sends the results of this rank's groups, the spike outputs computed for inputs whose
    // results went out at an earlier need, and `own` (the output of the spike being handled,
    // from its owner), to the others, and takes theirs; returns the spike output another rank
    // sent, if one did.
    // With `failure` (what failed here), only that goes out. Throws std::runtime_error, on
    // every rank alike, naming the first rank that failed and what failed there.
    std::optional<Tensor> exchange(const std::vector<Group>& groups, const std::vector<Pending::iterator>& extra, const Tensor* own,
        const std::string* failure, std::span<const TransformerNeuron> neurons);
    // This rank's registered inputs in [from, end) (and at from), but those of neuron `skip`,
    // that the results known now say will make their neuron spike, and whose spike output is
    // not yet computed.
    std::vector<Pending::iterator> foresee(Time from, Time end, std::span<const TransformerNeuron> neurons, EntityId skip);
    void compute_spike_outputs(const std::vector<Pending::iterator>& inputs, const PayloadStore& payloads);
    Time window_end(Time t) const { return t.ticks() > Time::max().ticks() - window_.ticks() ? Time::max() : t + window_; }

    bool batch_;
    Time window_ = Time::from_ticks(1);
    std::uint64_t round_ = 1; // needs met so far, plus one
    Pending pending_;
    BatchStats stats_;
    WorkerPool pool_;
    ParallelFor parallel_;
    std::shared_ptr<Communicator> comm_;
};

} // namespace spikenn
