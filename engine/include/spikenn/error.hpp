// The two kinds of failure.
//
// InputError: the user's input is wrong (a scenario, a weights or .npy file, an option).
// Its message names the file, the place in it and the problem, and is meant to be shown
// as it is. Exit code 2. Checked in every build.
//
// IoError: a file the run writes could not be written (the disk is full, the file was
// removed or replaced while the run wrote it). Its message names the file and the system's
// reason. Exit code 1, as for a failed run: the input was fine.
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

class IoError: public std::runtime_error {
public:
    explicit IoError(const std::string& what, bool before = false): std::runtime_error(what), before_start(before) {}
    // The failure came before the run started: nothing was recorded, nothing removed.
    bool before_start;
};

} // namespace spikenn
