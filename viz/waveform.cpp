#include <spikenn/waveform.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iterator>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include <fmt/format.h>

#include <spikenn/hex.hpp>
#include <spikenn/json.hpp>

namespace spikenn {

namespace {

// ---- VCD ----

// Identifier codes: base 94 over the printable characters '!' to '~'.
std::string vcd_code(std::size_t n) {
    std::string s;
    do {
        s += static_cast<char>('!' + n % 94);
        n /= 94;
    } while (n > 0);
    return s;
}

std::string vcd_real(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    return fmt::format("{}", v);
}

class VcdExporter final: public LogExporter {
public:
    VcdExporter(const LogHeader& h, const NeuronFacts& facts, std::string& out): n_(h.neuron_names.size()), refractory_(facts.refractory) {
        std::vector<std::string> scopes(n_);
        std::set<std::string> used;
        for (std::size_t i = 0; i < n_; ++i) {
            std::string s;
            for (char c: h.neuron_names[i]) s += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
            if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) s = "n_" + s;
            std::string unique = s;
            for (int k = 2; used.count(unique); ++k) unique = fmt::format("{}_{}", s, k);
            used.insert(unique);
            scopes[i] = unique;
        }
        fmt::format_to(std::back_inserter(out), "$version spike-nn {} $end\n", h.engine_version);
        fmt::format_to(std::back_inserter(out), "$comment scenario {}, seed {}; potentials are the values after each event.", h.scenario_path, h.seed);
        for (std::size_t i = 0; i < n_; ++i) {
            if (scopes[i] != h.neuron_names[i]) fmt::format_to(std::back_inserter(out), " {} is {}.", scopes[i], h.neuron_names[i]);
        }
        out += " $end\n$timescale 1 ns $end\n$scope module network $end\n";
        for (std::size_t i = 0; i < n_; ++i) {
            fmt::format_to(std::back_inserter(out), "$scope module {} $end\n$var real 64 {} potential $end\n$var wire 1 {} spike $end\n$var wire 1 {} refractory $end\n$upscope $end\n",
                scopes[i], vcd_code(3 * i), vcd_code(3 * i + 1), vcd_code(3 * i + 2));
        }
        out += "$upscope $end\n$enddefinitions $end\n#0\n$dumpvars\n";
        for (std::size_t i = 0; i < n_; ++i) {
            fmt::format_to(std::back_inserter(out), "r{} {}\n0{}\n0{}\n", vcd_real(facts.initial_potential[i]), vcd_code(3 * i), vcd_code(3 * i + 1), vcd_code(3 * i + 2));
        }
        out += "$end\n";
        slot_.assign(3 * n_, -1);
    }

    void add(const LogRecord& r, std::string& out) override {
        if (r.time != time_) {
            flush(out);
            // Spike lines fall one tick after their spike, before this time's changes.
            if (off_time_ < r.time) emit_offs(out);
            time_ = r.time;
            if (!off_.empty()) { // at exactly this time: part of its changes
                for (std::size_t var: off_) set(var, "0");
                off_.clear();
            }
        }
        if (r.target >= n_) return;
        const std::size_t base = 3 * static_cast<std::size_t>(r.target);
        set(base, fmt::format("r{} ", vcd_real(r.potential)));
        if (r.kind == EventKind::spike) {
            set(base + 1, "1");
            off_.push_back(base + 1);
            off_time_ = r.time + 1;
            if (refractory_[r.target]) set(base + 2, "1");
        }
        if (r.kind == EventKind::refractory_end) set(base + 2, "0");
    }

    void finish(const std::optional<LogFooter>&, std::string& out) override {
        flush(out);
        emit_offs(out);
    }

private:
    // The value a variable takes at the current time; the last one set wins.
    void set(std::size_t var, std::string value) {
        if (slot_[var] < 0) {
            slot_[var] = static_cast<int>(changes_.size());
            changes_.emplace_back(var, std::move(value));
        }
        else {
            changes_[static_cast<std::size_t>(slot_[var])].second = std::move(value);
        }
    }
    // The spike lines that fall one tick after their spike, at their own time.
    void emit_offs(std::string& out) {
        if (off_.empty()) return;
        emit_time(off_time_, out);
        for (std::size_t var: off_) fmt::format_to(std::back_inserter(out), "0{}\n", vcd_code(var));
        off_.clear();
    }
    void emit_time(std::int64_t t, std::string& out) {
        if (t == written_) return;
        fmt::format_to(std::back_inserter(out), "#{}\n", t);
        written_ = t;
    }
    void flush(std::string& out) {
        if (changes_.empty()) return;
        std::sort(changes_.begin(), changes_.end());
        emit_time(time_, out);
        for (const auto& [var, value]: changes_) {
            out += value;
            out += vcd_code(var);
            out += '\n';
            slot_[var] = -1;
        }
        changes_.clear();
    }

