// A network's connections as built, for reading and for drawing: `spikenn network`. Every
// synapse the builder made (the draws of `pattern: random` included) and every stimulus's
// targets, as CSV or as a Graphviz digraph.
//
// CSV: a header, then one row per synapse in source order (each source's synapses in the
// order the builder made them), then one per stimulus target:
//   source,target,kind,delay_ticks,delay,weight,efficacy
// with kind "synapse" or "stimulus", the delay in ticks and in the scenario's notation
// ("2ms"; both empty for a stimulus, whose inputs arrive at its times), and weight and
// efficacy as the shortest text that reads back as the same float (a stimulus has no weight:
// empty). A stimulus's source is "stimulus:NAME".
//
// DOT: one node per neuron, each population in a cluster subgraph (populations.hpp), a box
// per stimulus, one edge per synapse labelled with its delay and one dashed edge per
// stimulus target.
#pragma once

#include <string>

#include <spikenn/network.hpp>

namespace spikenn {

std::string network_csv(const Network& net);
std::string network_dot(const Network& net);

} // namespace spikenn
