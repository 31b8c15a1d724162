#include "tools/run.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>

#include <fmt/format.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <spikenn/version.hpp>

namespace spikenn {

namespace fs = std::filesystem;

} // namespace spikenn

extern "C" {
const spikenn::Event* spikenn_break_event = nullptr;
const spikenn::Simulator* spikenn_break_engine = nullptr;
const spikenn::Network* spikenn_break_network = nullptr;
}

extern "C" __attribute__((noinline, used)) void spikenn_break_here(const spikenn::Event* next) {
    // Nothing to do: this is where gdb stops. The asm keeps the call from being optimised away.
    asm volatile("" : : "r"(next) : "memory");
}

namespace spikenn {

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

bool same_file(const fs::path& a, const fs::path& b) {
    std::error_code ec;
    if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
    return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

// Creates dir if needed (creating destroys nothing) and checks that files can be made in it.
void writable_directory(const fs::path& dir, const char* option) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw InputError(fmt::format("{} {}: cannot create the directory: {}", option, dir.string(), ec.message()));
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
        throw InputError(fmt::format("{} {}: cannot write into the directory: {}", option, dir.string(), std::strerror(errno)));
    }
}

// Every path a run writes is checked before anything is removed or truncated (items of the
// earlier run are removed only once the new run is certain to start), and no path the run
// writes may be one it reads or another it writes.
void check_paths(const Scenario& sc, const RunSettings& rs) {
    std::error_code ec;
    if (fs::exists(rs.out_dir, ec) && !fs::is_directory(rs.out_dir, ec)) throw InputError(fmt::format("--out {}: not a directory", rs.out_dir.string()));
    writable_directory(rs.out_dir, "--out");
    if (rs.checkpoint_every > Time::zero()) writable_directory(rs.checkpoint_dir, "--checkpoint-dir");

    // What the run reads, and what it writes besides the log.
    std::vector<fs::path> inputs{sc.path};
    for (const auto& f: sc.files) inputs.emplace_back(f);
    if (rs.resume) inputs.push_back(*rs.resume);
    std::vector<fs::path> outputs;
    for (const char* name: result_file_names()) {
        outputs.push_back(rs.out_dir / name);
        outputs.push_back(rs.out_dir / (std::string(name) + ".partial"));
    }
    outputs.push_back(rs.out_dir / "outputs.bin.partial");
    outputs.push_back(rs.out_dir / run_lock_name);
    if (rs.plot) outputs.push_back(rs.out_dir / "plot.svg");
    for (const auto& f: log_file_names(rs.out_dir, sc.log.file, sc.log.keep)) outputs.push_back(f);
    for (const auto& out: outputs) {
        for (const auto& in: inputs) {
            if (same_file(out, in)) throw InputError(fmt::format("{}: the run would overwrite {}, which it reads; choose another --out", out.string(), in.string()));
        }
    }
    if (!rs.record) return;
    const fs::path& log = *rs.record;
    if (fs::is_directory(log, ec)) throw InputError(fmt::format("--record {}: a directory, not a file", log.string()));
    const fs::path parent = log.parent_path().empty() ? fs::path(".") : log.parent_path();
    if (!fs::is_directory(parent, ec)) throw InputError(fmt::format("--record {}: the directory {} does not exist", log.string(), parent.string()));
    // A log that exists is written in place (a resume appends to it; /dev/null works);
    // a new one needs a directory it can be made in.
    const bool exists = fs::exists(log, ec);
    if (::access(exists ? log.c_str() : parent.c_str(), exists ? W_OK : W_OK | X_OK) != 0) {
        throw InputError(fmt::format("--record {}: cannot write {}: {}", log.string(), exists ? "to it" : "into " + parent.string(), std::strerror(errno)));
    }
    for (const auto& in: inputs) {
        if (same_file(log, in)) throw InputError(fmt::format("--record {}: that is {}, which the run reads; choose another file for the log", log.string(), in.string()));
    }
    for (const auto& out: outputs) {
        if (same_file(log, out)) throw InputError(fmt::format("--record {}: that is {}, which the run writes; choose another file for the log", log.string(), out.string()));
    }
    const std::string name = log.filename().string();
    if (rs.checkpoint_every > Time::zero() && same_file(parent, rs.checkpoint_dir) && name.starts_with("checkpoint-") &&
        (name.ends_with(".ckpt") || name.ends_with(".ckpt.partial"))) {
        throw InputError(fmt::format("--record {}: a checkpoint's name in the checkpoint directory; choose another file for the log", log.string()));
    }
}

