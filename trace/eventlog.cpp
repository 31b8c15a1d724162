#include <spikenn/error.hpp>
#include <spikenn/eventlog.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <utility>

#include <fmt/format.h>
#include <xxhash.h>

#include <spikenn/hex.hpp>
#include <spikenn/input_file.hpp>

namespace spikenn {

namespace fs = std::filesystem;

namespace {

constexpr char header_magic[8] = {'S', 'N', 'N', 'E', 'V', 'L', 'O', 'G'};
constexpr char block_magic[4] = {'S', 'B', 'L', 'K'};
constexpr char footer_magic[4] = {'S', 'E', 'N', 'D'};
constexpr std::size_t max_record = 62; // flags 1, time 10, target 5, source 10, seq 10, cause 10, potential 8, hash 8
constexpr std::size_t min_record = 13; // flags 1, target, source, seq and cause 1 each, potential 8
constexpr std::size_t block_head = 28;
constexpr std::uint32_t block_records = 4096;
constexpr std::uint32_t max_block_records = 65536;
constexpr std::size_t footer_size = 128;

enum Tag: std::uint16_t {
    tag_engine = 1, tag_path = 2, tag_text = 3, tag_text_hash = 4, tag_seed = 5, tag_end = 6, tag_max_events = 7,
    tag_file = 8, tag_neurons = 9, tag_stimuli = 10,
};

template <typename T>
void put(std::vector<unsigned char>& out, T v) {
    unsigned char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T)); // the format is little-endian, as is every machine we build for
    out.insert(out.end(), b, b + sizeof(T));
}
template <typename T>
void put_at(unsigned char* p, T v) { std::memcpy(p, &v, sizeof(T)); }
template <typename T>
T get_at(const unsigned char* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}

void put_field(std::vector<unsigned char>& out, Tag tag, const void* data, std::size_t n) {
    put<std::uint16_t>(out, tag);
    put<std::uint32_t>(out, static_cast<std::uint32_t>(n));
    const auto* p = static_cast<const unsigned char*>(data);
    out.insert(out.end(), p, p + n);
}
template <typename T>
void put_field(std::vector<unsigned char>& out, Tag tag, T v) { put_field(out, tag, &v, sizeof v); }
void put_field(std::vector<unsigned char>& out, Tag tag, const std::string& s) { put_field(out, tag, s.data(), s.size()); }
void put_names(std::vector<unsigned char>& out, Tag tag, const std::vector<std::string>& names) {
    std::vector<unsigned char> body;
    put<std::uint32_t>(body, static_cast<std::uint32_t>(names.size()));
    for (const auto& n: names) {
        put<std::uint32_t>(body, static_cast<std::uint32_t>(n.size()));
        body.insert(body.end(), n.begin(), n.end());
    }
    put_field(out, tag, body.data(), body.size());
}

unsigned char* put_varint(unsigned char* p, std::uint64_t v) {
    while (v >= 0x80) {
        *p++ = static_cast<unsigned char>(v | 0x80);
        v >>= 7;
    }
    *p++ = static_cast<unsigned char>(v);
    return p;
}

// Reads a varint from [p, end); nullptr when it is cut or longer than 64 bits.
const unsigned char* get_varint(const unsigned char* p, const unsigned char* end, std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64 && p < end; shift += 7) {
        const unsigned char b = *p++;
        v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
        if (!(b & 0x80)) return (shift == 63 && b > 1) ? nullptr : p;
    }
    return nullptr;
}

std::uint64_t zigzag(std::int64_t v) { return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63); }
std::int64_t unzigzag(std::uint64_t v) { return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1); }

// Encodes r, which follows a record at time prev_time, into p (room for max_record
// bytes); returns its size. docs/eventlog.md, "Records".
std::size_t encode(const LogRecord& r, std::int64_t prev_time, unsigned char* p) {
    const bool same_time = r.time == prev_time;
    p[0] = static_cast<unsigned char>(static_cast<unsigned>(r.kind) | static_cast<unsigned>(r.outcome) << 2 |
                                      (r.tensor_hash ? 1u : 0u) << 5 | (same_time ? 1u : 0u) << 6);
    unsigned char* q = p + 1;
    if (!same_time) q = put_varint(q, zigzag(static_cast<std::int64_t>(static_cast<std::uint64_t>(r.time) - static_cast<std::uint64_t>(prev_time))));
    q = put_varint(q, r.target);
    std::uint64_t src = 0;
    if (r.source != r.target) src = 1 + (is_external(r.source) ? 2 * std::uint64_t{external_index(r.source)} + 1 : 2 * std::uint64_t{r.source});
    q = put_varint(q, src);
    q = put_varint(q, r.seq);
    q = put_varint(q, r.cause == 0 ? 0 : r.number - r.cause);
    std::memcpy(q, &r.potential, 8);
    q += 8;
    if (r.tensor_hash) {
        std::memcpy(q, &*r.tensor_hash, 8);
        q += 8;
    }
    return static_cast<std::size_t>(q - p);
}

