// The pictures and viewer formats drawn from event logs (tools/plot.hpp, tools/waveform.hpp),
// read back with real parsers: pugixml for the SVG, nlohmann/json for the trace, a VCD reader
// here, and when installed GTKWave's vcd2fst and librsvg's rsvg-convert.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include "cli_util.hpp"
#include <spikenn/eventlog.hpp>
#include <spikenn/plot.hpp>
#include <spikenn/waveform.hpp>
#include "tools/logtools.hpp"

using namespace spikenn;

namespace {

// A folder of this test process's own (CTest runs cases in parallel processes).
fs::path workdir(const std::string& name) {
    const fs::path d = fs::temp_directory_path() / fmt::format("spikenn_test_plot_{}_{}", ::getpid(), name);
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

// Records tests/data/layered.yaml into DIR/demo.evlog.
fs::path record_demo(const fs::path& d) {
    const fs::path log = d / "demo.evlog";
    REQUIRE(run_cli(fmt::format("run tests/data/layered.yaml --out '{}' --record '{}' -q", (d / "out").string(), log.string())).code == 0);
    return log;
}

struct LogCounts {
    std::uint64_t spikes = 0, drops = 0, refractory_ends = 0, delivered_inputs = 0;
    std::map<EntityId, std::uint64_t> spikes_of;
    std::map<EntityId, std::int64_t> first_spike; // time in ticks
    std::size_t neurons = 0;
};

LogCounts count(const fs::path& log) {
    EventLogReader r(log);
    LogCounts c;
    c.neurons = r.header().neuron_names.size();
    std::set<std::uint64_t> spike_events;
    for (const LogRecord& rec: r.read_all()) {
        if (rec.kind == EventKind::spike) {
            ++c.spikes;
            ++c.spikes_of[rec.target];
            c.first_spike.emplace(rec.target, rec.time);
            spike_events.insert(rec.number);
        }
        if (rec.outcome == Outcome::dropped) ++c.drops;
        if (rec.kind == EventKind::refractory_end) ++c.refractory_ends;
        if (rec.kind == EventKind::input && spike_events.count(rec.cause)) ++c.delivered_inputs;
    }
    return c;
}

// Marks in an SVG path's data: one "M" per mark.
std::size_t moves(const char* d) { return static_cast<std::size_t>(std::count(d, d + std::strlen(d), 'M')); }

bool have(const char* tool) { return std::system(fmt::format("command -v {} >/dev/null 2>&1", tool).c_str()) == 0; }

} // namespace

TEST_CASE("the plot is well-formed SVG with a mark per spike and per dropped input") {
    const fs::path d = workdir("svg");
    const fs::path log = record_demo(d);
    const LogCounts c = count(log);
    REQUIRE(c.spikes > 0);
    REQUIRE(c.drops > 0);
    const Result r = run_cli(fmt::format("plot '{}'", log.string()));
    INFO(r.err);
    REQUIRE(r.code == 0);
    const fs::path svg = d / "demo.svg"; // beside the log by default
    pugi::xml_document doc;
    const pugi::xml_parse_result parsed = doc.load_file(svg.c_str());
    INFO(parsed.description());
    REQUIRE(parsed);
    const pugi::xml_node root = doc.child("svg");
    REQUIRE(root);
    CHECK(std::string(root.attribute("xmlns").value()) == "http://www.w3.org/2000/svg");
    const pugi::xml_node spikes = root.find_child_by_attribute("path", "id", "spikes");
    const pugi::xml_node dropped = root.find_child_by_attribute("path", "id", "dropped");
    REQUIRE(spikes);
    REQUIRE(dropped);
    CHECK(moves(spikes.attribute("d").value()) == c.spikes);
    CHECK(spikes.attribute("data-events").as_ullong() == c.spikes);
    CHECK(moves(dropped.attribute("d").value()) == c.drops);
    // Four traces by default (the demo's input neurons spike most), one rate line per kind.
    std::size_t traces = 0, rates = 0, notes = 0;
    for (pugi::xml_node n: root.children()) {
        const std::string cls = n.attribute("class").value();
        traces += cls == "potential";
        rates += cls == "rate";
        notes += cls == "note";
    }
    CHECK(traces == 4);
    CHECK(rates == 4);
    CHECK(notes == 0); // nothing aggregated, cut or unknown
    // Axis titles and the legend are there.
    const std::string text = slurp(svg);
    CHECK(text.find("simulated time (ms)") != std::string::npos);
    CHECK(text.find("threshold 1, reset 0, refractory 120ms") != std::string::npos);
    CHECK(text.find(fmt::format("spike ({})", c.spikes)) != std::string::npos);

    // A viewer draws it.
    if (have("rsvg-convert")) {
        const fs::path png = d / "demo.png";
        CHECK(std::system(fmt::format("rsvg-convert '{}' -o '{}'", svg.string(), png.string()).c_str()) == 0);
        CHECK(slurp(png).substr(1, 3) == "PNG");
    }
    else {
        MESSAGE("rsvg-convert (librsvg2-bin) is not installed: the SVG was not rendered");
    }
}

TEST_CASE("a plot is a pure function of the log") {
    const fs::path d = workdir("pure");
    const fs::path log = record_demo(d);
    fs::copy_file(log, d / "elsewhere.evlog");
    REQUIRE(run_cli(fmt::format("plot '{}' --out '{}'", log.string(), (d / "a.svg").string())).code == 0);
    REQUIRE(run_cli(fmt::format("plot '{}' --out '{}'", (d / "elsewhere.evlog").string(), (d / "b.svg").string())).code == 0);
    CHECK(slurp(d / "a.svg") == slurp(d / "b.svg"));
    // run --plot draws the same page from the log it records.
    REQUIRE(run_cli(fmt::format("run tests/data/layered.yaml --out '{}' --plot -q", (d / "withplot").string())).code == 0);
    CHECK(slurp(d / "withplot" / "plot.svg") == slurp(d / "a.svg"));
    CHECK(fs::exists(d / "withplot" / "events.evlog"));
}

TEST_CASE("grouped raster rows and shared marks are said on the page") {
    const fs::path d = workdir("grouped");
    const fs::path log = record_demo(d);
    const LogCounts c = count(log);
    // 14 neurons in rows of 3: the hidden neurons that spike together share marks.
    REQUIRE(run_cli(fmt::format("plot '{}' --max-rows 5 --neurons 'out[1],in[2]'", log.string())).code == 0);
    pugi::xml_document doc;
    REQUIRE(doc.load_file((d / "demo.svg").c_str()));
    const pugi::xml_node root = doc.child("svg");
    const pugi::xml_node spikes = root.find_child_by_attribute("path", "id", "spikes");
    const std::size_t marks = moves(spikes.attribute("d").value());
    CHECK(marks < c.spikes);
    CHECK(spikes.attribute("data-marks").as_ullong() == marks);
    std::vector<std::string> notes, traced;
    for (pugi::xml_node n: root.children()) {
        if (std::string(n.attribute("class").value()) == "note") notes.push_back(n.child_value());
        if (std::string(n.attribute("class").value()) == "potential") traced.push_back(n.attribute("data-neuron").value());
    }
    REQUIRE(notes.size() == 3);
    CHECK(notes[0].find("14 neurons are drawn in 5 raster rows of 3") != std::string::npos);
    CHECK(notes[1].find(fmt::format("{} spikes are drawn as {} marks", c.spikes, marks)) != std::string::npos);
    CHECK(notes[2].find(fmt::format("{} dropped inputs are drawn as", c.drops)) != std::string::npos); // in[0] and in[1] share a row
    CHECK(traced == std::vector<std::string>{"out[1]", "in[2]"}); // in the order asked

    const Result bad = run_cli(fmt::format("plot '{}' --neurons nobody", log.string()));
    CHECK(bad.code == 2);
    CHECK(bad.err.find("--neurons: the log has no neuron 'nobody'") != std::string::npos);
}

TEST_CASE("the VCD export reads back with the log's spikes, and vcd2fst takes it") {
    const fs::path d = workdir("vcd");
    const fs::path log = record_demo(d);
    const LogCounts c = count(log);
    const fs::path vcd = d / "demo.vcd";
    REQUIRE(run_cli(fmt::format("log export '{}' --format vcd -o '{}'", log.string(), vcd.string())).code == 0);

    // A reader of the subset we write: declarations, then "#time" lines and value changes.
    std::istringstream in(slurp(vcd));
    std::string line;
    std::map<std::string, std::string> var_of; // code -> "scope.name"
    std::string scope;
    bool defs = true, timescale_ns = false;
    std::int64_t time = -1;
    std::map<std::string, char> level;
    std::map<std::string, std::uint64_t> rises;
    std::map<std::string, std::int64_t> first_rise;
    std::size_t reals = 0;
    while (std::getline(in, line)) {
        if (defs) {
            if (line.rfind("$timescale", 0) == 0) timescale_ns = line == "$timescale 1 ns $end";
            if (line.rfind("$scope module ", 0) == 0) scope = line.substr(14, line.find(" $end") - 14);
            if (line.rfind("$var ", 0) == 0) {
                std::istringstream v(line);
                std::string kw, type, width, code, name;
                v >> kw >> type >> width >> code >> name;
                CHECK(((type == "real" && width == "64") || (type == "wire" && width == "1")));
                var_of[code] = scope + "." + name;
            }
            if (line == "$enddefinitions $end") defs = false;
            continue;
        }
        if (line.empty() || line == "$dumpvars" || line == "$end") continue;
        if (line[0] == '#') {
            const std::int64_t t = std::stoll(line.substr(1));
            CHECK(t > time); // strictly increasing, one line per time
            time = t;
            continue;
        }
        if (line[0] == 'r') {
            const auto sp = line.find(' ');
            REQUIRE(sp != std::string::npos);
            CHECK(var_of.count(line.substr(sp + 1)) == 1);
            CHECK_NOTHROW((void)std::stod(line.substr(1, sp - 1)));
            ++reals;
            continue;
        }
        REQUIRE((line[0] == '0' || line[0] == '1'));
        const std::string code = line.substr(1);
        REQUIRE(var_of.count(code) == 1);
        if (line[0] == '1' && level[code] != '1') {
            ++rises[var_of[code]];
            first_rise.emplace(var_of[code], time);
        }
        level[code] = line[0];
    }
    CHECK(timescale_ns);
    CHECK(var_of.size() == 3 * c.neurons);
    CHECK(reals > c.neurons);
    std::uint64_t spike_rises = 0, refractory_rises = 0;
    for (const auto& [var, n]: rises) {
        if (var.ends_with(".spike")) spike_rises += n;
        if (var.ends_with(".refractory")) refractory_rises += n;
    }
    CHECK(spike_rises == c.spikes);
    CHECK(refractory_rises == c.spikes); // every demo neuron has a refractory period
    CHECK(rises["in_0_.spike"] == c.spikes_of.at(0));
    CHECK(first_rise["in_0_.spike"] == c.first_spike.at(0)); // 1 ns time scale: ticks as they are
    for (const auto& [code, l]: level) CHECK(l == '0'); // every line low again at the end

    if (have("vcd2fst")) {
        CHECK(std::system(fmt::format("vcd2fst '{}' '{}' >/dev/null 2>&1", vcd.string(), (d / "demo.fst").string()).c_str()) == 0);
        CHECK(fs::file_size(d / "demo.fst") > 0);
    }
    else {
        MESSAGE("vcd2fst (gtkwave) is not installed: only the test's own reader checked the VCD");
    }
}

TEST_CASE("the Chrome trace is valid JSON whose counts match the log") {
    const fs::path d = workdir("trace");
    const fs::path log = record_demo(d);
    const LogCounts c = count(log);
    const fs::path json = d / "demo.json";
    REQUIRE(run_cli(fmt::format("log export '{}' --format chrome-trace -o '{}'", log.string(), json.string())).code == 0);
    const nlohmann::json t = nlohmann::json::parse(slurp(json)); // throws if not valid JSON
    REQUIRE(t["traceEvents"].is_array());
    CHECK(t["displayTimeUnit"] == "ns");
    CHECK(t["otherData"]["fingerprint"] == "0xd7d1d2188e903ac3");
    CHECK(t["otherData"]["seed"] == "7");
    std::uint64_t spikes = 0, drops = 0, refractory = 0, threads = 0;
    std::map<std::uint64_t, std::vector<double>> flow_starts, flow_ends; // id: ts of each end
    bool first_spike_found = false;
    const double first_spike_us = static_cast<double>(c.first_spike.at(0)) / 1000;
    for (const auto& e: t["traceEvents"]) {
        const std::string ph = e["ph"], name = e["name"];
        if (ph == "M" && name == "thread_name") ++threads;
        if (ph == "i" && name == "spike") {
            ++spikes;
            first_spike_found |= e["tid"] == 1 && std::abs(e["ts"].get<double>() - first_spike_us) < 1e-6;
        }
        if (ph == "i" && name == "dropped input") ++drops;
        if (ph == "X" && name == "refractory") {
            ++refractory;
            CHECK(e["dur"].get<double>() > 0);
            CHECK(e["tid"].get<std::size_t>() > c.neurons); // on the neuron's refractory track
        }
        if (ph == "s") flow_starts[e["id"].get<std::uint64_t>()].push_back(e["ts"].get<double>());
        if (ph == "f") {
            flow_ends[e["id"].get<std::uint64_t>()].push_back(e["ts"].get<double>());
            CHECK(e["bp"] == "e");
        }
        if (ph != "M") {
            CHECK(e["ts"].is_number());
            CHECK(e["tid"].get<std::size_t>() >= 1);
            CHECK(e["tid"].get<std::size_t>() <= 2 * c.neurons);
        }
    }
    CHECK(threads == 2 * c.neurons); // every demo neuron has a refractory period, hence a second track
    CHECK(spikes == c.spikes);
    CHECK(first_spike_found); // in microseconds of simulated time
    CHECK(drops == c.drops);
    CHECK(refractory == c.refractory_ends);
    CHECK(flow_starts.size() == c.delivered_inputs);
    CHECK(flow_ends.size() == c.delivered_inputs);
    for (const auto& flow: flow_starts) {
        // Not a structured binding: clang 14 cannot capture one in CAPTURE's lambda.
        const auto& id = flow.first;
        const auto& starts = flow.second;
        CAPTURE(id);
        REQUIRE(starts.size() == 1);
        REQUIRE(flow_ends[id].size() == 1);
        CHECK(flow_ends[id][0] > starts[0]); // a delivery arrives after its spike
    }
}

TEST_CASE("exports of a cut log are complete files up to the cut") {
    const fs::path d = workdir("cut");
    const fs::path log = record_demo(d);
    // Keep the header and the first block only: the run looks killed.
    std::string bytes = slurp(log);
    const auto second = bytes.find("SBLK", bytes.find("SBLK") + 4);
    const auto footer = bytes.rfind("SEND");
    REQUIRE(footer != std::string::npos);
    bytes.resize(second != std::string::npos ? second : footer);
    std::ofstream(d / "cut.evlog", std::ios::binary) << bytes;
    const Result r = run_cli(fmt::format("log export '{}' --format chrome-trace -o '{}'", (d / "cut.evlog").string(), (d / "cut.json").string()));
    CHECK(r.code == 2); // reported as cut
    CHECK(nlohmann::json::accept(slurp(d / "cut.json")));
    // A cut log is exit 2 for plot as for log show; --partial draws what was recorded.
    const Result whole = run_cli(fmt::format("plot '{}'", (d / "cut.evlog").string()));
    CHECK(whole.code == 2);
    CHECK(whole.err.find("the log ends without a footer") != std::string::npos);
    CHECK(!fs::exists(d / "cut.svg"));
    const Result part = run_cli(fmt::format("plot '{}' --partial", (d / "cut.evlog").string()));
    CHECK(part.code == 2);
    CHECK(part.err.find("the log ends without a footer") != std::string::npos);
    CHECK(slurp(d / "cut.svg").find("The log was cut after event") != std::string::npos);
}

// Regression (issue 10, item 12): plot exited 0 on a log whose first block fails its
// checksum, drawing an empty page. It exits 2 as log show does, and draws the events before
// the damage only when asked (--partial), still exiting 2 with the reader's message.
TEST_CASE("plot of a damaged log exits 2 and draws only with --partial") {
    const fs::path d = workdir("damaged");
    const fs::path log = record_demo(d);
    std::string bytes = slurp(log);
    const auto block = bytes.find("SBLK");
    REQUIRE(block != std::string::npos);
    bytes[block + 40] = static_cast<char>(bytes[block + 40] ^ 0x10);
    std::ofstream(d / "damaged.evlog", std::ios::binary) << bytes;
    const fs::path svg = d / "damaged.svg";
    const Result plain = run_cli(fmt::format("plot '{}'", (d / "damaged.evlog").string()));
    CHECK(plain.code == 2);
    CHECK(plain.err.find((d / "damaged.evlog").string() + ": byte " + std::to_string(block) + ": checksum failure in the block of events 1 to") != std::string::npos);
    CHECK(plain.err.find("--partial") != std::string::npos);
    CHECK(!fs::exists(svg));
    CHECK(run_cli(fmt::format("log show '{}'", (d / "damaged.evlog").string())).code == 2);
    const Result partial = run_cli(fmt::format("plot '{}' --partial", (d / "damaged.evlog").string()));
    CHECK(partial.code == 2);
    CHECK(partial.err.find("checksum failure in the block of events 1 to") != std::string::npos);
    CHECK(partial.out.find("partial plot of") != std::string::npos);
    pugi::xml_document doc;
    CHECK(doc.load_string(slurp(svg).c_str()));
    CHECK(slurp(svg).find("The log is damaged after event 0") != std::string::npos);
    // A whole log is drawn as before, with or without --partial.
    CHECK(run_cli(fmt::format("plot '{}' --partial", log.string())).code == 0);
}

// Regression: names were cut by bytes, which could split a UTF-8 character and make the
// page invalid XML; bytes that are not UTF-8 are written as U+FFFD.
TEST_CASE("long and non-ASCII neuron names keep the page valid UTF-8") {
    const fs::path d = workdir("utf8");
    std::ofstream(d / "names.yaml") << "run: {until: 50ms}\nneurons:\n  - population: aaaaaaaaaaaaaa\xc3\xa9\xc3\xa9\n    size: 2\n"
                                       "    embed_dim: 8\n    num_heads: 2\n    hidden_dim: 16\n"
                                       "stimuli:\n  - {to: all, at: [1ms], tensor: {constant: {value: 1, seq_len: 2}}}\n";
    REQUIRE(run_cli(fmt::format("run '{}' --out '{}' --plot -q", (d / "names.yaml").string(), (d / "out").string())).code == 0);
    const std::string svg = slurp(d / "out" / "plot.svg");
    // Every byte sequence is UTF-8.
    for (std::size_t i = 0; i < svg.size();) {
        const auto b = static_cast<unsigned char>(svg[i]);
        const std::size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
        REQUIRE(n > 0);
        REQUIRE(i + n <= svg.size());
        for (std::size_t k = 1; k < n; ++k) REQUIRE((static_cast<unsigned char>(svg[i + k]) & 0xC0) == 0x80);
        i += n;
    }
    pugi::xml_document doc;
    CHECK(doc.load_string(svg.c_str()));
    CHECK(svg.find("aaaaaaaaaaaaaa\xc3\xa9\xe2\x80\xa6") != std::string::npos); // cut after a whole character, then an ellipsis
}

// Regression: near the largest time the axis end overflowed, and marks were drawn off the page.
TEST_CASE("events near the end of time stay on the page") {
    const fs::path d = workdir("late");
    std::ofstream(d / "late.yaml") << "neurons:\n  - name: n\n    embed_dim: 8\n    num_heads: 2\n    hidden_dim: 16\n"
                                      "    threshold: 0.1\n    weights: {norm2: {bias: 1}}\n"
                                      "stimuli:\n  - {to: n, at: [9000000000s, 9223372035s], tensor: {constant: {value: 1, seq_len: 2}}}\n";
    REQUIRE(run_cli(fmt::format("run '{}' --out '{}' --plot -q", (d / "late.yaml").string(), (d / "out").string())).code == 0);
    pugi::xml_document doc;
    REQUIRE(doc.load_file((d / "out" / "plot.svg").c_str()));
    const pugi::xml_node root = doc.child("svg");
    const double width = root.attribute("width").as_double();
    std::size_t points = 0;
    for (pugi::xml_node n: root.children("polyline")) {
        std::istringstream in(n.attribute("points").value());
        std::string xy;
        while (in >> xy) {
            const double x = std::stod(xy.substr(0, xy.find(',')));
            CHECK(x >= 0);
            CHECK(x <= width);
            ++points;
        }
    }
    CHECK(points > 0);
    const pugi::xml_node spikes = root.find_child_by_attribute("path", "id", "spikes");
    CHECK(spikes.attribute("data-events").as_ullong() == 2);
}

// Bad input to plot: a file that is not a log, a missing log, an output onto the log itself.
// Each is exit 2 with the file and the problem named, and the log is left as it was.
TEST_CASE("plot refuses what it cannot draw, naming the file") {
    const fs::path d = workdir("bad");
    const fs::path log = record_demo(d);
    const std::string before = slurp(log);
    const Result not_log = run_cli("plot tests/data/layered.yaml");
    CHECK(not_log.code == 2);
    CHECK(not_log.err.find("tests/data/layered.yaml: byte 0: not a spike-nn event log") != std::string::npos);
    const Result missing = run_cli(fmt::format("plot '{}'", (d / "missing.evlog").string()));
    CHECK(missing.code == 2);
    CHECK(missing.err.find("missing.evlog: no such file") != std::string::npos);
    const Result onto = run_cli(fmt::format("plot '{}' --out '{}'", log.string(), log.string()));
    CHECK(onto.code == 2);
    CHECK(onto.err.find("that is the log being read") != std::string::npos);
    CHECK(slurp(log) == before);
    CHECK(!fs::exists(SPIKENN_SOURCE_DIR "/scenarios/demo.svg")); // nothing written beside what was not a log
}

// Issue 11, item 1: the viewers read no scenario. The command line finds the neurons'
// parameters in the log's scenario text (log_neuron_params) and hands them over; the page
// and the exports are drawn from what they are given.
TEST_CASE("the viewers take the neurons' parameters from their caller") {
    const fs::path d = workdir("params");
    const fs::path log = record_demo(d);
    const LogHeader h = EventLogReader(log).header();
    const LogNeuronParams known = log_neuron_params(h);
    REQUIRE(known.params);
    CHECK(known.params->size() == h.neuron_names.size());
    CHECK(known.why.empty());

    // With them, the page is the one `spikenn plot` draws.
    const Result r = run_cli(fmt::format("plot '{}' --out '{}'", log.string(), (d / "cli.svg").string()));
    REQUIRE(r.code == 0);
    const Plot with = plot_log(log, {}, known);
    CHECK(with.incomplete.empty());
    CHECK(with.svg == slurp(d / "cli.svg"));
    CHECK(with.svg.find("parameters are unknown") == std::string::npos);

    // Without them, the page says why, in the caller's words.
    const Plot without = plot_log(log, {}, LogNeuronParams::unknown("told so by the test"));
    CHECK(without.svg.find("parameters are unknown (told so by the test)") != std::string::npos);
    CHECK(without.svg != with.svg);

    // Parameters of another number of neurons are the caller's mistake, never indexed.
    LogNeuronParams short_list = known;
    short_list.params->pop_back();
    CHECK_THROWS_AS(plot_log(log, {}, short_list), std::invalid_argument);
    CHECK_THROWS_AS(neuron_facts(log, h, short_list), std::invalid_argument);
    NeuronFacts facts = neuron_facts(log, h, known);
    CHECK(facts.initial_potential.size() == h.neuron_names.size());
    facts.refractory.pop_back();
    std::string out;
    CHECK_THROWS_AS(make_vcd_exporter(h, facts, out), std::invalid_argument);
    CHECK_THROWS_AS(make_chrome_trace_exporter(h, facts, out), std::invalid_argument);

    // A scenario text that no longer loads, or that names another number of neurons, gives
    // no parameters and says why.
    LogHeader broken = h;
    broken.scenario_text = "neurons: [";
    const LogNeuronParams none = log_neuron_params(broken);
    CHECK(!none.params);
    CHECK(!none.why.empty());
    LogHeader fewer = h;
    fewer.neuron_names.pop_back();
    const LogNeuronParams other = log_neuron_params(fewer);
    CHECK(!other.params);
    CHECK(other.why == fmt::format("its scenario now has {} neurons, the log {}", h.neuron_names.size(), fewer.neuron_names.size()));
}

// The page as modellers read it: populations named beside their raster bands and separated
// by a line, a rate trace per population, an ISI histogram, and a time axis that runs to the
// run's end time (200ms here), not to its last event (145ms), whose ticks would end at 160.
TEST_CASE("the plot labels populations, traces their rates, and runs to the end time") {
    const fs::path d = workdir("populations");
    const fs::path log = d / "stats.evlog";
    REQUIRE(run_cli(fmt::format("run tests/data/stats.yaml --out '{}' --record '{}' -q", (d / "out").string(), log.string())).code == 0);
    std::int64_t last = 0;
    std::uint64_t intervals = 0;
    std::map<EntityId, std::uint64_t> spikes;
    for (const LogRecord& r: EventLogReader(log).read_all()) {
        last = std::max(last, r.time);
        if (r.kind == EventKind::spike) intervals += spikes[r.target]++ > 0;
    }
    REQUIRE(last < Time::from_ms(160).ticks());
    REQUIRE(intervals > 0);
    REQUIRE(run_cli(fmt::format("plot '{}'", log.string())).code == 0);
    pugi::xml_document doc;
    REQUIRE(doc.load_file((d / "stats.svg").c_str()));
    const pugi::xml_node root = doc.child("svg");

    std::vector<std::string> labels, rates, isi;
    std::size_t separators = 0;
    std::vector<double> x_of_200, x_of_160;
    for (pugi::xpath_node n: root.select_nodes("//*")) {
        const pugi::xml_node e = n.node();
        const std::string cls = e.attribute("class").value();
        if (cls == "population") labels.push_back(e.child_value());
        if (cls == "population-separator") ++separators;
        if (cls == "population-rate") rates.push_back(e.attribute("data-population").value());
        if (cls == "isi") isi.push_back(e.attribute("data-population").value());
        // Time-axis labels are the texts centred under their ticks.
        const bool time_label = std::string(e.name()) == "text" && std::string(e.parent().attribute("text-anchor").value()) == "middle";
        if (time_label && std::string(e.child_value()) == "200") x_of_200.push_back(e.attribute("x").as_double());
        if (time_label && std::string(e.child_value()) == "160") x_of_160.push_back(e.attribute("x").as_double());
    }
    CHECK(labels == std::vector<std::string>{"p", "solo"});
    CHECK(separators == 1);
    CHECK(rates == std::vector<std::string>{"p", "solo"});
    CHECK(isi == std::vector<std::string>{"p"}); // solo never spiked: no intervals, no outline
    const pugi::xml_node hist = root.find_child_by_attribute("g", "id", "isi-histogram");
    REQUIRE(hist);
    CHECK(hist.attribute("data-intervals").as_ullong() == intervals);
    // The time axes end at 200 ms, at the plot's right edge (x = 975).
    REQUIRE(!x_of_200.empty());
    for (double x: x_of_200) CHECK(x == doctest::Approx(975.0));
    CHECK(x_of_160.empty());
    CHECK(slurp(d / "stats.svg").find("0s to 200ms (last event at 145ms)") != std::string::npos);
}

// Regression: an interval close to the largest time overflowed the ISI histogram's axis.
TEST_CASE("an interval as long as time itself stays on the page") {
    const fs::path d = workdir("longest");
    std::ofstream(d / "long.yaml") << "neurons:\n  - name: n\n    embed_dim: 8\n    num_heads: 2\n    hidden_dim: 16\n"
                                      "    threshold: 0.1\n    weights: {norm2: {bias: 1}}\n"
                                      "stimuli:\n  - {to: n, at: [0s, 9223372035s], tensor: {constant: {value: 1, seq_len: 2}}}\n";
    REQUIRE(run_cli(fmt::format("run '{}' --out '{}' --plot -q", (d / "long.yaml").string(), (d / "out").string())).code == 0);
    pugi::xml_document doc;
    REQUIRE(doc.load_file((d / "out" / "plot.svg").c_str()));
    const pugi::xml_node root = doc.child("svg");
    const double width = root.attribute("width").as_double();
    const pugi::xml_node hist = root.find_child_by_attribute("g", "id", "isi-histogram");
    REQUIRE(hist);
    CHECK(hist.attribute("data-intervals").as_ullong() == 1);
    CHECK(hist.attribute("data-bin-ticks").as_llong() > 0);
    std::set<double> heights;
    for (pugi::xml_node n: hist.children("polyline")) {
        std::istringstream in(n.attribute("points").value());
        for (std::string xy; in >> xy;) {
            const double x = std::stod(xy.substr(0, xy.find(',')));
            CHECK(x >= 0);
            CHECK(x <= width);
            heights.insert(std::stod(xy.substr(xy.find(',') + 1)));
        }
    }
    CHECK(heights.size() == 2); // the baseline and the one interval's bar
}
