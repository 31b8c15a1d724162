// Checkpoints are input: a state that this run could not have reached is refused with its
// byte offset, never taken (issue: reliability, item 1), and what a run keeps of them.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <cstring>
#include <limits>

#include "cli_util.hpp"
#include <spikenn/checkpoint.hpp>
#include <spikenn/eventlog.hpp>
#include <spikenn/scenario.hpp>
#include <spikenn/simulation.hpp>
#include "tools/history.hpp"

using namespace spikenn;

namespace {

// The layout of Simulator::save_state and Network::save_state (engine/simulator.cpp,
// neurons/network.cpp), which these tests edit byte by byte.
constexpr std::size_t first_event = 8 + 8 + 1 + 8, event_bytes = 41, at_target = 9, at_efficacy = 37;
constexpr std::size_t neuron_bytes = 63, at_last_update = 8, at_pending_decay = 25, at_spike_input = 51;

template <typename T>
void poke(std::vector<unsigned char>& b, std::size_t at, T v) {
    std::memcpy(b.data() + at, &v, sizeof v);
}

struct Demo {
    Scenario sc = load_scenario(std::string(SPIKENN_SOURCE_DIR) + "/tests/data/layered.yaml");
    Simulator sim{sc.network};

    std::vector<unsigned char> save() const {
        StateWriter w;
        sim.save_state(w);
        return w.bytes();
    }
    std::uint64_t pending() const { return sim.queue().size(); }
    // Where neuron i's saved state starts: the network's part is last.
    std::size_t neuron_at(const std::vector<unsigned char>& b, std::size_t i) const {
        const std::size_t n = sc.network.size(), s = sc.network.stimuli.size();
        return b.size() - 8 * s - 8 - neuron_bytes * (n - i);
    }
};

// The forged state is refused with a message naming the problem, and the simulator goes on
// exactly as if the load had not been tried.
void refused(Demo& d, const std::vector<unsigned char>& forged, const std::string& message) {
    const std::vector<unsigned char> before = d.save();
    StateReader r(forged);
    try {
        d.sim.load_state(r);
        FAIL("the forged state was taken");
    }
    catch (const StateError& e) {
        INFO(std::string(e.what()));
        CHECK(std::string(e.what()).find(message) != std::string::npos);
    }
    CHECK(d.save() == before);
}

} // namespace

