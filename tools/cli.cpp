#include "tools/cli.hpp"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "engine/error.hpp"
#include "tools/outputs.hpp"
#include "tools/scenario.hpp"

namespace spikenn {

namespace fs = std::filesystem;

namespace {

struct RunOptions {
    std::string scenario;
    std::string out;
    std::string until;
    std::uint64_t max_events = 0;
    std::int64_t seed = -1;
    std::string log_level;
    bool quiet = false;
};

// The logger writes simulated quantities only (no wall-clock timestamps), so that a log
// file is as reproducible as the other outputs.
std::shared_ptr<spdlog::logger> make_logger(const Scenario& sc, const fs::path& out_dir, const std::string& level_override) {
    std::vector<spdlog::sink_ptr> sinks;
    sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    if (sc.log.file) {
        sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>((out_dir / *sc.log.file).string(),
            static_cast<std::size_t>(sc.log.rotate_bytes), sc.log.keep));
    }
    auto logger = std::make_shared<spdlog::logger>("spikenn", sinks.begin(), sinks.end());
    logger->set_pattern("[%l] %v");
    logger->set_level(spdlog::level::from_str(level_override.empty() ? sc.log.level : level_override));
    logger->flush_on(spdlog::level::warn);
    return logger;
}

std::string neuron_table(const Scenario& sc, const Simulator& sim, const RunCounts& c) {
    const Network& net = sc.network;
    std::vector<std::size_t> order(net.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    constexpr std::size_t shown = 30;
    std::string note;
    if (order.size() > shown) {
        // Too many to list: the most active first.
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return c.spikes[a] + c.drops[a] > c.spikes[b] + c.drops[b]; });
        note = fmt::format("  ({} more neurons not shown; summary.json lists every neuron)\n", order.size() - shown);
        order.resize(shown);
    }
    std::size_t width = 6;
    for (auto i: order) width = std::max(width, net.names[i].size());
    std::string t = fmt::format("  {:<{}}  {:>7}  {:>7}  {:>12}\n", "neuron", width, "spikes", "drops", "potential");
    for (auto i: order) {
        t += fmt::format("  {:<{}}  {:>7}  {:>7}  {:>12.6g}\n", net.names[i], width, c.spikes[i], c.drops[i], net.neurons[i].potential_at(sim.now()));
    }
    return t + note;
}

