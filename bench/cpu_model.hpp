// The CPU's model name, so that a benchmark's output says which machine its figures are of.
#pragma once

#include <string>

namespace spikenn::bench {

// The first "model name" of /proc/cpuinfo (Linux) with its family and model numbers, or
// "unknown CPU" when there is none.
std::string cpu_model_name();

} // namespace spikenn::bench