// Item 1: each value a state holds is checked against the model. The regression cases each
// crashed or read out of bounds before the checks (a target beyond the neurons reached
// potential_at, a negative last update overflowed zero_time, a spike without its input
// read a payload that does not exist).
TEST_CASE("load_state refuses states the run could not have reached, and changes nothing") {
    Demo d;
    for (int i = 0; i < 150; ++i) REQUIRE(d.sim.step());
    const std::vector<unsigned char> good = d.save();
    REQUIRE(d.pending() > 2);

    SUBCASE("a target that is not a neuron") {
        // An input that stays in key order with its new target (a neuron's own events are
        // also checked against the neuron's state, which would be refused first).
        const std::vector<Event> pending = d.sim.queue().pending();
        std::size_t i = pending.size() - 1;
        auto time_kind = [&](std::size_t j) { return std::pair(pending[j].key.time, pending[j].key.kind); };
        while (i > 0 && (pending[i].key.kind != EventKind::input || (i + 1 < pending.size() && time_kind(i + 1) == time_kind(i)))) --i;
        auto b = good;
        poke<std::uint32_t>(b, first_event + event_bytes * i + at_target, 100000);
        refused(d, b, "its target 100000 is not a neuron");
    }
    SUBCASE("an input with an efficacy its source does not give") {
        const std::vector<Event> pending = d.sim.queue().pending();
        std::size_t i = 0;
        while (pending[i].key.kind != EventKind::input) ++i;
        auto b = good;
        poke<float>(b, first_event + event_bytes * i + at_efficacy, 2.5f);
        refused(d, b, "its efficacy 2.5");
        poke<float>(b, first_event + event_bytes * i + at_efficacy, std::numeric_limits<float>::quiet_NaN());
        refused(d, b, "efficacy nan is not finite");
    }
    SUBCASE("a stimulus occurrence pending after fewer events than its number") {
        // Regression: the number was only checked against the next occurrence the state
        // claims, so a forged pair of them could ask a Poisson stimulus to sum its gaps for
        // ever. Occurrence k is scheduled when k - 1 is processed: k events came before it.
        const std::vector<Event> pending = d.sim.queue().pending();
        std::size_t i = 0;
        while (!(pending[i].key.kind == EventKind::input && is_external(pending[i].key.source))) ++i;
        const std::uint32_t si = external_index(pending[i].key.source);
        auto b = good;
        const std::uint64_t forged = 1'000'000'000'000ull;
        poke<std::uint64_t>(b, first_event + event_bytes * i + 17, forged);
        poke<std::uint64_t>(b, b.size() - 8 * (d.sc.network.stimuli.size() - si), forged + 1);
        refused(d, b, "cannot be pending after 150 events");
    }
    SUBCASE("a negative clock") {
        auto b = good;
        poke<std::int64_t>(b, 0, -5);
        refused(d, b, "the clock is negative");
    }
    SUBCASE("an event before the clock") {
        auto b = good;
        poke<std::int64_t>(b, 0, d.sim.now().ticks() + 1000000000);
        refused(d, b, "before the clock");
    }
    SUBCASE("a neuron updated before time 0") {
        auto b = good;
        poke<std::int64_t>(b, d.neuron_at(b, 0) + at_last_update, -1000);
        refused(d, b, "the last update at -1000 ticks is not between 0 and the clock");
    }
    SUBCASE("a spike input that does not exist") {
        auto b = good;
        poke<std::uint32_t>(b, d.neuron_at(b, 3) + at_spike_input, 12345);
        refused(d, b, "names payload 12345, which does not exist");
    }
    SUBCASE("a pending decay update that is not in the queue") {
        auto b = good;
        const std::size_t at = d.neuron_at(b, 5) + at_pending_decay;
        const bool had = b[at] != 0;
        b[at] = 1;
        poke<std::int64_t>(b, at + 1, had ? 1 : 7); // a time no decay update of this neuron has
        refused(d, b, "its decay update is not a pending decay update of this neuron");
    }
    SUBCASE("the untouched state loads, and the run goes on as before") {
        Demo other;
        StateReader r(good);
        other.sim.load_state(r);
        CHECK(other.save() == good);
        while (auto rec = d.sim.step()) {
            const auto o = other.sim.step();
            REQUIRE(o);
            CHECK(o->event.key == rec->event.key);
            CHECK(o->result.potential == rec->result.potential);
        }
        CHECK(!other.sim.step());
    }
}

// Item 1, acceptance: the crash inputs a fuzzer found in 0.2.0's checkpoint reader (kept in
// tests/fuzz/regress/checkpoint with their stale checksums) end in a clear error or a run,
// never in undefined behaviour (the sanitizer build makes any out-of-bounds access fail).
TEST_CASE("the checkpoint crash inputs are refused or run cleanly") {
    int files = 0, refused_count = 0;
    for (const auto& f: fs::directory_iterator(fs::path(SPIKENN_SOURCE_DIR) / "tests/fuzz/regress/checkpoint")) {
        CAPTURE(f.path().filename().string());
        std::string bytes = slurp(f.path());
        REQUIRE(bytes.size() > 8);
        const std::uint64_t h = hash_bytes(bytes.data(), bytes.size() - 8);
        std::memcpy(bytes.data() + bytes.size() - 8, &h, 8);
        ++files;
        Demo d;
        try {
            const Checkpoint c = parse_checkpoint(std::span(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()), f.path().string());
            const CheckpointBody body = CheckpointBody::decode(c, f.path());
            StateReader r(body.sim, body.sim_at);
            d.sim.load_state(r, checkpoint_state_layout(c.version));
        }
        catch (const InputError&) {
            ++refused_count;
            continue;
        }
        catch (const StateError&) {
            ++refused_count;
            continue;
        }
        for (int i = 0; i < 2000; ++i) {
            try {
                if (!d.sim.step()) break;
            }
            catch (const SimulationError&) {
                break;
            }
        }
    }
    CHECK(files >= 55);
    // Each is a forgery of a state no run reaches: every one is refused.
    CHECK(refused_count == files);
}