    std::size_t n_;
    std::vector<bool> refractory_;
    std::vector<int> slot_;
    std::vector<std::pair<std::size_t, std::string>> changes_;
    std::vector<std::size_t> off_;
    std::int64_t off_time_ = 0;
    std::int64_t time_ = 0;
    std::int64_t written_ = 0; // "#0" opens the dump
};

// ---- Chrome trace event JSON ----

// Ticks (ns) as microseconds, exactly.
std::string micros(std::int64_t ticks) { return fmt::format("{}.{:03}", ticks / 1000, ticks % 1000); }


class ChromeTraceExporter final: public LogExporter {
public:
    ChromeTraceExporter(const LogHeader& h, const NeuronFacts& facts, std::string& out): h_(h), refractory_(facts.refractory) {
        const std::size_t n = h.neuron_names.size();
        open_.assign(n, -1);
        out += "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
        event(out, fmt::format("{{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{{\"name\":{}}}}}", json_string("network: " + h.scenario_path)));
        for (std::size_t i = 0; i < n; ++i) {
            event(out, fmt::format("{{\"ph\":\"M\",\"pid\":1,\"tid\":{},\"name\":\"thread_name\",\"args\":{{\"name\":{}}}}}", i + 1, json_string(h.neuron_names[i])));
            event(out, fmt::format("{{\"ph\":\"M\",\"pid\":1,\"tid\":{},\"name\":\"thread_sort_index\",\"args\":{{\"sort_index\":{}}}}}", i + 1, 2 * i));
            if (!refractory_[i]) continue;
            event(out, fmt::format("{{\"ph\":\"M\",\"pid\":1,\"tid\":{},\"name\":\"thread_name\",\"args\":{{\"name\":{}}}}}", n + 1 + i, json_string(h.neuron_names[i] + " refractory")));
            event(out, fmt::format("{{\"ph\":\"M\",\"pid\":1,\"tid\":{},\"name\":\"thread_sort_index\",\"args\":{{\"sort_index\":{}}}}}", n + 1 + i, 2 * i + 1));
        }
    }

    void add(const LogRecord& r, std::string& out) override {
        last_ = std::max(last_, r.time);
        if (r.target >= h_.neuron_names.size()) return;
        const std::size_t tid = r.target + 1;
        const std::string ts = micros(r.time);
        if (r.kind == EventKind::spike) {
            event(out, fmt::format("{{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":{},\"ts\":{},\"cat\":\"spike\",\"name\":\"spike\",\"args\":{{\"event\":{}}}}}", tid, ts, r.number));
            event(out, fmt::format("{{\"ph\":\"X\",\"pid\":1,\"tid\":{},\"ts\":{},\"dur\":0.001,\"cat\":\"delivery\",\"name\":\"deliver\",\"args\":{{\"event\":{}}}}}", tid, ts, r.number));
            spikes_[r.number] = {r.target, r.time};
            if (refractory_[r.target]) {
                if (open_[r.target] >= 0) close(r.target, r.time, out);
                open_[r.target] = r.time;
            }
        }
        else if (r.kind == EventKind::refractory_end) {
            if (open_[r.target] >= 0) close(r.target, r.time, out);
        }
        else if (r.kind == EventKind::input) {
            const std::string source = describe_source(r.source, h_);
            event(out, fmt::format("{{\"ph\":\"X\",\"pid\":1,\"tid\":{},\"ts\":{},\"dur\":0.001,\"cat\":\"input\",\"name\":\"input {}\",\"args\":{{\"event\":{},\"from\":{},\"potential\":{}}}}}",
                tid, ts, to_string(r.outcome), r.number, json_string(source), number_text(r.potential)));
            if (r.outcome == Outcome::dropped) {
                event(out, fmt::format("{{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":{},\"ts\":{},\"cat\":\"drop\",\"name\":\"dropped input\",\"args\":{{\"event\":{},\"from\":{}}}}}",
                    tid, ts, r.number, json_string(source)));
            }
            if (const auto it = spikes_.find(r.cause); it != spikes_.end()) {
                const auto [from, at] = it->second;
                event(out, fmt::format("{{\"ph\":\"s\",\"id\":{},\"pid\":1,\"tid\":{},\"ts\":{},\"cat\":\"delivery\",\"name\":\"delivery\"}}", r.number, from + 1, micros(at)));
                event(out, fmt::format("{{\"ph\":\"f\",\"bp\":\"e\",\"id\":{},\"pid\":1,\"tid\":{},\"ts\":{},\"cat\":\"delivery\",\"name\":\"delivery\"}}", r.number, tid, ts));
            }
        }
    }

