// The Communicator of a run under mpirun: MPI_COMM_WORLD, one rank per process.
//
// Collectives are two calls each: an MPI_Allgather of the byte counts, then an
// MPI_Allgatherv of the bytes (a broadcast: MPI_Bcast of the count, then of the bytes). An
// MPI error aborts every rank (MPI's default handler), so no rank waits on one that failed.
#pragma once

#include <memory>

#include <spikenn/communicator.hpp>

namespace spikenn {

class MpiCommunicator final: public Communicator {
public:
    // Initialises MPI (MPI_THREAD_FUNNELED: only the event loop's thread calls MPI) and
    // finalises it when the last MpiCommunicator is destroyed.
    MpiCommunicator(int& argc, char**& argv);
    ~MpiCommunicator() override;
    MpiCommunicator(const MpiCommunicator&) = delete;
    MpiCommunicator& operator=(const MpiCommunicator&) = delete;

    int rank() const override { return rank_; }
    int size() const override { return size_; }
    std::vector<std::vector<unsigned char>> all_gather(std::span<const unsigned char> mine) override;
    std::vector<unsigned char> broadcast(std::span<const unsigned char> bytes, int root) override;
    [[noreturn]] void abort(int code) override;

    // Whether this process was started by mpirun (or another MPI launcher): the variables
    // OpenMPI, MPICH and PMIx set for their ranks.
    static bool launched();

private:
    int rank_ = 0, size_ = 1;
};

} // namespace spikenn
