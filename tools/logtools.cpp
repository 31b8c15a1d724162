#include "tools/logtools.hpp"

#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include <fmt/format.h>

#include <spikenn/input_file.hpp>
#include <spikenn/eventlog.hpp>
#include <spikenn/hex.hpp>
#include <spikenn/outputs.hpp>
#include <spikenn/plot.hpp>
#include "tools/line_diff.hpp"
#include "tools/run.hpp"
#include <spikenn/scenario.hpp>
#include <spikenn/spike_stats.hpp>
#include <spikenn/waveform.hpp>
#include <spikenn/version.hpp>

namespace spikenn {

namespace {

std::string time_text(std::int64_t t) { return format_time(Time::from_ticks(t)); }

std::string tensor_text(const LogRecord& r) { return r.tensor_hash ? hex64(*r.tensor_hash) : "-"; }

// An event's source in the exports: a neuron's name, or "stimulus:NAME" (the stable name its
// random draws are keyed by), so that a reader tells the two apart without the number.
std::string export_source(EntityId source, const LogHeader& h) {
    if (!is_external(source)) return neuron_name(source, h);
    const auto i = external_index(source);
    return i < h.stimulus_names.size() ? "stimulus:" + h.stimulus_names[i] : fmt::format("stimulus:#{}", i);
}

// One line for an event: "#57 input to n1 at 1.2s from stimulus s003: spiked, potential 1.5".
std::string describe(const LogRecord& r, const LogHeader& h) {
    std::string s = fmt::format("#{} {} ", r.number, to_string(r.kind));
    if (r.kind == EventKind::input) s += fmt::format("to {} from {}", neuron_name(r.target, h), describe_source(r.source, h));
    else s += fmt::format("of {}", neuron_name(r.target, h));
    return s + fmt::format(" at {}: {}, potential {}", time_text(r.time), to_string(r.outcome), r.potential);
}

// The chain of causes of `r` back to a stimulus or the initial state, from the log.
void print_cause_chain(const LogRecord& r, EventLogReader& reader, std::FILE* out) {
    const LogHeader& h = reader.header();
    std::fprintf(out, "cause chain (from the log, latest first):\n  %s\n", describe(r, h).c_str());
    std::uint64_t cause = r.cause;
    for (int depth = 0; cause != 0 && depth < 50; ++depth) {
        const auto c = reader.find(cause);
        if (!c) {
            std::fprintf(out, "  #%llu (not in the log)\n", static_cast<unsigned long long>(cause));
            return;
        }
        std::fprintf(out, "  <- %s\n", describe(*c, h).c_str());
        cause = c->cause;
    }
    if (r.kind == EventKind::input && is_external(r.source) && r.cause == 0) {
        std::fprintf(out, "  <- %s (an input of the scenario)\n", describe_source(r.source, h).c_str());
    }
    else if (cause == 0) {
        std::fprintf(out, "  <- the scenario's inputs and initial state\n");
    }
}

void print_side_by_side(const char* left, const char* right, const std::optional<LogRecord>& a, const std::optional<LogRecord>& b,
    const LogHeader& ha, const LogHeader& hb) {
    auto row = [&](const char* field, auto&& f) {
        const std::string x = a ? f(*a, ha) : "(no event)";
        const std::string y = b ? f(*b, hb) : "(no event)";
        std::printf("  %-10s %-28s %-28s%s\n", field, x.c_str(), y.c_str(), x == y ? "" : "  <--");
    };
    std::printf("  %-10s %-28s %s\n", "", left, right);
    row("event", [](const LogRecord& r, const LogHeader&) { return fmt::format("#{}", r.number); });
    row("time", [](const LogRecord& r, const LogHeader&) { return fmt::format("{} ({} ticks)", time_text(r.time), r.time); });
    row("kind", [](const LogRecord& r, const LogHeader&) { return std::string(to_string(r.kind)); });
    row("target", [](const LogRecord& r, const LogHeader& h) { return neuron_name(r.target, h); });
    row("source", [](const LogRecord& r, const LogHeader& h) { return describe_source(r.source, h); });
    row("seq", [](const LogRecord& r, const LogHeader&) { return std::to_string(r.seq); });
    row("outcome", [](const LogRecord& r, const LogHeader&) { return std::string(to_string(r.outcome)); });
    row("potential", [](const LogRecord& r, const LogHeader&) { return fmt::format("{}", r.potential); });
    row("tensor", [](const LogRecord& r, const LogHeader&) { return tensor_text(r); });
    row("cause", [](const LogRecord& r, const LogHeader&) { return r.cause ? fmt::format("#{}", r.cause) : std::string("-"); });
}

// Reads a log block by block, one record at a time.
class RecordStream {
public:
    explicit RecordStream(EventLogReader& r): reader_(r) {}
    const LogRecord* next() {
        if (i_ == block_.size()) {
            if (!reader_.next_block(block_)) return nullptr;
            i_ = 0;
        }
        return &block_[i_++];
    }

private:
    EventLogReader& reader_;
    std::vector<LogRecord> block_;
    std::size_t i_ = 0;
};

// Where a file the log names is now. The log holds each path as the loader resolved it:
// the path the scenario gives, joined to the scenario's directory as the run was given it.
// A relative one is therefore kept relative to that recorded directory and found next to
// the scenario being replayed, where the loader finds it too: `--scenario elsewhere/x.yaml`
// checks elsewhere/data/in.npy, not the recorded scenarios/data/in.npy (nor a path taken
// against wherever replay happens to run).
std::filesystem::path file_now(const std::string& recorded, const LogHeader& h, const std::filesystem::path& scenario) {
    const std::filesystem::path p(recorded), dir = std::filesystem::path(h.scenario_path).parent_path();
    if (p.is_absolute() != dir.is_absolute() && !dir.empty()) return p; // absolute in the scenario
    std::filesystem::path rel = dir.empty() ? p : p.lexically_relative(dir);
    if (rel.empty()) rel = p;
    if (p.is_absolute() && *rel.begin() == "..") return p; // outside the scenario's directory: absolute in the scenario
    return (scenario.parent_path() / rel).lexically_normal();
}

// A file the log names, changed since: said before anything runs. `scenario` is the one
// replayed; `only`, with another scenario than the recorded one, the files it reads.
bool check_files(const LogHeader& h, const std::filesystem::path& scenario, const std::vector<std::string>* only) {
    bool ok = true;
    for (const auto& f: h.files) {
        std::filesystem::path now = file_now(f.path, h, scenario);
        if (only && std::find(only->begin(), only->end(), now.string()) == only->end()) {
            // An absolute path the scenario gives stays where it was.
            if (std::find(only->begin(), only->end(), f.path) == only->end()) continue;
            now = f.path;
        }
        const std::string kind = file_kind(now);
        const std::string as = now.string() == f.path ? "" : " as " + f.path;
        if (kind == "missing") {
            std::fprintf(stderr, "spikenn: %s, which the recorded run read%s, is missing\n", now.c_str(), as.c_str());
            ok = false;
            continue;
        }
        if (kind != "a regular file") {
            std::fprintf(stderr, "spikenn: %s, which the recorded run read as a file%s, is now %s\n", now.c_str(), as.c_str(), kind.c_str());
            ok = false;
            continue;
        }
        std::uint64_t hash = 0;
        try {
            hash = hash_file(now);
        }
        catch (const InputError& e) {
            std::fprintf(stderr, "spikenn: %s, which the recorded run read, cannot be read: %s\n", now.c_str(), e.what());
            ok = false;
            continue;
        }
        if (hash != f.hash) {
            std::fprintf(stderr, "spikenn: %s has changed since the log was recorded (hash %s then, %s now)\n", now.c_str(), hex64(f.hash).c_str(),
                hex64(hash).c_str());
            ok = false;
        }
    }
    return ok;
}

} // namespace

LogNeuronParams log_neuron_params(const LogHeader& h) {
    try {
        ScenarioOverrides ov;
        ov.weights = false;
        ov.seed = h.seed;
        const Scenario sc = load_scenario_text(h.scenario_path, h.scenario_text, ov);
        if (sc.network.size() != h.neuron_names.size()) {
            return LogNeuronParams::unknown(fmt::format("its scenario now has {} neurons, the log {}", sc.network.size(), h.neuron_names.size()));
        }
        std::vector<NeuronParams> out;
        out.reserve(sc.network.size());
        for (const auto& n: sc.network.neurons) out.push_back(n.params);
        return {std::move(out), {}};
    }
    catch (const std::exception& e) {
        return LogNeuronParams::unknown(e.what());
    }
}

int replay_command(const ReplayOptions& o) {
    EventLogReader reader(o.log);
    const LogHeader& h = reader.header();
    const ScenarioOverrides ov = recorded_overrides(h);
    Scenario sc;
    if (o.scenario.empty()) {
        if (!check_files(h, h.scenario_path, nullptr)) return 1;
        sc = load_scenario_text(h.scenario_path, h.scenario_text, ov);
    }
    else {
        sc = load_scenario(o.scenario, ov);
        if (!check_files(h, o.scenario, &sc.files)) return 1;
        // What was changed, before what the change does to the events.
        if (sc.text != h.scenario_text) {
            std::printf("replay: %s is not the scenario recorded in %s:\n%s", o.scenario.c_str(), o.log.c_str(),
                unified_diff(h.scenario_text, sc.text, fmt::format("{} (recorded)", h.scenario_path), o.scenario).c_str());
        }
    }

    RecordStream recorded(reader);
    std::optional<LogRecord> want, got;
    bool differs = false;
    bool log_ended = false; // the log has no more events and no footer: it was cut
    std::uint64_t matched = 0;
    Fingerprint fp;
    TensorHashCache hashes;
    Simulator sim(sc.network);
    sim.set_limits({sc.end, sc.max_events});
    sim.add_observer([&](const EventRecord& r, const Simulator& s) {
        const LogRecord now = to_log_record(r, s, hashes);
        fp.add(now);
        const LogRecord* rec = recorded.next();
        if (!rec && !reader.footer()) {
            log_ended = true;
            return;
        }
        if (!rec || !(*rec == now)) {
            differs = true;
            got = now;
            if (rec) want = *rec;
            return;
        }
        ++matched;
    });
    try {
        while (!differs && !log_ended && sim.step()) {}
    }
    catch (const SimulationError& e) {
        // The re-run failed. If the recorded run failed there too, its log ends just before.
        const LogRecord* rec = recorded.next();
        if (!rec && !reader.footer()) {
            std::printf("replay: the first %llu events match %s, and the re-run fails at the next event as the recorded run did:\n  %s\n",
                static_cast<unsigned long long>(matched), o.log.c_str(), e.what());
            return 0;
        }
        std::printf("replay: the re-run fails at event %llu, which the log records as:\n  %s\n  the failure: %s\n",
            static_cast<unsigned long long>(e.event_number), rec ? describe(*rec, h).c_str() : "(the end of the log)", e.what());
        if (rec) print_cause_chain(*rec, reader, stdout);
        return 1;
    }
    if (!differs && !log_ended) {
        // The run has ended: the log must end too.
        if (const LogRecord* rec = recorded.next()) {
            differs = true;
            want = *rec;
        }
        else if (!reader.footer()) {
            log_ended = true;
        }
    }
    if (log_ended) {
        std::fprintf(stderr, "spikenn: %s\n", reader.cut_message().c_str());
        std::printf("replay: the first %llu events match the log, which was cut there\n", static_cast<unsigned long long>(matched));
        return 2;
    }
    if (differs) {
        const std::uint64_t n = want ? want->number : got->number;
        std::printf("replay: event %llu differs from the log %s\n", static_cast<unsigned long long>(n), o.log.c_str());
        const LogHeader rerun_names = make_log_header(sc, o.scenario.empty() ? h.scenario_path : o.scenario);
        print_side_by_side("recorded", "re-run", want, got, h, rerun_names);
        if (want) print_cause_chain(*want, reader, stdout);
        else print_cause_chain(*got, reader, stdout);
        if (h.engine_version != SPIKENN_VERSION) {
            std::printf("note: the log was recorded by spike-nn %s and replayed by %s; the numbers of another version may differ\n",
                h.engine_version.c_str(), SPIKENN_VERSION);
        }
        return 1;
    }
    if (reader.footer()->fingerprint != fp.value()) {
        std::printf("replay: every event matches but the fingerprint differs (log %s, re-run %s)\n", hex64(reader.footer()->fingerprint).c_str(),
            hex64(fp.value()).c_str());
        return 1;
    }
    std::printf("replay: verified: %llu events match %s, fingerprint %s\n", static_cast<unsigned long long>(fp.events()), o.log.c_str(),
        hex64(fp.value()).c_str());
    return 0;
}

namespace {

// Ends a read that stopped early: the message for a cut log, and exit code 2.
int finish_reading(EventLogReader& reader) {
    if (reader.footer()) return 0;
    std::fprintf(stderr, "spikenn: %s\n", reader.cut_message().c_str());
    return 2;
}

std::int64_t time_arg(const std::string& s, const char* option) {
    try {
        return parse_time(s).ticks();
    }
    catch (const std::invalid_argument& e) {
        throw InputError(fmt::format("{}: {}", option, e.what()));
    }
}

} // namespace

int log_show(const ShowOptions& o) {
    EventLogReader reader(o.log);
    const LogHeader& h = reader.header();
    std::vector<char> want_neuron;
    if (!o.neurons.empty()) {
        want_neuron.assign(h.neuron_names.size(), 0);
        for (const auto& n: o.neurons) {
            auto it = std::find(h.neuron_names.begin(), h.neuron_names.end(), n);
            if (it == h.neuron_names.end()) throw InputError(fmt::format("--neuron: the log has no neuron '{}'", n));
            want_neuron[static_cast<std::size_t>(it - h.neuron_names.begin())] = 1;
        }
    }
    unsigned kinds = 0, outcomes = 0;
    for (const auto& k: o.kinds) {
        bool found = false;
        for (int i = 0; i < event_kind_count; ++i)
            if (k == to_string(static_cast<EventKind>(i))) kinds |= 1u << i, found = true;
        for (int i = 0; i < outcome_count; ++i)
            if (k == to_string(static_cast<Outcome>(i))) outcomes |= 1u << i, found = true;
        if (!found) throw InputError(fmt::format("--kind: '{}' is not an event kind or an outcome", k));
    }
    const std::int64_t from = o.from.empty() ? INT64_MIN : time_arg(o.from, "--from");
    const std::int64_t to = o.to.empty() ? INT64_MAX : time_arg(o.to, "--to");
    // The table is written by hand rather than through a format string per line: reading a
    // log is meant to run at millions of events per second.
    std::vector<std::string> targets(h.neuron_names.size()), stimuli(h.stimulus_names.size());
    for (std::size_t i = 0; i < targets.size(); ++i) targets[i] = h.neuron_names[i];
    for (std::size_t i = 0; i < stimuli.size(); ++i) stimuli[i] = "stimulus " + h.stimulus_names[i];
    std::string buf;
    buf.reserve(1 << 21);
    auto pad_left = [&](std::string_view v, std::size_t w) {
        if (v.size() < w) buf.append(w - v.size(), ' ');
        buf.append(v);
    };
    auto pad_right = [&](std::string_view v, std::size_t w) {
        buf.append(v);
        buf.append(v.size() < w ? w - v.size() + 1 : 1, ' ');
    };
    auto name_of = [&](EntityId id) -> std::string {
        if (is_external(id)) return external_index(id) < stimuli.size() ? stimuli[external_index(id)] : fmt::format("stimulus #{}", external_index(id));
        return id < targets.size() ? targets[id] : fmt::format("#{}", id);
    };
    buf += fmt::format("{:>10} {:>20} {:<15}{:<16}{:<20}{:<15}{:>24} {:>10} {}\n", "event", "time (s)", "kind", "target", "source", "outcome", "potential",
        "cause", "tensor");
    std::uint64_t shown = 0;
    std::vector<LogRecord> block;
    int code = 0;
    char num[32];
    try {
        while (reader.next_block(block)) {
            for (const auto& r: block) {
                if (!want_neuron.empty() && (r.target >= want_neuron.size() || !want_neuron[r.target])) continue;
                if ((kinds || outcomes) && !((kinds >> static_cast<unsigned>(r.kind)) & 1u) && !((outcomes >> static_cast<unsigned>(r.outcome)) & 1u)) continue;
                if (r.time < from || r.time > to) continue;
                pad_left(fmt::format_int(r.number).str(), 10);
                buf += ' ';
                {
                    // Exact seconds with nine decimals.
                    const bool neg = r.time < 0;
                    const std::uint64_t mag = neg ? 0 - static_cast<std::uint64_t>(r.time) : static_cast<std::uint64_t>(r.time);
                    std::string t = neg ? "-" : "";
                    t += fmt::format_int(mag / 1'000'000'000u).str();
                    t += '.';
                    const auto frac = fmt::format_int(mag % 1'000'000'000u);
                    t.append(9 - frac.size(), '0');
                    t.append(frac.data(), frac.size());
                    pad_left(t, 20);
                }
                buf += ' ';
                pad_right(to_string(r.kind), 14);
                pad_right(name_of(r.target), 15);
                pad_right(name_of(r.source), 19);
                pad_right(to_string(r.outcome), 14);
                {
                    // fmt's shortest round-trip form, as every other place prints a potential
                    // (std::to_chars would write 0.0001 as 1e-04).
                    const auto end = fmt::format_to_n(num, sizeof num, "{}", r.potential).out;
                    pad_left(std::string_view(num, static_cast<std::size_t>(end - num)), 24);
                }
                buf += ' ';
                pad_left(fmt::format_int(r.cause).str(), 10);
                buf += ' ';
                if (r.tensor_hash) {
                    static constexpr char digits[] = "0123456789abcdef";
                    char hex[18] = {'0', 'x'};
                    for (int k = 0; k < 16; ++k) hex[2 + k] = digits[(*r.tensor_hash >> (60 - 4 * k)) & 0xf];
                    buf.append(hex, 18);
                }
                else {
                    buf += '-';
                }
                buf += '\n';
                if (buf.size() > (1 << 21) - 512) {
                    std::fwrite(buf.data(), 1, buf.size(), stdout);
                    buf.clear();
                }
                ++shown;
                if (o.limit && shown >= o.limit) break;
            }
            if (o.limit && shown >= o.limit) break;
        }
        std::fwrite(buf.data(), 1, buf.size(), stdout);
        if (!(o.limit && shown >= o.limit)) code = finish_reading(reader);
        // An empty table is easy to take for a cut log: say that the filters matched nothing.
        if (shown == 0) {
            std::fflush(stdout);
            std::fprintf(stderr, "spikenn: no event of the %llu read matches the filters\n", static_cast<unsigned long long>(reader.events_read()));
        }
    }
    catch (const LogError&) {
        std::fwrite(buf.data(), 1, buf.size(), stdout);
        std::fflush(stdout);
        throw;
    }
    return code;
}

namespace {

// --bin: a time greater than 0.
Time parse_bin(const std::string& text) {
    const Time bin = Time::from_ticks(time_arg(text, "--bin"));
    if (bin <= Time::zero()) throw InputError(fmt::format("--bin: '{}': the bin width must be greater than 0 (for example 10ms)", text));
    return bin;
}

} // namespace

int log_stats(const StatsOptions& o) {
    const std::string& path = o.log;
    const Time bin = o.bin.empty() ? default_fano_bin : parse_bin(o.bin);
    EventLogReader reader(path);
    const LogHeader& h = reader.header();
    std::array<std::uint64_t, event_kind_count> by_kind{};
    std::array<std::uint64_t, outcome_count> by_outcome{};
    std::vector<std::uint64_t> events_of(h.neuron_names.size());
    SpikeTrains trains(h.neuron_names.size());
    Fingerprint fp;
    std::int64_t first = 0, last = 0;
    std::vector<LogRecord> block;
    while (reader.next_block(block)) {
        if (fp.events() == 0 && !block.empty()) first = block.front().time;
        for (const auto& r: block) {
            ++by_kind[static_cast<std::size_t>(r.kind)];
            ++by_outcome[static_cast<std::size_t>(r.outcome)];
            if (r.target < events_of.size()) ++events_of[r.target];
            trains.add(r);
            fp.add(r);
        }
        if (!block.empty()) last = block.back().time;
    }
    const Time end = recorded_end(h, fp.events(), Time::from_ticks(last), reader.footer().has_value());
    const SpikeStats st = trains.stats(h.neuron_names, end, bin);
    std::printf("log         %s (format version %u, spike-nn %s)\n", path.c_str(), h.version, h.engine_version.c_str());
    std::printf("scenario    %s (hash %s), seed %llu\n", h.scenario_path.c_str(), hex64(h.scenario_hash).c_str(), static_cast<unsigned long long>(h.seed));
    for (const auto& f: h.files) std::printf("file        %s (hash %s)\n", f.path.c_str(), hex64(f.hash).c_str());
    std::printf("events      %llu, from %s to %s\n", static_cast<unsigned long long>(fp.events()), time_text(first).c_str(), time_text(last).c_str());
    std::printf("by kind    ");
    for (int k = 0; k < event_kind_count; ++k) std::printf(" %s %llu%s", std::string(to_string(static_cast<EventKind>(k))).c_str(), static_cast<unsigned long long>(by_kind[static_cast<std::size_t>(k)]), k + 1 < event_kind_count ? "," : "\n");
    std::printf("by outcome ");
    for (int k = 0; k < outcome_count; ++k) std::printf(" %s %llu%s", std::string(to_string(static_cast<Outcome>(k))).c_str(), static_cast<unsigned long long>(by_outcome[static_cast<std::size_t>(k)]), k + 1 < outcome_count ? "," : "\n");
    std::printf("span        0s to %s (%s); rates are over it\n", format_time(end).c_str(),
        end.ticks() == h.end_ticks ? "the run's end time" : "its last event");
    auto value = [](const std::optional<double>& v, const char* form) { return v ? fmt::format(fmt::runtime(form), *v) : std::string("-"); };
    std::size_t width = 16;
    for (const auto& n: h.neuron_names) width = std::max(width, n.size());
    std::printf("\n  %-*s %10s %8s %8s %12s %14s %8s\n", static_cast<int>(width), "neuron", "events", "spikes", "drops", "rate (Hz)", "ISI mean (s)", "ISI CV");
    for (std::size_t i = 0; i < events_of.size(); ++i) {
        const TrainStats& t = st.neurons[i];
        std::printf("  %-*s %10llu %8llu %8llu %12s %14s %8s\n", static_cast<int>(width), h.neuron_names[i].c_str(), static_cast<unsigned long long>(events_of[i]),
            static_cast<unsigned long long>(t.spikes), static_cast<unsigned long long>(t.drops), value(t.rate_hz, "{:.6g}").c_str(),
            value(t.isi_mean_s, "{:.6g}").c_str(), value(t.isi_cv, "{:.4f}").c_str());
    }
    std::printf("\n  %-*s %6s %8s %8s %12s %14s %8s %8s\n", static_cast<int>(width), "population", "size", "spikes", "drops", "rate (Hz)", "ISI mean (s)", "ISI CV",
        "Fano");
    for (const PopulationStats& p: st.populations) {
        const TrainStats& t = p.train;
        std::printf("  %-*s %6zu %8llu %8llu %12s %14s %8s %8s\n", static_cast<int>(width), p.population.name.c_str(), p.population.members.size(),
            static_cast<unsigned long long>(t.spikes), static_cast<unsigned long long>(t.drops), value(t.rate_hz, "{:.6g}").c_str(),
            value(t.isi_mean_s, "{:.6g}").c_str(), value(t.isi_cv, "{:.4f}").c_str(), value(p.fano, "{:.4f}").c_str());
    }
    std::printf("  (rate: per neuron; ISIs: each member's, pooled; Fano factor: the population's spike counts in %llu bins of %s)\n",
        static_cast<unsigned long long>(st.populations.empty() ? 0 : st.populations.front().bins), format_time(bin).c_str());
    if (reader.footer()) {
        const bool same = reader.footer()->fingerprint == fp.value();
        std::printf("\nfingerprint %s%s\n", hex64(fp.value()).c_str(), same ? "" : " (the footer says otherwise: the log is inconsistent)");
        return same ? 0 : 2;
    }
    std::printf("\nfingerprint %s of the events read\n", hex64(fp.value()).c_str());
    return finish_reading(reader);
}

int log_export(const std::string& path, const std::string& format, const std::string& out_path) {
    EventLogReader reader(path);
    const LogHeader& h = reader.header();
    std::FILE* out = stdout;
    std::error_code ec;
    if (!out_path.empty() && std::filesystem::exists(out_path, ec) && std::filesystem::equivalent(out_path, path, ec)) {
        throw InputError(fmt::format("--out {}: that is the log being read", out_path));
    }
    if (!out_path.empty()) {
        out = std::fopen(out_path.c_str(), "wb");
        if (!out) throw InputError(fmt::format("{}: cannot be opened for writing", out_path));
    }
    const bool csv = format == "csv";
    std::string buf;
    std::unique_ptr<LogExporter> exporter;
    if (format == "vcd" || format == "chrome-trace") {
        const NeuronFacts facts = neuron_facts(path, h, log_neuron_params(h));
        exporter = format == "vcd" ? make_vcd_exporter(h, facts, buf) : make_chrome_trace_exporter(h, facts, buf);
    }
    if (csv) buf = "event,time_ticks,time_s,kind,target_id,target,source_id,source,seq,outcome,potential,cause,tensor_hash\n";
    const auto field = [](const std::string& s) { return csv_field(s); };
    std::vector<LogRecord> block;
    int code = 0;
    try {
        while (reader.next_block(block)) {
            for (const auto& r: block) {
                if (exporter) {
                    exporter->add(r, buf);
                    if (buf.size() > (1 << 20)) {
                        std::fwrite(buf.data(), 1, buf.size(), out);
                        buf.clear();
                    }
                    continue;
                }
                const std::string tensor = r.tensor_hash ? hex64(*r.tensor_hash) : "";
                const std::string secs = fmt::format("{}", static_cast<double>(r.time) / 1e9);
                if (csv) {
                    fmt::format_to(std::back_inserter(buf), "{},{},{},{},{},{},{},{},{},{},{},{},{}\n", r.number, r.time, secs, to_string(r.kind), r.target,
                        field(neuron_name(r.target, h)), r.source, field(export_source(r.source, h)), r.seq, to_string(r.outcome), r.potential, r.cause, tensor);
                }
                else {
                    // The CSV's columns, by the same names: target and source are names, their
                    // numbers target_id and source_id.
                    fmt::format_to(std::back_inserter(buf),
                        "{{\"event\":{},\"time_ticks\":{},\"kind\":\"{}\",\"target_id\":{},\"target\":{},\"source_id\":{},\"source\":{},"
                        "\"seq\":{},\"outcome\":\"{}\",\"potential\":{},\"cause\":{},\"tensor_hash\":{}}}\n",
                        r.number, r.time, to_string(r.kind), r.target, json_string(neuron_name(r.target, h)), r.source, json_string(export_source(r.source, h)), r.seq,
                        to_string(r.outcome), number_text(r.potential), r.cause,
                        r.tensor_hash ? "\"" + tensor + "\"" : "null");
                }
                if (buf.size() > (1 << 20)) {
                    std::fwrite(buf.data(), 1, buf.size(), out);
                    buf.clear();
                }
            }
        }
        if (exporter) {
            exporter->finish(reader.footer(), buf);
            exporter.reset();
        }
        code = finish_reading(reader);
    }
    catch (...) {
        // What was read stays readable: the file is closed properly before the error.
        if (exporter) exporter->finish(std::nullopt, buf);
        std::fwrite(buf.data(), 1, buf.size(), out);
        if (out != stdout) std::fclose(out);
        throw;
    }
    std::fwrite(buf.data(), 1, buf.size(), out);
    const bool failed = std::ferror(out) != 0;
    if ((out != stdout && std::fclose(out) != 0) || failed) throw InputError(fmt::format("{}: write failed", out_path.empty() ? "standard output" : out_path));
    return code;
}

int log_diff(const std::string& a_path, const std::string& b_path) {
    EventLogReader a(a_path), b(b_path);
    const LogHeader &ha = a.header(), &hb = b.header();
    bool header_differs = false;
    auto note = [&](const char* what, const std::string& x, const std::string& y) {
        if (x != y) {
            std::printf("header: %s differs: %s vs %s\n", what, x.c_str(), y.c_str());
            header_differs = true;
        }
    };
    note("scenario hash", hex64(ha.scenario_hash), hex64(hb.scenario_hash));
    if (ha.scenario_text != hb.scenario_text) {
        std::printf("%s", unified_diff(ha.scenario_text, hb.scenario_text, fmt::format("{} (the scenario of {})", ha.scenario_path, a_path),
                              fmt::format("{} (the scenario of {})", hb.scenario_path, b_path))
                              .c_str());
    }
    note("seed", std::to_string(ha.seed), std::to_string(hb.seed));
    note("end time", std::to_string(ha.end_ticks), std::to_string(hb.end_ticks));
    note("engine version", ha.engine_version, hb.engine_version);
    RecordStream sa(a), sb(b);
    for (;;) {
        const LogRecord* x = sa.next();
        const LogRecord* y = sb.next();
        if (!x && !y) break;
        if (!x || !y || !(*x == *y)) {
            const std::uint64_t n = x ? x->number : y->number;
            std::printf("the logs part at event %llu\n", static_cast<unsigned long long>(n));
            std::optional<LogRecord> ox, oy;
            if (x) ox = *x;
            if (y) oy = *y;
            print_side_by_side(a_path.c_str(), b_path.c_str(), ox, oy, ha, hb);
            if (x) print_cause_chain(*x, a, stdout);
            return 1;
        }
    }
    const int ca = finish_reading(a), cb = finish_reading(b);
    if (ca || cb) return 2;
    std::printf("the logs agree on all %llu events%s\n", static_cast<unsigned long long>(a.events_read()),
        header_differs ? " (their headers differ as shown)" : "");
    return header_differs ? 1 : 0;
}

} // namespace spikenn