// Decodes one record of event `number` from [p, end) after a record at prev_time; returns
// the byte after it, or nullptr when the bytes are not a valid record.
const unsigned char* decode(const unsigned char* p, const unsigned char* end, std::uint64_t number, std::int64_t prev_time, LogRecord& r) {
    if (p >= end) return nullptr;
    const unsigned flags = *p++;
    if (flags & 0x80 || (flags & 3) >= event_kind_count || ((flags >> 2) & 7) >= outcome_count) return nullptr;
    r.number = number;
    r.kind = static_cast<EventKind>(flags & 3);
    r.outcome = static_cast<Outcome>((flags >> 2) & 7);
    std::uint64_t v = 0;
    r.time = prev_time;
    if (!(flags & 0x40)) {
        if (!(p = get_varint(p, end, v))) return nullptr;
        r.time = static_cast<std::int64_t>(static_cast<std::uint64_t>(prev_time) + static_cast<std::uint64_t>(unzigzag(v)));
    }
    if (!(p = get_varint(p, end, v)) || v >= external_bit) return nullptr; // targets are neurons
    r.target = static_cast<EntityId>(v);
    if (!(p = get_varint(p, end, v))) return nullptr;
    if (v == 0) r.source = r.target;
    else {
        const std::uint64_t s = (v - 1) >> 1;
        if (s >= external_bit) return nullptr;
        r.source = ((v - 1) & 1) ? external_source(static_cast<std::uint32_t>(s)) : static_cast<EntityId>(s);
    }
    if (!(p = get_varint(p, end, r.seq))) return nullptr;
    if (!(p = get_varint(p, end, v)) || v >= number) return nullptr;
    r.cause = v == 0 ? 0 : number - v;
    if (end - p < 8) return nullptr;
    std::memcpy(&r.potential, p, 8);
    p += 8;
    r.tensor_hash.reset();
    if (flags & 0x20) {
        if (end - p < 8) return nullptr;
        std::uint64_t h;
        std::memcpy(&h, p, 8);
        r.tensor_hash = h;
        p += 8;
    }
    return p;
}

void write_all(int fd, const unsigned char* p, std::size_t n, const fs::path& path) {
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            throw IoError(fmt::format("{}: write failed: {}", path.string(), std::strerror(errno)));
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
}

} // namespace

std::size_t encoded_size(const LogRecord& r, std::int64_t prev_time) {
    unsigned char b[max_record];
    return encode(r, prev_time, b);
}

std::uint64_t hash_bytes(const void* data, std::size_t size, std::uint64_t seed) { return XXH3_64bits_withSeed(data, size, seed); }

std::uint64_t hash_tensor(const Tensor& t) {
    const std::uint64_t seed = static_cast<std::uint64_t>(static_cast<std::uint32_t>(t.rows)) << 32 | static_cast<std::uint32_t>(t.cols);
    return XXH3_64bits_withSeed(t.data.data(), t.data.size() * sizeof(float), seed);
}

std::uint64_t hash_file(const fs::path& path) {
    const InputFile file(path); // a regular file only: a FIFO would block, a device never end
    XXH3_state_t* st = XXH3_createState();
    XXH3_64bits_reset(st);
    std::vector<char> buf(1 << 16);
    try {
        for (std::uint64_t at = 0; at < file.size();) {
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), file.size() - at));
            file.read(at, buf.data(), n);
            XXH3_64bits_update(st, buf.data(), n);
            at += n;
        }
    }
    catch (...) {
        XXH3_freeState(st);
        throw;
    }
    const std::uint64_t h = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    return h;
}

std::uint64_t TensorHashCache::hash(const PayloadStore& store, PayloadId id) {
    const std::uint64_t stamp = store.stamp(id);
    auto& slot = cache_[stamp % slots];
    if (slot.first != stamp) slot = {stamp, hash_tensor(store.get(id))};
    return slot.second;
}

LogRecord to_log_record(const EventRecord& r, const Simulator& sim, TensorHashCache& hashes) {
    LogRecord l;
    l.number = r.number;
    l.time = r.event.key.time.ticks();
    l.kind = r.event.key.kind;
    l.outcome = r.result.outcome;
    l.target = r.event.key.target;
    l.source = r.event.key.source;
    l.seq = r.event.key.seq;
    l.cause = r.event.cause;
    l.potential = r.result.potential;
    if (r.event.payload != no_payload) l.tensor_hash = hashes.hash(sim.payloads(), r.event.payload);
    else if (r.result.produced != no_payload) l.tensor_hash = hashes.hash(sim.payloads(), r.result.produced);
    return l;
}

void put_record(StateWriter& out, const LogRecord& r) {
    out.put(r.time);
    out.put(static_cast<std::uint8_t>(r.kind));
    out.put(static_cast<std::uint8_t>(r.outcome));
    out.put(r.target);
    out.put(r.source);
    out.put(r.seq);
    out.put(r.cause);
    out.put(r.potential);
    out.put<std::uint8_t>(r.tensor_hash.has_value());
    out.put(r.tensor_hash.value_or(0));
}

