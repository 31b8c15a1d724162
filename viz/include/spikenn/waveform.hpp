// An event log in the formats of standard viewers, for `spikenn log export --format vcd` and
// `--format chrome-trace`. Both are pure functions of the log.
//
// VCD (IEEE 1364 value change dump; GTKWave opens it): time scale 1 ns, the engine's tick.
// One scope per neuron with a real `potential` (its value after each event; the decay between
// events is not sampled), a 1-bit `spike` line high for the tick of each spike (spikes in
// consecutive ticks, possible only without a refractory period, show as one longer pulse),
// and a 1-bit `refractory` line high from a spike to its refractory expiry. Scope names are
// the neuron names with every character outside [A-Za-z0-9_] replaced by '_' (and a suffix
// where two would collide); the $comment lists each scope's neuron.
//
// Chrome trace event JSON (Perfetto, chrome://tracing): process 1 is the network, thread
// i + 1 is neuron i, and "ts" is simulated time in microseconds, written to the nanosecond.
// Spikes and dropped inputs are instant events, every input a 1 ns complete ("X") event, and
// each delivery a flow from a 1 ns "deliver" slice at the spike to the input it caused.
// Refractory periods are complete events on a track of their own beside each neuron's
// (thread N + 1 + i for N neurons, named "<neuron> refractory"): on the neuron's track a
// period would begin at the same time as the 1 ns slices of its spike, and viewers nest
// slices of equal start in file order. `otherData` holds the scenario, the seed and the
// fingerprint (as strings).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spikenn/eventlog.hpp>
#include <spikenn/log_params.hpp>

namespace spikenn {

class LogExporter {
public:
    virtual ~LogExporter() = default;
    // Appends what the record adds to `out`.
    virtual void add(const LogRecord& r, std::string& out) = 0;
    // Appends the end of the file; `footer` is absent for a cut or damaged log.
    virtual void finish(const std::optional<LogFooter>& footer, std::string& out) = 0;
};

// What the exports need of the neurons besides the records.
struct NeuronFacts {
    std::vector<double> initial_potential; // the reset potential a run starts from (0 when unknown)
    std::vector<bool> refractory;          // whether the neuron has a refractory period
};
// From the neurons' parameters (the caller's: spikenn/log_params.hpp); when they are unknown,
// from the records: a neuron has a refractory period if the log holds a refractory expiry of it.
NeuronFacts neuron_facts(const std::filesystem::path& log, const LogHeader& h, const LogNeuronParams& params);

// Each appends the file's beginning to `out`.
std::unique_ptr<LogExporter> make_vcd_exporter(const LogHeader& h, const NeuronFacts& facts, std::string& out);
std::unique_ptr<LogExporter> make_chrome_trace_exporter(const LogHeader& h, const NeuronFacts& facts, std::string& out);

} // namespace spikenn
