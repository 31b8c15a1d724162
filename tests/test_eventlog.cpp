#include <doctest/doctest.h>

#include <random>

#include "cli_util.hpp"
#include <spikenn/event_log_recorder.hpp>
#include <spikenn/eventlog.hpp>
#include <spikenn/hex.hpp>

using namespace spikenn;

namespace {

// The log of tests/data/many_events.yaml (13,500 events in 4 blocks), recorded once per process.
const std::string& many_log() {
    static const std::string bytes = [] {
        const fs::path log = scratch / fmt::format("many_{}.evlog", ::getpid());
        const Result r = run_cli(fmt::format("run tests/data/many_events.yaml --out '{}' --record '{}' -q", (scratch / fmt::format("many_out_{}", ::getpid())).string(), log.string()));
        REQUIRE(r.code == 0);
        std::string b = slurp(log);
        fs::remove(log);
        return b;
    }();
    return bytes;
}

std::span<const unsigned char> span_of(const std::string& s) { return {reinterpret_cast<const unsigned char*>(s.data()), s.size()}; }

// Block boundaries: (byte offset of each block, events before it), read from the log itself.
struct Layout {
    std::vector<std::size_t> block_offsets;
    std::vector<std::uint64_t> events_before;
    std::size_t footer = 0;
};
Layout layout_of(const std::string& bytes) {
    EventLogReader r(span_of(bytes), "log");
    Layout l;
    std::vector<LogRecord> block;
    for (;;) {
        const std::size_t at = r.offset();
        const std::uint64_t before = r.events_read();
        if (!r.next_block(block)) {
            l.footer = at;
            break;
        }
        l.block_offsets.push_back(at);
        l.events_before.push_back(before);
    }
    REQUIRE(r.footer());
    return l;
}

std::string error_of(const std::string& bytes, std::uint64_t* offset = nullptr, std::uint64_t* event = nullptr) {
    try {
        EventLogReader r(span_of(bytes), "log");
        r.read_all();
        if (!r.footer()) return r.cut_message();
    }
    catch (const LogError& e) {
        if (offset) *offset = e.offset();
        if (event) *event = e.event;
        return e.what();
    }
    return "";
}

} // namespace

// Records survive the round trip exactly, the numbering has no gaps, and the fingerprint the
// writer puts in the footer is the one a reader recomputes.
TEST_CASE("a recorded log reads back whole") {
    const std::string& bytes = many_log();
    EventLogReader r(span_of(bytes), "log");
    CHECK(r.header().neuron_names.size() == 300);
    CHECK(r.header().stimulus_names == std::vector<std::string>{"drive"});
    CHECK(r.header().scenario_text.find("many_events") == std::string::npos); // the text, not the name
    CHECK(r.header().scenario_text.find("population: p") != std::string::npos);
    const auto all = r.read_all();
    REQUIRE(r.footer());
    CHECK(all.size() == r.footer()->events);
    CHECK(r.footer()->blocks >= 4);
    Fingerprint fp;
    for (std::size_t i = 0; i < all.size(); ++i) {
        CHECK(all[i].number == i + 1);
        if (i) CHECK(all[i].time >= all[i - 1].time);
        fp.add(all[i]);
    }
    CHECK(fp.value() == r.footer()->fingerprint);
    // find() goes straight to a record through the block index.
    EventLogReader again(span_of(bytes), "log");
    for (std::uint64_t n: {std::uint64_t{1}, std::uint64_t{4096}, std::uint64_t{4097}, std::uint64_t{all.size()}}) {
        const auto rec = again.find(n);
        REQUIRE(rec);
        CHECK(*rec == all[n - 1]);
    }
    CHECK(!again.find(all.size() + 1));
}

