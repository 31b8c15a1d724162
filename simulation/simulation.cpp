#include <spikenn/simulation.hpp>

#include <algorithm>

#include <fmt/format.h>

#include <spikenn/atomic_file.hpp>
#include <spikenn/event_log_recorder.hpp>
#include <spikenn/eventlog.hpp>
#include <spikenn/hex.hpp>

namespace spikenn {

namespace {

// What a checkpoint of a network built in code says it is of: a hash of the network's
// description (seed, names, parameters, synapses, stimuli), so that a checkpoint of another
// network is refused. Weights are not hashed: random ones follow from the seed and the
// names, and weights given in code or read from a file are the caller's to keep the same.
std::uint64_t description_hash(const Network& net) {
    StateWriter w;
    w.put(net.seed);
    w.put<std::uint64_t>(net.size());
    for (std::size_t i = 0; i < net.size(); ++i) {
        const NeuronParams& p = net.neurons[i].params;
        w.put_string(net.names[i]);
        w.put(p.shape.embed_dim);
        w.put(p.shape.num_heads);
        w.put(p.shape.hidden_dim);
        w.put(p.threshold);
        w.put(p.reset_potential);
        w.put(p.refractory_period.ticks());
        w.put(static_cast<std::int32_t>(p.decay.kind));
        w.put(p.decay.rate);
        w.put(p.decay.tau.ticks());
        w.put(static_cast<std::int32_t>(p.readout));
        w.put<std::uint64_t>(net.synapses[i].size());
        for (const Synapse& s: net.synapses[i]) {
            w.put(s.target);
            w.put(s.delay.ticks());
            w.put(s.weight);
        }
    }
    for (const Stimulus& s: net.stimuli) {
        w.put_string(s.name);
        w.put<std::uint64_t>(s.targets.size());
        for (EntityId t: s.targets) w.put(t);
        w.put<std::uint64_t>(s.at.size());
        for (Time t: s.at) w.put(t.ticks());
        w.put(s.every.ticks());
        w.put(s.from.ticks());
        w.put(s.until.ticks());
        w.put(static_cast<std::int32_t>(s.tensor.kind));
        w.put(s.tensor.rows);
        w.put(s.tensor.cols);
        w.put(s.tensor.value);
        w.put(hash_bytes(s.tensor.tensor.data.data(), s.tensor.tensor.data.size() * sizeof(float)));
    }
    // What 0.3.0 added: efficacies, Poisson rates, independent draws.
    for (const auto& out: net.synapses) {
        for (const Synapse& s: out) w.put(s.efficacy);
    }
    for (const Stimulus& s: net.stimuli) {
        w.put(s.efficacy);
        w.put(s.rate);
        w.put<std::uint8_t>(s.independent);
    }
    return hash_bytes(w.bytes().data(), w.bytes().size());
}

} // namespace

struct Simulation::Impl {
    Network net;
    SimulationOptions options;
    Simulator sim;
    RunCounts counts;
    // The fingerprint when no event log is recorded; with one, the log's writer keeps it
    // (and this one stays empty, as checkpoints have always held it).
    Fingerprint fingerprint;
    TensorHashCache hashes;
    std::vector<std::unique_ptr<Recorder>> recorders;
    EventLogRecorder* log = nullptr;
    // fresh: nothing started; running: the recorders started; finished: finish() told them
    // the run is over; failed: an event failed and they kept what they had. Only a loaded
    // checkpoint takes a finished or failed simulation back to running.
    enum class Phase { fresh, running, finished, failed } phase = Phase::fresh;
    std::optional<CheckpointInfo> loaded;

    Impl(Network n, const SimulationOptions& o): net(std::move(n)), options(o), sim(net), counts(net.size()) {
        sim.set_limits({options.until, options.max_events});
        net.set_compute(options.threads, options.batch);
        net.set_communicator(options.communicator);
        sim.add_observer([this](const EventRecord& r, const Simulator& s) { observe(r, s); });
    }
    ~Impl() { net.set_threads(1); } // the workers stop before the network they read goes

    void observe(const EventRecord& r, const Simulator& s) {
        counts.add(r);
        const LogRecord lr = to_log_record(r, s, hashes);
        if (!log) fingerprint.add(lr);
        const RecordedEvent e{r, lr, s};
        for (auto& rec: recorders) rec->record(e);
    }

