// Threads that help the event loop's thread with one piece of work at a time: run(n, f) calls
// f(0) ... f(n - 1), each once, on the caller and the workers, and returns when all are done.
// The block splits its products by columns and its attention by input and head through it;
// no split changes a bit (neurons/gemm.hpp), so the results are the same on any number of
// threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace spikenn {

class WorkerPool {
public:
    explicit WorkerPool(unsigned workers);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    void run(std::size_t n, const std::function<void(std::size_t)>& f);
    unsigned workers() const { return static_cast<unsigned>(threads_.size()); }

private:
    // One call of run(): a thread that picks it up late finds no index left, and never
    // touches the next job through it.
    struct Job {
        const std::function<void(std::size_t)>* f = nullptr;
        std::size_t count = 0;
        std::atomic<std::size_t> next{0};
        std::size_t finished = 0; // under mutex_
        std::exception_ptr error; // the first thrown, under mutex_; run() rethrows it
    };
    void work();
    // Runs indices of `job` until none is left.
    void drain(Job& job);

    std::mutex mutex_;
    std::condition_variable wake_, done_;
    std::shared_ptr<Job> job_; // the latest, under mutex_
    bool stop_ = false;
    std::vector<std::thread> threads_;
};

} // namespace spikenn
