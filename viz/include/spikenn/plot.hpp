// Pictures of a recorded run, drawn from its event log alone: `spikenn plot` and `spikenn run
// --plot`. One self-contained SVG page holds a spike raster (dropped inputs marked, populations
// in labelled bands), the spike rate of each population, potential traces of chosen neurons
// (threshold, reset level, refractory periods shaded), the rate of events of each kind, and
// each population's histogram of inter-spike intervals. Time runs from 0 to the run's end
// (spike_stats.hpp, recorded_end), not to its last event.
//
// The page is a pure function of the log and the neurons' parameters: the same log gives the
// same bytes. The parameters are the caller's (spikenn/log_params.hpp; the command line takes
// them from the scenario text the log carries); without them the traces join the recorded
// potentials with straight lines and the page says why. Beyond `max_rows` neurons the raster shows neurons in groups,
// and spikes of one row that fall on one tenth of a pixel share a mark; the page says both.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <spikenn/eventlog.hpp>
#include <spikenn/log_params.hpp>

namespace spikenn {

struct PlotOptions {
    // Neurons whose potential to trace, by name; empty: the (at most 4) that spiked most.
    std::vector<std::string> neurons;
    std::size_t max_rows = 1000; // raster rows before neurons are grouped
};

// The SVG page of the log at `log`, with the parameters of its neurons (one per neuron of the
// log, or unknown). Throws InputError for an unknown neuron in the options and LogError for a
// log that cannot be read at all; a log cut or damaged part-way is drawn up to the damage,
// with a note on the page.
std::string plot_svg(const std::filesystem::path& log, const PlotOptions& options, const LogNeuronParams& params);

struct Plot {
    std::string svg;
    // Empty when the log was read to its footer; else the reader's message (with the byte
    // offset and the last event read): the page then holds only the events before.
    std::string incomplete;
};
// The same, saying whether the page shows the whole log.
Plot plot_log(const std::filesystem::path& log, const PlotOptions& options, const LogNeuronParams& params);

} // namespace spikenn