LogRecord get_record(StateReader& in, std::uint64_t number) {
    LogRecord r;
    r.number = number;
    r.time = in.get<std::int64_t>();
    const std::uint64_t at = in.offset();
    const auto kind = in.get<std::uint8_t>();
    if (kind >= event_kind_count) throw StateError(fmt::format("recorded event {} is of unknown kind {}", number, kind), at);
    const auto outcome = in.get<std::uint8_t>();
    if (outcome >= outcome_count) throw StateError(fmt::format("recorded event {} has unknown outcome {}", number, outcome), at + 1);
    r.kind = static_cast<EventKind>(kind);
    r.outcome = static_cast<Outcome>(outcome);
    r.target = in.get<EntityId>();
    r.source = in.get<EntityId>();
    r.seq = in.get<std::uint64_t>();
    r.cause = in.get<std::uint64_t>();
    r.potential = in.get<double>();
    const std::uint64_t flag_at = in.offset();
    const auto has = in.get<std::uint8_t>();
    if (has > 1) throw StateError(fmt::format("recorded event {} has a tensor-hash flag of {}, not 0 or 1", number, has), flag_at);
    const auto hash = in.get<std::uint64_t>();
    if (has) r.tensor_hash = hash;
    return r;
}

void Fingerprint::add(const LogRecord& r) {
    unsigned char b[max_record];
    const std::size_t n = encode(r, prev_time_, b);
    value_ = XXH3_64bits_withSeed(b, n, value_);
    prev_time_ = r.time;
    ++events_;
}

void Fingerprint::save_state(StateWriter& out) const {
    out.put(value_);
    out.put(events_);
    out.put(prev_time_);
}

void Fingerprint::load_state(StateReader& in) {
    value_ = in.get<std::uint64_t>();
    events_ = in.get<std::uint64_t>();
    prev_time_ = in.get<std::int64_t>();
}

// ---- writer -------------------------------------------------------------------------

// xxHash's streaming state, which its shared library allocates (its size is not public).
struct EventLogWriter::HashState {
    XXH3_state_t* state = XXH3_createState();
    HashState() {
        if (!state) throw std::bad_alloc();
        XXH3_64bits_reset(state);
    }
    ~HashState() { XXH3_freeState(state); }
    HashState(const HashState&) = delete;
    HashState& operator=(const HashState&) = delete;
    void add(const unsigned char* p, std::size_t n) { XXH3_64bits_update(state, p, n); }
    std::uint64_t digest() const { return XXH3_64bits_digest(state); }
};

EventLogWriter::EventLogWriter(const fs::path& path, const LogHeader& h): path_(path) {
    // A new file rather than a truncated old one: ext4 flushes a file that is truncated and
    // written again when it is closed (auto_da_alloc), which made recording several times
    // slower when a log was overwritten; and a reader that has the old log mapped keeps it.
    struct stat existing {};
    if (::lstat(path.c_str(), &existing) == 0 && S_ISREG(existing.st_mode)) ::unlink(path.c_str());
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw IoError(fmt::format("{}: cannot be opened for writing: {}", path.string(), std::strerror(errno)));
    std::vector<unsigned char> fields;
    put_field(fields, tag_engine, h.engine_version);
    put_field(fields, tag_path, h.scenario_path);
    put_field(fields, tag_text, h.scenario_text);
    put_field(fields, tag_text_hash, h.scenario_hash);
    put_field(fields, tag_seed, h.seed);
    put_field(fields, tag_end, h.end_ticks);
    put_field(fields, tag_max_events, h.max_events);
    for (const auto& f: h.files) {
        std::vector<unsigned char> body;
        put<std::uint64_t>(body, f.hash);
        body.insert(body.end(), f.path.begin(), f.path.end());
        put_field(fields, tag_file, body.data(), body.size());
    }
    put_names(fields, tag_neurons, h.neuron_names);
    put_names(fields, tag_stimuli, h.stimulus_names);
    std::vector<unsigned char> out(header_magic, header_magic + 8);
    put<std::uint32_t>(out, eventlog_version);
    put<std::uint32_t>(out, static_cast<std::uint32_t>(fields.size()));
    out.insert(out.end(), fields.begin(), fields.end());
    put<std::uint64_t>(out, XXH3_64bits(out.data(), out.size()));
    written_ = std::make_unique<HashState>();
    try {
        write_all(fd_, out.data(), out.size(), path_);
        written_->add(out.data(), out.size());
    }
    catch (...) {
        ::close(fd_);
        fd_ = -1;
        throw;
    }
    block_.reserve(block_head + block_records * max_record + 8);
    block_.resize(block_head);
    writer_ = std::thread([this] { writer_loop(); });
}

