// The cost of the event log (issue: event logs). For scenarios/demo.yaml and
// bench/cheap.yaml it measures, as medians of interleaved runs in one process:
//   - a run with its usual output files, and the same run also recording a log;
//   - the bytes per event on disk;
//   - spikenn replay against the original run;
//   - log show (to /dev/null) and log stats, in events read per second.
// Usage: spikenn_bench_eventlog [ROUNDS] (default 7), from the source directory.
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "bench/bench_common.hpp"
#include "tools/logtools.hpp"
#include "tools/run.hpp"

using namespace spikenn;
namespace fs = std::filesystem;

namespace {

void run_once(const std::string& scenario, const fs::path& out, std::optional<fs::path> record) {
    Scenario sc = load_scenario(scenario);
    RunSettings rs;
    rs.out_dir = out;
    rs.record = std::move(record);
    rs.scenario_arg = scenario;
    rs.log_level = "warn";
    run_scenario(sc, rs);
}

} // namespace

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? std::atoi(argv[1]) : 7;
    const fs::path tmp = fs::temp_directory_path() / "spikenn_bench_eventlog";
    fs::create_directories(tmp);
    fmt::print("event log benchmark: medians of {} interleaved rounds\n\n", rounds);
    fmt::print("{:<20} {:>10} {:>12} {:>9} {:>10} {:>12} {:>9} {:>12} {:>12}\n", "scenario", "events", "run s", "record", "B/event",
        "B/event*", "replay", "show ev/s", "stats ev/s");
    for (const std::string scenario: {"scenarios/demo.yaml", "bench/cheap.yaml"}) {
        const fs::path out = tmp / fs::path(scenario).stem();
        const fs::path log = tmp / (fs::path(scenario).stem().string() + ".evlog");
        run_once(scenario, out, log); // warm up, and the log that replay reads
        const auto m = bench::interleaved_medians(
            {
                [&] { run_once(scenario, out, std::nullopt); },
                [&] { run_once(scenario, out, log); },
                [&] {
                    bench::Silence quiet;
                    replay_command({log.string(), ""});
                },
                [&] {
                    bench::Silence quiet;
                    log_show({log.string(), {}, {}, "", "", 0});
                },
                [&] {
                    bench::Silence quiet;
                    log_stats({log.string(), {}});
                },
            },
            rounds);
        EventLogReader reader(log);
        std::uint64_t events = 0, plain = 0, plain_bytes = 0;
        std::int64_t prev = 0;
        std::vector<LogRecord> block;
        while (reader.next_block(block)) {
            events += block.size();
            for (const auto& r: block) {
                if (!r.tensor_hash) {
                    ++plain;
                    plain_bytes += encoded_size(r, prev);
                }
                prev = r.time;
            }
        }
        const double bytes = static_cast<double>(fs::file_size(log));
        // Bytes of an event without a tensor: its record plus its share of the block framing.
        const double framing = 36.0 * static_cast<double>(reader.footer()->blocks) / static_cast<double>(events);
        fmt::print("{:<20} {:>10} {:>12.4f} {:>8.3f}x {:>10.1f} {:>12.1f} {:>8.3f}x {:>12.3g} {:>12.3g}\n", scenario, events, m[0], m[1] / m[0],
            bytes / static_cast<double>(events), static_cast<double>(plain_bytes) / static_cast<double>(std::max<std::uint64_t>(plain, 1)) + framing, m[2] / m[1], static_cast<double>(events) / m[3], static_cast<double>(events) / m[4]);
    }
    fmt::print("\nrecord: run time with --record / without (both write the usual files)\n"
               "B/event: log size / events; B/event*: the mean size of an event that carries no tensor, block framing included\n"
               "replay: spikenn replay time / the recorded run's time\n");
    return 0;
}
