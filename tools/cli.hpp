// The spikenn command line: `spikenn run`, `spikenn validate`.
#pragma once

namespace spikenn {

// Exit codes: 0 success, 1 the run failed (e.g. a NaN in a block), 2 bad input
// (scenario, files, options).
int cli_main(int argc, char** argv);

} // namespace spikenn
