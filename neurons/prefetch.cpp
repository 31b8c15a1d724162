#include "prefetch.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace spikenn {

BlockResult compute_block(const TransformerNeuron& n, const Tensor& x) {
    const Tensor out = block_forward(*n.weights, x);
    BlockResult r;
    for (float v: out.data) r.finite &= std::isfinite(v);
    r.readout = n.readout(out);
    return r;
}

BlockPrefetcher::BlockPrefetcher(unsigned workers, std::size_t neurons):
    hints_(new std::atomic<double>[neurons]), refractory_until_(neurons, Time::zero()) {
    for (std::size_t i = 0; i < neurons; ++i) hints_[i].store(std::numeric_limits<double>::quiet_NaN());
    for (unsigned i = 0; i < workers; ++i) threads_.emplace_back([this] { worker(); });
}

BlockPrefetcher::~BlockPrefetcher() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    work_.notify_all();
    for (auto& t: threads_) t.join();
}

BlockResult BlockPrefetcher::run(const Task& t) { return compute_block(*t.neuron, t.x); }

void BlockPrefetcher::submit(const EventKey& key, const TransformerNeuron& n, const Tensor& x, float efficacy) {
    auto t = std::make_shared<Task>();
    t->neuron = &n;
    t->x = x;
    t->efficacy = efficacy;
    t->key = key;
    {
        std::lock_guard lock(mutex_);
        tasks_[key] = t;
        queue_.push(std::move(t));
    }
    work_.notify_one();
}

void BlockPrefetcher::worker() {
    // The neuron and time whose inputs this worker is on, and their readouts so far.
    std::optional<std::pair<Time, EntityId>> group;
    double readouts = 0;
    for (;;) {
        std::shared_ptr<Task> t;
        {
            std::unique_lock lock(mutex_);
            work_.wait(lock, [&] { return stop_ || !queue_.empty(); });
            if (stop_) return;
            t = queue_.top();
            queue_.pop();
            if (t->state != Task::State::queued) continue; // taken by the event loop already
            if (t->key.time < refractory_until_[t->key.target]) {
                // Its neuron spiked since it was queued: it will be dropped. (Inputs before the
                // spike were all taken by the event loop, which works in time order.)
                t->state = Task::State::skipped;
                continue;
            }
            t->state = Task::State::running;
        }
        BlockResult r = run(*t);
        const std::pair<Time, EntityId> g{t->key.time, t->key.target};
        if (group != g) {
            group = g;
            readouts = 0;
        }
        readouts += static_cast<double>(t->efficacy) * r.readout;
        const double potential = hints_[g.second].load(std::memory_order_relaxed);
        const bool spikes = potential + readouts >= t->neuron->params.threshold; // false while the hint is NaN
        if (spikes) r.spike_output = std::make_shared<const Tensor>(feed_forward(*t->neuron->weights, t->x));
        {
            std::lock_guard lock(mutex_);
            t->result = r;
            t->state = Task::State::done;
            if (spikes) {
                // The later inputs of this neuron at this time will most likely be dropped.
                for (auto it = tasks_.upper_bound(t->key); it != tasks_.end() && it->first.time == g.first && it->first.target == g.second; ++it) {
                    if (it->second->state == Task::State::queued) it->second->state = Task::State::skipped;
                }
            }
        }
        done_.notify_all();
    }
}

std::optional<BlockResult> BlockPrefetcher::take(const EventKey& key, bool needed) {
    std::shared_ptr<Task> t;
    {
        std::unique_lock lock(mutex_);
        auto it = tasks_.find(key);
        if (it == tasks_.end()) return std::nullopt;
        t = std::move(it->second);
        tasks_.erase(it);
        if (t->state == Task::State::queued || t->state == Task::State::skipped) {
            // Nobody has started it: compute it here, or not at all.
            t->state = needed ? Task::State::running : Task::State::skipped;
        }
        else {
            // A worker has it. Rather than wait idle, compute the next blocks the event loop
            // will ask for, in key order.
            while (t->state != Task::State::done) {
                std::shared_ptr<Task> help;
                int looked = 0;
                for (auto& [k, other]: tasks_) {
                    if (other->state == Task::State::queued) {
                        help = other;
                        break;
                    }
                    if (++looked == 16) break;
                }
                if (!help) {
                    done_.wait(lock, [&] { return t->state == Task::State::done; });
                    break;
                }
                help->state = Task::State::running;
                lock.unlock();
                const BlockResult r = run(*help);
                lock.lock();
                help->result = r;
                help->state = Task::State::done;
                done_.notify_all();
            }
            return t->result;
        }
    }
    if (!needed) return BlockResult{};
    return run(*t);
}

void BlockPrefetcher::refractory(EntityId target, Time until) {
    std::lock_guard lock(mutex_);
    refractory_until_[target] = std::max(refractory_until_[target], until);
}

void BlockPrefetcher::clear() {
    std::unique_lock lock(mutex_);
    for (auto& [key, t]: tasks_) {
        if (t->state == Task::State::queued) t->state = Task::State::skipped;
    }
    done_.wait(lock, [&] {
        for (auto& [key, t]: tasks_)
            if (t->state == Task::State::running) return false;
        return true;
    });
    tasks_.clear();
    queue_ = {};
    std::fill(refractory_until_.begin(), refractory_until_.end(), Time::zero()); // a replaced state may be earlier
}

} // namespace spikenn
