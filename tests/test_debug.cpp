#include <doctest/doctest.h>

#include <sys/stat.h>

#include <bit>
#include <cstdlib>
#include <regex>

#include "cli_util.hpp"
#include <spikenn/eventlog.hpp>
#include "tools/debugger.hpp"

namespace {

// Runs `spikenn debug TARGET --commands CMDS` and compares its output with EXPECTED, line by line.
void check_transcript(const std::string& target, const std::string& name) {
    const std::string cmds = fmt::format("tests/debug/{}.cmds", name);
    const Result r = run_cli(fmt::format("debug {} --commands {}", target, cmds));
    INFO(r.err);
    REQUIRE(r.code == 0);
    const std::string expected = slurp(fmt::format(SPIKENN_SOURCE_DIR "/tests/debug/{}.expected", name));
    std::istringstream got(r.out), want(expected);
    std::string g, w;
    int line = 0;
    while (std::getline(want, w)) {
        ++line;
        std::getline(got, g);
        CAPTURE(line);
        CHECK(g == w);
    }
    CHECK(!std::getline(got, g)); // nothing more than expected
}

// The text between the n-th occurrence of `start` and the next prompt.
std::string block_after(const std::string& text, const std::string& start, int n) {
    std::size_t at = 0;
    for (int i = 0; i < n; ++i) {
        at = text.find(start, at);
        REQUIRE(at != std::string::npos);
        at += start.size();
    }
    return text.substr(at, text.find("(spikenn)", at) - at);
}

} // namespace

// Acceptance 1 and 5: a scripted session covering every command of a simulation, mistakes
// included (each gets a message and the session goes on), with its expected output.
TEST_CASE("scripted debug session on a scenario") {
    // The checkpoints the session loads: one of another scenario, a damaged one, one of the demo.
    fs::remove_all("/tmp/spikenn_test_debug_seed");
    fs::remove_all("/tmp/spikenn_test_debug_demo");
    REQUIRE(run_cli("run scenarios/seed.yaml --out /tmp/spikenn_test_debug_seed/out --checkpoint-every 5s --checkpoint-dir /tmp/spikenn_test_debug_seed -q").code == 0);
    REQUIRE(run_cli("run tests/data/layered.yaml --out /tmp/spikenn_test_debug_demo/out --checkpoint-every 1s --checkpoint-dir /tmp/spikenn_test_debug_demo -q").code == 0);
    std::string ck = slurp("/tmp/spikenn_test_debug_seed/checkpoint-0000000015000000000.ckpt");
    REQUIRE(ck.size() > 100);
    ck[ck.size() / 2] = static_cast<char>(ck[ck.size() / 2] ^ 1);
    std::ofstream("/tmp/spikenn_test_debug_seed/damaged.ckpt", std::ios::binary) << ck;
    check_transcript("tests/data/layered.yaml", "demo");
}

// Acceptance 2: back across a spike restores the potential, the refractory state and the
// queue exactly; stepping forward again returns to the same state.
TEST_CASE("back across a spike restores the neuron and the queue") {
    const std::string t = slurp(SPIKENN_SOURCE_DIR "/tests/debug/demo.expected");
    // After `next spike` (in[0] spikes) and after `back 2` + `step 2` the neuron and queue print alike.
    CHECK(block_after(t, "(spikenn) print neuron in[0]\n", 1) == block_after(t, "(spikenn) print neuron in[0]\n", 3));
    CHECK(block_after(t, "(spikenn) queue 4\n", 1) == block_after(t, "(spikenn) queue 4\n", 2));
    // Before the spike: no refractory period and no refractory expiry pending.
    const std::string before = block_after(t, "(spikenn) print neuron in[0]\n", 2);
    CHECK(before.find("last spike       none") != std::string::npos);
    CHECK(before.find("refractory_end") == std::string::npos);
    CHECK(block_after(t, "(spikenn) print neuron in[0]\n", 1).find("refractory until 280ms") != std::string::npos);
}

TEST_CASE("scripted debug session browsing an event log") {
    REQUIRE(run_cli("run tests/data/layered.yaml --out /tmp/spikenn_test_debug_browse --record /tmp/spikenn_test_debug_demo.evlog -q").code == 0);
    check_transcript("/tmp/spikenn_test_debug_demo.evlog", "browse");
}

TEST_CASE("debug refuses what it cannot open") {
    Result r = run_cli("debug scenarios/invalid/delay_zero.yaml --commands tests/debug/browse.cmds");
    CHECK(r.code == 2);
    CHECK(r.err.find("delay_zero.yaml:14:12") != std::string::npos);
    r = run_cli("debug tests/fuzz/corpus/eventlog/demo_cut.evlog --commands tests/debug/browse.cmds");
    CHECK(r.code == 2);
    CHECK(r.err.find("cut") != std::string::npos);
}

