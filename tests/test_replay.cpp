#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <map>
#include <regex>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_util.hpp"
#include <spikenn/eventlog.hpp>
#include "gemm.hpp"

namespace {

// Where the blocks of a log end, read from the log with the project's reader.
struct EventLogReaderProbe {
    std::vector<std::size_t> ends;
    explicit EventLogReaderProbe(const std::string& bytes) {
        spikenn::EventLogReader r(std::span<const unsigned char>(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()), "probe");
        std::vector<spikenn::LogRecord> block;
        while (r.next_block(block)) ends.push_back(r.offset());
    }
    std::size_t end_of_block(std::size_t k) const { return ends.at(k - 1); }
};

int count_lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

fs::path record(const std::string& scenario, const std::string& name) {
    const fs::path log = scratch / (name + ".evlog");
    const Result r = run_cli(fmt::format("run {} --out '{}' --record '{}' -q", scenario, (scratch / (name + "_out")).string(), log.string()));
    INFO(r.err);
    REQUIRE(r.code == 0);
    return log;
}

} // namespace

// Acceptance 1: record then replay: every bundled scenario verifies, exit 0.
TEST_CASE("every bundled scenario replays from its log") {
    for (const char* s: {"demo", "seed"}) {
        CAPTURE(s);
        const fs::path log = record(fmt::format("scenarios/{}.yaml", s), fmt::format("replay_{}", s));
        const Result r = run_cli("replay " + log.string());
        CHECK(r.code == 0);
        CHECK(r.out.find("replay: verified") != std::string::npos);
    }
}

// Acceptance 2: a changed threshold, replayed against the original log, is found at its first
// differing event, with the chain of causes that led to it.
TEST_CASE("replay against a changed scenario names the first difference and its causes") {
    const fs::path log = record("tests/data/layered.yaml", "replay_changed");
    const fs::path changed = scratch / "demo_changed.yaml";
    std::string text = slurp(SPIKENN_SOURCE_DIR "/tests/data/layered.yaml");
    const auto at = text.find("threshold: 1.2");
    REQUIRE(at != std::string::npos);
    text.replace(at, 14, "threshold: 0.5");
    std::ofstream(changed) << text;
    const Result r = run_cli(fmt::format("replay {} --scenario '{}'", log.string(), changed.string()));
    CHECK(r.code == 1);
    CHECK(r.out.find("differs from the log") != std::string::npos);
    // The first difference is a hidden neuron that now spikes on an input delivered by an input
    // neuron's spike, which a stimulus caused.
    CHECK(r.out.find("outcome    accumulated") != std::string::npos);
    CHECK(r.out.find("spiked") != std::string::npos);
    CHECK(r.out.find("<--") != std::string::npos);
    CHECK(r.out.find("cause chain") != std::string::npos);
    CHECK(r.out.find("spike of in[") != std::string::npos);
    CHECK(r.out.find("from stimulus drive") != std::string::npos);
}

// A file the recorded run read and that has changed since is reported before anything runs.
// tests/fuzz/corpus/eventlog/demo.evlog was recorded by spike-nn 0.1.0, whose block products and exp
// rounded differently: its replay differs, and says which versions met.
TEST_CASE("a replay that differs names the engine versions when they differ") {
    const Result r = run_cli("replay tests/fuzz/corpus/eventlog/demo.evlog");
    CHECK(r.code == 1);
    CHECK(r.out.find("differs from the log") != std::string::npos);
    CHECK(r.out.find(fmt::format("the log was recorded by spike-nn 0.1.0 and replayed by {}", SPIKENN_VERSION_STRING)) != std::string::npos);
}

TEST_CASE("replay reports a changed input file before running") {
    const fs::path dir = scratch / "changed_file";
    fs::remove_all(dir);
    fs::create_directories(dir);
    for (const auto& e: fs::directory_iterator(SPIKENN_SOURCE_DIR "/tests/golden/network")) fs::copy(e.path(), dir / e.path().filename());
    const fs::path log = record((dir / "scenario.yaml").string(), "replay_files");
    std::ofstream(dir / "in_003.npy", std::ios::app) << "x";
    const Result r = run_cli("replay " + log.string());
    CHECK(r.code == 1);
    CHECK(r.err.find("in_003.npy has changed since the log was recorded") != std::string::npos);
    CHECK(r.out.find("replay:") == std::string::npos); // nothing ran
}

