#include "tools/debugger.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <functional>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include <editline/readline.h>
#include <fmt/format.h>

#include <spikenn/error.hpp>
#include <spikenn/input_file.hpp>
#include <spikenn/checkpoint.hpp>
#include <spikenn/eventlog.hpp>
#include <spikenn/hex.hpp>
#include "tools/history.hpp"
#include "tools/run.hpp"
#include <spikenn/scenario.hpp>
#include <spikenn/simulation.hpp>

namespace spikenn {

namespace fs = std::filesystem;

namespace {

// A state snapshot every this many events bounds the re-execution of `back`.
constexpr std::uint64_t snapshot_interval = 256;

struct Breakpoint {
    enum class Type { time, neuron, spike, drop, potential } type;
    int id = 0;
    bool enabled = true;
    Time time;
    EntityId neuron = 0;
    std::optional<EventKind> kind; // neuron: only this kind
    std::string op;                // potential: > < >= <=
    double value = 0;
    bool fired = false;            // time breakpoints fire once
};

class UserError: public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

std::string time_text(std::int64_t t) { return format_time(Time::from_ticks(t)); }

std::string neurons_text(std::size_t n) { return fmt::format("{} neuron{}", n, n == 1 ? "" : "s"); }

// A checkpoint without its history: its state, for the session to re-run to.
Checkpoint without_history(const Checkpoint& ck, CheckpointBody body) {
    body.history.reset();
    return Checkpoint{ck.version, ck.info, body.encode()};
}

// While it lives, the history recorder saves and loads only its length: for the debugger's
// snapshots of its own session.
class LengthsOnly {
public:
    explicit LengthsOnly(HistoryRecorder& h): h_(h) { h_.set_lengths_only(true); }
    ~LengthsOnly() { h_.set_lengths_only(false); }
    LengthsOnly(const LengthsOnly&) = delete;
    LengthsOnly& operator=(const LengthsOnly&) = delete;

private:
    HistoryRecorder& h_;
};

// The number of single-character edits that turn a into b (Levenshtein), for suggesting
// the name a mistyped one was meant to be.
std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// The population a neuron belongs to: "hidden" for "hidden[3]", nothing for a name without
// an index. The scenario names a population's members so (see the loader).
std::optional<std::string> population_of(const std::string& name) {
    const auto open = name.rfind('[');
    if (open == std::string::npos || open == 0 || name.back() != ']' || open + 2 >= name.size()) return std::nullopt;
    for (std::size_t i = open + 1; i + 1 < name.size(); ++i)
        if (name[i] < '0' || name[i] > '9') return std::nullopt;
    return name.substr(0, open);
}

// Commands whose repetition by an empty line at the prompt goes on moving or showing; the
// others (break, delete, checkpoint, resume, ...) would do something new when repeated.
bool repeatable(const std::string& command) {
    static const std::set<std::string> commands = {"step", "next", "continue", "until", "back", "print", "queue", "where", "why", "info"};
    return commands.contains(command);
}

class Debugger {
public:
    Debugger(std::ostream& out, EmptyLine empty): out_(out), empty_(empty) {}

    void open(const std::string& target);
    // Runs one command line; false when the session should end.
    bool execute(const std::string& line);

private:
    // Moving through events.
    std::optional<LogRecord> advance();
    std::uint64_t position() const { return browse_ ? pos_ : sim_->events_processed(); }
    // Every processed (or, browsing, recorded) event, by number - 1.
    const std::vector<LogRecord>& history() const { return browse_ ? browsed_ : history_->records(); }
    const LogRecord* current() const { return position() ? &history()[position() - 1] : nullptr; }
    bool breakpoint_hit(const LogRecord& r);
    void run_until(const std::function<bool(const LogRecord&)>& stop, bool use_breakpoints);
    void go_to(std::uint64_t number);

    void start_live(Scenario sc);
    void snapshot_if_due();
    // The session's state as a checkpoint whose history is only its length, and back to one.
    std::vector<unsigned char> snapshot();
    void restore(const std::vector<unsigned char>& snapshot);
    std::vector<unsigned char> state_bytes() const;

    // Commands.
    void cmd_step(const std::vector<std::string>& a);
    void cmd_next(const std::vector<std::string>& a);
    void cmd_until(const std::vector<std::string>& a);
    void cmd_break(const std::vector<std::string>& a);
    void cmd_print(const std::vector<std::string>& a);
    void cmd_queue(const std::vector<std::string>& a);
    void cmd_why();
    void cmd_back(const std::vector<std::string>& a);
    void cmd_checkpoint(const std::vector<std::string>& a);
    void cmd_resume();
    void cmd_help(const std::vector<std::string>& a);
    void cmd_info(const std::vector<std::string>& a);
    void list_breakpoints();
    void list_neurons();
    void print_neuron(EntityId id);

