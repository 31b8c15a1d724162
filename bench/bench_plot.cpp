// The pictures and viewer exports of a large run (bench/plot.yaml: 6,000 neurons, about
// 100,000 spikes), against reading the same log: spikenn plot, log export --format vcd and
// --format chrome-trace, each as a multiple of one pass over the log's records.
// Usage: spikenn_bench_plot [ROUNDS]   (default 5; run from the source folder)
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "bench/bench_common.hpp"
#include "tools/logtools.hpp"
#include <spikenn/plot.hpp>
#include "tools/run.hpp"
#include <spikenn/scenario.hpp>

using namespace spikenn;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
    const fs::path tmp = fs::temp_directory_path() / "spikenn_bench_plot";
    fs::create_directories(tmp);
    const fs::path log = tmp / "plot.evlog";
    {
        Scenario sc = load_scenario("bench/plot.yaml");
        RunSettings rs;
        rs.out_dir = tmp / "out";
        rs.record = log;
        rs.scenario_arg = "bench/plot.yaml";
        rs.log_level = "warn";
        run_scenario(sc, rs);
    }
    std::uint64_t events = 0, spikes = 0;
    auto read = [&] {
        EventLogReader r(log);
        std::vector<LogRecord> block;
        events = spikes = 0;
        while (r.next_block(block)) {
            for (const auto& rec: block) {
                ++events;
                spikes += rec.kind == EventKind::spike;
            }
        }
    };
    std::size_t svg_bytes = 0;
    // As `spikenn plot` does: the neurons' parameters from the log's scenario text, then the page.
    auto plot = [&] { svg_bytes = plot_svg(log, {}, log_neuron_params(EventLogReader(log).header())).size(); };
    auto vcd = [&] { log_export(log.string(), "vcd", (tmp / "plot.vcd").string()); };
    auto trace = [&] { log_export(log.string(), "chrome-trace", (tmp / "plot.json").string()); };
    const auto m = bench::interleaved_medians({read, plot, vcd, trace}, rounds);
    fmt::print("pictures of bench/plot.yaml: {} events, {} spikes; medians of {} interleaved rounds\n\n", events, spikes, rounds);
    fmt::print("{:<28} {:>10} {:>14}\n", "", "seconds", "x reading");
    fmt::print("{:<28} {:>10.3f} {:>14}\n", "read every record", m[0], "1.00x");
    fmt::print("{:<28} {:>10.3f} {:>13.2f}x   ({} kB)\n", "plot (SVG)", m[1], m[1] / m[0], svg_bytes / 1000);
    fmt::print("{:<28} {:>10.3f} {:>13.2f}x   ({} kB)\n", "export --format vcd", m[2], m[2] / m[0], fs::file_size(tmp / "plot.vcd") / 1000);
    fmt::print("{:<28} {:>10.3f} {:>13.2f}x   ({} kB)\n", "export --format chrome-trace", m[3], m[3] / m[0], fs::file_size(tmp / "plot.json") / 1000);
    return 0;
}