// Damaged logs: a clear message with the byte offset and the event where reading stopped, exit 2.
TEST_CASE("damaged logs exit with 2 and say where reading stopped") {
    const fs::path log = record("tests/data/many_events.yaml", "damaged");
    const std::string bytes = slurp(log);
    auto write = [&](const std::string& name, const std::string& content) {
        const fs::path p = scratch / name;
        std::ofstream(p, std::ios::binary) << content;
        return p.string();
    };
    std::string flipped = bytes;
    flipped[bytes.size() / 2] = static_cast<char>(flipped[bytes.size() / 2] ^ 0x55);
    std::string v9 = bytes;
    v9[8] = 9;
    const std::vector<std::pair<std::string, std::string>> cases = {
        {write("empty.evlog", ""), "the file is empty"},
        {write("magic.evlog", "not a log at all, just text"), "wrong magic"},
        {write("version.evlog", v9), "format version 9 is not known"},
        {write("flipped.evlog", flipped), "checksum failure in the block of events"},
        {write("cut.evlog", bytes.substr(0, bytes.size() * 2 / 3)), "cut in the middle of the block of events"},
        {(scratch / "no_such.evlog").string(), "no such file"},
    };
    for (const auto& c: cases) {
        // Not a structured binding: clang 14 cannot capture one in CAPTURE's lambda.
        const std::string& path = c.first;
        const std::string& message = c.second;
        for (const char* cmd: {"log show", "log stats", "log export --format csv", "replay"}) {
            CAPTURE(path);
            CAPTURE(cmd);
            const Result r = run_cli(fmt::format("{} '{}'", cmd, path));
            CHECK(r.code == 2);
            CHECK(r.err.find(message) != std::string::npos);
            if (message != "no such file") CHECK(r.err.find("byte ") != std::string::npos);
        }
    }
    // log show on a cut log shows every complete block, then says where it was cut.
    const Result r = run_cli(fmt::format("log show '{}'", (scratch / "cut.evlog").string()));
    CHECK(count_lines(r.out) == 1 + 8192); // the header line and two complete blocks of 4,096
    CHECK(r.err.find("reading stopped after event 8192") != std::string::npos);
}

TEST_CASE("log show filters, log stats, export and diff") {
    const fs::path log = record("tests/data/layered.yaml", "tools_demo");
    Result r = run_cli("log show " + log.string());
    CHECK(r.code == 0);
    CHECK(count_lines(r.out) == 1 + 608);
    r = run_cli(fmt::format("log show {} --neuron 'hidden[0]' --kind spike", log.string()));
    CHECK(count_lines(r.out) == 1 + 3);
    r = run_cli(fmt::format("log show {} --kind dropped --from 150ms --to 400ms", log.string()));
    CHECK(r.code == 0);
    CHECK(count_lines(r.out) > 1);
    CHECK(r.out.find("accumulated") == std::string::npos);
    r = run_cli(fmt::format("log show {} --limit 5", log.string()));
    CHECK(count_lines(r.out) == 6);
    r = run_cli(fmt::format("log show {} --neuron nobody", log.string()));
    CHECK(r.code == 2);
    CHECK(r.err.find("no neuron 'nobody'") != std::string::npos);

    // stats: the fingerprint is the run's, which the run computes without recording too.
    r = run_cli("log stats " + log.string());
    CHECK(r.code == 0);
    const std::string summary = slurp(scratch / "tools_demo_out" / "summary.json");
    const auto fp_at = summary.find("\"fingerprint\": \"");
    REQUIRE(fp_at != std::string::npos);
    const std::string fp = summary.substr(fp_at + 16, 18);
    CHECK(r.out.find("fingerprint " + fp) != std::string::npos);
    CHECK(slurp(SPIKENN_SOURCE_DIR "/tests/data/layered.yaml").find(fp) != std::string::npos); // the pinned one
    CHECK(r.out.find("by outcome  accumulated 220, dropped 28") != std::string::npos);

    r = run_cli(fmt::format("log export {} --format jsonl", log.string()));
    CHECK(r.code == 0);
    CHECK(count_lines(r.out) == 608);
    CHECK(r.out.rfind("{\"event\":1,\"time_ticks\":10000000,\"kind\":\"input\"", 0) == 0);
    r = run_cli(fmt::format("log export {} --format csv", log.string()));
    CHECK(count_lines(r.out) == 609);

    r = run_cli(fmt::format("log diff {} {}", log.string(), log.string()));
    CHECK(r.code == 0);
    CHECK(r.out.find("the logs agree on all 608 events") != std::string::npos);
    const fs::path other = record("tests/data/layered.yaml --seed 8", "tools_demo_seed8");
    r = run_cli(fmt::format("log diff {} {}", log.string(), other.string()));
    CHECK(r.code == 1);
    CHECK(r.out.find("header: seed differs: 7 vs 8") != std::string::npos);
    CHECK(r.out.find("the logs part at event 1") != std::string::npos);
}

