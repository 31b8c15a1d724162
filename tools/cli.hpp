// The spikenn command line: `spikenn run`, `spikenn validate`.
#pragma once

#include <memory>

#include <spikenn/communicator.hpp>

namespace spikenn {

// The ranks of a run under mpirun (main.cpp makes it; null: alone). `spikenn run` splits its
// blocks over them; the other commands run the same on every rank, and only rank 0 speaks.
void set_cli_communicator(std::shared_ptr<Communicator> comm);

// Exit codes: 0 success, 1 the run failed (e.g. a NaN in a block), 2 bad input
// (scenario, files, options).
int cli_main(int argc, char** argv);

} // namespace spikenn