// Acceptance 4: gdb in batch mode stops at the requested event, and the pretty-printers show it.
TEST_CASE("gdb stops at the requested event and pretty-prints it") {
    REQUIRE(std::system("command -v gdb >/dev/null") == 0);
    const fs::path out = scratch / "gdb_out";
    const std::string cmd = fmt::format(
        "cd '{}' && gdb -batch -nx -ex 'source tools/gdb/spikenn.py' -ex 'break spikenn_break_here' -ex run -ex 'print *spikenn_break_event' "
        "-ex 'print spikenn_break_engine->now_' -ex 'print spikenn_break_network->neurons[0].state' -ex kill --args '{}' run tests/data/layered.yaml --break-at-event 12 -q --out '{}' "
        ">'{}' 2>&1",
        SPIKENN_SOURCE_DIR, SPIKENN_BINARY, out.string(), (scratch / "gdb.txt").string());
    CHECK(std::system(cmd.c_str()) == 0);
    const std::string text = slurp(scratch / "gdb.txt");
    INFO(text);
    CHECK(text.find("Breakpoint 1, spikenn_break_here") != std::string::npos);
    // Event 12 of the demo is in[0]'s first spike at 160ms, caused by event 11.
    CHECK(text.find("= Event{t=160ms, spike, target 0, from neuron 0, seq 3} cause #11") != std::string::npos);
    CHECK(text.find("= 160ms") != std::string::npos);
    CHECK(text.find("= NeuronState{potential 1.0800000476837157 at 160ms, last spike none") != std::string::npos);
}

// Regression (issue 10, item 9): the debugger probed its target with a stream, whose open
// blocks on a FIFO for ever. Only a regular file is opened.
TEST_CASE("debug refuses a target that is not a regular file") {
    const fs::path fifo = scratch / "debug_target.fifo";
    fs::create_directories(scratch);
    fs::remove(fifo);
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const Result r = run_cli(fmt::format("debug '{}' --commands tests/debug/demo.cmds", fifo.string()));
    CHECK(r.code == 2);
    CHECK(r.err.find(fifo.string() + ": is a FIFO, not a regular file") != std::string::npos);
    fs::remove(fifo);
    const Result dir = run_cli(fmt::format("debug '{}' --commands tests/debug/demo.cmds", scratch.string()));
    CHECK(dir.code == 2);
    CHECK(dir.err.find(scratch.string() + ": is a directory, not a file") != std::string::npos);
}

namespace {

const std::string small_network = SPIKENN_SOURCE_DIR "/tests/data/small_network.yaml";

// A session fed `lines`, in-process: its whole output.
std::string session(const std::string& target, const std::string& lines, spikenn::EmptyLine empty = spikenn::EmptyLine::skip) {
    std::istringstream in(lines);
    std::ostringstream out;
    REQUIRE(spikenn::debug_session(target, in, out, empty) == 0);
    return out.str();
}

// The event lines of a transcript ("#N t=..."), in order.
std::vector<std::string> event_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
        if (l.rfind("#", 0) == 0) lines.push_back(l);
    return lines;
}

// The log of tests/data/small_network.yaml, recorded once per process.
const fs::path& small_log() {
    static const fs::path log = [] {
        const fs::path p = scratch / fmt::format("small_network_{}.evlog", ::getpid());
        const Result r = run_cli(fmt::format("run tests/data/small_network.yaml --out '{}' --record '{}' -q", (scratch / fmt::format("small_out_{}", ::getpid())).string(), p.string()));
        REQUIRE(r.code == 0);
        return p;
    }();
    return log;
}

} // namespace

// As in gdb: at the prompt an empty line repeats the last command that moves or shows, but
// not one that changes the session (break); in a script it does nothing.
TEST_CASE("an empty line repeats the last command at the prompt, not in a script") {
    const std::string lines = "step\n\n   \nbreak spike\n\nstep 2\n\n";
    const std::string prompt = session(small_network, lines, spikenn::EmptyLine::repeat);
    const auto repeated = event_lines(prompt);
    REQUIRE(repeated.size() == 7); // 1, repeated twice, then 2 and 2 again
    for (std::size_t i = 0; i < repeated.size(); ++i) CHECK(repeated[i].rfind(fmt::format("#{} ", i + 1), 0) == 0);
    CHECK(prompt.find("breakpoint 1 on any spike") != std::string::npos);
    CHECK(prompt.find("breakpoint 2") == std::string::npos);

    const auto skipped = event_lines(session(small_network, lines));
    REQUIRE(skipped.size() == 3);
    CHECK(skipped[0].rfind("#1 ", 0) == 0);
    CHECK(skipped[2].rfind("#3 ", 0) == 0);
    // A --commands file is a script too.
    const fs::path cmds = scratch / "empty_lines.cmds";
    std::ofstream(cmds) << lines;
    const Result r = run_cli(fmt::format("debug tests/data/small_network.yaml --commands '{}'", cmds.string()));
    CHECK(r.code == 0);
    CHECK(event_lines(r.out).size() == 3);
}