// A pinned fingerprint that does not match fails the run, saying at which event count.
TEST_CASE("a scenario's pinned fingerprint is checked") {
    std::string text = slurp(SPIKENN_SOURCE_DIR "/tests/data/layered.yaml");
    const auto at = text.find("fingerprint: 0x");
    REQUIRE(at != std::string::npos);
    text.replace(at + 15, 16, "0123456789abcdef");
    const fs::path changed = scratch / "demo_wrong_fp.yaml";
    std::ofstream(changed) << text;
    Result r = run_cli(fmt::format("run '{}' --out '{}' -q", changed.string(), (scratch / "wrong_fp").string()));
    CHECK(r.code == 1);
    CHECK(r.err.find("the fingerprint after 608 events is 0x") != std::string::npos);
    CHECK(r.err.find("the scenario expects 0x0123456789abcdef") != std::string::npos);
    r = run_cli(fmt::format("run tests/data/layered.yaml --out '{}' -q", (scratch / "right_fp").string()));
    CHECK(r.code == 0);
    CHECK(r.out.find("fingerprint checked after 608 events: as the scenario expects") != std::string::npos);
}

// Acceptance (checkpoints): resuming from any checkpoint gives the log and the files of the
// run that was never interrupted, for every bundled scenario and several checkpoint times.
TEST_CASE("resume from a checkpoint equals the uninterrupted run") {
    struct Case {
        const char* scenario;
        const char* every;
    };
    for (const Case c: {Case{"tests/data/layered.yaml", "400ms"}, Case{"scenarios/seed.yaml", "5s"}, Case{"tests/data/many_events.yaml", "7ms"}}) {
        CAPTURE(c.scenario);
        const fs::path dir = scratch / "resume";
        fs::remove_all(dir);
        REQUIRE(run_cli(fmt::format("run {} --out '{}' --record '{}' -q", c.scenario, (dir / "plain").string(), (dir / "plain.evlog").string())).code == 0);
        const Result full = run_cli(fmt::format("run {} --out '{}' --record '{}' --checkpoint-every {} -q", c.scenario, (dir / "full").string(),
            (dir / "full.evlog").string(), c.every));
        REQUIRE(full.code == 0);
        const std::string plain_log = slurp(dir / "plain.evlog");
        CHECK(slurp(dir / "full.evlog") == plain_log); // taking checkpoints changes nothing
        int checkpoints = 0;
        for (const auto& ck: fs::directory_iterator(dir / "full" / "checkpoints")) {
            CAPTURE(ck.path().filename().string());
            ++checkpoints;
            // An interrupted run: its files, and a log whose tail after the checkpoint is garbage.
            fs::remove_all(dir / "r");
            fs::copy(dir / "full", dir / "r", fs::copy_options::recursive);
            std::string damaged = plain_log;
            std::uint32_t header = 0;
            std::memcpy(&header, damaged.data() + 12, 4);
            // Bytes the interrupted run wrote after the checkpoint must be cut back: every byte
            // after the header where the log is one block (the checkpoint holds that block), the
            // footer where it has several, and anything appended.
            const bool one_block = std::string_view(c.scenario) != "tests/data/many_events.yaml";
            for (std::size_t i = one_block ? 16 + header + 8 : damaged.size() - 128; i < damaged.size(); ++i) damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
            damaged += std::string(1000, 'x');
            std::ofstream(dir / "r.evlog", std::ios::binary) << damaged;
            const Result r = run_cli(fmt::format("run {} --out '{}' --record '{}' --resume '{}' -q", c.scenario, (dir / "r").string(),
                (dir / "r.evlog").string(), ck.path().string()));
            INFO(r.err);
            REQUIRE(r.code == 0);
            CHECK(slurp(dir / "r.evlog") == plain_log);
            for (const char* f: {"spikes.csv", "summary.json"}) CHECK(slurp(dir / "r" / f) == slurp(dir / "plain" / f));
        }
        CHECK(checkpoints >= 2);
    }
}