// Acceptance 3: a log cut at any byte reads up to its last complete block, and the error
// names the byte where reading stopped and the last event read.
TEST_CASE("a log cut at an arbitrary byte reads up to its last complete block") {
    const std::string& bytes = many_log();
    const Layout l = layout_of(bytes);
    std::mt19937_64 rng(42);
    std::vector<std::size_t> cuts = {l.block_offsets[0], l.block_offsets[1] + 1, l.block_offsets[2] + 27, l.footer, l.footer + 5, bytes.size() - 1};
    for (int i = 0; i < 40; ++i) cuts.push_back(l.block_offsets[0] + rng() % (bytes.size() - l.block_offsets[0]));
    for (std::size_t cut: cuts) {
        CAPTURE(cut);
        const std::string part = bytes.substr(0, cut);
        // The complete blocks before the cut.
        std::size_t complete = 0;
        while (complete < l.block_offsets.size() && (complete + 1 < l.block_offsets.size() ? l.block_offsets[complete + 1] : l.footer) <= cut) ++complete;
        const std::uint64_t expect_events = complete < l.events_before.size() ? l.events_before[complete] : l.events_before.back() + 0;
        EventLogReader r(span_of(part), "cut.evlog");
        std::vector<LogRecord> block;
        std::uint64_t read = 0;
        std::string message;
        try {
            while (r.next_block(block)) read += block.size();
            message = r.cut_message();
            CHECK(!r.footer());
        }
        catch (const LogError& e) {
            message = e.what();
            CHECK(e.event == read);
            CHECK(e.offset() <= cut);
            CHECK(e.cut); // what a program keeps the blocks before (the Python module's EventLog)
        }
        if (complete < l.block_offsets.size()) CHECK(read == expect_events);
        CHECK(message.find("cut") != std::string::npos);
        CHECK(message.find("byte ") != std::string::npos);
    }
}

// Acceptance 3: a flipped byte in a block is a checksum failure in that block.
TEST_CASE("a flipped byte is a checksum failure in its block") {
    const std::string& bytes = many_log();
    const Layout l = layout_of(bytes);
    for (std::size_t b = 0; b < l.block_offsets.size(); ++b) {
        CAPTURE(b);
        std::string damaged = bytes;
        const std::size_t at = l.block_offsets[b] + 100 + b * 7;
        damaged[at] = static_cast<char>(damaged[at] ^ 0x10);
        std::uint64_t offset = 0, event = 0;
        const std::string m = error_of(damaged, &offset, &event);
        CHECK(m.find("checksum failure in the block of events") != std::string::npos);
        CHECK(offset == l.block_offsets[b]);
        CHECK(event == l.events_before[b]);
        try {
            EventLogReader(span_of(damaged), "log").read_all();
        }
        catch (const LogError& e) {
            CHECK_FALSE(e.cut); // damage, not a cut
        }
    }
    std::string head = bytes;
    head[20] = static_cast<char>(head[20] ^ 1);
    CHECK(error_of(head).find("header checksum failure") != std::string::npos);
    std::string foot = bytes;
    foot[l.footer + 30] = static_cast<char>(foot[l.footer + 30] ^ 1);
    CHECK(error_of(foot).find("footer checksum failure") != std::string::npos);
}

TEST_CASE("empty files, other files and unknown versions are refused") {
    CHECK(error_of("").find("byte 0: the file is empty") != std::string::npos);
    CHECK(error_of("PK\x03\x04 a zip file, perhaps").find("wrong magic") != std::string::npos);
    std::string v2 = many_log();
    v2[8] = 2;
    CHECK(error_of(v2).find("format version 2 is not known: this spikenn reads version 1") != std::string::npos);
    CHECK(error_of(many_log().substr(0, 30)).find("cut before they end") != std::string::npos);
}

// Acceptance 4: two runs of one scenario give byte-identical logs.
TEST_CASE("two runs give byte-identical logs") {
    for (const char* scenario: {"scenarios/demo.yaml", "tests/data/many_events.yaml"}) {
        CAPTURE(scenario);
        const fs::path a = scratch / "ident_a.evlog", b = scratch / "ident_b.evlog";
        REQUIRE(run_cli(fmt::format("run {} --out '{}' --record '{}' -q", scenario, (scratch / "ident_out").string(), a.string())).code == 0);
        REQUIRE(run_cli(fmt::format("run {} --out '{}' --record '{}' -q", scenario, (scratch / "ident_out").string(), b.string())).code == 0);
        CHECK(slurp(a).size() > 1000);
        CHECK(slurp(a) == slurp(b));
    }
}