// Item 1, through the command line: the forged checkpoint of the report (the first pending
// event's target set to 100000, the checksum recomputed) makes `run --resume` exit 2 naming
// the file and the byte offset, and the debugger's `checkpoint load` refuse it.
TEST_CASE("a forged checkpoint is refused by run --resume and by the debugger") {
    const fs::path dir = scratch / "forged";
    fs::remove_all(dir);
    REQUIRE(run_cli(fmt::format("run tests/data/layered.yaml --out '{}' --checkpoint-every 1s --threads 1 -q", (dir / "o").string())).code == 0);
    std::string bytes = slurp(dir / "o" / "checkpoints" / "checkpoint-0000000001000000000.ckpt");
    // The body's first section is the simulator's state, after its length.
    const std::size_t target_at = checkpoint_body_offset + 8 + first_event + at_target;
    const std::uint32_t target = 100000;
    std::memcpy(bytes.data() + target_at, &target, 4);
    const std::uint64_t h = hash_bytes(bytes.data(), bytes.size() - 8);
    std::memcpy(bytes.data() + bytes.size() - 8, &h, 8);
    const fs::path forged = dir / "forged.ckpt";
    std::ofstream(forged, std::ios::binary) << bytes;
    const auto before = files_of(dir / "o");

    const Result r = run_cli(fmt::format("run tests/data/layered.yaml --out '{}' --resume '{}' -q --threads 1", (dir / "o").string(), forged.string()));
    INFO(r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find(forged.string()) != std::string::npos);
    CHECK(r.err.find("byte ") != std::string::npos);
    CHECK(r.err.find("target 100000") != std::string::npos);
    CHECK(files_of(dir / "o") == before); // the finished run's results are as they were

    std::ofstream(dir / "cmds") << fmt::format("checkpoint load {}\nstep\nquit\n", forged.string());
    const Result dbg = run_cli(fmt::format("debug tests/data/layered.yaml --commands '{}'", (dir / "cmds").string()));
    INFO(dbg.out);
    CHECK(dbg.out.find(fmt::format("error: {}: byte ", forged.string())) != std::string::npos);
    CHECK(dbg.out.find("target 100000") != std::string::npos);
    CHECK(dbg.out.find("#1 t=") != std::string::npos); // the session goes on from where it was
}

// Item 6: resuming with another run's log is refused before a byte of it changes.
TEST_CASE("resume refuses the log of another run and leaves it as it was") {
    const fs::path dir = scratch / "wrong_log";
    fs::remove_all(dir);
    REQUIRE(run_cli(fmt::format("run tests/data/layered.yaml --out '{}' --record '{}' --checkpoint-every 1s -q", (dir / "a").string(),
                        (dir / "a.evlog").string()))
                .code == 0);
    REQUIRE(run_cli(fmt::format("run tests/data/layered.yaml --seed 99 --out '{}' --record '{}' -q", (dir / "b").string(), (dir / "wrong.evlog").string()))
                .code == 0);
    const std::string wrong = slurp(dir / "wrong.evlog");
    const auto before = files_of(dir / "a");
    const Result r = run_cli(fmt::format("run tests/data/layered.yaml --out '{}' --record '{}' --resume '{}' -q", (dir / "a").string(),
        (dir / "wrong.evlog").string(), (dir / "a" / "checkpoints" / "checkpoint-0000000001000000000.ckpt").string()));
    INFO(r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find("not the event log of the interrupted run") != std::string::npos);
    CHECK(slurp(dir / "wrong.evlog") == wrong);
    CHECK(files_of(dir / "a") == before); // nothing was cut back or removed
}