    void finish(const std::optional<LogFooter>& footer, std::string& out) override {
        // Refractory periods still running when the log ends.
        for (std::size_t i = 0; i < open_.size(); ++i) {
            if (open_[i] >= 0) close(static_cast<EntityId>(i), last_, out);
        }
        fmt::format_to(std::back_inserter(out), "\n],\"otherData\":{{\"generator\":{},\"scenario\":{},\"seed\":{},\"fingerprint\":{},\"time\":{}}}}}\n",
            json_string("spike-nn " + h_.engine_version), json_string(h_.scenario_path), json_string(std::to_string(h_.seed)),
            footer ? json_string(hex64(footer->fingerprint)) : "null",
            json_string("simulated; ts in microseconds of simulated time"));
    }

private:
    void event(std::string& out, const std::string& e) {
        if (!first_) out += ",\n";
        first_ = false;
        out += e;
    }
    void close(EntityId n, std::int64_t end, std::string& out) {
        const std::int64_t from = open_[n];
        event(out, fmt::format("{{\"ph\":\"X\",\"pid\":1,\"tid\":{},\"ts\":{},\"dur\":{},\"cat\":\"refractory\",\"name\":\"refractory\"}}", open_.size() + 1 + n, micros(from), micros(end - from)));
        open_[n] = -1;
    }

    const LogHeader& h_;
    std::vector<bool> refractory_; // per neuron: has a refractory track
    std::vector<std::int64_t> open_; // start of a running refractory period, or -1
    std::unordered_map<std::uint64_t, std::pair<EntityId, std::int64_t>> spikes_; // spike event number: neuron, time
    std::int64_t last_ = 0;
    bool first_ = true;
};

} // namespace

NeuronFacts neuron_facts(const std::filesystem::path& log, const LogHeader& h, const LogNeuronParams& known) {
    NeuronFacts f;
    const std::size_t n = h.neuron_names.size();
    if (const std::vector<NeuronParams>* params = known.of(n)) {
        for (const NeuronParams& p: *params) {
            f.initial_potential.push_back(p.reset_potential);
            f.refractory.push_back(p.refractory_period > Time::zero());
        }
        return f;
    }
    f.initial_potential.assign(n, 0.0);
    f.refractory.assign(n, false);
    EventLogReader r(log);
    std::vector<LogRecord> block;
    try {
        while (r.next_block(block)) {
            for (const LogRecord& rec: block) {
                if (rec.kind == EventKind::refractory_end && rec.target < n) f.refractory[rec.target] = true;
            }
        }
    }
    catch (const LogError&) {
        // The exporter reports the damage when it reaches it.
    }
    return f;
}

namespace {
// The exporters index the facts by neuron id: facts of another length are the caller's mistake.
void check_facts(const LogHeader& h, const NeuronFacts& facts) {
    const std::size_t n = h.neuron_names.size();
    if (facts.initial_potential.size() != n || facts.refractory.size() != n) {
        throw std::invalid_argument(fmt::format("an export was given the facts of {} and {} neurons for a log of {}", facts.initial_potential.size(),
            facts.refractory.size(), n));
    }
}
} // namespace

std::unique_ptr<LogExporter> make_vcd_exporter(const LogHeader& h, const NeuronFacts& facts, std::string& out) {
    check_facts(h, facts);
    return std::make_unique<VcdExporter>(h, facts, out);
}

std::unique_ptr<LogExporter> make_chrome_trace_exporter(const LogHeader& h, const NeuronFacts& facts, std::string& out) {
    check_facts(h, facts);
    return std::make_unique<ChromeTraceExporter>(h, facts, out);
}

} // namespace spikenn
