// The two kinds of failure.
//
// InputError: the user's input is wrong (a scenario, a weights or .npy file, an option).
// Its message names the file, the place in it and the problem, and is meant to be shown
// as it is. Exit code 2. Checked in every build.
//
// Broken invariants of our own are std::logic_error (or assertions in hot paths).
// Failures during a run are SimulationError (simulator.hpp), which name the event.
#pragma once

#include <stdexcept>
#include <string>

namespace spikenn {

class InputError: public std::runtime_error {
public:
    explicit InputError(const std::string& what): std::runtime_error(what) {}
};

} // namespace spikenn