EventLogWriter::~EventLogWriter() {
    // A run that did not finish: the records so far are written as a last block, so that
    // every event before the failure can be read. Errors here have nowhere to go.
    if (!finished_) {
        try {
            abandon();
        }
        catch (...) {
        }
    }
    stop_writer();
    if (fd_ >= 0) ::close(fd_);
}

void EventLogWriter::save_state(StateWriter& out) {
    std::int64_t length = 0;
    {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return (pending_.empty() && !writing_) || error_; });
        if (error_) std::rethrow_exception(error_);
        // Nothing queued, nothing being written: the file offset is stable.
        length = ::lseek(fd_, 0, SEEK_CUR);
    }
    if (length < 0) throw IoError(fmt::format("{}: cannot tell its length: {}", path_.string(), std::strerror(errno)));
    out.put(length);
    out.put(written_->digest());
    out.put<std::uint64_t>(block_.size());
    out.put_bytes(block_.data(), block_.size());
    out.put(in_block_);
    out.put(first_in_block_);
    out.put(block_base_);
    out.put(footer_.blocks);
    out.put(footer_.by_kind);
    out.put(footer_.by_outcome);
    fingerprint_.save_state(out);
}

Fingerprint EventLogWriter::saved_fingerprint(StateReader& in, std::uint32_t version) {
    // The fields of save_state(), in its order, up to the fingerprint that ends them.
    (void)in.get<std::int64_t>();
    if (version >= 2) (void)in.get<std::uint64_t>();
    std::vector<unsigned char> block(in.get_count(1));
    in.get_bytes(block.data(), block.size());
    (void)in.get<std::uint32_t>();
    (void)in.get<std::uint64_t>();
    (void)in.get<std::int64_t>();
    (void)in.get<std::uint64_t>();
    (void)in.get<decltype(LogFooter::by_kind)>();
    (void)in.get<decltype(LogFooter::by_outcome)>();
    Fingerprint f;
    f.load_state(in);
    return f;
}

EventLogWriter::EventLogWriter(const fs::path& path, StateReader& in, std::uint32_t version): path_(path) {
    const std::uint64_t at = in.offset();
    const auto length = in.get<std::int64_t>();
    const bool has_digest = version >= 2;
    const std::uint64_t digest = has_digest ? in.get<std::uint64_t>() : 0;
    const std::uint64_t block_at = in.offset();
    block_.resize(in.get_count(1));
    in.get_bytes(block_.data(), block_.size());
    in_block_ = in.get<std::uint32_t>();
    first_in_block_ = in.get<std::uint64_t>();
    block_base_ = in.get<std::int64_t>();
    footer_.blocks = in.get<std::uint64_t>();
    footer_.by_kind = in.get<decltype(footer_.by_kind)>();
    footer_.by_outcome = in.get<decltype(footer_.by_outcome)>();
    fingerprint_.load_state(in);
    // The block being filled must be one add() could have left: records below the block's
    // count, each at most max_record bytes, and the events counted once.
    std::uint64_t kinds = 0, outcomes = 0;
    for (auto v: footer_.by_kind) kinds += v;
    for (auto v: footer_.by_outcome) outcomes += v;
    if (length < 0) throw StateError("the event log's length is negative", at);
    if (block_.size() < block_head || in_block_ >= block_records || block_.size() - block_head > std::size_t{in_block_} * max_record ||
        (in_block_ == 0) != (block_.size() == block_head)) {
        throw StateError("the event log's unfinished block is malformed", block_at);
    }
    if (first_in_block_ + in_block_ != fingerprint_.events() + 1 || kinds != fingerprint_.events() || outcomes != fingerprint_.events()) {
        throw StateError("the event log's counts do not agree", block_at);
    }
    // Nothing is cut before the bytes are known to be the interrupted run's own: this
    // constructor only reads, and resume() cuts and goes on.
    {
        std::unique_ptr<InputFile> file;
        try {
            file = std::make_unique<InputFile>(path);
        }
        catch (const InputError& e) {
            throw InputError(fmt::format("{}; resume with the log the interrupted run was recording", e.what()));
        }
        if (file->size() < static_cast<std::uint64_t>(length)) {
            throw InputError(fmt::format("{}: shorter than when the checkpoint was taken ({} bytes): not the log of the interrupted run", path.string(), length));
        }
        written_ = std::make_unique<HashState>();
        file->read_chunks(0, static_cast<std::uint64_t>(length),
            [&](const char* p, std::size_t n) { written_->add(reinterpret_cast<const unsigned char*>(p), n); });
    }
    if (has_digest && written_->digest() != digest) {
        throw InputError(fmt::format("{}: not the event log of the interrupted run: its first {} bytes differ from the log's at the checkpoint; "
                                     "resume with the log that run was recording",
            path.string(), length));
    }
    resume_length_ = length;
    finished_ = true; // until resume(): a writer that never resumed writes nothing
}

