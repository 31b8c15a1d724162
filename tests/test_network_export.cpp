// `spikenn network` (viz/network_export.hpp): the connections as built, compared with the
// network the loader builds (never with numbers written down here), as CSV and as DOT.
#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>
#include <unistd.h>

#include "cli_util.hpp"
#include <spikenn/network_export.hpp>
#include <spikenn/scenario.hpp>

using namespace spikenn;

namespace {

const char* const scenario = "tests/data/network.yaml";

Scenario built() {
    ScenarioOverrides ov;
    ov.weights = false;
    return load_scenario(fs::path(SPIKENN_SOURCE_DIR) / scenario, ov);
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

std::vector<std::string> split(const std::string& line) {
    std::vector<std::string> f;
    std::size_t at = 0;
    for (std::size_t c; (c = line.find(',', at)) != std::string::npos; at = c + 1) f.push_back(line.substr(at, c - at));
    f.push_back(line.substr(at));
    return f;
}

} // namespace

// Every synapse of the built network is one CSV row, in order, with its delay, weight and
// efficacy read back to the same values; every stimulus target one more row, marked.
TEST_CASE("network --format csv lists every synapse and stimulus target as built") {
    const Scenario sc = built();
    const Network& net = sc.network;
    std::size_t synapses = 0, random_ab = 0;
    for (std::size_t i = 0; i < net.size(); ++i) {
        synapses += net.synapses[i].size();
        for (const Synapse& s: net.synapses[i]) random_ab += net.names[i].starts_with("a[") && net.names[s.target].starts_with("b[") && s.delay == Time::from_ms(2);
    }
    // The random pattern made some pairs and left out others.
    REQUIRE(random_ab > 0);
    REQUIRE(random_ab < 24);

    const Result r = run_cli(fmt::format("network {}", scenario));
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out == network_csv(net)); // the command prints what the library writes
    const std::vector<std::string> lines = lines_of(r.out);
    REQUIRE(!lines.empty());
    CHECK(lines[0] == "source,target,kind,delay_ticks,delay,weight,efficacy");
    std::size_t stimulus_rows = 0;
    for (const auto& s: net.stimuli) stimulus_rows += s.targets.size();
    REQUIRE(lines.size() == 1 + synapses + stimulus_rows);
    std::size_t row = 1;
    for (std::size_t i = 0; i < net.size(); ++i) {
        for (const Synapse& s: net.synapses[i]) {
            CAPTURE(lines[row]);
            const std::vector<std::string> f = split(lines[row++]);
            REQUIRE(f.size() == 7);
            CHECK(f[0] == net.names[i]);
            CHECK(f[1] == net.names[s.target]);
            CHECK(f[2] == "synapse");
            CHECK(std::stoll(f[3]) == s.delay.ticks());
            CHECK(parse_time(f[4]) == s.delay);
            CHECK(std::stof(f[5]) == s.weight);
            CHECK(std::stof(f[6]) == s.efficacy);
        }
    }
    for (const Stimulus& st: net.stimuli) {
        for (EntityId t: st.targets) {
            CAPTURE(lines[row]);
            const std::vector<std::string> f = split(lines[row++]);
            REQUIRE(f.size() == 7);
            CHECK(f[0] == "stimulus:" + st.name);
            CHECK(f[1] == net.names[t]);
            CHECK(f[2] == "stimulus");
            CHECK(f[3].empty());
            CHECK(f[5].empty());
            CHECK(std::stof(f[6]) == st.efficacy);
        }
    }
    // The draws are the seed's: another seed draws other pairs.
    ScenarioOverrides other;
    other.weights = false;
    other.seed = 12;
    CHECK(network_csv(load_scenario(fs::path(SPIKENN_SOURCE_DIR) / scenario, other).network) != r.out);
}