// A checkpoint of another scenario, of another version, or damaged is refused clearly.
TEST_CASE("foreign and damaged checkpoints are refused") {
    const fs::path dir = scratch / "bad_ckpt";
    fs::remove_all(dir);
    REQUIRE(run_cli(fmt::format("run tests/data/layered.yaml --out '{}' --checkpoint-every 1s -q", (dir / "demo").string())).code == 0);
    const fs::path ck = dir / "demo" / "checkpoints" / "checkpoint-0000000001000000000.ckpt";
    REQUIRE(fs::exists(ck));
    Result r = run_cli(fmt::format("run scenarios/seed.yaml --out '{}' --resume '{}' -q", (dir / "seed").string(), ck.string()));
    CHECK(r.code == 2);
    CHECK(r.err.find("a checkpoint of another scenario") != std::string::npos);
    std::string bytes = slurp(ck);
    std::string v5 = bytes;
    v5[8] = 5;
    std::ofstream(dir / "v5.ckpt", std::ios::binary) << v5;
    r = run_cli(fmt::format("run tests/data/layered.yaml --out '{}' --resume '{}' -q", (dir / "demo").string(), (dir / "v5.ckpt").string()));
    CHECK(r.code == 2);
    CHECK(r.err.find("checkpoint format version 5 is not known") != std::string::npos);
    std::string flipped = bytes;
    flipped[bytes.size() / 2] = static_cast<char>(flipped[bytes.size() / 2] ^ 1);
    std::ofstream(dir / "flipped.ckpt", std::ios::binary) << flipped;
    r = run_cli(fmt::format("run tests/data/layered.yaml --out '{}' --resume '{}' -q", (dir / "demo").string(), (dir / "flipped.ckpt").string()));
    CHECK(r.code == 2);
    CHECK(r.err.find("damaged or cut short") != std::string::npos);
    r = run_cli(fmt::format("run tests/data/layered.yaml --out '{}' --resume '{}' --seed 3 -q", (dir / "demo").string(), ck.string()));
    CHECK(r.code == 2);
    CHECK(r.err.find("--resume takes the seed") != std::string::npos);
    // No half-written checkpoint ever stands under a final name.
    for (const auto& e: fs::directory_iterator(dir / "demo" / "checkpoints")) CHECK(e.path().extension() == ".ckpt");
}

// A log cut short replays as far as it goes: exit 2, saying how many events matched.
TEST_CASE("replaying a cut log says how far it matched") {
    const fs::path log = record("tests/data/many_events.yaml", "replay_cut");
    const std::string bytes = slurp(log);
    const fs::path cut = scratch / "replay_cut_blocks.evlog";
    // Cut right after the second block: header, then blocks of 4,096 records.
    EventLogReaderProbe probe(bytes);
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, probe.end_of_block(2));
    const Result r = run_cli("replay " + cut.string());
    CHECK(r.code == 2);
    CHECK(r.out.find("the first 8192 events match the log, which was cut there") != std::string::npos);
    CHECK(r.err.find("cut after event 8192") != std::string::npos);
}

// The log of a run that failed replays: the re-run fails at the same event.
TEST_CASE("replaying a failed run's log reproduces the failure") {
    const fs::path dir = scratch / "replay_failed";
    fs::remove_all(dir);
    fs::create_directories(dir);
    fs::copy_file(SPIKENN_SOURCE_DIR "/tests/data/nan.yaml", dir / "nan.yaml", fs::copy_options::overwrite_existing);
    REQUIRE(run_cli(fmt::format("run '{}' --out '{}' --record '{}' -q", (dir / "nan.yaml").string(), (dir / "out").string(), (dir / "nan.evlog").string()))
                .code == 1);
    const Result r = run_cli(fmt::format("replay '{}'", (dir / "nan.evlog").string()));
    CHECK(r.code == 0);
    CHECK(r.out.find("the first 2 events match") != std::string::npos);
    CHECK(r.out.find("fails at the next event as the recorded run did") != std::string::npos);
    CHECK(r.out.find("blows_up") != std::string::npos);
}

TEST_CASE("a log is not exported onto itself, and paths spelled two ways record alike") {
    const fs::path log = record("tests/data/layered.yaml", "self_export");
    const Result r = run_cli(fmt::format("log export {} --format csv --out {}", log.string(), log.string()));
    CHECK(r.code == 2);
    CHECK(r.err.find("that is the log being read") != std::string::npos);
    CHECK(slurp(log).size() > 1000); // untouched
    const fs::path other = record("./scenarios/../tests/data/layered.yaml", "self_export_dotted");
    CHECK(slurp(other) == slurp(log));
}