void EventLogWriter::resume() {
    if (resume_length_ < 0 || fd_ >= 0) throw InternalError("EventLogWriter::resume: not a writer of a checked resume");
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) throw IoError(fmt::format("{}: cannot be opened for writing: {}", path_.string(), std::strerror(errno)));
    if (::ftruncate(fd_, resume_length_) != 0 || ::lseek(fd_, resume_length_, SEEK_SET) != resume_length_) {
        throw IoError(fmt::format("{}: cannot be cut back to {} bytes: {}", path_.string(), resume_length_, std::strerror(errno)));
    }
    finished_ = false;
    block_.reserve(block_head + block_records * max_record + 8);
    writer_ = std::thread([this] { writer_loop(); });
}

void EventLogWriter::writer_loop() {
    for (;;) {
        std::pair<std::vector<unsigned char>, bool> item;
        {
            std::unique_lock lock(mutex_);
            changed_.wait(lock, [&] { return !pending_.empty() || closing_; });
            if (pending_.empty()) return;
            item = std::move(pending_.front());
            pending_.pop_front();
            writing_ = true;
        }
        try {
            auto& b = item.first;
            if (item.second) put<std::uint64_t>(b, XXH3_64bits(b.data(), b.size()));
            bool failed;
            {
                std::lock_guard lock(mutex_);
                failed = static_cast<bool>(error_);
            }
            // After a failed write nothing more is written: the log ends at its last good block.
            if (!failed) {
                write_all(fd_, b.data(), b.size(), path_);
                written_->add(b.data(), b.size());
            }
        }
        catch (...) {
            std::lock_guard lock(mutex_);
            if (!error_) error_ = std::current_exception();
        }
        std::lock_guard lock(mutex_);
        item.first.clear();
        spare_.push_back(std::move(item.first));
        writing_ = false;
        changed_.notify_all();
    }
}

void EventLogWriter::hand_over(std::vector<unsigned char> buffer, bool checksum) {
    std::unique_lock lock(mutex_);
    // At most a few blocks in flight: memory stays bounded when the disk is slow.
    changed_.wait(lock, [&] { return pending_.size() < 8 || error_; });
    if (error_) std::rethrow_exception(error_);
    pending_.emplace_back(std::move(buffer), checksum);
    changed_.notify_all();
}

void EventLogWriter::stop_writer() {
    if (!writer_.joinable()) return;
    {
        std::lock_guard lock(mutex_);
        closing_ = true;
        changed_.notify_all();
    }
    writer_.join();
}

void EventLogWriter::add(const LogRecord& r) {
    if (in_block_ == 0) block_base_ = fingerprint_.prev_time_;
    unsigned char b[max_record];
    const std::size_t n = encode(r, fingerprint_.prev_time_, b);
    block_.insert(block_.end(), b, b + n);
    fingerprint_.value_ = XXH3_64bits_withSeed(b, n, fingerprint_.value_);
    fingerprint_.prev_time_ = r.time;
    ++fingerprint_.events_;
    ++footer_.by_kind[static_cast<std::size_t>(r.kind)];
    ++footer_.by_outcome[static_cast<std::size_t>(r.outcome)];
    if (++in_block_ == block_records) flush_block();
}

void EventLogWriter::flush_block() {
    if (in_block_ == 0) return;
    unsigned char* p = block_.data();
    std::memcpy(p, block_magic, 4);
    put_at<std::uint32_t>(p + 4, in_block_);
    put_at<std::uint64_t>(p + 8, first_in_block_);
    put_at<std::int64_t>(p + 16, block_base_);
    put_at<std::uint32_t>(p + 24, static_cast<std::uint32_t>(block_.size() - block_head));
    // One write per block (by the writer thread): a run killed between two writes leaves
    // whole blocks behind it.
    std::vector<unsigned char> next;
    {
        std::lock_guard lock(mutex_);
        if (!spare_.empty()) {
            next = std::move(spare_.back());
            spare_.pop_back();
        }
    }
    next.reserve(block_head + block_records * max_record + 8);
    next.resize(block_head);
    hand_over(std::exchange(block_, std::move(next)), true);
    first_in_block_ += in_block_;
    ++footer_.blocks;
    in_block_ = 0;
}

void EventLogWriter::abandon() {
    if (finished_) return;
    finished_ = true;
    flush_block();
    stop_writer();
}

