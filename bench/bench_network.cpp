// Whole runs on 1 and 2 threads: scenarios/demo.yaml and bench/large.yaml (200 neurons of
// (128, 4, 512), random connections), events per second, the ratio, and whether the two
// runs' fingerprints (and so their event logs) agree.
// Usage: spikenn_bench_network [ROUNDS] (default 3), from the source directory.
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "bench/bench_common.hpp"
#include "tools/run.hpp"

using namespace spikenn;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? std::atoi(argv[1]) : 3;
    const fs::path tmp = fs::temp_directory_path() / "spikenn_bench_network";
    fmt::print("whole runs with output files, medians of {} interleaved rounds\n\n", rounds);
    fmt::print("{:<22} {:>9} {:>14} {:>14} {:>9} {:>12}\n", "scenario", "events", "1 thread ev/s", "2 threads ev/s", "speed-up", "same log");
    for (const std::string scenario: {"scenarios/demo.yaml", "bench/large.yaml"}) {
        std::uint64_t events = 0, fp[3] = {0, 0, 0};
        auto run = [&](unsigned threads) {
            ScenarioOverrides ov;
            ov.threads = threads;
            Scenario sc = load_scenario(scenario, ov);
            RunSettings rs;
            rs.out_dir = tmp / fmt::format("t{}", threads);
            rs.scenario_arg = scenario;
            rs.log_level = "warn";
            rs.threads = threads;
            const RunReport r = run_scenario(sc, rs);
            events = r.counts.events;
            fp[threads] = r.fingerprint;
        };
        const auto m = bench::interleaved_medians({[&] { run(1); }, [&] { run(2); }}, rounds);
        fmt::print("{:<22} {:>9} {:>14.0f} {:>14.0f} {:>8.2f}x {:>12}\n", scenario, events, static_cast<double>(events) / m[0],
            static_cast<double>(events) / m[1], m[0] / m[1], fp[1] == fp[2] ? "yes" : "NO");
    }
    return 0;
}
