// Whole runs on 1 and 2 threads: scenarios/demo.yaml, bench/large.yaml (200 neurons of
// (128, 4, 512), random connections) and bench/population.yaml (64 neurons of (512, 8, 2048)
// sharing weights, driven together), events per second, the ratio, and whether the two runs'
// fingerprints (and so their event logs) agree. Then batching: bench/population.yaml on one
// thread batched and with every block alone (--no-batch), the wall time per input.
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
    for (const std::string scenario: {"scenarios/demo.yaml", "bench/large.yaml", "bench/population.yaml"}) {
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

    fmt::print("\nbatching, bench/population.yaml on one thread, medians of {} interleaved rounds\n\n", rounds);
    fmt::print("{:>14} {:>16} {:>16} {:>14} {:>9}\n", "inputs", "batched ms/input", "alone ms/input", "batched lower", "same log");
    std::uint64_t inputs = 0, fp[2] = {0, 0};
    double wall[2] = {0, 0};
    std::vector<double> walls[2];
    auto run = [&](int batch) {
        Scenario sc = load_scenario("bench/population.yaml");
        RunSettings rs;
        rs.out_dir = tmp / fmt::format("b{}", batch);
        rs.scenario_arg = "bench/population.yaml";
        rs.log_level = "warn";
        rs.threads = 1;
        rs.batch = batch == 1;
        const RunReport r = run_scenario(sc, rs);
        inputs = r.counts.by_kind[static_cast<std::size_t>(EventKind::input)];
        fp[batch] = r.fingerprint;
        // The run's own wall time: the weights are drawn before it starts.
        walls[batch].push_back(r.wall_seconds);
    };
    bench::interleaved_medians({[&] { run(1); }, [&] { run(0); }}, rounds);
    for (int b: {0, 1}) wall[b] = bench::median(walls[b]);
    const double per[2] = {wall[0] / static_cast<double>(inputs) * 1e3, wall[1] / static_cast<double>(inputs) * 1e3};
    fmt::print("{:>14} {:>16.3f} {:>16.3f} {:>13.2f}x {:>9}\n", inputs, per[1], per[0], per[0] / per[1], fp[0] == fp[1] ? "yes" : "NO");
    return 0;
}
