#include "worker_pool.hpp"

namespace spikenn {

WorkerPool::WorkerPool(unsigned workers) {
    for (unsigned i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
}

WorkerPool::~WorkerPool() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    for (auto& t: threads_) t.join();
}

void WorkerPool::drain(Job& job) {
    std::size_t did = 0;
    std::exception_ptr error;
    for (std::size_t i; (i = job.next.fetch_add(1)) < job.count;) {
        try {
            (*job.f)(i);
        }
        catch (...) {
            if (!error) error = std::current_exception();
        }
        ++did;
    }
    if (did == 0) return;
    std::lock_guard lock(mutex_);
    if (error && !job.error) job.error = error;
    job.finished += did;
    if (job.finished == job.count) done_.notify_all();
}

void WorkerPool::work() {
    std::shared_ptr<Job> seen;
    for (;;) {
        std::shared_ptr<Job> job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stop_ || job_ != seen; });
            if (stop_) return;
            job = seen = job_;
        }
        drain(*job);
    }
}

void WorkerPool::run(std::size_t n, const std::function<void(std::size_t)>& f) {
    if (threads_.empty() || n <= 1) {
        for (std::size_t i = 0; i < n; ++i) f(i);
        return;
    }
    auto job = std::make_shared<Job>();
    job->f = &f;
    job->count = n;
    {
        std::lock_guard lock(mutex_);
        job_ = job;
    }
    wake_.notify_all();
    drain(*job);
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return job->finished == job->count; });
    // f is not called again: every index has been taken.
    if (job->error) std::rethrow_exception(job->error);
}

} // namespace spikenn
