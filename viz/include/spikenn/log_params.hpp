// What the viewers (the plot, the VCD and Chrome trace exports) are told of a log's neurons
// beyond its records: their parameters, which only the scenario holds. The viewers read no
// scenario; their caller finds the parameters (the command line loads the scenario text the
// log's header carries, without weights: tools/logtools.hpp, log_neuron_params) and hands
// them over, or says why it could not.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <spikenn/neuron.hpp>

namespace spikenn {

struct LogNeuronParams {
    std::optional<std::vector<NeuronParams>> params; // one per neuron of the log, in id order
    std::string why;                                 // without params: why they are unknown (the plot's page says it)

    static LogNeuronParams unknown(std::string reason) { return {std::nullopt, std::move(reason)}; }
    // The parameters for a log of `neurons` neurons, or nullptr when they are unknown. A
    // list of another length is the caller's mistake (std::invalid_argument), never read.
    const std::vector<NeuronParams>* of(std::size_t neurons) const {
        if (!params) return nullptr;
        if (params->size() != neurons) {
            throw std::invalid_argument(fmt::format("the viewers were given {} neurons' parameters for a log of {}", params->size(), neurons));
        }
        return &*params;
    }
};

} // namespace spikenn