// gdb's `info breakpoints`, `info break` and `i b` list what `breakpoints` lists.
TEST_CASE("info breakpoints lists the breakpoints") {
    const std::string t = session(small_network, "break spike\nbreak neuron solo input\nbreakpoints\ninfo breakpoints\ninfo break\ni b\ninfo frob\n");
    const std::string listed = block_after(t, "(spikenn) breakpoints\n", 1);
    CHECK(listed.find("spike") != std::string::npos);
    CHECK(listed.find("neuron solo input") != std::string::npos);
    CHECK(block_after(t, "(spikenn) info breakpoints\n", 1) == listed);
    CHECK(block_after(t, "(spikenn) info break\n", 1) == listed);
    CHECK(block_after(t, "(spikenn) i b\n", 1) == listed);
    CHECK(block_after(t, "(spikenn) info frob\n", 1) == "error: info breakpoints | info neurons\n");
}

// `print NAME` is `print neuron NAME`; a population's name prints each member in order; a
// mistyped name is answered with the close names, or with how to list them.
TEST_CASE("print takes a neuron or a population by name") {
    const std::string t = session(small_network,
        "step 12\nprint p[1]\nprint neuron p[1]\nprint p\nprint neuron p[0]\nprint neuron p[2]\nprint sol\nprint zzzzzzzz\nbreak neuron p\n"
        "info neurons\n");
    const std::string one = block_after(t, "(spikenn) print p[1]\n", 1);
    CHECK(one.rfind("neuron p[1] at ", 0) == 0);
    CHECK(one == block_after(t, "(spikenn) print neuron p[1]\n", 1));
    CHECK(block_after(t, "(spikenn) print p\n", 1) ==
          "population p: 3 neurons\n" + block_after(t, "(spikenn) print neuron p[0]\n", 1) + one + block_after(t, "(spikenn) print neuron p[2]\n", 1));
    CHECK(block_after(t, "(spikenn) print sol\n", 1) == "error: no neuron or population 'sol' (did you mean 'solo'? 'info neurons' lists them)\n");
    CHECK(block_after(t, "(spikenn) print zzzzzzzz\n", 1) == "error: no neuron or population 'zzzzzzzz' ('info neurons' lists them)\n");
    CHECK(block_after(t, "(spikenn) break neuron p\n", 1) == "error: 'p' is a population of 3 neurons (p[0] .. p[2]): name one of them\n");
    CHECK(block_after(t, "(spikenn) info neurons\n", 1) == "4 neurons:\n  p[0] .. p[2] (population p, 3 neurons)\n  solo\n");
    // Browsing a log, a population prints each member's last recorded event.
    const std::string b = session(small_log().string(), "step 12\nprint p\n");
    CHECK(block_after(b, "(spikenn) print p\n", 1).find("neuron p[2] (from the log") != std::string::npos);
}

// Every event line shows the potential as the shortest text that reads back as the recorded
// double (fmt's "{}"), in a simulation and browsing its log alike, and print neuron does too.
TEST_CASE("the debugger prints potentials as their shortest round-trip text") {
    spikenn::EventLogReader reader(small_log());
    const auto records = reader.read_all();
    REQUIRE(records.size() > 40);
    const std::string live = session(small_network, "step 40\nprint p[0]\n");
    const auto lines = event_lines(live);
    REQUIRE(lines.size() == 40);
    CHECK(event_lines(session(small_log().string(), "step 40\n")) == lines);
    const std::regex potential("potential ([^ ]+)");
    bool long_one = false; // a float's value, which nine digits would round
    for (std::size_t i = 0; i < lines.size(); ++i) {
        std::smatch m;
        REQUIRE(std::regex_search(lines[i], m, potential));
        const std::string text = m[1];
        CAPTURE(lines[i]);
        CHECK(std::bit_cast<std::uint64_t>(std::strtod(text.c_str(), nullptr)) == std::bit_cast<std::uint64_t>(records[i].potential));
        CHECK(text == fmt::format("{}", records[i].potential));
        long_one |= text.size() > 11;
    }
    CHECK(long_one);
    // p[0]'s potential at its last event, as the event line printed it.
    std::string last;
    for (const auto& l: lines)
        if (l.find(" p[0]") != std::string::npos) last = l;
    std::smatch m;
    REQUIRE(std::regex_search(last, m, potential));
    CHECK(block_after(live, "(spikenn) print p[0]\n", 1).find(fmt::format("; {} at", std::string(m[1]))) != std::string::npos);
}

// Browsing a log, `checkpoint save` says that `resume` must come first; after it, it saves.
TEST_CASE("checkpoint save while browsing asks for resume first") {
    const fs::path ck = scratch / fmt::format("browse_{}.ckpt", ::getpid());
    fs::remove(ck);
    const std::string t = session(small_log().string(), fmt::format("step 5\ncheckpoint save {0}\nresume\ncheckpoint save {0}\n", ck.string()));
    CHECK(block_after(t, "(spikenn) checkpoint save", 1).find(
              "error: 'checkpoint save' needs a simulation, and this session browses a log: 'resume' first (it simulates the recorded run up to the "
              "current event, #5)") != std::string::npos);
    CHECK(block_after(t, "(spikenn) checkpoint save", 2).find(fmt::format("saved {} at", ck.string())) != std::string::npos);
    CHECK(fs::exists(ck));
}
