// Checkpoint files: a run's whole state at a moment between two events, versioned, so that
// `spikenn run --resume` and the debugger continue exactly where it was taken.
//
// Layout (little-endian): magic "SNNCHKPT", u32 version (1), u64 scenario hash (xxh3 of the
// scenario text), u64 seed, i64 end time, u64 event limit, i64 the time the checkpoint was
// taken, u64 events processed, u64 body length, the body, u64 xxh3 of all bytes before it.
// The body is the simulator's state (Simulator::save_state) followed by the run's own
// (counts, fingerprint, event-log writer, output files).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace spikenn {

inline constexpr std::uint32_t checkpoint_version = 1;

struct CheckpointInfo {
    std::uint64_t scenario_hash = 0;
    std::uint64_t seed = 0;
    std::int64_t end_ticks = 0;
    std::uint64_t max_events = 0;
    std::int64_t time_ticks = 0;
    std::uint64_t events = 0;
};

struct Checkpoint {
    CheckpointInfo info;
    std::vector<unsigned char> body;
};

// The body's sections, each length-prefixed so that each part reads its own. A run writes
// the first five (the event log's and the output files' empty when it had none); the
// debugger adds its record of the events before the checkpoint.
struct CheckpointBody {
    std::string sim, counts, fingerprint, log, files;
    std::optional<std::string> history;

    std::vector<unsigned char> encode() const;
    // Throws InputError naming `path` when the sections are malformed.
    static CheckpointBody decode(const Checkpoint& c, const std::filesystem::path& path);
};

// Writes to a temporary name in the same folder and renames it: a crash never leaves a
// half-written checkpoint under the final name.
void write_checkpoint(const std::filesystem::path& path, const CheckpointInfo& info, const std::vector<unsigned char>& body);

// Throws InputError naming the file and the problem: not a checkpoint, another version,
// damaged (checksum), cut.
Checkpoint read_checkpoint(const std::filesystem::path& path);

} // namespace spikenn