// A damaged block header is reported as damage, not as a cut.
TEST_CASE("a damaged block header is named as such") {
    const fs::path log = record("tests/data/many_events.yaml", "damaged_header");
    std::string bytes = slurp(log);
    EventLogReaderProbe probe(bytes);
    const std::size_t second = probe.end_of_block(1);
    bytes[second + 26] = static_cast<char>(bytes[second + 26] ^ 0x40); // the length L
    const fs::path bad = scratch / "damaged_header_L.evlog";
    std::ofstream(bad, std::ios::binary) << bytes;
    const Result r = run_cli("log stats " + bad.string());
    CHECK(r.code == 2);
    CHECK(r.err.find(fmt::format("byte {}: damaged block header", second)) != std::string::npos);
    CHECK(r.err.find("after event 4096") != std::string::npos);
}

// Determinism across thread counts: blocks computed ahead on workers change no byte.
TEST_CASE("runs on 1 and 2 threads give byte-identical logs") {
    for (const char* scenario: {"tests/data/layered.yaml", "scenarios/seed.yaml", "tests/data/many_events.yaml", "tests/golden/network/scenario.yaml"}) {
        CAPTURE(scenario);
        std::string logs[3];
        for (int threads: {1, 2}) {
            const fs::path log = scratch / fmt::format("threads_{}.evlog", threads);
            const Result r = run_cli(fmt::format("run {} --threads {} --out '{}' --record '{}' -q", scenario, threads,
                (scratch / fmt::format("threads_out_{}", threads)).string(), log.string()));
            REQUIRE(r.code == 0);
            logs[threads] = slurp(log);
        }
        CHECK(logs[1].size() > 100);
        CHECK(logs[1] == logs[2]);
    }
}

// Issue 13's promise: the log and every file are the same bytes on every product kernel the
// CPU has (forced through SPIKENN_KERNEL), on 1 and 2 threads, batched or not, for a
// population whose blocks come in batches and volleys, and for the bundled demo.
TEST_CASE("logs are byte-identical across kernels, threads and batching") {
    std::vector<std::string> kernels;
    for (const auto& k: spikenn::gemm_kernels()) kernels.emplace_back(k.name);
    REQUIRE(kernels.size() >= 1);
    MESSAGE("kernels: " << kernels.size());
    for (const char* scenario: {"tests/data/population.yaml", "scenarios/demo.yaml"}) {
        CAPTURE(scenario);
        std::string first_log;
        std::map<std::string, std::string> first_files;
        int runs = 0;
        for (const auto& kernel: kernels) {
            ::setenv("SPIKENN_KERNEL", kernel.c_str(), 1);
            for (int threads: {1, 2}) {
                for (const char* batch: {"", "--no-batch"}) {
                    CAPTURE(kernel);
                    CAPTURE(threads);
                    CAPTURE(std::string(batch));
                    const fs::path out = scratch / fmt::format("variants_{}_{}_{}", kernel, threads, *batch ? "alone" : "batched");
                    const fs::path log = scratch / fmt::format("variants_{}_{}_{}.evlog", kernel, threads, *batch ? "alone" : "batched");
                    fs::remove_all(out);
                    const Result r = run_cli(fmt::format("run {} --threads {} {} --out '{}' --record '{}'", scenario, threads, batch, out.string(), log.string()));
                    REQUIRE(r.code == 0);
                    // The summary says how the blocks were computed: in batches or alone.
                    CHECK(r.out.find(*batch ? "1.0 inputs each" : "products (") != std::string::npos);
                    const std::string bytes = slurp(log);
                    auto files = files_of(out);
                    if (runs++ == 0) {
                        first_log = bytes;
                        first_files = files;
                        CHECK(bytes.size() > 1000);
                        continue;
                    }
                    CHECK(bytes == first_log);
                    CHECK(files == first_files);
                }
            }
        }
        ::unsetenv("SPIKENN_KERNEL");
        CHECK(runs == static_cast<int>(kernels.size()) * 4);
    }
    // The population's blocks were computed in batches: fewer products than blocks.
    const Result r = run_cli(fmt::format("run tests/data/population.yaml --threads 1 --out '{}' -q", (scratch / "variants_summary").string()));
    REQUIRE(r.code == 0);
    const auto at = r.out.find("  blocks      ");
    REQUIRE(at != std::string::npos);
    std::uint64_t blocks = 0, products = 0;
    REQUIRE(std::sscanf(r.out.c_str() + at, "  blocks %lu in %lu products", &blocks, &products) == 2);
    CHECK(blocks > 4 * products);
}

// An unknown kernel is refused by name, before anything runs.
TEST_CASE("a kernel the CPU does not have is refused") {
    ::setenv("SPIKENN_KERNEL", "avx1024", 1);
    const Result r = run_cli(fmt::format("run scenarios/seed.yaml --out '{}' -q", (scratch / "no_kernel").string()));
    ::unsetenv("SPIKENN_KERNEL");
    CHECK(r.code != 0);
    CHECK(r.err.find("SPIKENN_KERNEL=avx1024") != std::string::npos);
}

