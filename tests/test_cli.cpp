#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "cli_util.hpp"
#include "golden_util.hpp"
#include <spikenn/tensor_io.hpp>

using namespace std::string_literals;
namespace fs = std::filesystem;


// Two runs of one scenario give byte-identical files (wall-clock figures go to the terminal only).
TEST_CASE("two runs of each bundled scenario give identical files") {
    for (const char* name: {"demo", "seed"}) {
        CAPTURE(name);
        const fs::path a = scratch / (name + "_a"s), b = scratch / (name + "_b"s);
        fs::remove_all(a);
        fs::remove_all(b);
        const Result ra = run_cli(fmt::format("run scenarios/{}.yaml --out '{}' -q", name, a.string()));
        const Result rb = run_cli(fmt::format("run scenarios/{}.yaml --out '{}' -q", name, b.string()));
        INFO(ra.err);
        REQUIRE(ra.code == 0);
        REQUIRE(rb.code == 0);
        const auto fa = files_of(a), fb = files_of(b);
        CHECK(fa.size() >= 4);
        CHECK(fa.contains("summary.json"));
        CHECK(fa.contains("spikes.csv"));
        CHECK(fa == fb);
    }
}

// The demo is the README's main job: every kind of event and outcome happens in it.
TEST_CASE("the demo exercises every kind of event") {
    const fs::path out = scratch / "demo_kinds";
    const Result r = run_cli(fmt::format("run scenarios/demo.yaml --out '{}' -q", out.string()));
    REQUIRE(r.code == 0);
    const std::string summary = slurp(out / "summary.json");
    for (const char* outcome: {"accumulated", "dropped", "spiked", "delivered", "decay_update", "refractory_end", "cancelled"}) {
        CAPTURE(outcome);
        const auto at = summary.find(fmt::format("\"{}\": ", outcome), summary.find("events_by_outcome"));
        REQUIRE(at != std::string::npos);
        CHECK(std::stoull(summary.substr(summary.find(':', at) + 1)) > 0);
    }
    // Deliveries along connections: the hidden layer only ever gets spikes of the input layer.
    CHECK(slurp(out / "spikes.csv").find(",hidden[") != std::string::npos);
    CHECK(slurp(out / "spikes.csv").find(",out[") != std::string::npos);
    CHECK(r.out.find("events") != std::string::npos);
    CHECK(r.out.find("events/s") != std::string::npos);
}

TEST_CASE("--help on every command") {
    for (const char* cmd: {"--help", "run --help", "validate --help"}) {
        CAPTURE(cmd);
        const Result r = run_cli(cmd);
        CHECK(r.code == 0);
        CHECK(r.out.find("Usage") != std::string::npos);
    }
    CHECK(run_cli("run --help").out.find("--max-events") != std::string::npos);
}

TEST_CASE("bad input exits with 2 and a message") {
    Result r = run_cli("validate scenarios/invalid/delay_zero.yaml");
    CHECK(r.code == 2);
    CHECK(r.err.find("delay_zero.yaml:14:12: connections[0].delay: a delay must be at least one tick") != std::string::npos);
    r = run_cli("run scenarios/invalid/npy_truncated.yaml --out " + (scratch / "bad").string());
    CHECK(r.code == 2);
    CHECK(r.err.find("truncated") != std::string::npos);
    r = run_cli("run scenarios/demo.yaml --until 1.5 --out " + (scratch / "bad").string());
    CHECK(r.code == 2);
    CHECK(r.err.find("--until") != std::string::npos);
    r = run_cli("run");
    CHECK(r.code == 2);
    r = run_cli("frobnicate");
    CHECK(r.code == 2);
    r = run_cli("validate scenarios/demo.yaml");
    CHECK(r.code == 0);
    CHECK(r.out.find("valid: 14 neurons") != std::string::npos);
}