// Holds an exclusive lock on the output directory for the run (flock on a file in it), so
// that a second run into the same directory is refused instead of racing the first. The
// file stays, empty (two runs leave identical directories): removing it would let a third
// run lock a new file while the second still holds the old one.
class RunLock {
public:
    explicit RunLock(const fs::path& dir) {
        const fs::path path = dir / run_lock_name;
        fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0) throw InputError(fmt::format("{}: cannot be opened: {}", path.string(), std::strerror(errno)));
        if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
            const int err = errno;
            ::close(fd_);
            if (err == EWOULDBLOCK) {
                throw InputError(fmt::format("--out {}: another spikenn run is writing into this directory; wait for it to end or choose another --out",
                    dir.string()));
            }
            throw InputError(fmt::format("{}: cannot be locked: {}", path.string(), std::strerror(err)));
        }
    }
    ~RunLock() { ::close(fd_); }
    RunLock(const RunLock&) = delete;
    RunLock& operator=(const RunLock&) = delete;

private:
    int fd_ = -1;
};

// Each event as a debug line of the run's log (log.level: debug).
class DebugLogRecorder final: public Recorder {
public:
    DebugLogRecorder(spdlog::logger& log, const Network& net): log_(log), net_(net) {}
    void record(const RecordedEvent& e) override {
        const EventRecord& r = e.event;
        const auto& k = r.event.key;
        log_.debug("t={} #{} {} {} -> {} (potential {})", k.time, r.number, to_string(k.kind), net_.names[k.target], to_string(r.result.outcome),
            r.result.potential);
    }

private:
    spdlog::logger& log_;
    const Network& net_;
};

} // namespace

// Under several ranks, the errors each rank met in setting up: if any has one, every rank
// stops, with its own error or, where it had none, the first other rank's (rank 0 reports it).
void agree_to_start(const std::shared_ptr<Communicator>& comm, std::exception_ptr failed) {
    if (!comm || comm->size() == 1) {
        if (failed) std::rethrow_exception(failed);
        return;
    }
    std::string mine;
    if (failed) {
        try {
            std::rethrow_exception(failed);
        }
        catch (const std::exception& e) {
            mine = e.what();
            if (mine.empty()) mine = "an error";
        }
        catch (...) {
            mine = "an unknown error";
        }
    }
    const std::vector<std::string> errors = comm->agree(mine);
    if (failed) std::rethrow_exception(failed);
    for (std::size_t r = 0; r < errors.size(); ++r) {
        if (!errors[r].empty()) throw InputError(fmt::format("on rank {}: {}", r, errors[r]));
    }
}