    // The neuron of that name; a population's name is refused with its members' names.
    EntityId neuron_arg(const std::string& name) const;
    // The neuron of that name, or the members of the population of that name, in order.
    std::vector<EntityId> neurons_arg(const std::string& name) const;
    [[noreturn]] void no_such_neuron(const std::string& name) const;
    std::string line_of(const LogRecord& r) const;
    std::string name(EntityId id) const { return neuron_name(id, names_); }

    std::ostream& out_;
    EmptyLine empty_;
    std::string last_command_; // what an empty line at the prompt repeats
    std::optional<Scenario> sc_; // its network is the simulation's
    std::unique_ptr<Simulation> sim_;
    HistoryRecorder* history_ = nullptr; // sim_'s
    std::vector<LogRecord> browsed_;     // browsing: the recorded events
    std::map<std::uint64_t, std::vector<unsigned char>> snapshots_; // by events processed
    LogHeader names_; // neuron and stimulus names
    bool browse_ = false;
    std::uint64_t pos_ = 0; // browsing: events passed
    std::string log_path_;
    std::vector<Breakpoint> breakpoints_;
    int next_breakpoint_ = 1;
};

// ---- opening -------------------------------------------------------------------------

// The session is changed only once the simulation has been made.
void Debugger::start_live(Scenario sc) {
    std::vector<std::string> stimuli;
    for (const auto& s: sc.network.stimuli) stimuli.push_back(s.name);
    const std::size_t neurons = sc.network.size();
    auto sim = std::make_unique<Simulation>(std::move(sc.network), sc.simulation_options(1));
    HistoryRecorder& history = sim->add_recorder(std::make_unique<HistoryRecorder>(neurons));
    sim->schedule_initial_events();
    sim_ = std::move(sim);
    history_ = &history;
    sc_.emplace(std::move(sc));
    names_.neuron_names = sim_->network().names;
    names_.stimulus_names = std::move(stimuli);
    snapshots_.clear();
    snapshots_[0] = snapshot();
}

void Debugger::open(const std::string& target) {
    const InputFile regular(target); // refuses a directory, a device or a FIFO (whose open would block)
    std::ifstream probe(target, std::ios::binary);
    char magic[8] = {};
    probe.read(magic, 8);
    if (probe && std::string(magic, 8) == "SNNEVLOG") {
        EventLogReader reader(target);
        browsed_ = reader.read_all();
        names_ = reader.header();
        browse_ = true;
        log_path_ = target;
        out_ << fmt::format("browsing {}: {} recorded events{}; 'resume' simulates from the current event\n", target, browsed_.size(),
            reader.footer() ? "" : " (the log was cut)");
        return;
    }
    Scenario sc = load_scenario(target);
    start_live(std::move(sc));
    out_ << fmt::format("{}: {} neurons, {} events pending at 0s; 'help' lists the commands\n", target, sim_->network().size(),
        sim_->simulator().queue().size());
}

// The simulator's state: what a re-run must reach.
std::vector<unsigned char> Debugger::state_bytes() const {
    StateWriter w;
    sim_->simulator().save_state(w);
    return w.bytes();
}

std::vector<unsigned char> Debugger::snapshot() {
    const LengthsOnly lengths(*history_);
    return sim_->checkpoint();
}

void Debugger::restore(const std::vector<unsigned char>& snapshot) {
    const LengthsOnly lengths(*history_);
    sim_->load_checkpoint(snapshot, "the debugger's snapshot"); // the history is cut back with it
}

void Debugger::snapshot_if_due() {
    const std::uint64_t n = sim_->events_processed();
    if (n % snapshot_interval == 0 && !snapshots_.contains(n)) snapshots_[n] = snapshot();
}

// ---- moving --------------------------------------------------------------------------

std::optional<LogRecord> Debugger::advance() {
    if (browse_) {
        if (pos_ >= browsed_.size()) return std::nullopt;
        return browsed_[pos_++];
    }
    snapshot_if_due();
    const std::uint64_t before = history_->records().size();
    if (!sim_->step()) return std::nullopt;
    if (history_->records().size() != before + 1) throw InternalError("debugger: the event was not recorded");
    return history_->records().back();
}

bool Debugger::breakpoint_hit(const LogRecord& r) {
    bool hit = false;
    for (auto& b: breakpoints_) {
        if (!b.enabled) continue;
        bool h = false;
        switch (b.type) {
        case Breakpoint::Type::time: h = !b.fired && r.time >= b.time.ticks(); b.fired |= h; break;
        case Breakpoint::Type::neuron: h = r.target == b.neuron && (!b.kind || *b.kind == r.kind); break;
        case Breakpoint::Type::spike: h = r.outcome == Outcome::delivered; break;
        case Breakpoint::Type::drop: h = r.outcome == Outcome::dropped; break;
        case Breakpoint::Type::potential:
            if (r.target == b.neuron) {
                const double p = r.potential;
                h = (b.op == ">" && p > b.value) || (b.op == ">=" && p >= b.value) || (b.op == "<" && p < b.value) || (b.op == "<=" && p <= b.value);
            }
            break;
        }
        if (h) {
            out_ << fmt::format("breakpoint {} hit\n", b.id);
            hit = true;
        }
    }
    return hit;
}

void Debugger::run_until(const std::function<bool(const LogRecord&)>& stop, bool use_breakpoints) {
    for (;;) {
        const auto r = advance();
        if (!r) {
            out_ << fmt::format("the run has ended at {} after {} events\n", browse_ ? time_text(browsed_.empty() ? 0 : browsed_.back().time) : format_time(sim_->now()),
                position());
            return;
        }
        const bool hit = use_breakpoints && breakpoint_hit(*r);
        if (hit || stop(*r)) {
            out_ << line_of(*r) << "\n";
            return;
        }
    }
}

// Brings the session to the state right after event `number` (backwards or forwards).
void Debugger::go_to(std::uint64_t number) {
    if (browse_) {
        pos_ = std::min<std::uint64_t>(number, browsed_.size());
        return;
    }
    if (number < sim_->events_processed()) {
        auto it = snapshots_.upper_bound(number);
        --it; // snapshot 0 always exists
        restore(it->second);
    }
    while (sim_->events_processed() < number) {
        if (!advance()) break;
    }
}

// ---- commands ------------------------------------------------------------------------

std::string Debugger::line_of(const LogRecord& r) const {
    std::string s = fmt::format("#{} t={} {} {}", r.number, time_text(r.time), to_string(r.kind), name(r.target));
    if (r.kind == EventKind::input) s += " <- " + describe_source(r.source, names_);
    s += fmt::format(": {}, potential {}", to_string(r.outcome), r.potential);
    if (r.cause) s += fmt::format(" (caused by #{})", r.cause);
    return s;
}

std::vector<EntityId> Debugger::neurons_arg(const std::string& n) const {
    const auto& names = names_.neuron_names;
    for (EntityId i = 0; i < names.size(); ++i)
        if (names[i] == n) return {i};
    std::vector<EntityId> members;
    for (EntityId i = 0; i < names.size(); ++i)
        if (population_of(names[i]) == n) members.push_back(i);
    if (members.empty()) no_such_neuron(n);
    return members;
}

EntityId Debugger::neuron_arg(const std::string& n) const {
    const std::vector<EntityId> ids = neurons_arg(n);
    if (ids.size() == 1 && names_.neuron_names[ids[0]] == n) return ids[0];
    throw UserError(fmt::format("'{}' is a population of {} ({} .. {}): name one of them", n, neurons_text(ids.size()), name(ids.front()), name(ids.back())));
}

void Debugger::no_such_neuron(const std::string& n) const {
    // The names within a few edits of the one given, closest first: neurons and populations.
    std::set<std::string> candidates;
    for (const auto& name: names_.neuron_names) {
        candidates.insert(name);
        if (auto p = population_of(name)) candidates.insert(*p);
    }
    const std::size_t allowed = std::max<std::size_t>(2, n.size() / 3);
    std::vector<std::pair<std::size_t, std::string>> close;
    for (const auto& c: candidates)
        if (const std::size_t d = edit_distance(n, c); d <= allowed) close.emplace_back(d, c);
    std::stable_sort(close.begin(), close.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    if (close.size() > 3) close.resize(3);
    std::string hint;
    for (const auto& [d, c]: close) hint += fmt::format("{}'{}'", hint.empty() ? "did you mean " : " or ", c);
    if (!hint.empty()) hint += "? ";
    throw UserError(fmt::format("no neuron or population '{}' ({}'info neurons' lists them)", n, hint));
}

std::optional<EventKind> kind_of(const std::string& k) {
    for (int i = 0; i < event_kind_count; ++i)
        if (k == to_string(static_cast<EventKind>(i))) return static_cast<EventKind>(i);
    return std::nullopt;
}

std::uint64_t count_arg(const std::vector<std::string>& a, std::size_t i, std::uint64_t dflt) {
    if (a.size() <= i) return dflt;
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(a[i].data(), a[i].data() + a[i].size(), v);
    if (ec != std::errc() || p != a[i].data() + a[i].size() || v == 0) throw UserError(fmt::format("'{}' is not a positive count", a[i]));
    return v;
}

Time time_arg(const std::string& s) {
    try {
        return parse_time(s);
    }
    catch (const std::invalid_argument& e) {
        throw UserError(e.what());
    }
}

void Debugger::cmd_step(const std::vector<std::string>& a) {
    const auto n = count_arg(a, 1, 1);
    for (std::uint64_t i = 0; i < n; ++i) {
        const auto r = advance();
        if (!r) {
            out_ << fmt::format("the run has ended after {} events\n", position());
            return;
        }
        out_ << line_of(*r) << "\n";
    }
}

void Debugger::cmd_next(const std::vector<std::string>& a) {
    if (a.size() < 2) throw UserError("next what? next neuron N | next spike | next drop | next kind K");
    const std::string& what = a[1];
    if (what == "spike") return run_until([](const LogRecord& r) { return r.outcome == Outcome::delivered; }, false);
    if (what == "drop") return run_until([](const LogRecord& r) { return r.outcome == Outcome::dropped; }, false);
    if (what == "neuron") {
        if (a.size() < 3) throw UserError("next neuron N: which neuron?");
        const EntityId id = neuron_arg(a[2]);
        return run_until([id](const LogRecord& r) { return r.target == id; }, false);
    }
    if (what == "kind") {
        if (a.size() < 3) throw UserError("next kind K: which kind (input, spike, decay_update, refractory_end)?");
        const auto k = kind_of(a[2]);
        if (!k) throw UserError(fmt::format("unknown event kind '{}' (input, spike, decay_update, refractory_end)", a[2]));
        return run_until([k](const LogRecord& r) { return r.kind == *k; }, false);
    }
    throw UserError(fmt::format("next {}: expected neuron, spike, drop or kind", what));
}

void Debugger::cmd_until(const std::vector<std::string>& a) {
    if (a.size() < 2) throw UserError("until T: which time?");
    const Time t = time_arg(a[1]);
    const LogRecord* now = current();
    if (now && now->time > t.ticks()) {
        out_ << fmt::format("already past {}: the current event is at {}\n", format_time(t), time_text(now->time));
        return;
    }
    // Stop before the first event after t: look at what comes next.
    for (;;) {
        std::optional<std::int64_t> next;
        if (browse_) {
            if (pos_ < browsed_.size()) next = browsed_[pos_].time;
        }
        else if (const auto& queue = sim_->simulator().queue(); !queue.empty() && queue.top().key.time <= sim_->options().until) {
            next = queue.top().key.time.ticks();
        }
        if (!next || *next > t.ticks()) {
            out_ << fmt::format("at {}: {} events processed\n", format_time(t), position());
            return;
        }
        const auto r = advance();
        if (!r) return;
        if (breakpoint_hit(*r)) {
            out_ << line_of(*r) << "\n";
            return;
        }
    }
}

void Debugger::cmd_break(const std::vector<std::string>& a) {
    if (a.size() < 2) throw UserError("break time T | break neuron N [K] | break spike | break drop | break potential N > X");
    Breakpoint b;
    const std::string& what = a[1];
    std::string text;
    if (what == "time" && a.size() == 3) {
        b.type = Breakpoint::Type::time;
        b.time = time_arg(a[2]);
        text = fmt::format("at time {}", format_time(b.time));
    }
    else if (what == "neuron" && (a.size() == 3 || a.size() == 4)) {
        b.type = Breakpoint::Type::neuron;
        b.neuron = neuron_arg(a[2]);
        if (a.size() == 4) {
            b.kind = kind_of(a[3]);
            if (!b.kind) throw UserError(fmt::format("unknown event kind '{}'", a[3]));
        }
        text = fmt::format("on neuron {}{}", a[2], b.kind ? fmt::format(", {} events", to_string(*b.kind)) : std::string(", any event"));
    }
    else if (what == "spike" && a.size() == 2) {
        b.type = Breakpoint::Type::spike;
        text = "on any spike";
    }
    else if (what == "drop" && a.size() == 2) {
        b.type = Breakpoint::Type::drop;
        text = "on any dropped input";
    }
    else if (what == "potential" && a.size() == 5) {
        b.type = Breakpoint::Type::potential;
        b.neuron = neuron_arg(a[2]);
        b.op = a[3];
        if (b.op != ">" && b.op != "<" && b.op != ">=" && b.op != "<=") throw UserError(fmt::format("'{}': expected >, <, >= or <=", b.op));
        try {
            std::size_t used = 0;
            b.value = std::stod(a[4], &used);
            if (used != a[4].size()) throw std::invalid_argument("");
        }
        catch (const std::exception&) {
            throw UserError(fmt::format("'{}' is not a number", a[4]));
        }
        text = fmt::format("when potential {} {} {}", a[2], b.op, a[4]);
    }
    else {
        throw UserError("break time T | break neuron N [K] | break spike | break drop | break potential N > X");
    }
    b.id = next_breakpoint_++;
    breakpoints_.push_back(b);
    out_ << fmt::format("breakpoint {} {}\n", b.id, text);
}

void Debugger::list_breakpoints() {
    if (breakpoints_.empty()) {
        out_ << "no breakpoints\n";
        return;
    }
    for (const auto& b: breakpoints_) {
        std::string what;
        switch (b.type) {
        case Breakpoint::Type::time: what = "time " + format_time(b.time); break;
        case Breakpoint::Type::neuron: what = "neuron " + name(b.neuron) + (b.kind ? " " + std::string(to_string(*b.kind)) : ""); break;
        case Breakpoint::Type::spike: what = "spike"; break;
        case Breakpoint::Type::drop: what = "drop"; break;
        case Breakpoint::Type::potential: what = fmt::format("potential {} {} {}", name(b.neuron), b.op, b.value); break;
        }
        out_ << fmt::format("{:>3}  {:<8} {}\n", b.id, b.enabled ? "enabled" : "disabled", what);
    }
}

void Debugger::cmd_print(const std::vector<std::string>& a) {
    if (a.size() >= 2 && a[1] == "event") {
        const LogRecord* r = current();
        if (!r) {
            out_ << "no event yet: nothing has been processed\n";
            return;
        }
        out_ << line_of(*r) << "\n";
        out_ << fmt::format("  key: time {} ticks, kind {}, target {}, source {}, seq {}\n", r->time, to_string(r->kind), name(r->target),
            describe_source(r->source, names_), r->seq);
        out_ << fmt::format("  tensor: {}\n", r->tensor_hash ? hex64(*r->tensor_hash) : std::string("none"));
        if (r->cause) out_ << "  cause: " << line_of(history()[r->cause - 1]) << "\n";
        else out_ << "  cause: the scenario's inputs and initial state\n";
        return;
    }
    // `print NAME` and `print neuron NAME`: a neuron, or each member of a population.
    const bool named = a.size() == 2 && a[1] != "neuron";
    if (named || (a.size() == 3 && a[1] == "neuron")) {
        const std::vector<EntityId> ids = neurons_arg(a.back());
        if (ids.size() > 1 || names_.neuron_names[ids[0]] != a.back()) out_ << fmt::format("population {}: {}\n", a.back(), neurons_text(ids.size()));
        for (const EntityId id: ids) print_neuron(id);
        return;
    }
    throw UserError("print event | print NAME (a neuron or a population) | print neuron NAME");
}

void Debugger::print_neuron(EntityId id) {
    if (browse_) {
        const LogRecord* last = nullptr;
        for (std::uint64_t i = pos_; i > 0; --i)
            if (browsed_[i - 1].target == id) {
                last = &browsed_[i - 1];
                break;
            }
        out_ << fmt::format("neuron {} (from the log; 'resume' to see its full state)\n", name(id));
        if (last) out_ << "  last event: " << line_of(*last) << "\n";
        else out_ << "  no recorded event yet\n";
        return;
    }
    const TransformerNeuron& n = sim_->network().neurons[id];
    const Time now = sim_->now();
    out_ << fmt::format("neuron {} at {}\n", name(id), format_time(now));
    // Every number as the shortest text that reads back as the same double, as event lines
    // and the exports write them.
    out_ << fmt::format("  potential        {} (decayed to now; {} at {})\n", n.potential_at(now), n.state.potential, format_time(n.state.last_update));
    out_ << fmt::format("  threshold        {}\n  reset potential  {}\n", n.params.threshold, n.params.reset_potential);
    if (n.state.last_spike) {
        const Time until = *n.state.last_spike + n.params.refractory_period;
        out_ << fmt::format("  last spike       {}\n  refractory until {}{}\n", format_time(*n.state.last_spike), format_time(until),
            n.refractory_at(now) ? "" : " (over)");
    }
    else {
        out_ << "  last spike       none\n";
    }
    out_ << "  pending self-scheduled events:\n";
    int shown = 0;
    for (const Event& e: sim_->simulator().queue().pending()) {
        if (e.key.target != id || e.key.source != id) continue;
        out_ << fmt::format("    {} at {} (seq {}){}\n", to_string(e.key.kind), format_time(e.key.time), e.key.seq,
            sim_->simulator().is_cancelled(e.key) ? " - cancelled" : "");
        ++shown;
    }
    if (!shown) out_ << "    none\n";
}

void Debugger::cmd_info(const std::vector<std::string>& a) {
    // gdb's spellings: `info breakpoints`, `info break`, `i b`: any start of the word.
    auto is = [&](const std::string& word) { return a.size() == 2 && word.rfind(a[1], 0) == 0; };
    if (is("breakpoints")) return list_breakpoints();
    if (is("neurons")) return list_neurons();
    throw UserError("info breakpoints | info neurons");
}

// One line per population (its members are consecutive: the loader numbers them so) and
// per neuron outside one.
void Debugger::list_neurons() {
    const auto& names = names_.neuron_names;
    out_ << fmt::format("{}:\n", neurons_text(names.size()));
    for (std::size_t i = 0; i < names.size();) {
        const auto pop = population_of(names[i]);
        std::size_t j = i + 1;
        while (pop && j < names.size() && population_of(names[j]) == pop) ++j;
        if (j - i > 1) out_ << fmt::format("  {} .. {} (population {}, {})\n", names[i], names[j - 1], *pop, neurons_text(j - i));
        else if (pop) out_ << fmt::format("  {} (population {}, 1 neuron)\n", names[i], *pop);
        else out_ << fmt::format("  {}\n", names[i]);
        i = j;
    }
}

void Debugger::cmd_queue(const std::vector<std::string>& a) {
    const auto n = count_arg(a, 1, 10);
    if (browse_) {
        out_ << "the next recorded events:\n";
        for (std::uint64_t i = pos_; i < browsed_.size() && i < pos_ + n; ++i) out_ << "  " << line_of(browsed_[i]) << "\n";
        return;
    }
    const auto pending = sim_->simulator().queue().pending();
    out_ << fmt::format("{} pending events; the next {} in the order they will run:\n", pending.size(), std::min<std::size_t>(n, pending.size()));
    for (std::size_t i = 0; i < pending.size() && i < n; ++i) {
        const Event& e = pending[i];
        std::string s = fmt::format("  t={} {} {}", format_time(e.key.time), to_string(e.key.kind), name(e.key.target));
        if (e.key.kind == EventKind::input) s += " <- " + describe_source(e.key.source, names_);
        s += fmt::format(" (seq {})", e.key.seq);
        if (sim_->simulator().is_cancelled(e.key)) s += " - cancelled";
        if (e.cause) s += fmt::format(" (scheduled by #{})", e.cause);
        out_ << s << "\n";
    }
}

void Debugger::cmd_why() {
    const LogRecord* r = current();
    if (!r) {
        out_ << "no event yet: nothing has been processed\n";
        return;
    }
    out_ << "  " << line_of(*r) << "\n";
    std::uint64_t cause = r->cause;
    const LogRecord* last = r;
    while (cause) {
        last = &history()[cause - 1];
        out_ << "  <- " << line_of(*last) << "\n";
        cause = last->cause;
    }
    if (last->kind == EventKind::input && is_external(last->source)) out_ << "  <- " << describe_source(last->source, names_) << " (an input of the scenario)\n";
    else out_ << "  <- the neuron's initial state\n";
}

void Debugger::cmd_back(const std::vector<std::string>& a) {
    const auto n = count_arg(a, 1, 1);
    const std::uint64_t now = position();
    const std::uint64_t target = n > now ? 0 : now - n;
    go_to(target);
    if (const LogRecord* r = current()) out_ << "back at " << line_of(*r) << "\n";
    else out_ << "back at the start: no event processed\n";
}

void Debugger::cmd_checkpoint(const std::vector<std::string>& a) {
    if (a.size() != 3 || (a[1] != "save" && a[1] != "load")) throw UserError("checkpoint save FILE | checkpoint load FILE");
    if (browse_) {
        // A log holds the events, not the state a checkpoint is made of: only a simulation has it.
        throw UserError(fmt::format("'checkpoint {}' needs a simulation, and this session browses a log: 'resume' first (it simulates "
                                    "the recorded run up to the current event, #{}), then 'checkpoint {} {}'",
            a[1], pos_, a[1], a[2]));
    }
    const std::string& path = a[2];
    if (a[1] == "save") {
        // A run's checkpoint (no event log, no output files), with the session's history.
        sim_->save_checkpoint(path);
        out_ << fmt::format("saved {} at {} after {} events\n", path, format_time(sim_->now()), sim_->events_processed());
        return;
    }
    Checkpoint ck;
    try {
        ck = read_checkpoint(path);
    }
    catch (const InputError& e) {
        throw UserError(e.what());
    }
    if (ck.info.scenario_hash != sc_->text_hash()) {
        throw UserError(fmt::format("{}: a checkpoint of another scenario; this session debugs {}", path, sc_->path.string()));
    }
    CheckpointBody body;
    try {
        body = CheckpointBody::decode(ck, path);
    }
    catch (const InputError& e) {
        throw UserError(e.what());
    }
    // Everything is checked before anything changes: a refused file leaves the session as it
    // was. A run's checkpoint gives the session its state; the run's files are the run's.
    try {
        sim_->load_checkpoint(ck, path, CheckpointUse::inspect);
    }
    catch (const InputError& e) {
        throw UserError(e.what());
    }
    const std::uint64_t n = sim_->events_processed();
    history_->truncate(n);
    if (history_->records().size() != n) {
        // No history, or a shorter one: rebuild the events before the checkpoint by re-running
        // them from the start.
        const std::vector<unsigned char> here = state_bytes();
        restore(snapshots_.at(0));
        while (sim_->events_processed() < n && advance()) {}
        if (state_bytes() != here) {
            out_ << "note: re-running to the checkpoint did not reach its state; 'why' and 'back' may not match it\n";
            sim_->load_checkpoint(without_history(ck, body), path, CheckpointUse::inspect); // its state, with the history re-run
        }
    }
    // The earlier snapshots stay valid: the scenario is the same and the run deterministic.
    snapshots_[n] = snapshot();
    out_ << fmt::format("loaded {}: at {} after {} events\n", path, format_time(sim_->now()), sim_->events_processed());
}

void Debugger::cmd_resume() {
    if (!browse_) throw UserError("'resume' continues a browsed log by simulating; this session simulates already");
    EventLogReader reader(log_path_);
    const LogHeader& h = reader.header();
    const ScenarioOverrides ov = recorded_overrides(h);
    Scenario sc;
    try {
        sc = load_scenario_text(h.scenario_path, h.scenario_text, ov);
    }
    catch (const InputError& e) {
        throw UserError(fmt::format("cannot simulate the log's scenario: {}", e.what()));
    }
    try {
        start_live(std::move(sc));
    }
    catch (const InputError& e) {
        throw UserError(fmt::format("cannot simulate the log's scenario: {}", e.what()));
    }
    const std::vector<LogRecord> recorded = std::move(browsed_);
    const std::uint64_t target = pos_;
    browsed_.clear();
    browse_ = false;
    while (sim_->events_processed() < target && advance()) {}
    const auto& history = history_->records();
    for (std::size_t i = 0; i < history.size(); ++i) {
        if (!(history[i] == recorded[i])) {
            out_ << fmt::format("warning: the simulation differs from the log at event {} (see 'spikenn replay')\n", i + 1);
            break;
        }
    }
    out_ << fmt::format("simulating from event {} at {}\n", sim_->events_processed(), format_time(sim_->now()));
}

void Debugger::cmd_help(const std::vector<std::string>& a) {
    static const std::vector<std::pair<std::string, std::string>> help = {
        {"step [n]", "s: process the next n events (default 1) and show them"},
        {"next neuron N | spike | drop | kind K", "n: run to the next event of neuron N, the next spike, dropped input, or event of kind K"},
        {"continue", "c: run to the next breakpoint or the end"},
        {"until T", "u: run every event at or before time T (stops at breakpoints)"},
        {"break time T | neuron N [K] | spike | drop | potential N > X", "b: stop when the condition holds after an event (also <, >=, <=)"},
        {"breakpoints", "bl, info breakpoints, i b: list breakpoints; disable K, enable K, delete K"},
        {"info neurons", "i n: the neurons and populations"},
        {"print NAME", "p: a neuron (as print neuron N), or each member of a population"},
        {"print neuron N", "p: potential now, threshold, reset, refractory period, last spike, pending self-scheduled events"},
        {"print event", "p: the current event and its cause"},
        {"queue [n]", "q: the next n pending events in the order they will run (default 10)"},
        {"where", "w: the current time and event number"},
        {"why", "the chain of causes of the current event back to the scenario's inputs"},
        {"back [n]", "step back n events (default 1): the state is exactly the forward run's there"},
        {"checkpoint save FILE | load FILE", "save the whole state to a file, or restore it"},
        {"resume", "browsing a log: simulate from the current event on"},
        {"help [command]", "h: this list"},
        {"(an empty line)", "at the prompt: the last step, next, continue, until, back, print, queue, where, why or info again"},
        {"quit", "end the session"},
    };
    for (const auto& [cmd, text]: help) {
        if (a.size() > 1 && cmd.rfind(a[1], 0) != 0) continue;
        out_ << fmt::format("  {:<58} {}\n", cmd, text);
    }
}

bool Debugger::execute(const std::string& given) {
    std::string line = given;
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
        if (empty_ == EmptyLine::skip || last_command_.empty()) return true;
        line = last_command_;
    }
    std::istringstream ss(line);
    std::vector<std::string> a;
    for (std::string w; ss >> w;) a.push_back(w);
    if (a[0][0] == '#') return true;
    static const std::map<std::string, std::string> short_forms = {{"s", "step"}, {"n", "next"}, {"c", "continue"}, {"u", "until"},
        {"b", "break"}, {"bl", "breakpoints"}, {"p", "print"}, {"q", "queue"}, {"w", "where"}, {"h", "help"}, {"i", "info"}, {"exit", "quit"}};
    if (auto it = short_forms.find(a[0]); it != short_forms.end()) a[0] = it->second;
    const std::string& c = a[0];
    // Only a command that moves or shows is repeated; any other clears what an empty line repeats.
    last_command_ = repeatable(c) ? line : std::string();
    try {
        if (c == "quit") return false;
        if (c == "step") cmd_step(a);
        else if (c == "next") cmd_next(a);
        else if (c == "continue") run_until([](const LogRecord&) { return false; }, true);
        else if (c == "until") cmd_until(a);
        else if (c == "break") cmd_break(a);
        else if (c == "breakpoints") list_breakpoints();
        else if (c == "info") cmd_info(a);
        else if (c == "disable" || c == "enable" || c == "delete") {
            const auto id = count_arg(a, 1, 0);
            auto it = std::find_if(breakpoints_.begin(), breakpoints_.end(), [&](const Breakpoint& b) { return b.id == static_cast<int>(id); });
            if (a.size() < 2 || it == breakpoints_.end()) throw UserError(fmt::format("{} K: no breakpoint {}", c, a.size() < 2 ? "given" : a[1]));
            if (c == "delete") breakpoints_.erase(it);
            else it->enabled = c == "enable";
            out_ << fmt::format("breakpoint {} {}\n", id, c == "delete" ? "deleted" : c + "d");
        }
        else if (c == "print") cmd_print(a);
        else if (c == "queue") cmd_queue(a);
        else if (c == "where") {
            const LogRecord* r = current();
            out_ << fmt::format("at {}, after event {}{}\n", browse_ ? time_text(r ? r->time : 0) : format_time(sim_->now()), position(),
                browse_ ? fmt::format(" of {} recorded", browsed_.size()) : std::string());
        }
        else if (c == "why") cmd_why();
        else if (c == "back") cmd_back(a);
        else if (c == "checkpoint") cmd_checkpoint(a);
        else if (c == "resume") cmd_resume();
        else if (c == "help") cmd_help(a);
        else throw UserError(fmt::format("unknown command '{}' (try 'help')", c));
    }
    catch (const UserError& e) {
        out_ << "error: " << e.what() << "\n";
    }
    catch (const SimulationError& e) {
        out_ << "error: the simulation failed: " << e.what() << "\n";
    }
    catch (const InputError& e) {
        out_ << "error: " << e.what() << "\n";
    }
    catch (const IoError& e) { // a checkpoint that cannot be saved: the session goes on
        out_ << "error: " << e.what() << "\n";
    }
    return true;
}

// Runs the session on `target` with the lines `next_line` gives (none: the input has ended).
int command_loop(const std::string& target, std::ostream& out, EmptyLine empty, const std::function<std::optional<std::string>()>& next_line) {
    Debugger d(out, empty);
    try {
        d.open(target);
    }
    catch (const InputError& e) {
        std::cerr << "spikenn: error: " << e.what() << "\n";
        return 2;
    }
    while (const auto line = next_line()) {
        if (!d.execute(*line)) break;
        out.flush();
    }
    return 0;
}

} // namespace

int debug_session(const std::string& target, std::istream& in, std::ostream& out, EmptyLine empty) {
    return command_loop(target, out, empty, [&]() -> std::optional<std::string> {
        std::string line;
        if (!std::getline(in, line)) return std::nullopt;
        out << "(spikenn) " << line << "\n";
        return line;
    });
}

int debug_command(const DebugOptions& o) {
    if (!o.commands.empty()) {
        std::ifstream in(o.commands);
        if (!in) throw InputError(fmt::format("{}: cannot be opened for reading", o.commands));
        return debug_session(o.target, in, std::cout);
    }
    if (!isatty(fileno(stdin))) return debug_session(o.target, std::cin, std::cout);
    // Line editing and history from libedit's readline interface; an empty line repeats.
    return command_loop(o.target, std::cout, EmptyLine::repeat, []() -> std::optional<std::string> {
        char* raw = readline("(spikenn) ");
        if (!raw) return std::nullopt;
        std::string line(raw);
        std::free(raw);
        if (line.find_first_not_of(" \t") != std::string::npos) add_history(line.c_str());
        return line;
    });
}

} // namespace spikenn
