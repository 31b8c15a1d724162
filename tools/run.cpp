#include "tools/run.hpp"

#include <chrono>
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace spikenn {

namespace fs = std::filesystem;

std::string hex64(std::uint64_t v) { return fmt::format("0x{:016x}", v); }

namespace {

// The logger writes simulated quantities only (no wall-clock timestamps), so that a log
// file is as reproducible as the other outputs.
std::shared_ptr<spdlog::logger> make_logger(const Scenario& sc, const fs::path& out_dir, bool to_file, const std::string& level_override) {
    std::vector<spdlog::sink_ptr> sinks;
    sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    if (sc.log.file && to_file) {
        sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>((out_dir / *sc.log.file).string(),
            static_cast<std::size_t>(sc.log.rotate_bytes), sc.log.keep));
    }
    auto logger = std::make_shared<spdlog::logger>("spikenn", sinks.begin(), sinks.end());
    logger->set_pattern("[%l] %v");
    logger->set_level(spdlog::level::from_str(level_override.empty() ? sc.log.level : level_override));
    logger->flush_on(spdlog::level::warn);
    return logger;
}

} // namespace

LogHeader make_log_header(const Scenario& sc, const std::string& scenario_arg) {
    LogHeader h;
    h.engine_version = SPIKENN_VERSION;
    h.scenario_path = scenario_arg;
    h.scenario_text = sc.text;
    h.scenario_hash = hash_bytes(sc.text.data(), sc.text.size());
    h.seed = sc.seed;
    h.end_ticks = sc.end.ticks();
    h.max_events = sc.max_events;
    for (const auto& f: sc.files) h.files.push_back({f, hash_file(f)});
    h.neuron_names = sc.network.names;
    for (const auto& s: sc.network.stimuli) h.stimulus_names.push_back(s.name);
    return h;
}

RunReport run_scenario(Scenario& sc, const RunSettings& rs) {
    std::optional<OutputFiles> files;
    if (rs.write_files) files.emplace(rs.out_dir, sc);
    std::optional<EventLogWriter> log_writer;
    if (rs.record) log_writer.emplace(*rs.record, make_log_header(sc, rs.scenario_arg));
    auto log = make_logger(sc, rs.out_dir, rs.write_files, rs.log_level);
    log->info("{}: {} neurons, {} stimuli, seed {}, until {}", sc.path.string(), sc.network.size(), sc.network.stimuli.size(), sc.seed,
        sc.end == Time::max() ? std::string("no events are left") : format_time(sc.end));

    RunReport rep;
    rep.counts = RunCounts(sc.network.size());
    Fingerprint fingerprint;
    TensorHashCache hashes;
    Simulator sim(sc.network);
    sim.set_limits({sc.end, sc.max_events});
    const bool log_events = log->should_log(spdlog::level::debug);
    sim.add_observer([&](const EventRecord& r, const Simulator& s) {
        rep.counts.add(r);
        if (files) files->on_event(r, s);
        const LogRecord lr = to_log_record(r, s, hashes);
        if (log_writer) log_writer->add(lr);
        else fingerprint.add(lr);
        if (log_events) {
            const auto& k = r.event.key;
            log->debug("t={} #{} {} {} -> {} (potential {:.9g})", k.time, r.number, to_string(k.kind), sc.network.names[k.target],
                to_string(r.result.outcome), r.result.potential);
        }
    });

    // Wall-clock figures are for the terminal only; no file records them.
    const auto wall_start = std::chrono::steady_clock::now();
    auto last_progress = wall_start;
    bool progress_shown = false;
    try {
        while (sim.step()) {
            if (rs.progress && (sim.events_processed() & 0xfff) == 0) {
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
        rep.stop = *sim.stop_reason();
        // The simulated interval ends at the end time even when the last event came earlier.
        if (rep.stop != StopReason::max_events && sc.end != Time::max()) sim.run_until(sc.end);
    }
    catch (const SimulationError& e) {
        if (progress_shown) std::fprintf(stderr, "\n");
        log->error("{}: the run stopped at event {}: {}", sc.path.string(), e.event_number, e.what());
        log->flush();
        throw;
    }
    if (progress_shown) std::fprintf(stderr, "\r%60s\r", "");
    rep.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    rep.fingerprint = log_writer ? log_writer->fingerprint().value() : fingerprint.value();
    rep.end = sim.now();
    if (log_writer) log_writer->finish();
    if (files) {
        files->finish(sim, rep.counts, rep.stop, rep.fingerprint);
        rep.files = files->file_names();
    }
    log->info("finished at {} after {} events ({}), fingerprint {}", sim.now(), sim.events_processed(), to_string(rep.stop), hex64(rep.fingerprint));
    log->flush();
    return rep;
}

} // namespace spikenn