// A NaN or infinity in a block's output stops the run, naming the neuron, the time and the
// event; what was recorded stays, under names that do not pass for a finished run.
TEST_CASE("a non-finite block output stops the run") {
    const fs::path dir = scratch / "nan";
    fs::create_directories(dir / "out");
    std::ofstream(dir / "out" / "summary.json") << "{\"stale\": true}\n"; // an earlier run's result
    fs::copy_file(SPIKENN_SOURCE_DIR "/tests/data/nan.yaml", dir / "nan.yaml", fs::copy_options::overwrite_existing);
    const Result r = run_cli(fmt::format("run '{}' --out '{}' --record '{}' -q", (dir / "nan.yaml").string(), (dir / "out").string(),
        (dir / "nan.evlog").string()));
    CHECK(r.code == 1);
    CHECK(r.err.find("blows_up") != std::string::npos);
    CHECK(r.err.find("not finite") != std::string::npos);
    CHECK(r.err.find("at 20ms") != std::string::npos);
    CHECK(r.err.find("event 3") != std::string::npos);
    CHECK(!fs::exists(dir / "out" / "summary.json"));
    CHECK(!fs::exists(dir / "out" / "spikes.csv"));
    REQUIRE(fs::exists(dir / "out" / "spikes.csv.partial"));
    CHECK(slurp(dir / "out" / "spikes.csv.partial").find(",fine") != std::string::npos); // the spike before the failure
    // The event log holds every event before the failure, and says that it ends early.
    const Result show = run_cli(fmt::format("log show '{}'", (dir / "nan.evlog").string()));
    CHECK(show.code == 2);
    CHECK(show.out.find("fine") != std::string::npos);
    CHECK(show.err.find("cut after event 2") != std::string::npos);
}

// The weights a run used, saved as a state_dict, load back and give the same run.
TEST_CASE("saved weights load back and reproduce the run") {
    const fs::path dir = scratch / "weights";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string body = R"(run: {{seed: 11, until: 1s}}
neurons:
  - population: p
    size: 3
    embed_dim: 16
    num_heads: 4
    hidden_dim: 32
    threshold: 0.5
    refractory_period: 30ms
    weights: {}
stimuli:
  - name: drive
    to: all
    every: 20ms
    until: 500ms
    tensor: {{ random: {{ seq_len: 3 }} }}
record: {{ weights: true, potentials: all }}
)";
    std::ofstream(dir / "random.yaml") << fmt::format(fmt::runtime(body), "{ norm2: { bias: 0.2 } }");
    std::ofstream(dir / "loaded.yaml") << fmt::format(fmt::runtime(body), "{ file: a/weights.safetensors, index: 0 }");
    REQUIRE(run_cli(fmt::format("run '{}' --out '{}' -q", (dir / "random.yaml").string(), (dir / "a").string())).code == 0);
    const Result r = run_cli(fmt::format("run '{}' --out '{}' -q", (dir / "loaded.yaml").string(), (dir / "b").string()));
    REQUIRE(r.code == 0);
    CHECK(slurp(dir / "a" / "spikes.csv") == slurp(dir / "b" / "spikes.csv"));
    CHECK(slurp(dir / "a" / "potentials.csv") == slurp(dir / "b" / "potentials.csv"));
    CHECK(slurp(dir / "a" / "weights.safetensors") == slurp(dir / "b" / "weights.safetensors"));
    CHECK(slurp(dir / "a" / "spikes.csv").find("p[2]") != std::string::npos);
}

// Regression: outputs.safetensors once held each byte of the outputs as one float. Its
// tensors must be the spike outputs the seed's code computes, in the order of spikes.csv.
TEST_CASE("outputs.safetensors holds each spike's output") {
    const fs::path out = scratch / "outputs";
    fs::remove_all(out);
    const Result r = run_cli(fmt::format("run tests/golden/network/scenario.yaml --out '{}' -q", out.string()));
    INFO(r.err);
    REQUIRE(r.code == 0);
    const spikenn::SafetensorsFile f(out / "outputs.safetensors");
    std::ifstream spikes(out / "spikes.csv");
    std::string line;
    std::getline(spikes, line);
    int n = 0;
    while (std::getline(spikes, line)) {
        // time_ticks,time_s,neuron_id,neuron,output
        std::vector<std::string> c;
        std::stringstream ss(line);
        for (std::string cell; std::getline(ss, cell, ',');) c.push_back(cell);
        REQUIRE(c.size() == 5);
        const std::int64_t ms = std::stoll(c[0]) / 1'000'000;
        CHECK(f.metadata().at(c[4] + ".neuron") == c[3]);
        CHECK(f.metadata().at(c[4] + ".time_ticks") == c[0]);
        const spikenn::NpyArray want = spikenn::read_npy(fmt::format(SPIKENN_SOURCE_DIR "/tests/golden/network/spike_{}_n{}.npy", ms, c[2]));
        const std::vector<float> got = f.get_f32(c[4], {10, 64});
        double diff = 0, scale = 0;
        for (std::size_t i = 0; i < got.size(); ++i) {
            diff = std::max(diff, std::abs(static_cast<double>(got[i]) - want.data[i]));
            scale = std::max(scale, std::abs(static_cast<double>(want.data[i])));
        }
        CHECK(diff / scale < 1e-5);
        ++n;
    }
    CHECK(n == 19);
}

