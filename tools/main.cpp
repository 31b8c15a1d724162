#include "tools/cli.hpp"

#ifdef SPIKENN_HAVE_MPI
#include <fcntl.h>
#include <unistd.h>

#include "mpi/mpi_communicator.hpp"
#endif

int main(int argc, char** argv) {
#ifdef SPIKENN_HAVE_MPI
    // Under mpirun every rank runs the command; only rank 0 prints its output (the summary)
    // and the errors every rank meets alike (the ranks agree on errors before a run, and rank
    // 0 reports the first). The others' standard output goes nowhere; they keep standard
    // error for a failure of their own, reported before it ends the run.
    if (spikenn::MpiCommunicator::launched()) {
        auto comm = std::make_shared<spikenn::MpiCommunicator>(argc, argv);
        if (comm->rank() != 0) {
            const int null = ::open("/dev/null", O_WRONLY);
            if (null >= 0) {
                ::dup2(null, 1);
                ::close(null);
            }
        }
        spikenn::set_cli_communicator(comm);
        const int code = spikenn::cli_main(argc, argv);
        spikenn::set_cli_communicator(nullptr);
        return code; // the communicator, gone with the last reference, finalises MPI
    }
#endif
    return spikenn::cli_main(argc, argv);
}
