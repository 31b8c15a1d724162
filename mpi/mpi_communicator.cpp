#include "mpi_communicator.hpp"

#include <chrono>
#include <cstdlib>
#include <limits>
#include <stdexcept>

#include <mpi.h>

namespace spikenn {

namespace {

class Timer {
public:
    explicit Timer(ExchangeStats& s): s_(s), start_(std::chrono::steady_clock::now()) {}
    ~Timer() { s_.wait_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

private:
    ExchangeStats& s_;
    std::chrono::steady_clock::time_point start_;
};

int count_of(std::size_t n) {
    if (n > static_cast<std::size_t>(std::numeric_limits<int>::max())) throw std::length_error("more than 2 GiB in one exchange");
    return static_cast<int>(n);
}

} // namespace

MpiCommunicator::MpiCommunicator(int& argc, char**& argv) {
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiCommunicator::~MpiCommunicator() { MPI_Finalize(); }

bool MpiCommunicator::launched() {
    for (const char* v: {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}) {
        if (std::getenv(v)) return true;
    }
    return false;
}

std::vector<std::vector<unsigned char>> MpiCommunicator::all_gather(std::span<const unsigned char> mine) {
    const Timer timer(stats_);
    const int n = count_of(mine.size());
    std::vector<int> counts(static_cast<std::size_t>(size_)), displs(static_cast<std::size_t>(size_));
    MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
    std::size_t total = 0;
    for (int r = 0; r < size_; ++r) {
        displs[static_cast<std::size_t>(r)] = count_of(total);
        total += static_cast<std::size_t>(counts[static_cast<std::size_t>(r)]);
    }
    std::vector<unsigned char> all(total);
    MPI_Allgatherv(mine.data(), n, MPI_BYTE, all.data(), counts.data(), displs.data(), MPI_BYTE, MPI_COMM_WORLD);
    std::vector<std::vector<unsigned char>> out(static_cast<std::size_t>(size_));
    for (int r = 0; r < size_; ++r) {
        const auto at = all.begin() + displs[static_cast<std::size_t>(r)];
        out[static_cast<std::size_t>(r)].assign(at, at + counts[static_cast<std::size_t>(r)]);
    }
    ++stats_.exchanges;
    stats_.bytes_sent += mine.size() * static_cast<std::size_t>(size_ - 1);
    stats_.bytes_received += total - mine.size();
    return out;
}

std::vector<unsigned char> MpiCommunicator::broadcast(std::span<const unsigned char> bytes, int root) {
    const Timer timer(stats_);
    int n = rank_ == root ? count_of(bytes.size()) : 0;
    MPI_Bcast(&n, 1, MPI_INT, root, MPI_COMM_WORLD);
    std::vector<unsigned char> out(static_cast<std::size_t>(n));
    if (rank_ == root) out.assign(bytes.begin(), bytes.end());
    MPI_Bcast(out.data(), n, MPI_BYTE, root, MPI_COMM_WORLD);
    ++stats_.exchanges;
    if (rank_ == root) stats_.bytes_sent += out.size() * static_cast<std::size_t>(size_ - 1);
    else stats_.bytes_received += out.size();
    return out;
}

void MpiCommunicator::abort(int code) {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::abort(); // MPI_Abort does not return
}

} // namespace spikenn
