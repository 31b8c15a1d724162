#include <doctest/doctest.h>

#include <sys/stat.h>

#include "cli_util.hpp"

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
    REQUIRE(run_cli("run scenarios/demo.yaml --out /tmp/spikenn_test_debug_demo/out --checkpoint-every 1s --checkpoint-dir /tmp/spikenn_test_debug_demo -q").code == 0);
    std::string ck = slurp("/tmp/spikenn_test_debug_seed/checkpoint-0000000015000000000.ckpt");
    REQUIRE(ck.size() > 100);
    ck[ck.size() / 2] = static_cast<char>(ck[ck.size() / 2] ^ 1);
    std::ofstream("/tmp/spikenn_test_debug_seed/damaged.ckpt", std::ios::binary) << ck;
    check_transcript("scenarios/demo.yaml", "demo");
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
    REQUIRE(run_cli("run scenarios/demo.yaml --out /tmp/spikenn_test_debug_browse --record /tmp/spikenn_test_debug_demo.evlog -q").code == 0);
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
        "-ex 'print spikenn_break_engine->now_' -ex 'print spikenn_break_network->neurons[0].state' -ex kill --args '{}' run scenarios/demo.yaml --break-at-event 12 -q --out '{}' "
        ">'{}' 2>&1",
        SPIKENN_SOURCE_DIR, SPIKENN_BINARY, out.string(), (scratch / "gdb.txt").string());
    CHECK(std::system(cmd.c_str()) == 0);
    const std::string text = slurp(scratch / "gdb.txt");
    INFO(text);
    CHECK(text.find("Breakpoint 1, spikenn_break_here") != std::string::npos);
    // Event 12 of the demo is in[0]'s first spike at 160ms, caused by event 11.
    CHECK(text.find("= Event{t=160ms, spike, target 0, from neuron 0, seq 3} cause #11") != std::string::npos);
    CHECK(text.find("= 160ms") != std::string::npos);
    CHECK(text.find("= NeuronState{potential 1.08000005 at 160ms, last spike none") != std::string::npos);
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