    Recorder* in_section(CheckpointSection s) const {
        for (const auto& r: recorders) {
            if (r->section() == s) return r.get();
        }
        return nullptr;
    }

    std::uint64_t fingerprint_value() const { return log ? log->fingerprint().value() : fingerprint.value(); }

    bool started() const { return phase != Phase::fresh; }

    void start() {
        if (started()) return;
        for (auto& r: recorders) r->start();
        phase = Phase::running;
    }

    // Steps, runs and checkpoints go on only while the run does.
    void check_running(const char* what) {
        if (phase == Phase::finished) throw InputError(fmt::format("{}: the simulation has finished", what));
        if (phase == Phase::failed) throw InputError(fmt::format("{}: the simulation failed at an event; load a checkpoint to go on", what));
        start();
    }

    // A failed event: every recorder keeps what it has, then the error goes on.
    template <typename F>
    auto guarded(F&& f) {
        try {
            return f();
        }
        catch (const SimulationError&) {
            phase = Phase::failed;
            for (auto& r: recorders) r->abandon();
            throw;
        }
    }
};

Simulation::Simulation(Network network, SimulationOptions options) {
    if (options.until == Time::max()) {
        for (const Stimulus& s: network.stimuli) {
            if (s.endless()) {
                throw InputError(fmt::format("stimulus '{}': this schedule never ends: give it an end or the simulation an 'until'", s.name));
            }
        }
    }
    network.check();
    if (options.source_hash == 0) options.source_hash = description_hash(network);
    impl_ = std::make_unique<Impl>(std::move(network), options);
}

Simulation::~Simulation() = default;
Simulation::Simulation(Simulation&&) noexcept = default;
Simulation& Simulation::operator=(Simulation&&) noexcept = default;

void Simulation::add(std::unique_ptr<Recorder> r) {
    SPIKENN_CHECK(r != nullptr, "add_recorder(nullptr)");
    const CheckpointSection s = r->section();
    if (s == CheckpointSection::named) {
        const std::string name = r->section_name();
        if (name.empty()) throw InputError("a recorder in a named checkpoint section needs a name");
        for (const auto& o: impl_->recorders) {
            if (o->section() == s && o->section_name() == name) throw InputError(fmt::format("two recorders in the checkpoint section '{}'", name));
        }
    }
    else if (s != CheckpointSection::none && impl_->in_section(s)) {
        throw InputError("a simulation has one recorder of each checkpoint section");
    }
    if (impl_->started() && s != CheckpointSection::none && s != CheckpointSection::history) {
        throw InputError("a recorder that writes files is added before the simulation starts");
    }
    if (s == CheckpointSection::log) impl_->log = static_cast<EventLogRecorder*>(r.get());
    impl_->recorders.push_back(std::move(r));
}

void Simulation::start() { impl_->start(); }

void Simulation::schedule_initial_events() {
    impl_->check_running("schedule_initial_events");
    impl_->guarded([&] { impl_->sim.start(); });
}

Network Simulation::release_network() {
    impl_->recorders.clear();
    impl_->log = nullptr;
    impl_->net.set_threads(1);
    Network out = std::move(impl_->net);
    impl_.reset(); // the simulator refers to the network it was made with
    return out;
}

std::optional<EventRecord> Simulation::step() {
    impl_->check_running("step");
    return impl_->guarded([&] { return impl_->sim.step(); });
}

StopReason Simulation::run_until(Time t) {
    impl_->check_running("run_until");
    return impl_->guarded([&] { return impl_->sim.run_until(t); });
}

StopReason Simulation::run() {
    impl_->check_running("run");
    Impl& m = *impl_;
    const StopReason stop = m.guarded([&] {
        m.sim.run();
        const StopReason s = *m.sim.stop_reason();
        // The simulated interval ends at the end time even when the last event came earlier.
        if (s != StopReason::max_events && m.options.until != Time::max()) m.sim.run_until(m.options.until);
        return s;
    });
    finish(stop);
    return stop;
}

void Simulation::finish(StopReason stop) {
    Impl& m = *impl_;
    if (m.phase == Impl::Phase::finished) return;
    m.check_running("finish");
    m.phase = Impl::Phase::finished;
    const RunEnd end{m.sim, stop, m.fingerprint_value(), m.counts};
    for (auto& r: m.recorders) r->finish(end);
}

bool Simulation::finished() const { return impl_->phase == Impl::Phase::finished; }
Time Simulation::now() const { return impl_->sim.now(); }
std::uint64_t Simulation::events_processed() const { return impl_->sim.events_processed(); }
std::uint64_t Simulation::fingerprint() const { return impl_->fingerprint_value(); }
const RunCounts& Simulation::counts() const { return impl_->counts; }
const Network& Simulation::network() const { return impl_->net; }
const SimulationOptions& Simulation::options() const { return impl_->options; }
const Simulator& Simulation::simulator() const { return impl_->sim; }
std::optional<CheckpointInfo> Simulation::loaded_checkpoint() const { return impl_->loaded; }

std::optional<Time> Simulation::next_event_time() const {
    const auto& q = impl_->sim.queue();
    if (q.empty()) return std::nullopt;
    return q.top().key.time;
}

std::vector<unsigned char> Simulation::checkpoint(std::optional<Time> taken_at) {
    Impl& m = *impl_;
    // After the end the files are complete (the log has its footer): a checkpoint would
    // resume into a finished log.
    m.check_running("checkpoint");
    CheckpointBody body;
    StateWriter w, c, f;
    m.sim.save_state(w);
    m.counts.save_state(c);
    m.fingerprint.save_state(f);
    body.sim = w.str();
    body.counts = c.str();
    body.fingerprint = f.str();
    if (Recorder* r = m.in_section(CheckpointSection::log)) {
        StateWriter l;
        r->save_state(l);
        body.log = l.str();
    }
    if (Recorder* r = m.in_section(CheckpointSection::files)) {
        StateWriter o;
        r->save_state(o);
        body.files = o.str();
    }
    if (Recorder* r = m.in_section(CheckpointSection::history)) {
        StateWriter h;
        r->save_state(h);
        body.history = h.str();
    }
    for (const auto& r: m.recorders) {
        if (r->section() != CheckpointSection::named) continue;
        StateWriter n;
        r->save_state(n);
        body.named.push_back({r->section_name(), n.str(), 0});
    }
    const Time t = taken_at.value_or(m.sim.now());
    const CheckpointInfo info{m.options.source_hash, m.net.seed, m.options.until.ticks(), m.options.max_events, t.ticks(), m.sim.events_processed()};
    return encode_checkpoint(info, body.encode(), body.version());
}

void Simulation::save_checkpoint(const std::filesystem::path& path, std::optional<Time> taken_at) {
    const auto bytes = checkpoint(taken_at);
    write_file_atomically(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

void Simulation::load_checkpoint(const std::filesystem::path& path) {
    const Checkpoint c = read_checkpoint(path);
    load_checkpoint(c, path.string());
}

void Simulation::load_checkpoint(std::span<const unsigned char> bytes, const std::string& name) {
    load_checkpoint(parse_checkpoint(bytes, name), name);
}

void Simulation::load_checkpoint(const Checkpoint& ck, const std::string& name, CheckpointUse use) {
    Impl& m = *impl_;
    if (ck.info.scenario_hash != m.options.source_hash) {
        throw InputError(fmt::format("{}: a checkpoint of another scenario (scenario hash {}), not of this one ({})", name, hex64(ck.info.scenario_hash),
            hex64(m.options.source_hash)));
    }
    if (ck.info.seed != m.net.seed || ck.info.end_ticks != m.options.until.ticks() || ck.info.max_events != m.options.max_events) {
        throw InputError(fmt::format("{}: a checkpoint of a run with seed {}, until {} and max_events {}, not of this one (seed {}, until {}, max_events {})", name,
            ck.info.seed, ck.info.end_ticks, ck.info.max_events, m.net.seed, m.options.until.ticks(), m.options.max_events));
    }
    const CheckpointBody sections = CheckpointBody::decode(ck, name);
    Recorder* log = m.in_section(CheckpointSection::log);
    Recorder* files = m.in_section(CheckpointSection::files);
    Recorder* history = m.in_section(CheckpointSection::history);
    const bool resume = use == CheckpointUse::resume;
    if ((resume || log) && sections.log.empty() != (log == nullptr)) {
        throw InputError(fmt::format("{}: the interrupted run recorded {}an event log, and this simulation records {}", name,
            sections.log.empty() ? "no " : "", log ? "one" : "none"));
    }
    if ((resume || files) && sections.files.empty() != (files == nullptr)) {
        throw InputError(fmt::format("{}: the interrupted run wrote {}output files, and this simulation {}", name, sections.files.empty() ? "no " : "",
            files ? "writes them" : "does not"));
    }
    // The recorders of a program's own, each with its section of the checkpoint.
    std::vector<std::pair<Recorder*, const CheckpointBody::Named*>> named;
    for (const auto& r: m.recorders) {
        if (r->section() != CheckpointSection::named) continue;
        const CheckpointBody::Named* found = nullptr;
        for (const auto& n: sections.named) {
            if (n.name == r->section_name()) found = &n;
        }
        if (!found && resume) throw InputError(fmt::format("{}: the checkpoint has no section '{}' for this simulation's recorder", name, r->section_name()));
        if (found) named.emplace_back(r.get(), found);
    }
    if (resume && named.size() != sections.named.size()) {
        throw InputError(fmt::format("{}: the checkpoint has sections of recorders this simulation does not have", name));
    }
    if (m.started() && (log || files)) throw InputError(fmt::format("{}: a checkpoint is loaded before a simulation that writes files starts", name));

    // Every part is read and checked before the simulator takes its own, last: its load
    // is all or nothing, so a refused checkpoint changes nothing.
    try {
        if (files) {
            StateReader r(sections.files, sections.files_at);
            files->load_state(r, ck.version);
        }
        if (log) {
            StateReader r(sections.log, sections.log_at);
            log->load_state(r, ck.version);
        }
        if (history && sections.history) {
            StateReader r(*sections.history, sections.history_at);
            history->load_state(r, ck.version);
        }
        for (auto [r, section]: named) {
            StateReader n(section->bytes, section->at);
            r->load_state(n, ck.version);
        }
        RunCounts counts(m.net.size());
        StateReader c(sections.counts, sections.counts_at);
        counts.load_state(c);
        Fingerprint fingerprint;
        StateReader f(sections.fingerprint, sections.fingerprint_at);
        fingerprint.load_state(f);
        // A run that recorded a log kept its fingerprint in the log's section (and an empty
        // one of its own): without the log, this simulation keeps it itself.
        const bool log_kept = !log && !sections.log.empty();
        if (log_kept) {
            StateReader l(sections.log, sections.log_at);
            fingerprint = EventLogWriter::saved_fingerprint(l, ck.version);
        }
        // Every count of events must be the simulator's.
        const SavedClock clock = Simulator::saved_clock(StateReader(sections.sim, sections.sim_at));
        const std::uint64_t n = clock.processed;
        const std::uint64_t logged = m.log ? m.log->fingerprint().events() : fingerprint.events();
        if (ck.info.events != n) throw StateError(fmt::format("the header says {} events, the state {}", ck.info.events, n), 52);
        if (ck.info.time_ticks < clock.now.ticks()) throw StateError("the header's time is before the state's clock", 44);
        if (counts.events != n) throw StateError(fmt::format("the counts say {} events, the state {}", counts.events, n), sections.counts_at);
        if (logged != n) {
            throw StateError(fmt::format("the fingerprint covers {} events, the state {}", logged, n),
                m.log || log_kept ? sections.log_at : sections.fingerprint_at);
        }
        for (const StateReader* part: {&c, &f}) {
            if (!part->at_end()) throw StateError("bytes after the end of a section", part->offset());
        }
        StateReader r(sections.sim, sections.sim_at);
        m.sim.load_state(r, checkpoint_state_layout(ck.version));
        m.counts = std::move(counts);
        m.fingerprint = fingerprint;
    }
    catch (...) {
        for (Recorder* r: {files, log, history}) {
            if (r) r->discard_state();
        }
        for (auto [r, section]: named) r->discard_state();
        try {
            throw;
        }
        catch (const StateError& e) {
            throw checkpoint_error(name, e);
        }
    }
    for (Recorder* r: {files, log}) {
        if (r) r->commit_state();
    }
    if (history && sections.history) history->commit_state();
    for (auto [r, section]: named) r->commit_state();
    // The payloads are the checkpoint's now: hashes cached by the old ones' stamps are stale.
    m.hashes = TensorHashCache();
    if (m.phase != Impl::Phase::fresh) m.phase = Impl::Phase::running;
    m.loaded = ck.info;
}

} // namespace spikenn
