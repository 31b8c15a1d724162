#include <spikenn/populations.hpp>

#include <map>

namespace spikenn {

std::string_view population_of(std::string_view neuron_name) { return neuron_name.substr(0, neuron_name.find('[')); }

std::vector<Population> populations_of(std::span<const std::string> names) {
    std::vector<Population> out;
    std::map<std::string_view, std::size_t> index; // population name -> position in out
    for (std::size_t i = 0; i < names.size(); ++i) {
        const std::string_view p = population_of(names[i]);
        auto [it, added] = index.emplace(p, out.size());
        if (added) out.push_back({std::string(p), {}});
        out[it->second].members.push_back(static_cast<EntityId>(i));
    }
    return out;
}

} // namespace spikenn
