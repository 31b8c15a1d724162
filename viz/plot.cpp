#include <spikenn/plot.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <iterator>
#include <limits>

#include <fmt/format.h>

#include <spikenn/error.hpp>
#include <spikenn/hex.hpp>
#include <spikenn/spike_stats.hpp>

namespace spikenn {

namespace {

__extension__ typedef __int128 i128; // products of two times, which overflow 64 bits

// The page's geometry, in SVG user units (pixels at the default size).
constexpr double page_width = 1080;
constexpr double plot_left = 120; // room for neuron names
constexpr double plot_right = 975; // and to the right, room for population names
constexpr double plot_width = plot_right - plot_left;
constexpr int rate_bins = 200;
constexpr int isi_bins = 50;
constexpr std::size_t default_traces = 4;

constexpr const char* kind_colors[event_kind_count] = {"#9467bd", "#2ca02c", "#d62728", "#1f77b4"}; // in EventKind order
constexpr const char* spike_color = "#1f3b73";
constexpr const char* drop_color = "#e8731a";
// Populations' colours, in turn (the rate traces and the ISI histogram).
constexpr const char* population_colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#ff7f0e"};
const char* population_color(std::size_t k) { return population_colors[k % std::size(population_colors)]; }

// The length of the valid UTF-8 sequence at s[i], or 0 if there is none.
std::size_t utf8_length(std::string_view s, std::size_t i) {
    const auto b = static_cast<unsigned char>(s[i]);
    const std::size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
    }
    return n;
}

// Text for XML: markup characters escaped, control characters XML forbids and bytes that
// are not UTF-8 (names and paths are bytes) written as U+FFFD.
std::string xml_escape(std::string_view s) {
    std::string o;
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = utf8_length(s, i);
        const char c = s[i];
        if (n == 0 || (n == 1 && static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r')) {
            o += "\xEF\xBF\xBD";
            i += 1;
            continue;
        }
        switch (c) {
        case '&': o += "&amp;"; break;
        case '<': o += "&lt;"; break;
        case '>': o += "&gt;"; break;
        case '"': o += "&quot;"; break;
        case '\'': o += "&apos;"; break;
        default: o.append(s.substr(i, n));
        }
        i += n;
    }
    return o;
}

// At most `chars` characters of s (counting a byte that is not UTF-8 as one), never cutting one.
std::string utf8_prefix(std::string_view s, std::size_t chars) {
    std::size_t i = 0;
    for (std::size_t c = 0; c < chars && i < s.size(); ++c) i += std::max<std::size_t>(1, utf8_length(s, i));
    return std::string(s.substr(0, i));
}

// A coordinate with one decimal, exactly as the tenth-of-a-pixel grid the marks use.
std::string px(double v) { return fmt::format("{:.1f}", v); }

// Tick steps for time, in whole ticks: 1, 2 or 5 times a power of ten, the smallest at least
// `raw` (at most 5e18, which covers every time: raw is at most an eighth of the largest).
std::int64_t nice_ticks(std::int64_t raw) {
    for (std::int64_t p = 1;; p *= 10) {
        for (std::int64_t m: {1, 2, 5}) {
            if (m * p >= raw || p == 1'000'000'000'000'000'000) return m * p;
        }
    }
}

struct TimeUnit {
    std::int64_t ticks;
    const char* name;
};
TimeUnit unit_for(std::int64_t step) {
    if (step >= 1'000'000'000) return {1'000'000'000, "s"};
    if (step >= 1'000'000) return {1'000'000, "ms"};
    if (step >= 1'000) return {1'000, "µs"};
    return {1, "ns"};
}

// Ticks for a value axis: a step of 1, 2 or 5 times a power of ten giving about `count`
// intervals over [lo, hi]. Tick k is the value k * mantissa * 10^exponent, with an integer
// mantissa, so labels are written exactly and positions are the same on every machine.
struct ValueTicks {
    std::int64_t mantissa = 1;
    int exponent = 0;
};
double pow10(int e) {
    double v = 1;
    for (int i = 0; i < e; ++i) v *= 10;
    for (int i = 0; i > e; --i) v /= 10;
    return v;
}
ValueTicks nice_values(double lo, double hi, int count) {
    const double raw = (hi - lo) / count;
    for (int e = -12; e < 300; ++e) {
        for (std::int64_t m: {1, 2, 5}) {
            if (static_cast<double>(m) * pow10(e) >= raw) return {m, e};
        }
    }
    return {1, 300};
}
double tick_value(const ValueTicks& t, std::int64_t k) { return static_cast<double>(k * t.mantissa) * pow10(t.exponent); }
// q * 10^e written out exactly: "1500", "0.25", "-3".
std::string decimal(std::int64_t q, int e) {
    if (q == 0) return "0";
    std::string digits = std::to_string(q < 0 ? -q : q);
    if (e >= 0) {
        digits += std::string(static_cast<std::size_t>(e), '0');
    }
    else {
        const auto point = static_cast<std::size_t>(-e);
        if (digits.size() <= point) digits = std::string(point - digits.size() + 1, '0') + digits;
        digits.insert(digits.size() - point, ".");
        while (digits.back() == '0') digits.pop_back();
        if (digits.back() == '.') digits.pop_back();
    }
    return (q < 0 ? "-" : "") + digits;
}


struct Stats {
    std::size_t neurons = 0;
    std::uint64_t events = 0;
    std::int64_t last_time = 0;
    std::vector<std::uint64_t> spikes; // per neuron
    std::vector<double> pmin, pmax;
    std::vector<bool> has_refractory_end;
    std::array<std::uint64_t, event_kind_count> by_kind{};
    std::uint64_t total_spikes = 0, total_drops = 0;
};

// What a pass over the log ended with: its footer (none for a cut or damaged log), and a
// note for the page when the log ends early or is damaged.
struct PassEnd {
    std::optional<LogFooter> footer;
    std::string note;
    std::string problem; // the reader's message, when the log could not be read to its footer
};

// Calls f on every record it can read.
template <class F>
PassEnd each_record(const std::filesystem::path& path, F&& f) {
    EventLogReader reader(path);
    std::vector<LogRecord> block;
    try {
        while (reader.next_block(block)) {
            for (const LogRecord& r: block) f(r);
        }
    }
    catch (const LogError& e) {
        return {std::nullopt, fmt::format("The log is damaged after event {}; the page shows the events before: {}", e.event, e.what()), e.what()};
    }
    if (!reader.footer()) {
        return {std::nullopt, fmt::format("The log was cut after event {} (the run did not finish); the page shows what was recorded.", reader.events_read()),
            reader.cut_message()};
    }
    return {reader.footer(), {}, {}};
}

class Page {
public:
    std::string body;
    double y = 0; // the next free line

