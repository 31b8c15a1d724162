// The cost of one exchange between ranks, for docs/distributed.md's scaling model: the time of
// an all_gather of B bytes from each rank (B from 64 bytes to 1 MiB), median of rounds of many
// calls, and the rate it moves bytes at. Run under mpirun, e.g.
//   mpirun -np 2 build/bench/spikenn_bench_exchange
// Alone (no mpirun) it measures the ranks as threads of one process (LocalGroup) instead.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include <spikenn/communicator.hpp>

#include "mpi/mpi_communicator.hpp"

using namespace spikenn;

namespace {

// Seconds per all_gather of `bytes`, median over rounds (every rank calls it alike).
double per_exchange(Communicator& c, std::size_t bytes) {
    const std::vector<unsigned char> mine(bytes, static_cast<unsigned char>(c.rank()));
    const int calls = bytes <= 4096 ? 2000 : bytes <= 65536 ? 300 : 40;
    std::vector<double> rounds;
    for (int r = 0; r < 7; ++r) {
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < calls; ++i) c.all_gather(mine);
        rounds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / calls);
    }
    std::sort(rounds.begin(), rounds.end());
    return rounds[rounds.size() / 2];
}

void report(Communicator& c, const char* what) {
    if (c.rank() == 0) std::printf("all_gather on %d ranks (%s): bytes from each rank, microseconds per exchange, MB/s received per rank\n", c.size(), what);
    for (std::size_t bytes: {64u, 1024u, 4096u, 65536u, 262144u, 1048576u}) {
        const double s = per_exchange(c, bytes);
        if (c.rank() == 0) std::printf("  %8zu  %10.2f us  %10.1f MB/s\n", bytes, s * 1e6, static_cast<double>(bytes) * (c.size() - 1) / s / 1e6);
    }
}

} // namespace

int main(int argc, char** argv) {
    if (MpiCommunicator::launched()) {
        MpiCommunicator comm(argc, argv);
        report(comm, "MPI");
        return 0;
    }
    const auto group = LocalGroup::make(2);
    std::thread other([&] { report(*group[1], "threads of one process"); });
    report(*group[0], "threads of one process");
    other.join();
    return 0;
}