namespace {

template <typename T>
T get_le(const std::string& b, std::size_t at) {
    T v;
    std::memcpy(&v, b.data() + at, sizeof v);
    return v;
}
template <typename T>
void put_le(std::string& b, std::size_t at, T v) {
    std::memcpy(b.data() + at, &v, sizeof v);
}
fs::path write_bytes(const std::string& name, const std::string& bytes) {
    const fs::path p = scratch / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
}

} // namespace

// Regression (issue 10, item 13): a footer whose fingerprint was edited, with its checksum
// recomputed (anyone can), made `log diff` say "the logs agree". Readers check the footer
// against the records: every reader refuses it, naming the file and the byte.
TEST_CASE("a footer that does not sum up its records is refused") {
    const fs::path log = record("tests/data/layered.yaml", "forged_footer");
    std::string bytes = slurp(log);
    const std::size_t footer = bytes.size() - 128;
    REQUIRE(bytes.compare(footer, 4, "SEND") == 0);
    put_le<std::uint64_t>(bytes, footer + 24, get_le<std::uint64_t>(bytes, footer + 24) ^ 1);
    put_le<std::uint64_t>(bytes, footer + 120, spikenn::hash_bytes(bytes.data() + footer, 120));
    const fs::path forged = write_bytes("forged_footer_edited.evlog", bytes);
    for (const std::string& cmd: {fmt::format("log diff '{}' '{}'", log.string(), forged.string()), fmt::format("log diff '{}' '{}'", forged.string(), log.string()),
             fmt::format("replay '{}'", forged.string()), fmt::format("log show '{}'", forged.string())}) {
        CAPTURE(cmd);
        const Result r = run_cli(cmd);
        CHECK(r.code == 2);
        CHECK(r.out.find("the logs agree") == std::string::npos);
        CHECK(r.err.find(fmt::format("{}: byte {}: the footer's fingerprint", forged.string(), footer + 24)) != std::string::npos);
    }
    // The counts are the records' too.
    bytes = slurp(log);
    put_le<std::uint64_t>(bytes, footer + 32, get_le<std::uint64_t>(bytes, footer + 32) + 1);
    put_le<std::uint64_t>(bytes, footer + 120, spikenn::hash_bytes(bytes.data() + footer, 120));
    const Result r = run_cli(fmt::format("log stats '{}'", write_bytes("forged_counts.evlog", bytes).string()));
    CHECK(r.code == 2);
    CHECK(r.err.find("the footer's counts by kind and outcome are not those of the records") != std::string::npos);
}

// Regression (issue 10, item 13): the scenario text in a log's header was never compared
// with its stored hash, so an edited text (header checksum recomputed) replayed as
// "verified". The reader compares them.
TEST_CASE("a scenario text that is not the one its hash stands for is refused") {
    const fs::path log = record("tests/data/layered.yaml", "forged_text");
    std::string bytes = slurp(log);
    const std::size_t h = get_le<std::uint32_t>(bytes, 12);
    const std::size_t at = bytes.find("until: 3s");
    REQUIRE(at < 16 + h);
    bytes[at + 7] = '2'; // until: 2s
    put_le<std::uint64_t>(bytes, 16 + h, spikenn::hash_bytes(bytes.data(), 16 + h));
    const fs::path forged = write_bytes("forged_text_edited.evlog", bytes);
    const Result r = run_cli(fmt::format("replay '{}'", forged.string()));
    CHECK(r.code == 2);
    CHECK(r.out.find("verified") == std::string::npos);
    CHECK(r.err.find(forged.string() + ": byte ") != std::string::npos);
    CHECK(r.err.find("the scenario text (field 3, ") != std::string::npos);
    CHECK(r.err.find("the text was changed after the run") != std::string::npos);
}