// Acceptance: every file in scenarios/invalid/ fails through the command line with exit code
// 2 and its message, which starts with FILE:LINE:COLUMN.
TEST_CASE("every invalid scenario exits with 2, its message and its place") {
    const auto cases = spikenn::test::invalid_scenarios();
    CHECK(cases.size() >= 30);
    for (const auto& c: cases) {
        const std::string rel = "scenarios/invalid/" + c.file;
        CAPTURE(rel);
        const Result r = run_cli("validate " + rel);
        CHECK(r.code == 2);
        CHECK(r.err.find(c.expect) != std::string::npos);
        // "spikenn: error: scenarios/invalid/x.yaml:LINE:COL: "
        const auto at = r.err.find(rel + ":");
        REQUIRE(at != std::string::npos);
        std::size_t i = at + rel.size() + 1, digits = 0;
        while (i < r.err.size() && std::isdigit(static_cast<unsigned char>(r.err[i]))) ++i, ++digits;
        CHECK(digits > 0);
        CHECK(r.err[i] == ':');
    }
}

// Regression: the log file was appended to, so two runs into one folder differed.
TEST_CASE("two runs into the same folder leave identical files, the log included") {
    const fs::path out = scratch / "same_folder";
    fs::remove_all(out);
    REQUIRE(run_cli(fmt::format("run scenarios/seed.yaml --out '{}' -q", out.string())).code == 0);
    const auto first = files_of(out);
    REQUIRE(first.contains("spikenn.log"));
    REQUIRE(run_cli(fmt::format("run scenarios/seed.yaml --out '{}' -q", out.string())).code == 0);
    CHECK(files_of(out) == first);
}

// The demo's spikes, pinned: a change that moves any spike of the README's main job shows here.
TEST_CASE("the demo's spikes are the pinned ones") {
    const fs::path out = scratch / "demo_pinned";
    REQUIRE(run_cli(fmt::format("run scenarios/demo.yaml --out '{}' -q", out.string())).code == 0);
    CHECK(slurp(out / "spikes.csv") == slurp(SPIKENN_SOURCE_DIR "/tests/golden/demo_spikes.csv"));
}

// What a new user tripped on: a mistyped command, "1 stimuli", and a table of nothing.
TEST_CASE("a mistyped command is named, counts are singular, and filters that match nothing say so") {
    Result r = run_cli("runn tests/data/layered.yaml");
    CHECK(r.code == 2);
    CHECK(r.err.find("unknown command 'runn' (the commands: run, validate, replay, debug, plot, network, log;") != std::string::npos);

    r = run_cli("validate scenarios/seed.yaml");
    CHECK(r.code == 0);
    CHECK(r.out.find("valid: 3 neurons, 0 connections, 1 stimulus, seed 42") != std::string::npos);

    const fs::path log = scratch / "filters.evlog";
    REQUIRE(run_cli(fmt::format("run tests/data/layered.yaml --out '{}' --record '{}' -q", (scratch / "filters").string(), log.string())).code == 0);
    r = run_cli(fmt::format("log show '{}' --from 10s", log.string()));
    CHECK(r.code == 0);
    CHECK(r.err.find("no event of the 608 read matches the filters") != std::string::npos);
    r = run_cli(fmt::format("log show '{}' --kind spike --limit 3", log.string()));
    CHECK(r.code == 0);
    CHECK(r.err.find("matches the filters") == std::string::npos);
}