// Item 7: between two events the state does not change, so a period far below the gaps
// gives one checkpoint per gap at most, not one per multiple; --checkpoint-keep caps them.
TEST_CASE("one checkpoint per gap between events, and --checkpoint-keep") {
    const fs::path dir = scratch / "ck_gaps";
    fs::remove_all(dir);
    Result r = run_cli(fmt::format("run tests/data/layered.yaml --out '{}' --checkpoint-every 10us --until 200ms -q", (dir / "o").string()));
    REQUIRE(r.code == 0);
    int count = 0;
    for ([[maybe_unused]] const auto& f: fs::directory_iterator(dir / "o" / "checkpoints")) ++count;
    // 200 ms has 20,000 multiples of 10 us; the demo has far fewer events in it.
    const std::string summary = slurp(dir / "o" / "summary.json");
    const auto at = summary.find("\"events\": ");
    REQUIRE(at != std::string::npos);
    const int events = std::stoi(summary.substr(at + 10));
    CHECK(count > 0);
    CHECK(count <= events);

    r = run_cli(fmt::format("run tests/data/layered.yaml --out '{}' --record '{}' --checkpoint-every 100ms --checkpoint-keep 3 -q", (dir / "k").string(),
        (dir / "k.evlog").string()));
    REQUIRE(r.code == 0);
    std::vector<std::string> kept;
    for (const auto& f: fs::directory_iterator(dir / "k" / "checkpoints")) kept.push_back(f.path().filename().string());
    std::sort(kept.begin(), kept.end());
    REQUIRE(kept.size() == 3);
    CHECK(kept.back() == "checkpoint-0000000003000000000.ckpt");
    // The kept checkpoints still resume to the uninterrupted run.
    const std::string log = slurp(dir / "k.evlog");
    r = run_cli(fmt::format("run tests/data/layered.yaml --out '{}' --record '{}' --resume '{}' -q", (dir / "k").string(), (dir / "k.evlog").string(),
        (dir / "k" / "checkpoints" / kept.front()).string()));
    CHECK(r.code == 0);
    CHECK(slurp(dir / "k.evlog") == log);
}

// Item 9, for checkpoints: a directory or a FIFO given to --resume is refused before
// anything is read (a FIFO used to block the open for ever).
TEST_CASE("--resume reads only a regular file") {
    const fs::path dir = scratch / "resume_special";
    fs::remove_all(dir);
    fs::create_directories(dir / "ck_dir");
    REQUIRE(::mkfifo((dir / "fifo").c_str(), 0644) == 0);
    for (const fs::path& p: {dir / "ck_dir", dir / "fifo", fs::path("/dev/zero")}) {
        CAPTURE(p.string());
        const Result r = run_cli(fmt::format("run tests/data/layered.yaml --out '{}' --resume '{}' -q", (dir / "o").string(), p.string()));
        CHECK(r.code == 2);
        CHECK(r.err.find(p.string()) != std::string::npos);
        CHECK(r.err.find("not a") != std::string::npos);
    }
}

// Issue 11, item 3: the debugger's history in a checkpoint is read by get_record (trace/),
// which refuses a kind that does not exist, and a record of a neuron the scenario lacks is
// refused too (a later `checkpoint save` counted spikes by it, out of bounds). Either way
// `checkpoint load` says what and where, and the session goes on as it was.
TEST_CASE("a debugger checkpoint whose history is forged is refused") {
    const fs::path dir = scratch / "forged_history";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const fs::path saved = dir / "saved.ckpt";
    std::ofstream(dir / "save.cmds") << fmt::format("step 20\ncheckpoint save {}\nquit\n", saved.string());
    REQUIRE(run_cli(fmt::format("debug tests/data/layered.yaml --commands '{}'", (dir / "save.cmds").string())).code == 0);
    const std::string bytes = slurp(saved);
    const Checkpoint c = parse_checkpoint(std::span(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()), saved.string());
    const CheckpointBody body = CheckpointBody::decode(c, saved);
    REQUIRE(body.history);
    // Twenty records after their count.
    REQUIRE(body.history->size() == 8 + 20 * saved_record_bytes);
    const std::size_t third = body.history_at + 8 + 2 * saved_record_bytes; // record 3 in the file

    // The file as saved loads, and the history it holds is the session's.
    std::ofstream(dir / "good.cmds") << fmt::format("checkpoint load {}\nwhere\nquit\n", saved.string());
    Result r = run_cli(fmt::format("debug tests/data/layered.yaml --commands '{}'", (dir / "good.cmds").string()));
    CHECK(r.out.find("loaded " + saved.string()) != std::string::npos);
    CHECK(r.out.find("error:") == std::string::npos);

    auto forge = [&](const std::string& name, std::size_t at, const void* value, std::size_t n) {
        std::string b = bytes;
        std::memcpy(b.data() + at, value, n);
        const std::uint64_t h = hash_bytes(b.data(), b.size() - 8);
        std::memcpy(b.data() + b.size() - 8, &h, 8);
        const fs::path f = dir / name;
        std::ofstream(f, std::ios::binary) << b;
        std::ofstream(dir / "load.cmds") << fmt::format("checkpoint load {}\nwhere\nquit\n", f.string());
        const Result res = run_cli(fmt::format("debug tests/data/layered.yaml --commands '{}'", (dir / "load.cmds").string()));
        INFO(res.out);
        CHECK(res.out.find("loaded ") == std::string::npos);
        CHECK(res.out.find("at 0s, after event 0") != std::string::npos); // `where`: the session is as it was
        return res.out;
    };
    const std::uint8_t bad_kind = 9;
    std::string out = forge("kind.ckpt", third + 8, &bad_kind, 1);
    CHECK(out.find(fmt::format("error: {}: byte {}: the checkpoint cannot be restored: recorded event 3 is of unknown kind 9", (dir / "kind.ckpt").string(), third + 8)) != std::string::npos);
    const std::uint8_t bad_outcome = 200;
    out = forge("outcome.ckpt", third + 9, &bad_outcome, 1);
    CHECK(out.find("recorded event 3 has unknown outcome 200") != std::string::npos);
    const std::uint32_t bad_target = 100000;
    out = forge("target.ckpt", third + 10, &bad_target, 4);
    CHECK(out.find(fmt::format("byte {}: the checkpoint cannot be restored: recorded event 3 is of neuron 100000; the scenario has 14", third + 10)) != std::string::npos);
}

