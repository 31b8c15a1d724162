#include "mpi_communicator.hpp"

#include <chrono>
#include <cstdlib>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

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
    // The counts first, in 64 bits, so that every rank sees a size MPI's int counts cannot
    // carry and all fail together, rather than one failing while the others wait.
    const std::uint64_t n = mine.size();
    std::vector<std::uint64_t> sizes(static_cast<std::size_t>(size_));
    MPI_Allgather(&n, 1, MPI_UINT64_T, sizes.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD);
    std::uint64_t total = 0;
    for (std::uint64_t c: sizes) total += c;
    if (total > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
        throw std::length_error(fmt::format("an exchange between ranks of {} bytes, more than MPI's 2 GiB at once", total));
    }
    std::vector<int> counts(static_cast<std::size_t>(size_)), displs(static_cast<std::size_t>(size_));
    int at = 0;
    for (int r = 0; r < size_; ++r) {
        counts[static_cast<std::size_t>(r)] = static_cast<int>(sizes[static_cast<std::size_t>(r)]);
        displs[static_cast<std::size_t>(r)] = at;
        at += counts[static_cast<std::size_t>(r)];
    }
    std::vector<unsigned char> all(static_cast<std::size_t>(total));
    MPI_Allgatherv(mine.data(), static_cast<int>(n), MPI_BYTE, all.data(), counts.data(), displs.data(), MPI_BYTE, MPI_COMM_WORLD);
    std::vector<std::vector<unsigned char>> out(static_cast<std::size_t>(size_));
    for (int r = 0; r < size_; ++r) {
        const auto from = all.begin() + displs[static_cast<std::size_t>(r)];
        out[static_cast<std::size_t>(r)].assign(from, from + counts[static_cast<std::size_t>(r)]);
    }
    ++stats_.exchanges;
    stats_.bytes_sent += mine.size() * static_cast<std::size_t>(size_ - 1);
    stats_.bytes_received += total - mine.size();
    return out;
}

std::vector<unsigned char> MpiCommunicator::broadcast(std::span<const unsigned char> bytes, int root) {
    const Timer timer(stats_);
    std::uint64_t n = rank_ == root ? bytes.size() : 0;
    MPI_Bcast(&n, 1, MPI_UINT64_T, root, MPI_COMM_WORLD);
    if (n > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
        throw std::length_error(fmt::format("a broadcast between ranks of {} bytes, more than MPI's 2 GiB at once", n));
    }
    std::vector<unsigned char> out(static_cast<std::size_t>(n));
    if (rank_ == root) out.assign(bytes.begin(), bytes.end());
    MPI_Bcast(out.data(), static_cast<int>(n), MPI_BYTE, root, MPI_COMM_WORLD);
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
