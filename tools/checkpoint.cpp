#include "tools/checkpoint.hpp"

#include <cstring>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "engine/state.hpp"
#include "tools/eventlog.hpp"
#include "tools/outputs.hpp"

namespace spikenn {

namespace fs = std::filesystem;

namespace {
constexpr char magic[8] = {'S', 'N', 'N', 'C', 'H', 'K', 'P', 'T'};
}

void write_checkpoint(const fs::path& path, const CheckpointInfo& info, const std::vector<unsigned char>& body) {
    StateWriter w;
    w.put_bytes(magic, 8);
    w.put(checkpoint_version);
    w.put(info.scenario_hash);
    w.put(info.seed);
    w.put(info.end_ticks);
    w.put(info.max_events);
    w.put(info.time_ticks);
    w.put(info.events);
    w.put<std::uint64_t>(body.size());
    w.put_bytes(body.data(), body.size());
    w.put(hash_bytes(w.bytes().data(), w.bytes().size()));
    const auto& bytes = w.bytes();
    write_file_atomically(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

Checkpoint read_checkpoint(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::error_code ec;
        throw InputError(fmt::format("{}: {}", path.string(), fs::exists(path, ec) ? "cannot be opened for reading" : "no such file"));
    }
    const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto fail = [&](const std::string& what) { throw InputError(fmt::format("{}: {}", path.string(), what)); };
    if (bytes.size() < 12 || std::memcmp(bytes.data(), magic, 8) != 0) fail("not a spike-nn checkpoint (wrong magic)");
    StateReader r(bytes);
    char m[8];
    r.get_bytes(m, 8);
    const auto version = r.get<std::uint32_t>();
    if (version != checkpoint_version) {
        fail(fmt::format("checkpoint format version {} is not known: this spikenn reads version {}", version, checkpoint_version));
    }
    if (bytes.size() < 8 + 4 + 7 * 8 + 8) fail("the checkpoint is cut short");
    if (hash_bytes(bytes.data(), bytes.size() - 8) != [&] {
            std::uint64_t h;
            std::memcpy(&h, bytes.data() + bytes.size() - 8, 8);
            return h;
        }()) {
        fail("the checkpoint is damaged or cut short (checksum failure)");
    }
    Checkpoint c;
    try {
        c.info.scenario_hash = r.get<std::uint64_t>();
        c.info.seed = r.get<std::uint64_t>();
        c.info.end_ticks = r.get<std::int64_t>();
        c.info.max_events = r.get<std::uint64_t>();
        c.info.time_ticks = r.get<std::int64_t>();
        c.info.events = r.get<std::uint64_t>();
        c.body.resize(r.get_count(1));
        r.get_bytes(c.body.data(), c.body.size());
    }
    catch (const StateError&) {
        fail("the checkpoint is malformed");
    }
    return c;
}

std::vector<unsigned char> CheckpointBody::encode() const {
    StateWriter w;
    for (const std::string* part: {&sim, &counts, &fingerprint, &log, &files}) w.put_string(*part);
    if (history) w.put_string(*history);
    return w.bytes();
}

CheckpointBody CheckpointBody::decode(const Checkpoint& c, const fs::path& path) {
    StateReader r(c.body);
    CheckpointBody b;
    try {
        for (std::string* part: {&b.sim, &b.counts, &b.fingerprint, &b.log, &b.files}) *part = r.get_string();
        if (!r.at_end()) b.history = r.get_string();
    }
    catch (const StateError&) {
        throw InputError(fmt::format("{}: the checkpoint is malformed", path.string()));
    }
    return b;
}

} // namespace spikenn
