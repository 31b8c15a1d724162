// Blocks computed ahead of their events, on worker threads, without changing any result.
//
// A block's output is a pure function of the neuron's weights and the input tensor; only the
// cheap part of an input (decay, refractory check, readout added to the potential, threshold)
// depends on the neuron's state. So the block of every input is queued for the workers as soon
// as the input is scheduled, and the event loop, which still handles events one at a time in
// their order, takes the result when it gets there: it waits if a worker is computing it,
// computes it itself if no worker has started (and, while a worker finishes the one it
// needs, computes the next queued ones), and skips it if the input turns out to be
// dropped (inputs that arrive within the target's current refractory period are not queued).
// Each result is computed once, by the same code, from the same data, so the results and the
// event log are the same for any number of threads.
//
// Inputs that arrive at a neuron (one with a refractory period) in the same tick as the one
// that makes it spike, or later within the period, are dropped, and a block computed for them
// is wasted. Workers therefore take the inputs of one neuron at one time together, in their
// order, and stop when the neuron's last known potential plus the readouts so far reaches its
// threshold: the rest are left to the event loop, which computes them only if they are needed
// after all. When a neuron spikes, workers skip its inputs before the end of its refractory
// period. The potential (note_potential, after each event) and the refractory end
// (refractory) are hints the event loop publishes; they steer the work, never a result. For
// the input expected to make the neuron spike, the worker also computes the spike's output.
#pragma once

#include <atomic>
#include <condition_variable>
#include <queue>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <map>
#include <vector>

#include <spikenn/event.hpp>
#include <spikenn/neuron.hpp>

namespace spikenn {

struct BlockResult {
    double readout = 0;
    bool finite = true; // every element of the block's output is finite
    // The spike output, feed_forward(x), when a worker expected this input to make the
    // neuron spike and computed it too.
    std::shared_ptr<const Tensor> spike_output;
};

// The block and readout of `n` for input x (inline, on the calling thread).
BlockResult compute_block(const TransformerNeuron& n, const Tensor& x);

class BlockPrefetcher {
public:
    BlockPrefetcher(unsigned workers, std::size_t neurons);
    ~BlockPrefetcher();
    BlockPrefetcher(const BlockPrefetcher&) = delete;
    BlockPrefetcher& operator=(const BlockPrefetcher&) = delete;

    // Queues the block of the input event `key` to neuron n on a copy of tensor x (so that no
    // worker ever reads a payload the simulator may release); `efficacy` is the input's, for
    // the guess whether it makes the neuron spike.
    void submit(const EventKey& key, const TransformerNeuron& n, const Tensor& x, float efficacy = 1.0f);
    // The result for `key`, or nothing if it was never submitted. With needed == false (the
    // input is dropped) a block nobody has started is not computed.
    std::optional<BlockResult> take(const EventKey& key, bool needed);
    // Neuron `target` spiked and is refractory before `until`: its queued inputs before then
    // will be dropped, so no worker starts them. (Only a hint: take() still computes a
    // skipped block that turns out to be needed.)
    void refractory(EntityId target, Time until);
    // The potential of neuron `target` after its latest event.
    void note_potential(EntityId target, double potential) { hints_[target].store(potential, std::memory_order_relaxed); }
    // Forgets every queued block (after the state was replaced); waits for running ones.
    void clear();

private:
    struct Task {
        enum class State { queued, running, done, skipped } state = State::queued;
        EventKey key;
        const TransformerNeuron* neuron = nullptr;
        Tensor x;
        float efficacy = 1.0f;
        BlockResult result;
    };
    static BlockResult run(const Task& t);
    void worker();

    std::mutex mutex_;
    std::condition_variable work_;
    std::condition_variable done_;
    // Workers take the earliest time first, and within it the neurons from the last (the
    // event loop works from the first), each neuron's inputs in their order.
    struct WorkerOrder {
        bool operator()(const std::shared_ptr<Task>& a, const std::shared_ptr<Task>& b) const {
            if (a->key.time != b->key.time) return a->key.time > b->key.time;
            if (a->key.target != b->key.target) return a->key.target < b->key.target;
            return a->key > b->key;
        }
    };
    std::priority_queue<std::shared_ptr<Task>, std::vector<std::shared_ptr<Task>>, WorkerOrder> queue_;
    std::map<EventKey, std::shared_ptr<Task>> tasks_; // by key: the event loop helps in its own order
    std::unique_ptr<std::atomic<double>[]> hints_;
    std::vector<Time> refractory_until_; // per neuron, under mutex_
    bool stop_ = false;
    std::vector<std::thread> threads_;
};

} // namespace spikenn