int do_run(const RunOptions& o) {
    ScenarioOverrides ov;
    if (o.seed >= 0) ov.seed = static_cast<std::uint64_t>(o.seed);
    if (!o.until.empty()) {
        try {
            ov.end = parse_time(o.until);
        }
        catch (const std::invalid_argument& e) {
            throw InputError(fmt::format("--until: {}", e.what()));
        }
        if (*ov.end < Time::zero()) throw InputError("--until: the end time must not be negative");
    }
    if (o.max_events > 0) ov.max_events = o.max_events;
    Scenario sc = load_scenario(o.scenario, ov);
    const fs::path out_dir = o.out.empty() ? fs::path("out") / fs::path(o.scenario).stem() : fs::path(o.out);
    if (sc.end == Time::max() && sc.max_events == UINT64_MAX) {
        bool endless = false;
        for (const auto& s: sc.network.stimuli) endless |= s.every != Time::zero() && s.until == Time::max();
        if (endless) throw InputError(fmt::format("{}: the run never ends: set run.until or --until", o.scenario));
    }
    OutputFiles files(out_dir, sc);
    auto log = make_logger(sc, out_dir, o.log_level);
    log->info("{}: {} neurons, {} stimuli, seed {}, until {}", sc.path.string(), sc.network.size(), sc.network.stimuli.size(), sc.seed,
        sc.end == Time::max() ? std::string("no events are left") : format_time(sc.end));

    Simulator sim(sc.network);
    sim.set_limits({sc.end, sc.max_events});
    RunCounts counts(sc.network.size());
    const bool log_events = log->should_log(spdlog::level::debug);
    sim.add_observer([&](const EventRecord& r, const Simulator& s) {
        counts.add(r);
        files.on_event(r, s);
        if (log_events) {
            const auto& k = r.event.key;
            log->debug("t={} #{} {} {} -> {} (potential {:.9g})", k.time, r.number, to_string(k.kind), sc.network.names[k.target],
                to_string(r.result.outcome), r.result.potential);
        }
    });

    // Wall-clock figures are for the terminal only; no file records them.
    const auto wall_start = std::chrono::steady_clock::now();
    const bool progress = isatty(fileno(stderr)) && !o.quiet;
    auto last_progress = wall_start;
    bool progress_shown = false;
    StopReason stop;
    try {
        while (sim.step()) {
            if (progress && (sim.events_processed() & 0xfff) == 0) {
                const auto now = std::chrono::steady_clock::now();
                if (now - last_progress > std::chrono::milliseconds(500)) {
                    last_progress = now;
                    progress_shown = true;
                    const double secs = std::chrono::duration<double>(now - wall_start).count();
                    std::fprintf(stderr, "\r  t=%s  %llu events  %.0f events/s   ", format_time(sim.now()).c_str(),
                        static_cast<unsigned long long>(sim.events_processed()), static_cast<double>(sim.events_processed()) / secs);
                    std::fflush(stderr);
                }
            }
        }
        stop = *sim.stop_reason();
        // The simulated interval ends at the end time even when the last event came earlier.
        if (stop != StopReason::max_events && sc.end != Time::max()) sim.run_until(sc.end);
    }
    catch (const SimulationError& e) {
        if (progress_shown) std::fprintf(stderr, "\n");
        log->error("{}: the run stopped at event {}: {}", sc.path.string(), e.event_number, e.what());
        log->flush();
        std::cerr << fmt::format("spikenn: the run failed; what was recorded is in {}/*.partial\n", out_dir.string());
        return 1;
    }
    if (progress_shown) std::fprintf(stderr, "\r%60s\r", "");
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    files.finish(sim, counts, stop);
    log->info("finished at {} after {} events ({})", sim.now(), sim.events_processed(), to_string(stop));
    log->flush();

    // The summary.
    std::string s;
    s += fmt::format("spike-nn {}: {}\n", SPIKENN_VERSION, o.scenario);
    if (!sc.description.empty()) s += fmt::format("  {}\n", sc.description);
    s += fmt::format("  neurons     {}\n", sc.network.size());
    s += fmt::format("  simulated   0s to {} ({})\n", sim.now(), to_string(stop));
    s += fmt::format("  events      {}:", counts.events);
    for (int k = 0; k < event_kind_count; ++k) s += fmt::format(" {} {}{}", to_string(static_cast<EventKind>(k)), counts.by_kind[static_cast<std::size_t>(k)], k + 1 < event_kind_count ? "," : "");
    s += "\n  outcomes   ";
    for (int k = 0; k < outcome_count; ++k) s += fmt::format(" {} {}{}", to_string(static_cast<Outcome>(k)), counts.by_outcome[static_cast<std::size_t>(k)], k + 1 < outcome_count ? "," : "");
    s += fmt::format("\n  wall time   {:.3f} s ({:.0f} events/s)\n\n", wall, wall > 0 ? static_cast<double>(counts.events) / wall : 0.0);
    s += neuron_table(sc, sim, counts);
    s += fmt::format("\n  files in {}: {}\n", out_dir.string(), fmt::join(files.file_names(), ", "));
    std::cout << s;
    return 0;
}

int do_validate(const std::string& path) {
    Scenario sc = load_scenario(path);
    std::size_t synapses = 0;
    for (const auto& s: sc.network.synapses) synapses += s.size();
    std::cout << fmt::format("{}: valid: {} neurons, {} connections, {} stimuli, seed {}, until {}\n", path, sc.network.size(), synapses,
        sc.network.stimuli.size(), sc.seed, sc.end == Time::max() ? std::string("no events are left") : format_time(sc.end));
    return 0;
}

} // namespace

int cli_main(int argc, char** argv) {
    CLI::App app{"spike-nn: a discrete-event simulator of spiking transformer neurons"};
    app.set_version_flag("--version", std::string(SPIKENN_VERSION));
    app.require_subcommand(1);

    RunOptions ro;
    auto* run = app.add_subcommand("run", "Run a scenario and write its results to an output directory");
    run->add_option("scenario", ro.scenario, "Scenario file (YAML)")->required();
    run->add_option("--out,-o", ro.out, "Output directory (default: out/<scenario name>)");
    run->add_option("--until", ro.until, "End time, e.g. 2s (overrides run.until)");
    run->add_option("--max-events", ro.max_events, "Stop after this many events (overrides run.max_events)")->check(CLI::PositiveNumber);
    run->add_option("--seed", ro.seed, "Random seed (overrides run.seed)")->check(CLI::NonNegativeNumber);
    run->add_option("--log-level", ro.log_level, "Log level: trace, debug, info, warn, error, off (overrides log.level)")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
    run->add_flag("--quiet,-q", ro.quiet, "No progress line");

    std::string vpath;
    auto* validate = app.add_subcommand("validate", "Check a scenario and its files without running it");
    validate->add_option("scenario", vpath, "Scenario file (YAML)")->required();

    try {
        app.parse(argc, argv);
    }
    catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : 2;
    }
    try {
        if (*run) return do_run(ro);
        if (*validate) return do_validate(vpath);
    }
    catch (const InputError& e) {
        std::cerr << "spikenn: error: " << e.what() << "\n";
        return 2;
    }
    catch (const std::exception& e) {
        std::cerr << "spikenn: internal error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

} // namespace spikenn
