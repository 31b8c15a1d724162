#include "neurons/prefetch.hpp"

#include <cmath>

namespace spikenn {

BlockResult compute_block(const TransformerNeuron& n, const Tensor& x) {
    const Tensor out = block_forward(*n.weights, x);
    BlockResult r;
    for (float v: out.data) r.finite &= std::isfinite(v);
    r.readout = n.readout(out);
    return r;
}

BlockPrefetcher::BlockPrefetcher(unsigned workers) {
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

void BlockPrefetcher::submit(const EventKey& key, const TransformerNeuron& n, const Tensor& x) {
    auto t = std::make_shared<Task>();
    t->neuron = &n;
    t->x = x;
    t->key = key;
    {
        std::lock_guard lock(mutex_);
        tasks_[key] = t;
        queue_.push(std::move(t));
    }
    work_.notify_one();
}

void BlockPrefetcher::worker() {
    for (;;) {
        std::shared_ptr<Task> t;
        {
            std::unique_lock lock(mutex_);
            work_.wait(lock, [&] { return stop_ || !queue_.empty(); });
            if (stop_) return;
            t = queue_.top();
            queue_.pop();
            if (t->state != Task::State::queued) continue; // taken by the event loop already
            t->state = Task::State::running;
        }
        const BlockResult r = run(*t);
        {
            std::lock_guard lock(mutex_);
            t->result = r;
            t->state = Task::State::done;
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
        if (t->state == Task::State::queued) {
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
}

} // namespace spikenn