void EventLogWriter::finish() {
    if (finished_) throw InternalError("EventLogWriter::finish: the log is already finished or abandoned");
    finished_ = true;
    flush_block();
    footer_.events = fingerprint_.events();
    footer_.fingerprint = fingerprint_.value();
    std::vector<unsigned char> out(footer_magic, footer_magic + 4);
    put<std::uint32_t>(out, static_cast<std::uint32_t>(footer_size - 16));
    put<std::uint64_t>(out, footer_.events);
    put<std::uint64_t>(out, footer_.blocks);
    put<std::uint64_t>(out, footer_.fingerprint);
    for (auto v: footer_.by_kind) put<std::uint64_t>(out, v);
    for (auto v: footer_.by_outcome) put<std::uint64_t>(out, v);
    put<std::uint64_t>(out, XXH3_64bits(out.data(), out.size()));
    hand_over(std::move(out), false);
    stop_writer();
    if (error_) std::rethrow_exception(error_);
    // Checked once every byte is written: a log deleted or replaced while the run wrote it
    // holds nothing at its name, and the run must not end as if it were recorded.
    struct stat mine {}, named {};
    const bool open_ok = ::fstat(fd_, &mine) == 0;
    if (::stat(path_.c_str(), &named) != 0) throw IoError(fmt::format("{}: the event log was deleted while the run wrote it", path_.string()));
    if (!open_ok || named.st_dev != mine.st_dev || named.st_ino != mine.st_ino) {
        throw IoError(fmt::format("{}: the event log was replaced by another file while the run wrote it", path_.string()));
    }
    if (::close(fd_) != 0) {
        fd_ = -1;
        throw IoError(fmt::format("{}: close failed: {}", path_.string(), std::strerror(errno)));
    }
    fd_ = -1;
}

// ---- reader -------------------------------------------------------------------------

LogError::LogError(const std::string& path, const std::string& what, std::uint64_t off, std::uint64_t ev): DamagedFileError(path, off, what, what), event(ev) {}

EventLogReader::EventLogReader(const fs::path& path): name_(path.string()) {
    // Only a regular file is opened, and without blocking: a FIFO would block the open.
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        throw LogError(name_, fmt::format("{}: is {}, not a log file", name_, file_kind(path)), 0, 0);
    }
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        std::error_code ec;
        throw LogError(name_, fmt::format("{}: {}", name_, fs::exists(path, ec) ? fmt::format("cannot be opened for reading: {}", std::strerror(errno)) : "no such file"), 0, 0);
    }
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw LogError(name_, fmt::format("{}: not a regular file", name_), 0, 0);
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
        mapping_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (mapping_ == MAP_FAILED) {
            mapping_ = nullptr;
            ::close(fd);
            throw LogError(name_, fmt::format("{}: cannot be mapped: {}", name_, std::strerror(errno)), 0, 0);
        }
        data_ = static_cast<const unsigned char*>(mapping_);
        ::madvise(mapping_, size_, MADV_SEQUENTIAL);
    }
    ::close(fd);
    parse_header();
}

EventLogReader::EventLogReader(std::span<const unsigned char> bytes, std::string name):
    name_(std::move(name)), data_(bytes.data()), size_(bytes.size()) {
    parse_header();
}

EventLogReader::~EventLogReader() {
    if (mapping_) ::munmap(mapping_, size_);
}

void EventLogReader::fail(const std::string& what, std::uint64_t at) const {
    throw LogError(name_, fmt::format("{}: byte {}: {} (reading stopped after event {})", name_, at, what, events_read_), at, events_read_);
}

void EventLogReader::cut(const std::string& what, std::uint64_t at) const {
    LogError e(name_, fmt::format("{}: byte {}: {} (reading stopped after event {})", name_, at, what, events_read_), at, events_read_);
    e.cut = true;
    throw e;
}