    template <class... Args>
    void add(fmt::format_string<Args...> f, Args&&... args) {
        fmt::format_to(std::back_inserter(body), f, std::forward<Args>(args)...);
    }
    void text(double x, double yy, std::string_view s, std::string_view attrs = "") {
        add("<text x=\"{}\" y=\"{}\"{}{}>{}</text>\n", px(x), px(yy), attrs.empty() ? "" : " ", attrs, xml_escape(s));
    }
};

struct TimeAxis {
    std::int64_t t1 = 1; // the axis runs from 0 to t1 ticks
    std::int64_t step = 1;
    TimeUnit unit{1, "ns"};
    const char* title = "simulated time";

    double x(std::int64_t t) const { return plot_left + plot_width * (static_cast<double>(t) / static_cast<double>(t1)); }
    // Tenths of a pixel from the left edge of the plot, as an integer (marks snap to these).
    std::int64_t x10(std::int64_t t) const {
        return static_cast<std::int64_t>(static_cast<i128>(t) * static_cast<i128>(plot_width * 10) / t1);
    }

    // Light vertical grid lines at the ticks over [top, bottom].
    void grid(Page& p, double top, double bottom) const {
        p.add("<g stroke=\"#e6e6e6\" stroke-width=\"1\">\n");
        for (std::int64_t k = 0; k <= t1 / step; ++k) p.add("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>\n", px(x(k * step)), px(top), px(bottom));
        p.add("</g>\n");
    }
    // Tick marks and labels below `yy`, with the axis title.
    void labels(Page& p, double yy) const {
        p.add("<g stroke=\"#333\" stroke-width=\"1\">\n<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>\n", px(plot_left), px(yy), px(plot_right), px(yy));
        for (std::int64_t k = 0; k <= t1 / step; ++k) p.add("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>\n", px(x(k * step)), px(yy), px(yy + 4));
        p.add("</g>\n<g text-anchor=\"middle\" fill=\"#333\">\n");
        for (std::int64_t k = 0; k <= t1 / step; ++k) p.text(x(k * step), yy + 16, fmt::format("{}", k * step / unit.ticks));
        p.add("</g>\n");
        p.text((plot_left + plot_right) / 2, yy + 32, fmt::format("{} ({})", title, unit.name), "text-anchor=\"middle\" fill=\"#333\"");
    }
};

struct ValueAxis {
    double lo = 0, hi = 1, top = 0, height = 1;
    double y(double v) const { return top + height * (1 - (v - lo) / (hi - lo)); }
};

// The points of a step trace over the rate_bins bins of the time axis, `value(b)` for bin b,
// and the end of the polyline they are in.
template <typename F>
void step_points(Page& p, const ValueAxis& a, F value) {
    for (int b = 0; b < rate_bins; ++b) {
        const double yv = a.y(value(b));
        p.add("{}{},{} {},{}", b ? " " : "", px(plot_left + plot_width * b / rate_bins), px(yv), px(plot_left + plot_width * (b + 1) / rate_bins), px(yv));
    }
    p.add("\"/>\n");
}

// The axis line, ticks and labels; `si` writes labels with k, M or G (for rates).
void value_axis(Page& p, const ValueAxis& a, const ValueTicks& t, bool si, std::string_view title) {
    p.add("<g stroke=\"#333\" stroke-width=\"1\">\n<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>\n", px(plot_left), px(a.top), px(a.top + a.height));
    const double step = tick_value(t, 1);
    const auto first = static_cast<std::int64_t>(std::ceil(a.lo / step - 1e-9));
    const auto last = static_cast<std::int64_t>(std::floor(a.hi / step + 1e-9));
    for (std::int64_t k = first; k <= last; ++k) p.add("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\"/>\n", px(plot_left - 4), px(a.y(tick_value(t, k))), px(plot_left));
    p.add("</g>\n<g text-anchor=\"end\" fill=\"#333\" font-size=\"11\">\n");
    int shift = 0;
    const char* suffix = "";
    if (si && a.hi >= 1e9) {
        shift = 9;
        suffix = "G";
    }
    else if (si && a.hi >= 1e6) {
        shift = 6;
        suffix = "M";
    }
    else if (si && a.hi >= 1e3) {
        shift = 3;
        suffix = "k";
    }
    for (std::int64_t k = first; k <= last; ++k) {
        const std::int64_t q = k * t.mantissa;
        p.text(plot_left - 7, a.y(tick_value(t, k)) + 4, q == 0 ? std::string("0") : decimal(q, t.exponent - shift) + suffix);
    }
    p.add("</g>\n");
    if (!title.empty()) p.text(plot_left - 7, a.top - 6, title, "text-anchor=\"end\" fill=\"#333\" font-size=\"11\"");
}

// The populations' colours, in a row from x.
void legend(Page& p, const std::vector<Population>& populations, double x) {
    p.add("<g font-size=\"11\" fill=\"#333\">\n");
    for (std::size_t k = 0; k < populations.size() && x < plot_right - 40; ++k) {
        std::string name = populations[k].name;
        if (utf8_prefix(name, 14) != name) name = utf8_prefix(name, 13) + "…";
        p.add("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"/>\n", px(x), px(p.y + 10), px(x + 20), px(p.y + 10), population_color(k));
        p.text(x + 26, p.y + 14, name);
        x += 26 + 6.5 * static_cast<double>(name.size()) + 22;
    }
    p.add("</g>\n");
}

// One neuron's potential over time, in page coordinates, as recorded and (with its
// parameters) decayed between events.
struct Trace {
    EntityId id = 0;
    const NeuronParams* params = nullptr;
    bool has_refractory = true; // without parameters: the log holds an expiry of it
    std::vector<std::pair<double, double>> points; // (time in ticks, potential)
    std::vector<std::pair<std::int64_t, std::int64_t>> refractory;
    std::optional<std::int64_t> refractory_from;
    std::vector<std::int64_t> spikes;
    bool anchored = false;
    TransformerNeuron n; // parameters and the state at the last event that set it

    void decay_to(std::int64_t t, const TimeAxis& axis) {
        if (!anchored || !params) return;
        const std::int64_t from = n.state.last_update.ticks();
        if (t <= from) return;
        if (params->decay.kind == DecayKind::linear) {
            if (auto z = n.zero_time(); z && z->ticks() < t) points.emplace_back(static_cast<double>(z->ticks()), n.potential_at(*z));
            points.emplace_back(static_cast<double>(t), n.potential_at(Time::from_ticks(t)));
        }
        else {
            const double width = axis.x(t) - axis.x(from);
            const auto k = std::clamp<std::int64_t>(static_cast<std::int64_t>(width / 3), 1, 24);
            for (std::int64_t i = 1; i <= k; ++i) {
                const std::int64_t ti = from + static_cast<std::int64_t>(static_cast<i128>(t - from) * i / k);
                points.emplace_back(static_cast<double>(ti), n.potential_at(Time::from_ticks(ti)));
            }
        }
    }

    void add(const LogRecord& r, const TimeAxis& axis) {
        const bool sets_state = r.kind == EventKind::input || r.kind == EventKind::spike;
        if (!sets_state || !std::isfinite(r.potential)) {
            if (r.kind == EventKind::refractory_end && refractory_from) {
                refractory.emplace_back(*refractory_from, r.time);
                refractory_from.reset();
            }
            return;
        }
        decay_to(r.time, axis);
        points.emplace_back(static_cast<double>(r.time), r.potential);
        n.state.potential = r.potential;
        n.state.last_update = Time::from_ticks(r.time);
        anchored = true;
        if (r.kind == EventKind::spike) {
            spikes.push_back(r.time);
            if (has_refractory) refractory_from = r.time;
        }
    }
};

} // namespace

std::string plot_svg(const std::filesystem::path& log, const PlotOptions& options, const LogNeuronParams& params) {
    return plot_log(log, options, params).svg;
}

Plot plot_log(const std::filesystem::path& log, const PlotOptions& options, const LogNeuronParams& known) {
    // First pass: counts, the time range, each neuron's potential range.
    Stats st;
    const LogHeader header = EventLogReader(log).header();
    st.neurons = header.neuron_names.size();
    st.spikes.assign(st.neurons, 0);
    st.pmin.assign(st.neurons, std::numeric_limits<double>::infinity());
    st.pmax.assign(st.neurons, -std::numeric_limits<double>::infinity());
    st.has_refractory_end.assign(st.neurons, false);
    std::vector<std::string> notes;
    const PassEnd first = each_record(log, [&](const LogRecord& r) {
        ++st.events;
        st.last_time = std::max(st.last_time, r.time);
        st.by_kind[static_cast<int>(r.kind)]++;
        if (r.target >= st.neurons) return;
        if (r.kind == EventKind::spike) {
            ++st.spikes[r.target];
            ++st.total_spikes;
        }
        if (r.outcome == Outcome::dropped) ++st.total_drops;
        if (r.kind == EventKind::refractory_end) st.has_refractory_end[r.target] = true;
        if (std::isfinite(r.potential)) {
            st.pmin[r.target] = std::min(st.pmin[r.target], r.potential);
            st.pmax[r.target] = std::max(st.pmax[r.target], r.potential);
        }
    });
    if (!first.note.empty()) notes.push_back(first.note);
    const std::optional<LogFooter>& footer = first.footer;

    const std::vector<NeuronParams>* params = known.of(header.neuron_names.size());
    if (!params) notes.push_back(fmt::format("The neurons' parameters are unknown ({}): traces join the recorded potentials with straight lines, without thresholds.", known.why));

    // The traced neurons.
    std::vector<EntityId> traced;
    if (!options.neurons.empty()) {
        for (const std::string& name: options.neurons) {
            const auto it = std::find(header.neuron_names.begin(), header.neuron_names.end(), name);
            if (it == header.neuron_names.end()) throw InputError(fmt::format("--neurons: the log has no neuron '{}'", name));
            const auto id = static_cast<EntityId>(it - header.neuron_names.begin());
            if (std::find(traced.begin(), traced.end(), id) == traced.end()) traced.push_back(id);
        }
    }
    else {
        std::vector<EntityId> ids(st.neurons);
        for (EntityId i = 0; i < st.neurons; ++i) ids[i] = i;
        std::stable_sort(ids.begin(), ids.end(), [&](EntityId a, EntityId b) { return st.spikes[a] > st.spikes[b]; });
        ids.resize(std::min(ids.size(), default_traces));
        std::sort(ids.begin(), ids.end());
        traced = ids;
    }

    // The axis runs to the run's end (its end time when it reached it, else its last
    // event: spike_stats.hpp), so that a silence before the end shows as one, and the rates
    // and statistics are over the span the page shows.
    const Time end = recorded_end(header, st.events, Time::from_ticks(st.last_time), footer.has_value());
    TimeAxis axis;
    axis.t1 = std::max<std::int64_t>(1, end.ticks());
    axis.step = nice_ticks(axis.t1 / 8 + 1);
    axis.unit = unit_for(axis.step);
    // Raster bands: runs of neighbouring neurons of one population (populations.hpp).
    struct Band {
        std::string name;
        std::size_t first = 0, last = 0; // neurons
    };
    std::vector<Band> bands;
    for (std::size_t i = 0; i < st.neurons; ++i) {
        const std::string_view pop = population_of(header.neuron_names[i]);
        if (bands.empty() || bands.back().name != pop) bands.push_back({std::string(pop), i, i});
        bands.back().last = i;
    }
    const std::vector<Population> populations = populations_of(header.neuron_names);

    // Raster rows: one per neuron, or neurons in groups beyond max_rows.
    const std::size_t max_rows = std::max<std::size_t>(1, options.max_rows);
    const std::size_t group = st.neurons > max_rows ? (st.neurons + max_rows - 1) / max_rows : 1;
    const std::size_t rows = std::max<std::size_t>(1, (st.neurons + group - 1) / group);
    const double row_h = std::clamp(480.0 / static_cast<double>(rows), 0.5, 16.0);
    if (group > 1) notes.push_back(fmt::format("{} neurons are drawn in {} raster rows of {} neurons each (row k holds neurons {}k to {}k + {}).", st.neurons, rows, group, group, group, group - 1));

    // Second pass: marks, traces and rates.
    std::vector<std::vector<std::int64_t>> spike_x(rows), drop_x(rows);
    std::vector<int> trace_of(st.neurons, -1);
    std::vector<Trace> traces(traced.size());
    for (std::size_t i = 0; i < traced.size(); ++i) {
        trace_of[traced[i]] = static_cast<int>(i);
        traces[i].id = traced[i];
        traces[i].has_refractory = params ? (*params)[traced[i]].refractory_period > Time::zero() : st.has_refractory_end[traced[i]];
        if (params) {
            // A run starts every neuron at its reset potential (Network::start).
            Trace& t = traces[i];
            t.params = &(*params)[traced[i]];
            t.n.params = *t.params;
            t.n.state.potential = t.params->reset_potential;
            t.anchored = true;
            t.points.emplace_back(0.0, t.params->reset_potential);
        }
    }
    std::vector<std::array<std::uint64_t, event_kind_count>> bins(rate_bins);
    std::uint64_t spike_marks = 0, drop_marks = 0;
    SpikeTrains trains(st.neurons);
    each_record(log, [&](const LogRecord& r) {
        trains.add(r);
        const auto b = static_cast<std::size_t>(std::min<i128>(rate_bins - 1, static_cast<i128>(r.time) * rate_bins / axis.t1));
        bins[b][static_cast<int>(r.kind)]++;
        if (r.target >= st.neurons) return;
        const std::size_t row = r.target / group;
        auto mark = [&](std::vector<std::int64_t>& xs, std::uint64_t& count) {
            const std::int64_t x = axis.x10(r.time);
            if (xs.empty() || xs.back() != x) { // times only grow: equal marks are neighbours
                xs.push_back(x);
                ++count;
            }
        };
        if (r.kind == EventKind::spike) mark(spike_x[row], spike_marks);
        if (r.outcome == Outcome::dropped) mark(drop_x[row], drop_marks);
        if (const int t = trace_of[r.target]; t >= 0) traces[static_cast<std::size_t>(t)].add(r, axis);
    });
    for (auto& t: traces) {
        t.decay_to(axis.t1, axis);
        if (t.refractory_from) t.refractory.emplace_back(*t.refractory_from, axis.t1);
    }
    if (spike_marks < st.total_spikes) {
        notes.push_back(fmt::format("{} spikes are drawn as {} marks: spikes of one raster row less than a tenth of a pixel apart share a mark.", st.total_spikes, spike_marks));
    }
    if (drop_marks < st.total_drops) {
        notes.push_back(fmt::format("{} dropped inputs are drawn as {} marks, in the same way.", st.total_drops, drop_marks));
    }

    Page p;
    // Title.
    p.text(20, 26, fmt::format("{}", header.scenario_path.empty() ? std::string("(scenario)") : header.scenario_path), "font-size=\"16\" font-weight=\"bold\" fill=\"#111\"");
    p.text(20, 46, fmt::format("{} neurons · {} events · {} spikes · {} dropped inputs · 0s to {}{} · seed {}{}", st.neurons, st.events, st.total_spikes, st.total_drops,
        format_time(end), end.ticks() == st.last_time ? std::string(" (the last event)") : fmt::format(" (last event at {})", format_time(Time::from_ticks(st.last_time))), header.seed, footer ? fmt::format(" · fingerprint {}", hex64(footer->fingerprint)) : std::string(" · no footer")), "fill=\"#444\"");
    p.y = 70;

    // Raster.
    p.text(20, p.y + 14, "Spike raster", "font-size=\"14\" font-weight=\"bold\" fill=\"#111\"");
    p.add("<g font-size=\"11\" fill=\"#333\">\n");
    p.add("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1.5\"/>\n", px(plot_left + 300), px(p.y + 4), px(plot_left + 300), px(p.y + 15), spike_color);
    p.text(plot_left + 306, p.y + 14, fmt::format("spike ({})", st.total_spikes));
    p.add("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"/>\n", px(plot_left + 420), px(p.y + 10), px(plot_left + 428), px(p.y + 10), drop_color);
    p.text(plot_left + 434, p.y + 14, fmt::format("dropped input ({})", st.total_drops));
    p.add("</g>\n");
    const double raster_top = p.y + 26;
    const double raster_h = row_h * static_cast<double>(rows);
    axis.grid(p, raster_top, raster_top + raster_h);
    p.add("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", px(plot_left), px(raster_top), px(plot_width), px(raster_h));
    // Row labels: names when they fit, else neuron numbers every few rows.
    p.add("<g text-anchor=\"end\" fill=\"#333\" font-size=\"11\">\n");
    if (group == 1 && row_h >= 9) {
        for (std::size_t i = 0; i < rows; ++i) {
            std::string name = header.neuron_names[i];
            if (utf8_prefix(name, 16) != name) name = utf8_prefix(name, 15) + "…";
            p.text(plot_left - 6, raster_top + row_h * (static_cast<double>(i) + 0.5) + 4, name);
        }
    }
    else {
        const auto every = static_cast<std::size_t>(std::ceil(14.0 / row_h));
        std::size_t stride = 1;
        while (stride < every) stride *= (stride % 10 == 0 || stride == 1) ? 5 : 2; // 1, 5, 10, 50, 100, ...
        for (std::size_t i = 0; i < rows; i += stride) p.text(plot_left - 6, raster_top + row_h * (static_cast<double>(i) + 0.5) + 4, fmt::format("{}", i * group));
    }
    p.add("</g>\n");
    p.add("<text x=\"16\" y=\"{0}\" transform=\"rotate(-90 16 {0})\" text-anchor=\"middle\" fill=\"#333\" font-size=\"11\">neuron</text>\n", px(raster_top + raster_h / 2));
    auto marks = [&](const std::vector<std::vector<std::int64_t>>& xs, const char* id, const char* color, double width, bool vertical, std::uint64_t events, std::uint64_t count) {
        p.add("<path id=\"{}\" data-events=\"{}\" data-marks=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" d=\"", id, events, count, color, px(width));
        for (std::size_t row = 0; row < xs.size(); ++row) {
            const double top = raster_top + row_h * static_cast<double>(row);
            for (std::int64_t x10: xs[row]) {
                const std::int64_t X = static_cast<std::int64_t>(plot_left * 10) + x10;
                if (vertical) p.add("M{}.{} {}v{}", X / 10, X % 10, px(top + row_h * 0.1), px(std::max(0.5, row_h * 0.8)));
                else p.add("M{}.{} {}h3", (X - 15) / 10, (X - 15) % 10, px(top + row_h * 0.5));
            }
        }
        p.add("\"/>\n");
    };
    marks(drop_x, "dropped", drop_color, std::min(2.0, std::max(0.5, row_h * 0.4)), false, st.total_drops, drop_marks);
    marks(spike_x, "spikes", spike_color, row_h >= 4 ? 1.5 : 1.0, true, st.total_spikes, spike_marks);
    // Population bands: a thin line between two, the name to the right of each (where it
    // fits: a band thinner than its text is left unnamed, and the page says so).
    {
        const double group_h = row_h / static_cast<double>(group); // the height of one neuron
        std::size_t unnamed = 0;
        p.add("<g stroke=\"#555\" stroke-width=\"0.6\">\n");
        for (std::size_t b = 1; b < bands.size(); ++b) {
            const double yy = raster_top + group_h * static_cast<double>(bands[b].first);
            p.add("<line class=\"population-separator\" x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\"/>\n", px(plot_left), px(yy), px(plot_right + 4));
        }
        p.add("</g>\n<g fill=\"#111\" font-size=\"11\">\n");
        for (const Band& b: bands) {
            const double top = raster_top + group_h * static_cast<double>(b.first), h = group_h * static_cast<double>(b.last + 1 - b.first);
            if (h < 9) {
                ++unnamed;
                continue;
            }
            std::string name = b.name;
            if (utf8_prefix(name, 14) != name) name = utf8_prefix(name, 13) + "…";
            p.add("<text class=\"population\" x=\"{}\" y=\"{}\">{}</text>\n", px(plot_right + 8), px(top + h / 2 + 4), xml_escape(name));
        }
        p.add("</g>\n");
        if (unnamed > 0) notes.push_back(fmt::format("{} of the raster's {} population bands are too thin to be named.", unnamed, bands.size()));
    }
    axis.labels(p, raster_top + raster_h);
    p.y = raster_top + raster_h + 50;

    // Spike rate per population: its spikes in each bin, per neuron, per second.
    {
        p.text(20, p.y + 14, "Spike rate per population (Hz, per neuron)", "font-size=\"14\" font-weight=\"bold\" fill=\"#111\"");
        const double bin_s = static_cast<double>(axis.t1) / rate_bins / 1e9;
        std::vector<std::vector<double>> rates;
        double max_hz = 0;
        for (const Population& pop: populations) {
            const std::vector<std::uint64_t> c = trains.counts(pop.members, Time::from_ticks(axis.t1), rate_bins);
            std::vector<double>& r = rates.emplace_back(c.size());
            for (std::size_t b = 0; b < c.size(); ++b) {
                r[b] = static_cast<double>(c[b]) / (static_cast<double>(pop.members.size()) * bin_s);
                max_hz = std::max(max_hz, r[b]);
            }
        }
        if (max_hz <= 0) max_hz = 1;
        legend(p, populations, plot_left + 330);
        ValueAxis ra{0, max_hz * 1.05, p.y + 34, 120};
        axis.grid(p, ra.top, ra.top + ra.height);
        p.add("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", px(plot_left), px(ra.top), px(plot_width), px(ra.height));
        for (std::size_t k = 0; k < populations.size(); ++k) {
            p.add("<polyline class=\"population-rate\" data-population=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.3\" points=\"", xml_escape(populations[k].name),
                population_color(k));
            step_points(p, ra, [&](int b) { return rates[k][static_cast<std::size_t>(b)]; });
        }
        value_axis(p, ra, nice_values(0, ra.hi, 4), true, "Hz");
        axis.labels(p, ra.top + ra.height);
        p.text(plot_right, ra.top + ra.height + 32, fmt::format("bins of {}", format_time(Time::from_ticks(axis.t1 / rate_bins))), "text-anchor=\"end\" fill=\"#666\" font-size=\"11\"");
        p.y = ra.top + ra.height + 56;
    }

    // Potential traces.
    if (!traces.empty()) {
        p.text(20, p.y + 14, "Membrane potential", "font-size=\"14\" font-weight=\"bold\" fill=\"#111\"");
        p.add("<g font-size=\"11\" fill=\"#333\">\n");
        p.add("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#1f77b4\" stroke-width=\"1.5\"/>\n", px(plot_left + 300), px(p.y + 10), px(plot_left + 320), px(p.y + 10));
        p.text(plot_left + 326, p.y + 14, "potential");
        p.add("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#d62728\" stroke-dasharray=\"5 3\"/>\n", px(plot_left + 400), px(p.y + 10), px(plot_left + 420), px(p.y + 10));
        p.text(plot_left + 426, p.y + 14, "threshold");
        p.add("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#555\" stroke-dasharray=\"2 2\"/>\n", px(plot_left + 500), px(p.y + 10), px(plot_left + 520), px(p.y + 10));
        p.text(plot_left + 526, p.y + 14, "reset level");
        p.add("<rect x=\"{}\" y=\"{}\" width=\"20\" height=\"10\" fill=\"#d9d9d9\"/>\n", px(plot_left + 610), px(p.y + 5));
        p.text(plot_left + 636, p.y + 14, "refractory");
        p.add("<path d=\"M{} {}l4 7h-8z\" fill=\"#d62728\"/>\n", px(plot_left + 730), px(p.y + 5));
        p.text(plot_left + 740, p.y + 14, "spike");
        p.add("</g>\n");
        p.y += 30;
        for (const Trace& t: traces) {
            const NeuronParams* np = t.params;
            double lo = std::min(0.0, st.pmin[t.id]), hi = std::max(0.0, st.pmax[t.id]);
            if (np) {
                lo = std::min({lo, np->reset_potential});
                hi = std::max({hi, np->threshold, np->reset_potential});
            }
            if (!(hi - lo > 1e-12)) hi = lo + 1;
            const double pad = (hi - lo) * 0.08;
            ValueAxis va{lo - pad, hi + pad, p.y + 20, 100};
            std::string title = header.neuron_names[t.id];
            if (np) title += fmt::format("   threshold {}, reset {}, refractory {}", np->threshold, np->reset_potential, format_time(np->refractory_period));
            p.text(plot_left, p.y + 12, title, "font-weight=\"bold\" fill=\"#222\"");
            axis.grid(p, va.top, va.top + va.height);
            p.add("<g fill=\"#d9d9d9\">\n");
            for (auto [a, b]: t.refractory) p.add("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>\n", px(axis.x(a)), px(va.top), px(std::max(0.5, axis.x(b) - axis.x(a))), px(va.height));
            p.add("</g>\n");
            p.add("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", px(plot_left), px(va.top), px(plot_width), px(va.height));
            if (np) {
                p.add("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#d62728\" stroke-dasharray=\"5 3\"/>\n", px(plot_left), px(va.y(np->threshold)), px(plot_right));
                p.add("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#555\" stroke-dasharray=\"2 2\"/>\n", px(plot_left), px(va.y(np->reset_potential)), px(plot_right));
            }
            p.add("<polyline class=\"potential\" data-neuron=\"{}\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.2\" points=\"", xml_escape(header.neuron_names[t.id]));
            for (std::size_t i = 0; i < t.points.size(); ++i) {
                const auto [tt, v] = t.points[i];
                p.add("{}{},{}", i ? " " : "", px(plot_left + plot_width * tt / static_cast<double>(axis.t1)), px(va.y(v)));
            }
            p.add("\"/>\n<g fill=\"#d62728\">\n");
            for (std::int64_t s: t.spikes) p.add("<path d=\"M{} {}l4 7h-8z\"/>\n", px(axis.x(s)), px(va.top - 8));
            p.add("</g>\n");
            value_axis(p, va, nice_values(va.lo, va.hi, 4), false, "");
            p.y = va.top + va.height + 14;
        }
        axis.labels(p, p.y - 14);
        p.y += 40;
    }

    // Event rates by kind.
    p.text(20, p.y + 14, "Events per second, by kind", "font-size=\"14\" font-weight=\"bold\" fill=\"#111\"");
    const double bin_seconds = static_cast<double>(axis.t1) / rate_bins / 1e9;
    double max_rate = 0;
    for (const auto& b: bins)
        for (auto c: b) max_rate = std::max(max_rate, static_cast<double>(c) / bin_seconds);
    if (max_rate <= 0) max_rate = 1;
    p.add("<g font-size=\"11\" fill=\"#333\">\n");
    double lx = plot_left + 230;
    for (int k = event_kind_count - 1; k >= 0; --k) {
        const std::string label = fmt::format("{} ({})", to_string(static_cast<EventKind>(k)), st.by_kind[static_cast<std::size_t>(k)]);
        p.add("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"/>\n", px(lx), px(p.y + 10), px(lx + 20), px(p.y + 10), kind_colors[k]);
        p.text(lx + 26, p.y + 14, label);
        lx += 26 + 6.5 * static_cast<double>(label.size()) + 22; // about 6.5 units a character at 11 units
    }
    p.add("</g>\n");
    ValueAxis ra{0, max_rate * 1.05, p.y + 34, 140};
    axis.grid(p, ra.top, ra.top + ra.height);
    p.add("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", px(plot_left), px(ra.top), px(plot_width), px(ra.height));
    for (int k = event_kind_count - 1; k >= 0; --k) {
        p.add("<polyline class=\"rate\" data-kind=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.3\" points=\"", to_string(static_cast<EventKind>(k)), kind_colors[k]);
        step_points(p, ra, [&](int b) { return static_cast<double>(bins[static_cast<std::size_t>(b)][static_cast<std::size_t>(k)]) / bin_seconds; });
    }
    value_axis(p, ra, nice_values(0, ra.hi, 4), true, "events/s");
    axis.labels(p, ra.top + ra.height);
    p.text(plot_right, ra.top + ra.height + 32, fmt::format("bins of {}", format_time(Time::from_ticks(axis.t1 / rate_bins))), "text-anchor=\"end\" fill=\"#666\" font-size=\"11\"");
    p.y = ra.top + ra.height + 56;

    // ISI histogram: each population's intervals (its members', pooled) in bins of equal
    // width from 0 to the longest, drawn as outlines so that populations overlap readably.
    {
        p.text(20, p.y + 14, "Inter-spike intervals", "font-size=\"14\" font-weight=\"bold\" fill=\"#111\"");
        std::vector<std::vector<std::int64_t>> gaps;
        std::int64_t longest = 0;
        std::size_t total = 0;
        for (const Population& pop: populations) {
            gaps.push_back(trains.intervals(pop.members));
            for (std::int64_t g: gaps.back()) longest = std::max(longest, g);
            total += gaps.back().size();
        }
        TimeAxis ia;
        ia.title = "interval";
        ia.step = nice_ticks(longest / 5 + 1);
        // The longest inside the last bin, and never past the largest time.
        ia.t1 = static_cast<std::int64_t>(std::min<i128>(std::numeric_limits<std::int64_t>::max(), static_cast<i128>(longest / ia.step + 1) * ia.step));
        ia.unit = unit_for(ia.step);
        std::vector<std::vector<std::uint64_t>> hist(populations.size(), std::vector<std::uint64_t>(isi_bins));
        std::uint64_t most = 1;
        for (std::size_t k = 0; k < populations.size(); ++k) {
            for (std::int64_t g: gaps[k]) {
                const auto b = static_cast<std::size_t>(std::min<i128>(isi_bins - 1, static_cast<i128>(g) * isi_bins / ia.t1));
                most = std::max(most, ++hist[k][b]);
            }
        }
        legend(p, populations, plot_left + 330);
        ValueAxis ha{0, static_cast<double>(most) * 1.05, p.y + 34, 120};
        p.add("<g id=\"isi-histogram\" data-intervals=\"{}\" data-bin-ticks=\"{}\">\n", total, ia.t1 / isi_bins);
        ia.grid(p, ha.top, ha.top + ha.height);
        p.add("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", px(plot_left), px(ha.top), px(plot_width), px(ha.height));
        for (std::size_t k = 0; k < populations.size(); ++k) {
            if (gaps[k].empty()) continue;
            p.add("<polyline class=\"isi\" data-population=\"{}\" data-intervals=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.3\" points=\"{},{}",
                xml_escape(populations[k].name), gaps[k].size(), population_color(k), px(plot_left), px(ha.y(0)));
            for (int b = 0; b < isi_bins; ++b) {
                const double yv = ha.y(static_cast<double>(hist[k][static_cast<std::size_t>(b)]));
                p.add(" {},{} {},{}", px(plot_left + plot_width * b / isi_bins), px(yv), px(plot_left + plot_width * (b + 1) / isi_bins), px(yv));
            }
            p.add(" {},{}\"/>\n", px(plot_right), px(ha.y(0)));
        }
        if (total == 0) p.text((plot_left + plot_right) / 2, ha.top + ha.height / 2, "no neuron spiked twice: no intervals", "text-anchor=\"middle\" fill=\"#666\"");
        p.add("</g>\n");
        value_axis(p, ha, nice_values(0, ha.hi, 4), true, "intervals");
        ia.labels(p, ha.top + ha.height);
        p.text(plot_right, ha.top + ha.height + 32, fmt::format("bins of {}", format_time(Time::from_ticks(ia.t1 / isi_bins))), "text-anchor=\"end\" fill=\"#666\" font-size=\"11\"");
        p.y = ha.top + ha.height + 56;
    }

    // Notes: everything aggregated, cut or unknown.
    if (!notes.empty()) {
        p.text(20, p.y + 4, "Notes", "font-weight=\"bold\" fill=\"#111\"");
        p.y += 20;
        for (const auto& n: notes) {
            p.text(20, p.y + 4, n, "font-style=\"italic\" fill=\"#8a1c1c\" class=\"note\"");
            p.y += 18;
        }
    }
    p.text(20, p.y + 14, fmt::format("spike-nn {} · event log format {} · drawn from the log alone", header.engine_version, header.version), "fill=\"#888\" font-size=\"10\"");
    p.y += 26;

    std::string out;
    fmt::format_to(std::back_inserter(out),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
        "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
        "<title>{2}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n",
        px(page_width), px(p.y), xml_escape(header.scenario_path));
    out += p.body;
    out += "</svg>\n";
    return {std::move(out), first.problem};
}

} // namespace spikenn
