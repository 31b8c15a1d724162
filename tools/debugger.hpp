// `spikenn debug`: step through a simulation, or browse a recorded event log.
//
// The debugger drives a Simulation's step() one event at a time; its history recorder
// (tools/history.hpp) keeps every processed event (its record), and the session keeps a
// snapshot of the whole state every few hundred events. Stepping back restores the nearest
// earlier snapshot and re-executes forward: the engine is deterministic, so the state
// reached is byte for byte the state the forward run had. Its checkpoints are the
// Simulation's: a run's sections plus the history.
#pragma once

#include <iosfwd>
#include <string>

namespace spikenn {

struct DebugOptions {
    std::string target;   // a scenario (.yaml) or an event log
    std::string commands; // read commands from this file instead of the terminal
};

// Exit code: 0 when the session ends normally, 2 when the target cannot be opened.
int debug_command(const DebugOptions& o);

// What an empty line means, as in gdb: at a prompt it repeats the last command that moves
// through the events or shows something (`step`, `next`, `back`, `print`, ...; not `break`,
// `delete`, `checkpoint` or `resume`, whose repetition would do something new); in a script
// (`--commands FILE`, or standard input that is not a terminal) it is skipped.
enum class EmptyLine { skip, repeat };

// One session on `target`, reading commands from `in` and writing to `out`, each line
// echoed after the prompt. For scripts, and for tests of the prompt (EmptyLine::repeat).
int debug_session(const std::string& target, std::istream& in, std::ostream& out, EmptyLine empty = EmptyLine::skip);

} // namespace spikenn
