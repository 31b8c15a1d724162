#include <spikenn/checkpoint.hpp>

#include <cstring>

#include <fmt/format.h>

#include <spikenn/error.hpp>
#include <spikenn/state.hpp>
#include <spikenn/input_file.hpp>
#include <spikenn/eventlog.hpp>
#include <spikenn/atomic_file.hpp>

namespace spikenn {

namespace fs = std::filesystem;

namespace {
constexpr char magic[8] = {'S', 'N', 'N', 'C', 'H', 'K', 'P', 'T'};

} // namespace

std::vector<unsigned char> encode_checkpoint(const CheckpointInfo& info, const std::vector<unsigned char>& body, std::uint32_t version) {
    StateWriter w;
    w.put_bytes(magic, 8);
    w.put(version);
    w.put(info.scenario_hash);
    w.put(info.seed);
    w.put(info.end_ticks);
    w.put(info.max_events);
    w.put(info.time_ticks);
    w.put(info.events);
    w.put<std::uint64_t>(body.size());
    w.put_bytes(body.data(), body.size());
    w.put(hash_bytes(w.bytes().data(), w.bytes().size()));
    return w.bytes();
}

void write_checkpoint(const fs::path& path, const CheckpointInfo& info, const std::vector<unsigned char>& body) {
    const auto bytes = encode_checkpoint(info, body);
    write_file_atomically(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

Checkpoint read_checkpoint(const fs::path& path) {
    // Only a regular file is read (neurons/input_file.hpp): a FIFO or /dev/zero given as a
    // checkpoint is refused before a byte is read.
    const InputFile file(path);
    std::vector<unsigned char> bytes(file.size());
    file.read(0, bytes.data(), bytes.size());
    return parse_checkpoint(bytes, path.string());
}

Checkpoint parse_checkpoint(std::span<const unsigned char> bytes, const std::string& name) {
    // A DamagedFileError, with the byte where the checkpoint goes wrong; its message names the file alone, as it always has.
    auto fail = [&](const std::string& what, std::uint64_t at) { throw DamagedFileError(name, at, what, fmt::format("{}: {}", name, what)); };
    if (bytes.size() < 12 || std::memcmp(bytes.data(), magic, 8) != 0) fail("not a spike-nn checkpoint (wrong magic)", 0);
    StateReader r(bytes);
    char m[8];
    r.get_bytes(m, 8);
    Checkpoint c;
    c.version = r.get<std::uint32_t>();
    if (c.version < 1 || c.version > checkpoint_version) {
        fail(fmt::format("checkpoint format version {} is not known: this spikenn reads versions 1 to {}", c.version, checkpoint_version), 8);
    }
    if (bytes.size() < checkpoint_body_offset + 8) fail("the checkpoint is cut short", bytes.size());
    std::uint64_t stored = 0;
    std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
    if (hash_bytes(bytes.data(), bytes.size() - 8) != stored) fail("the checkpoint is damaged or cut short (checksum failure)", bytes.size() - 8);
    try {
        c.info.scenario_hash = r.get<std::uint64_t>();
        c.info.seed = r.get<std::uint64_t>();
        c.info.end_ticks = r.get<std::int64_t>();
        c.info.max_events = r.get<std::uint64_t>();
        c.info.time_ticks = r.get<std::int64_t>();
        c.info.events = r.get<std::uint64_t>();
        c.body.resize(r.get_count(1));
        r.get_bytes(c.body.data(), c.body.size());
        if (r.position() != bytes.size() - 8) throw StateError("bytes between the body and the checksum", r.offset());
    }
    catch (const StateError& e) {
        fail(fmt::format("byte {}: the checkpoint is malformed: {}", e.offset, e.what()), e.offset);
    }
    if (c.info.time_ticks < 0 || c.info.end_ticks < 0) fail(fmt::format("byte {}: the checkpoint's times are negative", c.info.end_ticks < 0 ? 28 : 44), c.info.end_ticks < 0 ? 28 : 44);
    return c;
}

DamagedFileError checkpoint_error(const fs::path& path, const StateError& e) {
    return DamagedFileError(path.string(), e.offset, fmt::format("the checkpoint cannot be restored: {}", e.what()));
}

std::vector<unsigned char> CheckpointBody::encode() const {
    StateWriter w;
    for (const std::string* part: {&sim, &counts, &fingerprint, &log, &files}) w.put_string(*part);
    // Whether a history follows, the history, then the named sections.
    w.put<std::uint8_t>(history.has_value());
    if (history) w.put_string(*history);
    w.put<std::uint64_t>(named.size());
    for (const Named& n: named) {
        w.put_string(n.name);
        w.put_string(n.bytes);
    }
    return w.bytes();
}

CheckpointBody CheckpointBody::decode(const Checkpoint& c, const fs::path& path) {
    StateReader r(c.body, checkpoint_body_offset);
    CheckpointBody b;
    try {
        const std::pair<std::string*, std::uint64_t*> parts[] = {
            {&b.sim, &b.sim_at}, {&b.counts, &b.counts_at}, {&b.fingerprint, &b.fingerprint_at}, {&b.log, &b.log_at}, {&b.files, &b.files_at}};
        for (auto [part, at]: parts) {
            *at = r.offset() + 8;
            *part = r.get_string();
        }
        if (c.version < checkpoint_version_named) {
            if (!r.at_end()) {
                b.history_at = r.offset() + 8;
                b.history = r.get_string();
            }
        }
        else {
            const std::uint64_t flag_at = r.offset();
            const auto has_history = r.get<std::uint8_t>();
            if (has_history > 1) throw StateError("the history flag is neither 0 nor 1", flag_at);
            if (has_history) {
                b.history_at = r.offset() + 8;
                b.history = r.get_string();
            }
            for (std::uint64_t i = 0, n = r.get_count(16); i < n; ++i) {
                Named s;
                const std::uint64_t name_at = r.offset();
                s.name = r.get_string();
                if (s.name.empty()) throw StateError("a named section without a name", name_at);
                for (const Named& o: b.named) {
                    if (o.name == s.name) throw StateError(fmt::format("the section '{}' is given twice", s.name), name_at);
                }
                s.at = r.offset() + 8;
                s.bytes = r.get_string();
                b.named.push_back(std::move(s));
            }
        }
        if (!r.at_end()) throw StateError("bytes after the last section", r.offset());
    }
    catch (const StateError& e) {
        throw checkpoint_error(path, e);
    }
    return b;
}

} // namespace spikenn