void EventLogReader::parse_header() {
    if (size_ == 0) fail("the file is empty: not an event log", 0);
    if (size_ < 8 || std::memcmp(data_, header_magic, 8) != 0) fail("not a spike-nn event log (wrong magic)", 0);
    if (size_ < 16) fail("the log is cut in its header", size_);
    header_.version = get_at<std::uint32_t>(data_ + 8);
    if (header_.version != eventlog_version) {
        fail(fmt::format("format version {} is not known: this spikenn reads version {}", header_.version, eventlog_version), 8);
    }
    const std::uint64_t h = get_at<std::uint32_t>(data_ + 12);
    if (h > size_ - 16 || size_ - 16 - h < 8) fail(fmt::format("the header claims {} bytes, the file is cut before they end", h), 12);
    const std::size_t end = 16 + static_cast<std::size_t>(h);
    if (XXH3_64bits(data_, end) != get_at<std::uint64_t>(data_ + end)) fail("header checksum failure", end);
    std::size_t p = 16;
    auto names = [&](const unsigned char* b, std::size_t n, std::size_t at, std::vector<std::string>& out) {
        if (n < 4) fail("malformed name list in the header", at);
        const std::uint32_t count = get_at<std::uint32_t>(b);
        std::size_t q = 4;
        for (std::uint32_t i = 0; i < count; ++i) {
            if (n - q < 4) fail("malformed name list in the header", at);
            const std::uint32_t len = get_at<std::uint32_t>(b + q);
            q += 4;
            if (len > n - q) fail("malformed name list in the header", at);
            out.emplace_back(reinterpret_cast<const char*>(b + q), len);
            q += len;
        }
    };
    // Where each field of the format was; a field given twice could say one thing to one
    // reader and another to the next.
    std::array<std::size_t, tag_stimuli + 1> seen{};
    while (p < end) {
        if (end - p < 6) fail("malformed header field", p);
        const auto tag = get_at<std::uint16_t>(data_ + p);
        const std::uint32_t len = get_at<std::uint32_t>(data_ + p + 2);
        if (len > end - p - 6) fail("a header field runs past the header", p);
        if (tag > 0 && tag < seen.size() && tag != tag_file) {
            if (seen[tag]) fail(fmt::format("header field {} is given twice (first at byte {})", tag, seen[tag]), p);
            seen[tag] = p;
        }
        const unsigned char* b = data_ + p + 6;
        auto u64 = [&]() {
            if (len != 8) fail(fmt::format("header field {} has {} bytes, expected 8", tag, len), p);
            return get_at<std::uint64_t>(b);
        };
        const std::string text(reinterpret_cast<const char*>(b), len);
        switch (tag) {
        case tag_engine: header_.engine_version = text; break;
        case tag_path: header_.scenario_path = text; break;
        case tag_text: header_.scenario_text = text; break;
        case tag_text_hash: header_.scenario_hash = u64(); break;
        case tag_seed: header_.seed = u64(); break;
        case tag_end: header_.end_ticks = static_cast<std::int64_t>(u64()); break;
        case tag_max_events: header_.max_events = u64(); break;
        case tag_file:
            if (len < 8) fail("malformed file field in the header", p);
            header_.files.push_back({text.substr(8), get_at<std::uint64_t>(b)});
            break;
        case tag_neurons: names(b, len, p, header_.neuron_names); break;
        case tag_stimuli: names(b, len, p, header_.stimulus_names); break;
        default: break; // a later minor addition: skipped
        }
        p += 6 + len;
    }
    // The header's checksum only says that the bytes are those written, or that whoever
    // changed them fixed it too. The scenario text's own hash is what its checks (replay,
    // diff, --resume) compare: the text must be the one that hash stands for.
    if (seen[tag_text] || seen[tag_text_hash]) {
        if (!seen[tag_text] || !seen[tag_text_hash]) {
            fail(seen[tag_text] ? "the scenario text has no stored hash (field 4)" : "a scenario hash (field 4) without the scenario text (field 3)",
                seen[tag_text] ? seen[tag_text] : seen[tag_text_hash]);
        }
        const std::uint64_t actual = XXH3_64bits(header_.scenario_text.data(), header_.scenario_text.size());
        if (actual != header_.scenario_hash) {
            fail(fmt::format("the scenario text (field 3, {} bytes) has hash {}, the header stores {}: the text was changed after the run",
                     header_.scenario_text.size(), hex64(actual), hex64(header_.scenario_hash)),
                seen[tag_text]);
        }
    }
    pos_ = first_block_ = end + 8;
}