// Regression (issue 10, item 13): the files a log names were looked for from the current
// directory, so replaying a copy of the scenario (--scenario elsewhere/x.yaml) checked the
// recorded files, not the copy's; a file replaced by a directory was said to have changed.
TEST_CASE("files a log names are found next to the scenario replayed") {
    const fs::path dir = scratch / "files_rel", copy = scratch / "files_rel_copy";
    fs::remove_all(dir);
    fs::remove_all(copy);
    fs::create_directories(dir);
    for (const auto& e: fs::directory_iterator(SPIKENN_SOURCE_DIR "/tests/golden/network")) fs::copy(e.path(), dir / e.path().filename());
    // Recorded through a relative path (run_cli runs in the source directory).
    const fs::path log = record(fs::relative(dir / "scenario.yaml", SPIKENN_SOURCE_DIR).string(), "files_rel");
    fs::copy(dir, copy);
    // The copy's input changes (a valid .npy of the same shape, other values): the original stays.
    std::string npy = slurp(copy / "in_003.npy");
    npy[npy.size() - 1] = static_cast<char>(npy[npy.size() - 1] ^ 0x01);
    std::ofstream(copy / "in_003.npy", std::ios::binary) << npy;
    Result r = run_cli(fmt::format("replay '{}' --scenario '{}'", log.string(), (copy / "scenario.yaml").string()));
    CHECK(r.code == 1);
    CHECK(r.err.find((copy / "in_003.npy").string() + " has changed since the log was recorded") != std::string::npos);
    CHECK(r.out.find("replay:") == std::string::npos); // nothing ran
    // A file that is now a directory is said to be one.
    fs::remove(dir / "in_003.npy");
    fs::create_directory(dir / "in_003.npy");
    r = run_cli(fmt::format("replay '{}'", log.string()));
    CHECK(r.code == 1);
    CHECK(r.err.find("in_003.npy, which the recorded run read as a file, is now a directory") != std::string::npos);
    CHECK(r.err.find("has changed") == std::string::npos);
}

// log show, the CSV export and the run's summary print a potential as the shortest text that
// reads back as the same double (fmt's "{}"), as the debugger's event lines do.
TEST_CASE("the log commands and the run summary print potentials as their shortest round-trip text") {
    const std::string out = (scratch / "round_trip_out").string();
    Result r = run_cli(fmt::format("run tests/data/small_network.yaml --out '{}' --record '{}/events.evlog'", out, out));
    REQUIRE(r.code == 0);
    const std::string summary = r.out;
    spikenn::EventLogReader reader(out + "/events.evlog");
    const auto records = reader.read_all();
    auto same_bits = [](const std::string& text, double v) { return std::bit_cast<std::uint64_t>(std::strtod(text.c_str(), nullptr)) == std::bit_cast<std::uint64_t>(v); };

    r = run_cli(fmt::format("log show '{}/events.evlog'", out));
    std::istringstream show(r.out);
    std::string line;
    std::getline(show, line); // the heading
    std::size_t i = 0, long_ones = 0;
    for (; std::getline(show, line); ++i) {
        REQUIRE(i < records.size());
        std::istringstream fields(line);
        std::vector<std::string> f;
        for (std::string w; fields >> w;) f.push_back(w);
        REQUIRE(f.size() >= 7);
        // event, time, kind, target, source (a stimulus in two words), outcome, potential, cause, tensor
        const std::string potential = f[f.size() - 3];
        CAPTURE(line);
        CHECK(potential == fmt::format("{}", records[i].potential));
        CHECK(same_bits(potential, records[i].potential));
        long_ones += potential.size() > 11;
    }
    CHECK(i == records.size());
    CHECK(long_ones > 0);

    r = run_cli(fmt::format("log export '{}/events.evlog' --format csv", out));
    std::istringstream csv(r.out);
    std::getline(csv, line);
    for (i = 0; std::getline(csv, line); ++i) {
        std::vector<std::string> f;
        std::istringstream fields(line);
        for (std::string w; std::getline(fields, w, ',');) f.push_back(w);
        REQUIRE(f.size() >= 12);
        CHECK(same_bits(f[10], records.at(i).potential));
        CHECK(f[10] == fmt::format("{}", records.at(i).potential));
    }

    // The summary's table gives each neuron's final potential as summary.json does.
    const std::string json = slurp(out + "/summary.json");
    const std::regex neuron_row("\"name\": \"([^\"]+)\", [^\n]*\"potential\": ([^,}]+)[,}]");
    std::size_t rows = 0;
    for (std::sregex_iterator it(json.begin(), json.end(), neuron_row), end; it != end; ++it, ++rows) {
        const std::regex table_row(fmt::format("\\n  {} +[0-9]+ +[0-9]+ +([^ \\n]+)\\n", std::regex_replace(std::string((*it)[1]), std::regex("[\\[\\]]"), "\\$&")));
        std::smatch m;
        CAPTURE((*it)[0]);
        REQUIRE(std::regex_search(summary, m, table_row));
        CHECK(m[1] == std::string((*it)[2]));
    }
    CHECK(rows == 4);
}