namespace {

CheckpointBody body_of(const fs::path& p, CheckpointInfo* info = nullptr) {
    const std::string bytes = slurp(p);
    const Checkpoint c = parse_checkpoint(std::span(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()), p.string());
    if (info) *info = c.info;
    return CheckpointBody::decode(c, p);
}

// The text after the n-th `start` up to the next `end` (or the end).
std::string between(const std::string& text, const std::string& start, const std::string& end, int n = 1) {
    std::size_t at = 0;
    for (int i = 0; i < n; ++i) {
        at = text.find(start, at);
        REQUIRE(at != std::string::npos);
        at += start.size();
    }
    return text.substr(at, text.find(end, at) - at);
}

} // namespace

// A debugger checkpoint saved after N events and loaded into a fresh session is that
// session's whole state: saving it again gives the same bytes (the simulator's state, the
// counts, the fingerprint and the history), and the events after it, their causes and
// `back` across it are the first session's.
TEST_CASE("a debugger checkpoint loads into a fresh session as it was saved") {
    const fs::path dir = scratch / "debug_roundtrip";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const fs::path a = dir / "a.ckpt", b = dir / "b.ckpt";
    // 300 events: past the debugger's first snapshot (every 256 events).
    std::ofstream(dir / "save.cmds") << fmt::format("step 300\ncheckpoint save {}\nstep 30\nwhy\nback 35\nwhere\nquit\n", a.string());
    std::ofstream(dir / "load.cmds") << fmt::format("checkpoint load {}\ncheckpoint save {}\nstep 30\nwhy\nback 35\nwhere\nquit\n", a.string(),
        b.string());
    const Result first = run_cli(fmt::format("debug tests/data/layered.yaml --commands '{}'", (dir / "save.cmds").string()));
    const Result second = run_cli(fmt::format("debug tests/data/layered.yaml --commands '{}'", (dir / "load.cmds").string()));
    INFO(first.out);
    INFO(second.out);
    REQUIRE(first.code == 0);
    REQUIRE(second.code == 0);
    CHECK(first.out.find("error:") == std::string::npos);
    CHECK(second.out.find("error:") == std::string::npos);
    CHECK(second.out.find("note:") == std::string::npos); // the history came from the file
    CHECK(second.out.find(fmt::format("loaded {}: at ", a.string())) != std::string::npos);
    CHECK(slurp(a) == slurp(b));
    CHECK(body_of(a).history->size() == 8 + 300 * saved_record_bytes);
    const std::string after = between(first.out, "(spikenn) step 30\n", "(spikenn) quit");
    CHECK(after.find("#330 t=") != std::string::npos);
    CHECK(after.find("back at #295 t=") != std::string::npos);
    CHECK(after == between(second.out, "(spikenn) step 30\n", "(spikenn) quit"));
}