// The DOT output: balanced braces, a cluster per population holding its members, one edge
// line per synapse (labelled with its delay) and one per stimulus target; --out writes the
// same text to a file.
TEST_CASE("network --format dot is a digraph with a cluster per population and an edge per synapse") {
    const Scenario sc = built();
    const Network& net = sc.network;
    const fs::path d = fs::temp_directory_path() / fmt::format("spikenn_test_network_{}", ::getpid());
    fs::remove_all(d);
    fs::create_directories(d);
    const Result r = run_cli(fmt::format("network {} --format dot --out '{}'", scenario, (d / "net.dot").string()));
    INFO(r.err);
    REQUIRE(r.code == 0);
    const std::string dot = slurp(d / "net.dot");
    CHECK(dot == network_dot(net));
    CHECK(dot.starts_with("digraph network {"));
    int depth = 0;
    for (char c: dot) {
        depth += c == '{';
        depth -= c == '}';
        REQUIRE(depth >= 0);
    }
    CHECK(depth == 0);
    std::size_t edges = 0, dashed = 0, clusters = 0;
    for (const std::string& line: lines_of(dot)) {
        if (line.find(" -> ") != std::string::npos) {
            ++edges;
            dashed += line.find("style=dashed") != std::string::npos;
        }
        clusters += line.find("subgraph \"cluster_") != std::string::npos;
    }
    std::size_t synapses = 0, targets = 0;
    for (const auto& s: net.synapses) synapses += s.size();
    for (const auto& s: net.stimuli) targets += s.targets.size();
    CHECK(edges == synapses + targets);
    CHECK(dashed == targets);
    CHECK(clusters == 3); // a, b and c alone
    CHECK(dot.find("label=\"a\"") != std::string::npos);
    // An edge is labelled with its delay, and its weight and efficacy where they are not 1.
    CHECK(dot.find("\"b[0]\" -> \"c\" [label=\"250us e=1.25\"];") != std::string::npos);
    CHECK(dot.find("\"c\" -> \"a[5]\" [label=\"1ms\"];") != std::string::npos);
    for (const Synapse& syn: net.synapses[0]) {
        if (syn.target >= 6 && syn.target < 10) CHECK(dot.find(fmt::format("\"a[0]\" -> \"{}\" [label=\"2ms w=0.5 e=0.8\"];", net.names[syn.target])) != std::string::npos);
    }
    CHECK(dot.find("\"stimulus:drive\" [shape=box, style=dashed];") != std::string::npos);
    if (std::system("command -v dot >/dev/null 2>&1") == 0) {
        CHECK(std::system(fmt::format("dot -Tsvg '{}' -o '{}'", (d / "net.dot").string(), (d / "net.svg").string()).c_str()) == 0);
    }
    else {
        MESSAGE("graphviz (dot) is not installed: the DOT output was not rendered");
    }
}

// Bad input: an unknown format, a scenario with a mistake (its file:line:col and key), an
// output into a folder that does not exist. Each is exit 2 with the problem named.
TEST_CASE("network refuses a bad format, a bad scenario and a bad --out") {
    const Result fmt_bad = run_cli(fmt::format("network {} --format xml", scenario));
    CHECK(fmt_bad.code == 2);
    CHECK(fmt_bad.err.find("--format: 'xml' is not a format of network (csv or dot)") != std::string::npos);
    CHECK(fmt_bad.out.empty());
    const Result bad = run_cli("network scenarios/invalid/delay_zero.yaml");
    CHECK(bad.code == 2);
    CHECK(bad.err.find("scenarios/invalid/delay_zero.yaml:14:12: connections[0].delay: a delay must be at least one tick") != std::string::npos);
    CHECK(bad.out.empty());
    const Result out = run_cli(fmt::format("network {} --out /nonexistent-dir/net.csv", scenario));
    CHECK(out.code == 2);
    CHECK(out.err.find("/nonexistent-dir does not exist") != std::string::npos);
    const Result onto = run_cli(fmt::format("network {} --out {}", scenario, scenario));
    CHECK(onto.code == 2);
    CHECK(onto.err.find("that is the scenario being read") != std::string::npos);
    // Regression: a directory as --out was a write failure (exit 1), found only after loading.
    const Result dir = run_cli(fmt::format("network {} --out tests/data", scenario));
    CHECK(dir.code == 2);
    CHECK(dir.err.find("that is a directory") != std::string::npos);
}
