#include <spikenn/network_export.hpp>

#include <iterator>

#include <fmt/format.h>

#include <spikenn/json.hpp>
#include <spikenn/populations.hpp>

namespace spikenn {

namespace {

// A DOT identifier: always quoted, with quotes and backslashes escaped.
std::string dot_id(const std::string& s) {
    std::string o = "\"";
    for (char c: s) {
        if (c == '"' || c == '\\') o += '\\';
        if (c == '\n') {
            o += "\\n";
            continue;
        }
        o += c;
    }
    return o + "\"";
}

std::string stimulus_source(const Stimulus& s) { return "stimulus:" + s.name; }

} // namespace

std::string network_csv(const Network& net) {
    std::string out = "source,target,kind,delay_ticks,delay,weight,efficacy\n";
    for (std::size_t i = 0; i < net.synapses.size(); ++i) {
        const std::string source = csv_field(net.names[i]);
        for (const Synapse& syn: net.synapses[i]) {
            fmt::format_to(std::back_inserter(out), "{},{},synapse,{},{},{},{}\n", source, csv_field(net.names[syn.target]), syn.delay.ticks(),
                format_time(syn.delay), syn.weight, syn.efficacy);
        }
    }
    for (const Stimulus& s: net.stimuli) {
        const std::string source = csv_field(stimulus_source(s));
        for (EntityId t: s.targets) fmt::format_to(std::back_inserter(out), "{},{},stimulus,,,,{}\n", source, csv_field(net.names[t]), s.efficacy);
    }
    return out;
}

std::string network_dot(const Network& net) {
    std::string out = "digraph network {\n  rankdir=LR;\n  node [shape=ellipse];\n";
    const std::vector<Population> populations = populations_of(net.names);
    for (std::size_t k = 0; k < populations.size(); ++k) {
        fmt::format_to(std::back_inserter(out), "  subgraph {} {{\n    label={};\n", dot_id(fmt::format("cluster_{}", k)), dot_id(populations[k].name));
        for (EntityId id: populations[k].members) fmt::format_to(std::back_inserter(out), "    {};\n", dot_id(net.names[id]));
        out += "  }\n";
    }
    for (const Stimulus& s: net.stimuli) fmt::format_to(std::back_inserter(out), "  {} [shape=box, style=dashed];\n", dot_id(stimulus_source(s)));
    for (std::size_t i = 0; i < net.synapses.size(); ++i) {
        for (const Synapse& syn: net.synapses[i]) {
            // The delay, and the weight and efficacy where they are not 1.
            std::string label = format_time(syn.delay);
            if (syn.weight != 1.0f) label += fmt::format(" w={}", syn.weight);
            if (syn.efficacy != 1.0f) label += fmt::format(" e={}", syn.efficacy);
            fmt::format_to(std::back_inserter(out), "  {} -> {} [label={}];\n", dot_id(net.names[i]), dot_id(net.names[syn.target]), dot_id(label));
        }
    }
    for (const Stimulus& s: net.stimuli) {
        for (EntityId t: s.targets) fmt::format_to(std::back_inserter(out), "  {} -> {} [style=dashed];\n", dot_id(stimulus_source(s)), dot_id(net.names[t]));
    }
    return out + "}\n";
}

} // namespace spikenn
