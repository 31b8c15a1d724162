#include <spikenn/communicator.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace spikenn {

std::vector<std::string> Communicator::agree(const std::string& error) {
    const std::span<const unsigned char> mine(reinterpret_cast<const unsigned char*>(error.data()), error.size());
    std::vector<std::string> out;
    for (const auto& b: all_gather(mine)) out.emplace_back(b.begin(), b.end());
    return out;
}

namespace {

// The ranks' shared board: each collective call is one round, in which every rank posts its
// bytes, waits for the others', reads, and waits again until all have read, so that the next
// round cannot overwrite what a slow rank is still reading.
struct Board {
    explicit Board(int n): posted(static_cast<std::size_t>(n)) {}
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::vector<unsigned char>> posted;
    int arrived = 0, left = 0;
    std::uint64_t round = 0;
    bool aborted = false;
    int abort_code = 0;
};

class LocalCommunicator final: public Communicator {
public:
    LocalCommunicator(std::shared_ptr<Board> b, int rank): board_(std::move(b)), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return static_cast<int>(board_->posted.size()); }

    std::vector<std::vector<unsigned char>> all_gather(std::span<const unsigned char> mine) override {
        return exchange(mine, -1);
    }
    std::vector<unsigned char> broadcast(std::span<const unsigned char> bytes, int root) override {
        auto all = exchange(rank_ == root ? bytes : std::span<const unsigned char>{}, root);
        return std::move(all[static_cast<std::size_t>(root)]);
    }
    [[noreturn]] void abort(int code) override {
        {
            std::lock_guard lock(board_->m);
            board_->aborted = true;
            board_->abort_code = code;
        }
        board_->cv.notify_all();
        throw AbortedRun{code};
    }

private:
    std::vector<std::vector<unsigned char>> exchange(std::span<const unsigned char> mine, int root) {
        const auto start = std::chrono::steady_clock::now();
        Board& b = *board_;
        std::unique_lock lock(b.m);
        const int n = size();
        // Wait until the last round is read by all: `left` counts its readers out.
        b.cv.wait(lock, [&] { return b.aborted || b.left == 0; });
        if (b.aborted) throw AbortedRun{b.abort_code};
        b.posted[static_cast<std::size_t>(rank_)].assign(mine.begin(), mine.end());
        const std::uint64_t round = b.round;
        if (++b.arrived == n) {
            b.arrived = 0;
            b.left = n;
            ++b.round;
            b.cv.notify_all();
        }
        b.cv.wait(lock, [&] { return b.aborted || b.round != round; });
        // A round every rank joined is complete, even if a rank aborted since: this rank
        // reads it, and meets the abort at its next call.
        if (b.round == round) throw AbortedRun{b.abort_code};
        std::vector<std::vector<unsigned char>> out;
        if (root < 0) {
            out = b.posted;
        }
        else {
            out.resize(static_cast<std::size_t>(n));
            out[static_cast<std::size_t>(root)] = b.posted[static_cast<std::size_t>(root)];
        }
        if (--b.left == 0) b.cv.notify_all();
        lock.unlock();
        ++stats_.exchanges;
        stats_.bytes_sent += mine.size() * static_cast<std::size_t>(root < 0 ? n - 1 : (rank_ == root ? n - 1 : 0));
        for (int r = 0; r < n; ++r) {
            if (r != rank_) stats_.bytes_received += out[static_cast<std::size_t>(r)].size();
        }
        stats_.wait_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return out;
    }

    std::shared_ptr<Board> board_;
    int rank_;
};

} // namespace

std::vector<std::shared_ptr<Communicator>> LocalGroup::make(int size) {
    auto board = std::make_shared<Board>(size < 1 ? 1 : size);
    std::vector<std::shared_ptr<Communicator>> out;
    for (int r = 0; r < static_cast<int>(board->posted.size()); ++r) out.push_back(std::make_shared<LocalCommunicator>(board, r));
    return out;
}

} // namespace spikenn
