// What the processes (ranks) of one distributed run say to each other.
//
// A run on several ranks is the sequential run on every rank: each rank runs the whole event
// loop, on the whole network's state, and so records the same bytes. Only the blocks, the
// costly part and a pure function of a neuron's weights and an input, are split: each rank
// computes those of the neurons it owns (owner_of), and the results are exchanged here at the
// points where the event loop needs them (docs/distributed.md). Every call is collective:
// every rank makes the same calls in the same order, which the replicated event loop
// guarantees. A Communicator carries bytes only; what they mean is its callers' business.
//
// Implementations: LocalGroup (below; ranks as threads of one process, for tests and for
// programs that embed several ranks) and MpiCommunicator (mpi/, over MPI_COMM_WORLD).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace spikenn {

// What a rank has exchanged so far (for benchmarks and the run summary; never recorded).
struct ExchangeStats {
    std::uint64_t exchanges = 0; // collective calls
    std::uint64_t bytes_sent = 0;
    std::uint64_t bytes_received = 0;
    double wait_seconds = 0; // inside collective calls: exchanging, and waiting for the others
};

class Communicator {
public:
    virtual ~Communicator() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    // Every rank's bytes, in rank order, on every rank.
    virtual std::vector<std::vector<unsigned char>> all_gather(std::span<const unsigned char> mine) = 0;
    // Root's bytes on every rank (`bytes` is read on root only).
    virtual std::vector<unsigned char> broadcast(std::span<const unsigned char> bytes, int root) = 0;
    // Ends every rank of the run at once with `code`: for a failure on one rank that the
    // others cannot know of (a file that cannot be written), which would leave them waiting.
    [[noreturn]] virtual void abort(int code) = 0;
    const ExchangeStats& stats() const { return stats_; }

    // The errors each rank met before the run (empty: none), on every rank: the ranks agree
    // to start, or all stop, with the first error to report.
    std::vector<std::string> agree(const std::string& error);

protected:
    ExchangeStats stats_;
};

// The rank that owns neuron `id` on `ranks` ranks: neurons are dealt out in turn, so that
// every population, shared weights or not, is spread evenly over the ranks.
constexpr int owner_of(std::uint32_t id, int ranks) { return static_cast<int>(id % static_cast<std::uint32_t>(ranks)); }

// `size` ranks as threads of one process: make() returns one communicator per rank, each to
// be used by one thread. abort() throws AbortedRun on every rank's thread (at its next call)
// rather than ending the process.
class LocalGroup {
public:
    static std::vector<std::shared_ptr<Communicator>> make(int size);
};

struct AbortedRun {
    int code;
};

} // namespace spikenn