// A checkpoint of `spikenn run --checkpoint-every` loads in the debugger, with output files
// and with an event log: the session takes the simulator's state, the counts and the
// fingerprint, and rebuilds the history by re-running. Its own checkpoint there is the
// run's sections (without the run's files and log) plus the history, and is the checkpoint
// of a session that stepped there itself.
TEST_CASE("a run's checkpoint loads in the debugger") {
    const fs::path dir = scratch / "debug_run_checkpoint";
    fs::remove_all(dir);
    REQUIRE(run_cli(fmt::format("run tests/data/layered.yaml --out '{}' --checkpoint-every 1s -q", (dir / "files").string())).code == 0);
    REQUIRE(run_cli(fmt::format("run tests/data/layered.yaml --out '{}' --record '{}' --checkpoint-every 1s -q", (dir / "log").string(),
                        (dir / "log.evlog").string()))
                .code == 0);
    const fs::path with_files = dir / "files" / "checkpoints" / "checkpoint-0000000001000000000.ckpt";
    const fs::path with_log = dir / "log" / "checkpoints" / "checkpoint-0000000001000000000.ckpt";
    CheckpointInfo run_info;
    const CheckpointBody run = body_of(with_files, &run_info);
    REQUIRE(!run.files.empty());
    REQUIRE(run.log.empty());
    REQUIRE(!body_of(with_log).log.empty());

    auto session = [&](const std::string& first, const fs::path& saved) {
        std::ofstream(dir / "cmds") << fmt::format("{}\nwhere\ncheckpoint save {}\nstep 3\nwhy\nquit\n", first, saved.string());
        const Result r = run_cli(fmt::format("debug tests/data/layered.yaml --commands '{}'", (dir / "cmds").string()));
        INFO(r.out);
        CHECK(r.code == 0);
        CHECK(r.out.find("error:") == std::string::npos);
        CHECK(r.out.find("note:") == std::string::npos);
        CHECK(r.out.find("at 990ms, after event 290") != std::string::npos);
        return between(r.out, "(spikenn) step 3\n", "(spikenn) quit");
    };
    const std::string stepped = session("until 999ms", dir / "stepped.ckpt");
    CHECK(session(fmt::format("checkpoint load {}", with_files.string()), dir / "from_files.ckpt") == stepped);
    CHECK(session(fmt::format("checkpoint load {}", with_log.string()), dir / "from_log.ckpt") == stepped);
    CHECK(slurp(dir / "from_files.ckpt") == slurp(dir / "stepped.ckpt"));
    CHECK(slurp(dir / "from_log.ckpt") == slurp(dir / "stepped.ckpt"));

    CheckpointInfo info;
    const CheckpointBody dbg = body_of(dir / "stepped.ckpt", &info);
    CHECK(dbg.sim == run.sim);
    CHECK(dbg.counts == run.counts);
    CHECK(dbg.fingerprint == run.fingerprint);
    CHECK(dbg.log.empty());
    CHECK(dbg.files.empty());
    REQUIRE(dbg.history);
    CHECK(dbg.history->size() == 8 + 290 * saved_record_bytes);
    CHECK(info.scenario_hash == run_info.scenario_hash);
    CHECK(info.seed == run_info.seed);
    CHECK(info.end_ticks == run_info.end_ticks);
    CHECK(info.max_events == run_info.max_events);
    CHECK(info.events == run_info.events);
    CHECK(info.time_ticks == Time::from_ms(990).ticks()); // the session's clock; the run names the period's multiple
}

