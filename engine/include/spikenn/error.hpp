// What can go wrong, as one family of exceptions under spikenn::Error.
//
// A caller tells apart four kinds, and the command line maps each to its exit code once
// (tools/cli.cpp; README, "Exit codes"):
//
//   InputError        the input is wrong: a scenario, a weights or .npy file, an option, a
//                     call of the network builder. Names the file, line, column and key when
//                     there are any. Exit code 2.
//   DamagedFileError  an InputError for a file that spike-nn wrote and that is damaged or
//                     not what it should be (an event log, a checkpoint): the path and the
//                     byte offset. Exit code 2.
//   SimulationError   the run failed: the event, its time and its neuron (simulator.hpp).
//                     Exit code 1.
//   IoError           a file the run writes could not be written (a full disk, a file
//                     removed while the run wrote it). Exit code 1: the input was fine.
//   InternalError     a broken invariant of spike-nn's own: a bug to report. Checked in
//                     every build where it guards memory.
//
// Every check of user input runs in every build; nothing here depends on NDEBUG.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace spikenn {

class Error: public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Where in a file the input is wrong. Empty fields are unknown: a builder's call has a key
// (the item and its parameter) and no file; a file with no structure has only a path.
struct InputPlace {
    std::string file;
    std::int64_t line = 0;   // from 1; 0 when unknown
    std::int64_t column = 0; // from 1; 0 when unknown
    std::string key;         // "neurons[2].num_heads", "connection 3: delay"
};

class InputError: public Error {
public:
    // A message that says everything itself (it names its file, if any).
    explicit InputError(const std::string& what): Error(what), problem_(what) {}
    // "FILE:LINE:COLUMN: KEY: problem", each part only when known.
    InputError(InputPlace place, const std::string& problem);
    // The place and the problem, with a message of the caller's own.
    InputError(InputPlace place, std::string problem, const std::string& what): Error(what), place_(std::move(place)), problem_(std::move(problem)) {}

    const InputPlace& place() const { return place_; }
    const std::string& file() const { return place_.file; }
    std::int64_t line() const { return place_.line; }
    std::int64_t column() const { return place_.column; }
    const std::string& key() const { return place_.key; }
    // The problem alone, without the place.
    const std::string& problem() const { return problem_; }

private:
    InputPlace place_;
    std::string problem_;
};

class DamagedFileError: public InputError {
public:
    // "PATH: byte OFFSET: problem"
    DamagedFileError(const std::string& path, std::uint64_t offset, const std::string& problem);
    // The same, with a message of the caller's own.
    DamagedFileError(const std::string& path, std::uint64_t offset, std::string problem, const std::string& what):
        InputError(InputPlace{path, 0, 0, ""}, std::move(problem), what), offset_(offset) {}
    const std::string& path() const { return file(); }
    std::uint64_t offset() const { return offset_; }

private:
    std::uint64_t offset_;
};

class IoError: public Error {
public:
    explicit IoError(const std::string& what, bool before = false): Error(what), before_start(before) {}
    // The failure came before the run started: nothing was recorded, nothing removed.
    bool before_start;
};

class InternalError: public Error {
public:
    explicit InternalError(const std::string& what): Error(what) {}
};

// Checks an invariant of spike-nn's own in every build (not an assert: NDEBUG does not
// remove it), for the ones that keep an index or a size in bounds.
#define SPIKENN_CHECK(cond, what) \
    do { \
        if (!(cond)) [[unlikely]] \
            throw ::spikenn::InternalError(what); \
    } while (false)

} // namespace spikenn
