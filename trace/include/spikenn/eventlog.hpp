// The event log: one record per processed event, in blocks with checksums, defined in
// docs/eventlog.md (format version 1). The writer is an observer of the simulator; the
// reader works on the bytes of a file (mapped into memory) and never trusts them.
#pragma once

#include <array>
#include <bit>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <spikenn/error.hpp>
#include <spikenn/simulator.hpp>
#include <spikenn/state.hpp>

namespace spikenn {

inline constexpr std::uint32_t eventlog_version = 1;

struct LogFile {
    std::string path;
    std::uint64_t hash = 0;
};

struct LogHeader {
    std::uint32_t version = eventlog_version;
    std::string engine_version;
    std::string scenario_path;
    std::string scenario_text;
    std::uint64_t scenario_hash = 0;
    std::uint64_t seed = 0;
    std::int64_t end_ticks = INT64_MAX;
    std::uint64_t max_events = UINT64_MAX;
    std::vector<LogFile> files;
    std::vector<std::string> neuron_names;
    std::vector<std::string> stimulus_names;
};

struct LogRecord {
    std::uint64_t number = 0;
    std::int64_t time = 0;
    EventKind kind = EventKind::input;
    Outcome outcome = Outcome::accumulated;
    EntityId target = 0;
    EntityId source = 0;
    std::uint64_t seq = 0;
    std::uint64_t cause = 0;
    double potential = 0;
    std::optional<std::uint64_t> tensor_hash;

    // Exact: the potential's bits, not its value (-0.0 and 0.0 differ, and so do NaNs).
    bool operator==(const LogRecord& o) const {
        return number == o.number && time == o.time && kind == o.kind && outcome == o.outcome && target == o.target && source == o.source &&
               seq == o.seq && cause == o.cause && std::bit_cast<std::uint64_t>(potential) == std::bit_cast<std::uint64_t>(o.potential) &&
               tensor_hash == o.tensor_hash;
    }
};

// A record in saved state (the debugger's history in a checkpoint), 51 bytes: time (i64),
// kind (u8), outcome (u8), target and source (u32), seq and cause (u64), potential (f64),
// whether it has a tensor hash (u8: 0 or 1) and the hash (u64, 0 without one). The number is
// not stored: get_record gives the record the one it is told. get_record refuses a kind or
// an outcome that does not exist and a flag other than 0 or 1 (StateError at that byte), so
// that no enum out of range is ever made; whether the record fits the run (its target, its
// cause) is the caller's check.
inline constexpr std::size_t saved_record_bytes = 51;
void put_record(StateWriter& out, const LogRecord& r);
LogRecord get_record(StateReader& in, std::uint64_t number);

struct LogFooter {
    std::uint64_t events = 0;
    std::uint64_t blocks = 0;
    std::uint64_t fingerprint = 0;
    std::array<std::uint64_t, event_kind_count> by_kind{};
    std::array<std::uint64_t, outcome_count> by_outcome{};
};

std::uint64_t hash_bytes(const void* data, std::size_t size, std::uint64_t seed = 0);
std::uint64_t hash_tensor(const Tensor& t);
std::uint64_t hash_file(const std::filesystem::path& path);

// Hashes of the tensors events carry. A stimulus or a spike reaches many targets with one
// tensor; the cache hashes it once.
class TensorHashCache {
public:
    std::uint64_t hash(const PayloadStore& store, PayloadId id);

private:
    static constexpr std::size_t slots = 64;
    std::array<std::pair<std::uint64_t, std::uint64_t>, slots> cache_{}; // stamp -> hash
};

// The size of r's encoding after a record at prev_time (docs/eventlog.md, "Records").
std::size_t encoded_size(const LogRecord& r, std::int64_t prev_time);

// The record as the simulator produced it.
LogRecord to_log_record(const EventRecord& r, const Simulator& sim, TensorHashCache& hashes);

// Chains every record into one number (docs/eventlog.md, "Footer").
class Fingerprint {
    friend class EventLogWriter;

public:
    void add(const LogRecord& r);
    std::uint64_t value() const { return value_; }
    std::uint64_t events() const { return events_; }
    void save_state(StateWriter& out) const;
    void load_state(StateReader& in);

private:
    std::uint64_t value_ = 0;
    std::uint64_t events_ = 0;
    std::int64_t prev_time_ = 0; // records encode their time relative to the previous one
};

// Blocks are checksummed and written by a thread of their own, so that the run does not
// wait for the file system; the bytes are the same as if the run wrote them itself.
class EventLogWriter {
public:
    // Writes the header at once. The file keeps its name throughout: a log cut short is
    // recognised by its missing footer, and its complete blocks stay readable.
    EventLogWriter(const std::filesystem::path& path, const LogHeader& header);
    // Continues the log of an interrupted run: cuts the file back to where the checkpoint
    // (what save_state() wrote) was taken and goes on from there, so that the finished log
    // is byte for byte the log of a run that was never interrupted. The file's bytes up to
    // that point must hash as they did at the checkpoint (InputError otherwise): another
    // run's log is never appended to. Checkpoints of version 1 carry no hash. The
    // constructor only reads and checks; resume() then cuts the file and goes on.
    EventLogWriter(const std::filesystem::path& path, StateReader& resume, std::uint32_t checkpoint_version);
    void resume();
    // The fingerprint in a writer's saved state (what save_state() wrote), read without a
    // file: for taking a run's state without continuing its log (StateError when malformed).
    static Fingerprint saved_fingerprint(StateReader& in, std::uint32_t checkpoint_version);
    // Waits until every complete block is on disk, then saves the writer's state.
    void save_state(StateWriter& out);
    ~EventLogWriter();
    EventLogWriter(const EventLogWriter&) = delete;
    EventLogWriter& operator=(const EventLogWriter&) = delete;