// The debugger's history is a recorder: a Simulation's checkpoint holds it in the history
// section and a fresh Simulation takes it back; bytes after the records are refused, and the
// refused checkpoint leaves the history as it was.
TEST_CASE("the history recorder saves and restores the events of a simulation") {
    Scenario sc = load_scenario(std::string(SPIKENN_SOURCE_DIR) + "/tests/data/layered.yaml");
    const auto options = sc.simulation_options();
    const std::size_t neurons = sc.network.size();
    Scenario copy = load_scenario(std::string(SPIKENN_SOURCE_DIR) + "/tests/data/layered.yaml");
    Simulation a(std::move(sc.network), options);
    auto& ha = a.add_recorder(std::make_unique<HistoryRecorder>(neurons));
    for (int i = 0; i < 20; ++i) REQUIRE(a.step());
    REQUIRE(ha.records().size() == 20);
    const auto bytes = a.checkpoint();

    Simulation b(std::move(copy.network), options);
    auto& hb = b.add_recorder(std::make_unique<HistoryRecorder>(neurons));
    REQUIRE(b.step());
    const LogRecord first = hb.records().front();
    // One byte more in the history section (the last one), the checksum recomputed.
    std::vector<unsigned char> longer(bytes.begin(), bytes.end() - 8);
    longer.push_back(0);
    const std::uint64_t body_length = longer.size() - checkpoint_body_offset;
    std::memcpy(longer.data() + checkpoint_body_offset - 8, &body_length, 8);
    const Checkpoint c = parse_checkpoint(bytes, "a");
    const CheckpointBody body = CheckpointBody::decode(c, "a");
    const std::uint64_t history_length = body.history->size() + 1;
    std::memcpy(longer.data() + body.history_at - 8, &history_length, 8);
    const std::uint64_t h = hash_bytes(longer.data(), longer.size());
    longer.resize(longer.size() + 8);
    std::memcpy(longer.data() + longer.size() - 8, &h, 8);
    CHECK_THROWS_AS(b.load_checkpoint(longer, "longer"), DamagedFileError);
    REQUIRE(hb.records().size() == 1);
    CHECK(hb.records().front() == first);
    CHECK(b.events_processed() == 1);

    b.load_checkpoint(bytes, "a");
    CHECK(hb.records() == ha.records());
    CHECK(b.events_processed() == 20);
    CHECK(b.checkpoint() == bytes);
    REQUIRE(a.step());
    REQUIRE(b.step());
    CHECK(hb.records() == ha.records());
}

// Checkpoints of 0.2.0 (format versions 1 and 2, events saved without an efficacy) still
// resume, and the run ends as the 0.2.0 demo did. tests/data/layered.yaml is that demo's
// text, byte for byte, so its scenario hash is the one the checkpoints carry.
TEST_CASE("checkpoints of format versions 1 and 2 resume to the same fingerprint") {
    for (const char* name: {"demo-1500ms.ckpt", "demo-v1-1500ms.ckpt"}) {
        CAPTURE(std::string(name));
        Scenario sc = load_scenario(SPIKENN_SOURCE_DIR "/tests/data/demo_0.2.yaml");
        Simulation sim(std::move(sc.network), sc.simulation_options(1));
        const Checkpoint c = read_checkpoint(fs::path(SPIKENN_SOURCE_DIR "/tests/fuzz/corpus/checkpoint") / name);
        CHECK(c.version < 3);
        sim.load_checkpoint(c, name, CheckpointUse::inspect);
        CHECK(sim.simulator().events_processed() == c.info.events);
        CHECK(c.info.events > 0);
        sim.run();
        CHECK(sim.fingerprint() == 0x72b312c6e6264da6ull);
    }
}

// A checkpoint that is not one, or damaged, is a DamagedFileError with the byte where it goes
// wrong, for programs that look at the error rather than its message (Python's
// DamagedFileError.offset); the messages are as before.
TEST_CASE("a damaged checkpoint is a DamagedFileError with its byte") {
    Scenario sc = load_scenario(std::string(SPIKENN_SOURCE_DIR) + "/tests/data/layered.yaml");
    Simulation sim(std::move(sc.network), sc.simulation_options());
    for (int i = 0; i < 10; ++i) REQUIRE(sim.step());
    const std::vector<unsigned char> bytes = sim.checkpoint();
    auto offset_of = [](std::vector<unsigned char> b) -> std::optional<std::uint64_t> {
        try {
            parse_checkpoint(b, "c.ckpt");
        }
        catch (const DamagedFileError& e) {
            CHECK(e.path() == "c.ckpt");
            CHECK(std::string(e.what()).starts_with("c.ckpt: "));
            return e.offset();
        }
        return std::nullopt;
    };
    CHECK_FALSE(offset_of(bytes));
    std::vector<unsigned char> flipped = bytes;
    flipped[checkpoint_body_offset + 3] ^= 1;
    CHECK(offset_of(flipped) == bytes.size() - 8); // the checksum's place
    CHECK(offset_of({bytes.begin(), bytes.begin() + 20}) == 20);
    std::vector<unsigned char> other = bytes;
    other[0] = 'X';
    CHECK(offset_of(other) == 0);
}