// When the scenario replayed or the other log's scenario is not the recorded one, replay and
// log diff show a line diff of the two texts before the first event that differs.
TEST_CASE("replay --scenario and log diff show how the scenario texts differ") {
    const fs::path log = record("tests/data/small_network.yaml", "text_diff_a");
    std::string text = slurp(SPIKENN_SOURCE_DIR "/tests/data/small_network.yaml");
    const auto at = text.find("threshold: 1.5");
    REQUIRE(at != std::string::npos);
    text.replace(at, 14, "threshold: 0.5");
    const auto until = text.find("  until: 40ms\n");
    REQUIRE(until != std::string::npos);
    text.insert(until + 14, "  max_events: 100000\n");
    const fs::path changed = scratch / "small_network_changed.yaml";
    std::ofstream(changed) << text;

    Result r = run_cli(fmt::format("replay {} --scenario '{}'", log.string(), changed.string()));
    CHECK(r.code == 1);
    const std::string diff_start = fmt::format("--- tests/data/small_network.yaml (recorded)\n+++ {}\n@@ ", changed.string());
    const auto diff_at = r.out.find(diff_start);
    REQUIRE(diff_at != std::string::npos);
    CHECK(r.out.find("\n   until: 40ms\n+  max_events: 100000\n neurons:\n") != std::string::npos);
    CHECK(r.out.find("\n-    threshold: 1.5\n+    threshold: 0.5\n") != std::string::npos);
    CHECK(r.out.find("differs from the log") > diff_at);

    const fs::path other = record(changed.string(), "text_diff_b");
    r = run_cli(fmt::format("log diff {} {}", log.string(), other.string()));
    CHECK(r.code == 1);
    CHECK(r.out.find(fmt::format("--- tests/data/small_network.yaml (the scenario of {})\n+++ {} (the scenario of {})\n", log.string(), changed.string(),
                         other.string())) != std::string::npos);
    CHECK(r.out.find("\n-    threshold: 1.5\n+    threshold: 0.5\n") != std::string::npos);
    CHECK(r.out.find("the logs part at event") != std::string::npos);

    // The same scenario: no diff.
    r = run_cli(fmt::format("log diff {} {}", log.string(), log.string()));
    CHECK(r.code == 0);
    CHECK(r.out.find("---") == std::string::npos);
    r = run_cli(fmt::format("replay {} --scenario tests/data/small_network.yaml", log.string()));
    CHECK(r.code == 0);
    CHECK(r.out.find("---") == std::string::npos);
}

// The JSON-lines export names an event's target and source as the CSV does: `target` and
// `source` are names (a stimulus as "stimulus:NAME"), `target_id` and `source_id` their
// numbers; its potentials read back as the recorded doubles.
TEST_CASE("the JSON-lines export names sources as the CSV export does") {
    const fs::path log = record("tests/data/small_network.yaml", "jsonl_names");
    spikenn::EventLogReader reader(log);
    const auto records = reader.read_all();
    const Result jsonl = run_cli(fmt::format("log export {} --format jsonl", log.string()));
    const Result csv = run_cli(fmt::format("log export {} --format csv", log.string()));
    REQUIRE(jsonl.code == 0);
    REQUIRE(csv.code == 0);
    std::istringstream jl(jsonl.out), cl(csv.out);
    std::string j, c;
    std::getline(cl, c); // the heading
    std::size_t i = 0, from_stimulus = 0, from_neuron = 0;
    for (; std::getline(jl, j); ++i) {
        REQUIRE(i < records.size());
        REQUIRE(std::getline(cl, c));
        const auto& r = records[i];
        const nlohmann::json e = nlohmann::json::parse(j);
        std::vector<std::string> f;
        std::istringstream fields(c);
        for (std::string w; std::getline(fields, w, ',');) f.push_back(w);
        if (c.back() == ',') f.emplace_back(); // no tensor
        REQUIRE(f.size() == 13);
        CAPTURE(j);
        CHECK(e["target_id"].get<std::uint64_t>() == r.target);
        CHECK(e["source_id"].get<std::uint64_t>() == r.source);
        CHECK(e["target"].get<std::string>() == f[5]);
        CHECK(e["source"].get<std::string>() == f[7]);
        CHECK(std::bit_cast<std::uint64_t>(e["potential"].get<double>()) == std::bit_cast<std::uint64_t>(r.potential));
        if (spikenn::is_external(r.source)) {
            CHECK(e["source"] == "stimulus:drive");
            ++from_stimulus;
        }
        else {
            CHECK(e["source"] == reader.header().neuron_names.at(r.source));
            from_neuron += r.kind == spikenn::EventKind::input;
        }
    }
    CHECK(i == records.size());
    CHECK(from_stimulus > 0);
    CHECK(from_neuron > 0); // deliveries of p's spikes to solo
}