    void add(const LogRecord& r);
    // Writes the last block and the footer. Throws InputError when the file at the log's
    // path is no longer the file this writer wrote (deleted, or replaced by another).
    void finish();
    // After a failed run: writes the records so far as a last, shorter block and no footer,
    // so that readers read every event and say that the log ends early.
    void abandon();
    const Fingerprint& fingerprint() const { return fingerprint_; }

private:
    void flush_block();
    void hand_over(std::vector<unsigned char> buffer, bool checksum);
    void writer_loop();
    void stop_writer();

    std::filesystem::path path_;
    int fd_ = -1;
    std::vector<unsigned char> block_;
    // Handed to the writer thread: (bytes, whether to append their checksum).
    std::deque<std::pair<std::vector<unsigned char>, bool>> pending_;
    std::vector<std::vector<unsigned char>> spare_; // written buffers, for reuse
    std::mutex mutex_;
    std::condition_variable changed_;
    bool closing_ = false;
    bool finished_ = false; // finish() or abandon() was called
    bool writing_ = false; // the writer thread holds a buffer it has not finished writing
    std::exception_ptr error_;
    std::thread writer_;
    std::uint32_t in_block_ = 0;
    std::uint64_t first_in_block_ = 1;
    std::int64_t block_base_ = 0; // time of the record before the block
    LogFooter footer_;
    Fingerprint fingerprint_;
    // A hash of every byte written so far, for checkpoints (streamed by the writer thread).
    struct HashState;
    std::unique_ptr<HashState> written_;
    std::int64_t resume_length_ = -1; // a checked resume: where resume() cuts the file
};

// A problem in a log: where reading stopped and why. A kind of DamagedFileError: path()
// and offset() name the file and the byte.
class LogError: public DamagedFileError {
public:
    LogError(const std::string& path, const std::string& what, std::uint64_t offset, std::uint64_t event);
    std::uint64_t event; // number of the last event read completely (0: none)
    // The file ends in the middle of a block or of the footer: it was cut (a run killed while
    // it wrote), and what came before is whole; false for bytes that are wrong.
    bool cut = false;
};

class EventLogReader {
public:
    // Maps the file. Throws LogError for a file that is empty, not a log, of an unknown
    // version, or whose header is damaged.
    explicit EventLogReader(const std::filesystem::path& path);
    // Reads bytes held elsewhere (for tests and the fuzzer); `name` is used in messages.
    EventLogReader(std::span<const unsigned char> bytes, std::string name);
    ~EventLogReader();
    EventLogReader(const EventLogReader&) = delete;
    EventLogReader& operator=(const EventLogReader&) = delete;

    const LogHeader& header() const { return header_; }

    // The records of the next block; false at the footer or at the end of the file.
    // Throws LogError for a damaged or cut block.
    bool next_block(std::vector<LogRecord>& out);
    // After next_block() returned false: the footer, or nothing if the log was cut
    // between blocks (then cut_message() says where).
    const std::optional<LogFooter>& footer() const { return footer_; }
    std::string cut_message() const;
    std::uint64_t events_read() const { return events_read_; }
    // The fingerprint of the records read so far (docs/eventlog.md, "Footer").
    std::uint64_t fingerprint() const { return fingerprint_; }
    std::uint64_t offset() const { return pos_; }
    const std::string& name() const { return name_; }

    // Every record, for small logs and tests; rethrows the first error.
    std::vector<LogRecord> read_all();
    // The record of event `number`, through an index of the blocks (built on first use).
    std::optional<LogRecord> find(std::uint64_t number);

private:
    // A reader of the same bytes positioned on a block, for find().
    EventLogReader(std::span<const unsigned char> bytes, std::string name, std::size_t pos, std::uint64_t events_before):
        name_(std::move(name)), data_(bytes.data()), size_(bytes.size()), pos_(pos), first_block_(pos), events_read_(events_before), from_start_(false) {}
    void parse_header();
    [[noreturn]] void fail(const std::string& what, std::uint64_t at) const;
    // The same, for a file that ends before what it holds does (LogError::cut).
    [[noreturn]] void cut(const std::string& what, std::uint64_t at) const;

    std::string name_;
    const unsigned char* data_ = nullptr;
    std::size_t size_ = 0;
    void* mapping_ = nullptr;
    std::size_t pos_ = 0;
    std::size_t first_block_ = 0;
    LogHeader header_;
    std::optional<LogFooter> footer_;
    std::uint64_t events_read_ = 0;
    // Of the records read, to check the footer against: a footer that does not sum up the
    // records is refused (a reader for find() starts part-way and cannot check).
    bool from_start_ = true;
    std::uint64_t fingerprint_ = 0;
    std::uint64_t blocks_read_ = 0;
    std::array<std::uint64_t, event_kind_count> by_kind_{};
    std::array<std::uint64_t, outcome_count> by_outcome_{};
    bool done_ = false;
    std::vector<std::pair<std::uint64_t, std::size_t>> index_; // for find(): first event -> block offset
    std::size_t index_end_ = 0;                                 // where find()'s scan of block headers stopped
};

std::string describe_source(EntityId source, const LogHeader& h);
std::string neuron_name(EntityId id, const LogHeader& h);

} // namespace spikenn