// Issue 11, item 2: one way to print a 64-bit number, for every layer that prints one.
TEST_CASE("hex64 prints 0x and sixteen hex digits") {
    CHECK(hex64(0) == "0x0000000000000000");
    CHECK(hex64(0x72b312c6e6264da6) == "0x72b312c6e6264da6");
    CHECK(hex64(0xab) == "0x00000000000000ab");
    CHECK(hex64(UINT64_MAX) == "0xffffffffffffffff");
    CHECK(hex64(0x1234) == fmt::format("{:#018x}", 0x1234)); // what the log reader's messages printed
}

// Issue 11, item 3: one saved form of a record (the debugger's history in a checkpoint), in
// the bytes the debugger wrote before, and refused when its kind, outcome or flag is no value
// of theirs, rather than cast into an enum out of range.
TEST_CASE("a record in saved state keeps its bytes and refuses kinds that do not exist") {
    LogRecord r;
    r.number = 7;
    r.time = 160'000'000;
    r.kind = EventKind::spike;
    r.outcome = Outcome::delivered;
    r.target = 3;
    r.source = 0x8000'0001u;
    r.seq = 12;
    r.cause = 6;
    r.potential = -0.0;
    r.tensor_hash = 0x0123456789abcdefull;
    StateWriter w;
    put_record(w, r);
    // The layout the debugger's `checkpoint save` wrote field by field.
    StateWriter old;
    old.put(r.time);
    old.put(r.kind);
    old.put(r.outcome);
    old.put(r.target);
    old.put(r.source);
    old.put(r.seq);
    old.put(r.cause);
    old.put(r.potential);
    old.put<std::uint8_t>(1);
    old.put(*r.tensor_hash);
    REQUIRE(w.bytes().size() == saved_record_bytes);
    CHECK(w.bytes() == old.bytes());
    const std::string saved = w.str(); // StateReader keeps a view of it
    {
        StateReader in(saved, 1000);
        CHECK(get_record(in, 7) == r);
        CHECK(in.at_end());
    }
    LogRecord plain = r;
    plain.tensor_hash.reset();
    StateWriter p;
    put_record(p, plain);
    const std::string plain_saved = p.str();
    StateReader pin(plain_saved);
    CHECK(get_record(pin, 7) == plain);

    // Each bad byte is refused with its offset in the file (the reader's base, 1000, added).
    auto refused = [&](std::size_t at, std::uint8_t value, const std::string& message) {
        std::string bytes = w.str();
        bytes[at] = static_cast<char>(value);
        StateReader in(bytes, 1000);
        try {
            (void)get_record(in, 7);
            FAIL("the record was taken");
        }
        catch (const StateError& e) {
            CHECK(std::string(e.what()) == message);
            CHECK(e.offset == 1000 + at);
        }
    };
    refused(8, event_kind_count, fmt::format("recorded event 7 is of unknown kind {}", event_kind_count));
    refused(8, 0xff, "recorded event 7 is of unknown kind 255");
    refused(9, outcome_count, fmt::format("recorded event 7 has unknown outcome {}", outcome_count));
    refused(42, 2, "recorded event 7 has a tensor-hash flag of 2, not 0 or 1");
    // A record cut short is refused too.
    const std::string short_bytes = saved.substr(0, saved_record_bytes - 1);
    StateReader cut(short_bytes);
    CHECK_THROWS_AS((void)get_record(cut, 7), StateError);
}

// A log that cannot be created is an output that cannot be written (IoError, exit code 1),
// as every other output's is; EventLogRecorder says that nothing was written yet.
TEST_CASE("a log that cannot be created is an IoError") {
    const std::filesystem::path where = std::filesystem::temp_directory_path() / "spikenn_no_such_dir" / "x.evlog";
    std::filesystem::remove_all(where.parent_path());
    CHECK_THROWS_AS(EventLogWriter(where, LogHeader{}), IoError);
    EventLogRecorder recorder(where, LogHeader{});
    try {
        recorder.start();
        FAIL("the log was created");
    }
    catch (const IoError& e) {
        CHECK(e.before_start);
    }
}
