// Checkpoint files: a run's whole state at a moment between two events, versioned, so that
// `spikenn run --resume` and the debugger continue exactly where it was taken.
//
// Layout (little-endian): magic "SNNCHKPT", u32 version (4), u64 scenario hash (xxh3 of the
// scenario text), u64 seed, i64 end time, u64 event limit, i64 the time the checkpoint was
// taken, u64 events processed, u64 body length, the body, u64 xxh3 of all bytes before it.
// The body is the simulator's state (Simulator::save_state) followed by the run's own
// (counts, fingerprint, event-log writer, output files), each a u64 length and its bytes,
// then a u8 flag (1: the debugger's history follows), the history when there is one, and a
// u64 count of named sections (recorders of a program's own), each a name and its bytes
// (strings as above). Versions 1 and 2 end with the history, without flag or count.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <spikenn/error.hpp>
#include <spikenn/state.hpp>

namespace spikenn {

// The version written. Each older one is still read:
//   2 adds to the event-log section a hash of the log's bytes at the checkpoint, so that a
//     resume can tell the interrupted run's log from another;
//   3 adds the sections of recorders of a program's own, each under its name;
//   4 saves each pending event's efficacy (the simulator's state layout 2), and always has
//     the flag and count of version 3.
inline constexpr std::uint32_t checkpoint_version = 4;
inline constexpr std::uint32_t checkpoint_version_named = 3; // the first with named sections
// The layout of the simulator's state in a checkpoint of version v.
constexpr std::uint32_t checkpoint_state_layout(std::uint32_t v) { return v >= 4 ? 2 : 1; }
inline constexpr std::uint64_t checkpoint_body_offset = 8 + 4 + 7 * 8; // where the body starts

struct CheckpointInfo {
    std::uint64_t scenario_hash = 0;
    std::uint64_t seed = 0;
    std::int64_t end_ticks = 0;
    std::uint64_t max_events = 0;
    std::int64_t time_ticks = 0;
    std::uint64_t events = 0;
};

struct Checkpoint {
    std::uint32_t version = checkpoint_version;
    CheckpointInfo info;
    std::vector<unsigned char> body;
};

// The body's sections, each length-prefixed so that each part reads its own. A run writes
// the first five (the event log's and the output files' empty when it had none); the
// debugger adds its record of the events before the checkpoint.
struct CheckpointBody {
    std::string sim, counts, fingerprint, log, files;
    std::optional<std::string> history;
    // Sections of recorders of a program's own (version 3 on), in the order saved.
    struct Named {
        std::string name, bytes;
        std::uint64_t at = 0; // where its bytes start in the file
    };
    std::vector<Named> named;
    // The version these sections are written as.
    std::uint32_t version() const { return checkpoint_version; }
    // Where each section starts in the file (decode() sets them), so that readers of a
    // section (StateReader's base) name offsets in the file.
    std::uint64_t sim_at = 0, counts_at = 0, fingerprint_at = 0, log_at = 0, files_at = 0, history_at = 0;

    std::vector<unsigned char> encode() const;
    // Throws InputError naming `path` when the sections are malformed.
    static CheckpointBody decode(const Checkpoint& c, const std::filesystem::path& path);
};

// The file's bytes: header, body and checksum.
std::vector<unsigned char> encode_checkpoint(const CheckpointInfo& info, const std::vector<unsigned char>& body,
    std::uint32_t version = checkpoint_version);
// Writes to a temporary name in the same folder and renames it: a crash never leaves a
// half-written checkpoint under the final name.
void write_checkpoint(const std::filesystem::path& path, const CheckpointInfo& info, const std::vector<unsigned char>& body);

// Throws InputError naming the file and the problem: not a checkpoint, another version,
// damaged (checksum), cut, not a regular file.
Checkpoint read_checkpoint(const std::filesystem::path& path);
// The same, of bytes already read; `name` is used in messages.
Checkpoint parse_checkpoint(std::span<const unsigned char> bytes, const std::string& name);

// A StateError met while restoring a checkpoint, as the user's error: the file, the byte
// offset and what is wrong.
DamagedFileError checkpoint_error(const std::filesystem::path& path, const StateError& e);

} // namespace spikenn