RunReport run_scenario(Scenario& sc, const RunSettings& rs) {
    // Rank 0 of several, or alone: the rank that writes the files, the log and checkpoints.
    // The other ranks run the same events and write nothing.
    const bool lead = !rs.comm || rs.comm->rank() == 0;
    std::optional<Checkpoint> resume;
    std::optional<RunLock> lock;
    std::optional<Simulation> simulation;
    struct GiveBack {
        Scenario& sc;
        std::optional<Simulation>& sim;
        ~GiveBack() {
            if (sim) sc.network = sim->release_network();
        }
    } give_back{sc, simulation};
    OutputFiles* files = nullptr;
    std::exception_ptr failed;
    try {
        // A checkpoint to resume from is read and matched against the command first, so that
        // its errors name the options; the Simulation checks the rest.
        if (rs.resume) {
            resume = read_checkpoint(*rs.resume);
            const std::uint64_t hash = sc.text_hash();
            if (resume->info.scenario_hash != hash) {
                throw InputError(fmt::format("{}: a checkpoint of another scenario (scenario hash {}), not of {} ({})", rs.resume->string(),
                    hex64(resume->info.scenario_hash), sc.path.string(), hex64(hash)));
            }
            const CheckpointBody sections = CheckpointBody::decode(*resume, *rs.resume);
            if (sections.log.empty() == rs.record.has_value()) {
                throw InputError(fmt::format("{}: {}", rs.resume->string(),
                    rs.record ? "the interrupted run recorded no event log; resume without --record"
                              : "the interrupted run recorded an event log; resume with --record and that log"));
            }
            if (sections.files.empty() == rs.write_files) {
                throw InputError(fmt::format("{}: the interrupted run wrote {}output files", rs.resume->string(), rs.write_files ? "no " : ""));
            }
        }
        std::optional<LogHeader> header;
        if (lead) {
            check_paths(sc, rs);
            lock.emplace(rs.out_dir);
            if (rs.record) header = make_log_header(sc, rs.scenario_arg);
        }
        // The network goes into the simulation for the run and comes back with its final state.
        SimulationOptions options = sc.simulation_options(rs.threads);
        options.batch = rs.batch;
        options.communicator = rs.comm;
        simulation.emplace(std::move(sc.network), options);
        Simulation& sim = *simulation;
        // The log first: when its header cannot be written, nothing else has been touched.
        if (lead && rs.record) sim.add_recorder(std::make_unique<EventLogRecorder>(*rs.record, std::move(*header)));
        if (lead && rs.write_files) files = &sim.add_recorder(std::make_unique<OutputFiles>(rs.out_dir, sim.network(), sc.output_settings(rs.out_dir)));
        // The other ranks take the state alone: their recorders are rank 0's.
        if (resume) sim.load_checkpoint(*resume, rs.resume->string(), lead ? CheckpointUse::resume : CheckpointUse::inspect);
        // Everything has been checked: only now is anything an earlier run left removed, or
        // the interrupted run's files cut back to the checkpoint.
        sim.start();
    }
    catch (...) {
        failed = std::current_exception();
    }
    agree_to_start(rs.comm, failed);
    Simulation& sim = *simulation;

    RunReport rep;
    const Network& net = sim.network();
    auto log = make_logger(sc, rs.out_dir, lead && rs.write_files, lead ? rs.log_level : "off");
    log->info("{}: {} neurons, {} stimuli, seed {}, until {}", sc.path.string(), net.size(), net.stimuli.size(), sc.seed,
        sc.end == Time::max() ? std::string("no events are left") : format_time(sc.end));
    if (resume) log->info("resumed from {} at {} after {} events", rs.resume->string(), sim.now(), sim.events_processed());
    Time next_checkpoint = Time::max();
    if (rs.checkpoint_every > Time::zero()) {
        const Time from = resume ? Time::from_ticks(resume->info.time_ticks) : Time::zero();
        next_checkpoint = from.ticks() > Time::max().ticks() - rs.checkpoint_every.ticks() ? Time::max() : from + rs.checkpoint_every;
    }
    std::deque<fs::path> kept; // this run's checkpoints, oldest first, for --checkpoint-keep
    // A checkpoint at time T is taken before the first event at or after T.
    auto take_checkpoint = [&](Time t) {
        if (!lead) return; // every rank holds the same state: rank 0 writes it
        const fs::path path = rs.checkpoint_dir / fmt::format("checkpoint-{:019}.ckpt", t.ticks());
        sim.save_checkpoint(path, t);
        log->info("checkpoint at {} after {} events: {}", t, sim.events_processed(), path.string());
        kept.push_back(path);
        while (rs.checkpoint_keep && kept.size() > rs.checkpoint_keep) {
            std::error_code ec;
            fs::remove(kept.front(), ec);
            kept.pop_front();
        }
    };
    // Between two events the state does not change: a gap that spans several multiples of
    // the period gets one checkpoint, at the last of them before the next event.
    auto checkpoint_if_due = [&] {
        const auto next = sim.next_event_time();
        if (next_checkpoint > sc.end || !next || sim.events_processed() >= sc.max_events) return;
        const Time next_event = *next;
        if (next_event < next_checkpoint) return;
        const Time last = std::min(next_event, sc.end);
        const std::int64_t period = rs.checkpoint_every.ticks();
        const Time t = next_checkpoint + Time::from_ticks((last - next_checkpoint).ticks() / period * period);
        take_checkpoint(t);
        next_checkpoint = t.ticks() > Time::max().ticks() - period ? Time::max() : t + rs.checkpoint_every;
    };
    if (log->should_log(spdlog::level::debug)) sim.add_recorder(std::make_unique<DebugLogRecorder>(*log, net));

    // Wall-clock figures are for the terminal only; no file records them.
    const auto wall_start = std::chrono::steady_clock::now();
    auto last_progress = wall_start;
    bool progress_shown = false;
    try {
        for (;;) {
            checkpoint_if_due();
            if (rs.break_at_event || rs.break_on_spike) {
                const auto& queue = sim.simulator().queue();
                if (!queue.empty()) {
                    const Event& next = queue.top();
                    if (sim.events_processed() + 1 == rs.break_at_event ||
                        (rs.break_on_spike && next.key.kind == EventKind::spike && next.key.target == *rs.break_on_spike)) {
                        spikenn_break_event = &next;
                        spikenn_break_engine = &sim.simulator();
                        spikenn_break_network = &net;
                        spikenn_break_here(&next);
                    }
                }
            }
            if (!sim.step()) break;
            if (lead && rs.progress && (sim.events_processed() & 0xfff) == 0) {
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
        // The simulated interval ends at the end time even when the last event came earlier;
        // run() does that, and finishes the recorders (the log's footer, the files' renames).
        rep.stop = sim.run();
    }
    catch (const SimulationError& e) {
        if (progress_shown) std::fprintf(stderr, "\n");
        log->error("{}: the run stopped at event {}: {}", sc.path.string(), e.event_number, e.what());
        log->flush();
        throw; // the recorders have kept what they recorded
    }
    if (progress_shown) std::fprintf(stderr, "\r%60s\r", "");
    rep.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    rep.fingerprint = sim.fingerprint();
    rep.blocks = sim.network().batch_stats();
    if (rs.comm) rep.exchange = rs.comm->stats();
    rep.end = sim.now();
    rep.counts = sim.counts();
    if (files) rep.files = files->file_names();
    log->info("finished at {} after {} events ({}), fingerprint {}", sim.now(), sim.events_processed(), to_string(rep.stop), hex64(rep.fingerprint));
    log->flush();
    return rep;
}

} // namespace spikenn
