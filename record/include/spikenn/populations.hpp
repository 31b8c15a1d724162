// A network's populations, recovered from its neurons' names alone, so that a log (which
// keeps the names) groups its neurons as the scenario did without the scenario being read.
//
// The builder names a population's members NAME[0] .. NAME[size-1] and forbids brackets in
// any name it is given (network_builder.cpp, valid_name), so a name with a '[' is always a
// member, and everything before the '[' is its population. A neuron defined alone is a
// population of its own, named like it.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <spikenn/event.hpp>

namespace spikenn {

struct Population {
    std::string name;
    std::vector<EntityId> members; // ascending
};

// The population a neuron of this name belongs to: "hidden" for "hidden[3]", "a" for "a".
std::string_view population_of(std::string_view neuron_name);

// The populations of neurons named `names` (one per neuron, in id order), in the order of
// their first members.
std::vector<Population> populations_of(std::span<const std::string> names);

} // namespace spikenn