bool EventLogReader::next_block(std::vector<LogRecord>& out) {
    out.clear();
    if (done_) return false;
    const std::size_t start = pos_;
    if (start == size_) {
        done_ = true;
        return false;
    }
    if (size_ - start < 4) cut(fmt::format("the log is cut: {} stray bytes after the last complete block", size_ - start), start);
    if (std::memcmp(data_ + start, footer_magic, 4) == 0) {
        if (size_ - start < footer_size) cut("the log is cut in the middle of its footer", start);
        const unsigned char* f = data_ + start;
        if (get_at<std::uint32_t>(f + 4) != footer_size - 16) fail("malformed footer", start);
        if (XXH3_64bits(f, footer_size - 8) != get_at<std::uint64_t>(f + footer_size - 8)) fail("footer checksum failure", start);
        LogFooter ft;
        ft.events = get_at<std::uint64_t>(f + 8);
        ft.blocks = get_at<std::uint64_t>(f + 16);
        ft.fingerprint = get_at<std::uint64_t>(f + 24);
        for (std::size_t k = 0; k < ft.by_kind.size(); ++k) ft.by_kind[k] = get_at<std::uint64_t>(f + 32 + 8 * k);
        for (std::size_t k = 0; k < ft.by_outcome.size(); ++k) ft.by_outcome[k] = get_at<std::uint64_t>(f + 64 + 8 * k);
        if (ft.events != events_read_) {
            fail(fmt::format("the footer counts {} events, the blocks hold {}", ft.events, events_read_), start);
        }
        // The footer's checksum is no proof against an edit (anyone can recompute it), and
        // `log diff` and `replay` trust the fingerprint: it must be the records'.
        if (from_start_) {
            if (ft.fingerprint != fingerprint_) {
                fail(fmt::format("the footer's fingerprint {} is not that of the records, {}: the footer was changed", hex64(ft.fingerprint), hex64(fingerprint_)),
                    start + 24);
            }
            if (ft.blocks != blocks_read_) fail(fmt::format("the footer counts {} blocks, the log has {}", ft.blocks, blocks_read_), start + 16);
            if (ft.by_kind != by_kind_ || ft.by_outcome != by_outcome_) fail("the footer's counts by kind and outcome are not those of the records", start + 32);
        }
        if (size_ - start != footer_size) fail(fmt::format("{} bytes after the footer", size_ - start - footer_size), start + footer_size);
        footer_ = ft;
        pos_ = size_;
        done_ = true;
        return false;
    }
    if (std::memcmp(data_ + start, block_magic, 4) != 0) fail("expected a block or the footer, found other bytes", start);
    if (size_ - start < block_head) cut("the log is cut in the middle of a block", start);
    const std::uint32_t n = get_at<std::uint32_t>(data_ + start + 4);
    const std::uint64_t first = get_at<std::uint64_t>(data_ + start + 8);
    std::int64_t prev_time = get_at<std::int64_t>(data_ + start + 16);
    const std::uint32_t len = get_at<std::uint32_t>(data_ + start + 24);
    // A header that cannot be right is damage, not a cut: say so before looking at sizes.
    if (n == 0 || n > max_block_records || first != events_read_ + 1 || len < std::uint64_t{n} * min_record || len > std::uint64_t{n} * max_record) {
        fail(fmt::format("damaged block header ({} records from event {}, {} bytes; expected events from {})", n, first, len, events_read_ + 1), start);
    }
    if (size_ - start - block_head < static_cast<std::size_t>(len) + 8) {
        cut(fmt::format("the log is cut in the middle of the block of events {} to {}", first, first + n - 1), start);
    }
    if (XXH3_64bits(data_ + start, block_head + len) != get_at<std::uint64_t>(data_ + start + block_head + len)) {
        fail(fmt::format("checksum failure in the block of events {} to {} (bytes {} to {})", first, first + n - 1, start,
                 start + block_head + len + 8),
            start);
    }
    out.reserve(n);
    const unsigned char* p = data_ + start + block_head;
    const unsigned char* end = p + len;
    for (std::uint32_t i = 0; i < n; ++i) {
        LogRecord r;
        const unsigned char* next = decode(p, end, first + i, prev_time, r);
        if (!next) fail(fmt::format("malformed record of event {}", first + i), static_cast<std::uint64_t>(p - data_));
        prev_time = r.time;
        fingerprint_ = XXH3_64bits_withSeed(p, static_cast<std::size_t>(next - p), fingerprint_);
        ++by_kind_[static_cast<std::size_t>(r.kind)];
        ++by_outcome_[static_cast<std::size_t>(r.outcome)];
        p = next;
        out.push_back(r);
    }
    if (p != end) fail("malformed block: bytes left after its records", start);
    events_read_ += n;
    ++blocks_read_;
    pos_ = start + block_head + len + 8;
    return true;
}

std::string EventLogReader::cut_message() const {
    return fmt::format("{}: byte {}: the log ends without a footer: it was cut after event {} (the run was stopped or failed)", name_, pos_,
        events_read_);
}

std::vector<LogRecord> EventLogReader::read_all() {
    std::vector<LogRecord> all, block;
    while (next_block(block)) all.insert(all.end(), block.begin(), block.end());
    return all;
}

std::optional<LogRecord> EventLogReader::find(std::uint64_t number) {
    if (number == 0) return std::nullopt;
    // Index the block headers (cheap: the scan skips over the records), as far as needed.
    if (index_end_ == 0) index_end_ = first_block_;
    while ((index_.empty() || index_.back().first <= number) && size_ - index_end_ >= block_head &&
           std::memcmp(data_ + index_end_, block_magic, 4) == 0) {
        const std::uint64_t first = get_at<std::uint64_t>(data_ + index_end_ + 8);
        const std::uint32_t len = get_at<std::uint32_t>(data_ + index_end_ + 24);
        if (size_ - index_end_ - block_head < static_cast<std::size_t>(len) + 8) break;
        if (!index_.empty() && first <= index_.back().first) break; // damaged: numbers must grow
        index_.emplace_back(first, index_end_);
        index_end_ += block_head + len + 8;
    }
    auto it = std::upper_bound(index_.begin(), index_.end(), number, [](std::uint64_t n, const auto& e) { return n < e.first; });
    if (it == index_.begin()) return std::nullopt;
    --it;
    // Decode that one block with a reader positioned on it.
    EventLogReader sub(std::span<const unsigned char>(data_, size_), name_, it->second, it->first - 1);
    std::vector<LogRecord> recs;
    if (!sub.next_block(recs)) return std::nullopt;
    for (const auto& r: recs)
        if (r.number == number) return r;
    return std::nullopt;
}

std::string neuron_name(EntityId id, const LogHeader& h) {
    if (id < h.neuron_names.size()) return h.neuron_names[id];
    return fmt::format("#{}", id);
}

std::string describe_source(EntityId source, const LogHeader& h) {
    if (is_external(source)) {
        const auto i = external_index(source);
        return i < h.stimulus_names.size() ? "stimulus " + h.stimulus_names[i] : fmt::format("stimulus #{}", i);
    }
    return neuron_name(source, h);
}

} // namespace spikenn
