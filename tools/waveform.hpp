// An event log in the formats of standard viewers, for `spikenn log export --format vcd` and
// `--format chrome-trace`. Both are pure functions of the log.
//
// VCD (IEEE 1364 value change dump; GTKWave opens it): time scale 1 ns, the engine's tick.
// One scope per neuron with a real `potential` (its value after each event; the decay between
// events is not sampled), a 1-bit `spike` line high for the tick of each spike, and a 1-bit
// `refractory` line high from a spike to its refractory expiry. Scope names are the neuron
// names with every character outside [A-Za-z0-9_] replaced by '_' (and a suffix where two
// would collide); the $comment lists each scope's neuron.
//
// Chrome trace event JSON (Perfetto, chrome://tracing): process 1 is the network, thread
// i + 1 is neuron i, and "ts" is simulated time in microseconds, to the nanosecond. Spikes and
// dropped inputs are instant events, refractory periods complete ("X") events, every input
// a 1 ns "X" event, and each delivery a flow from a 1 ns "deliver" slice at the spike to the
// input it caused. `otherData` holds the scenario, the seed and the fingerprint.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "neurons/neuron.hpp"
#include "tools/eventlog.hpp"

namespace spikenn {

class LogExporter {
public:
    virtual ~LogExporter() = default;
    // Appends what the record adds to `out`.
    virtual void add(const LogRecord& r, std::string& out) = 0;
    // Appends the end of the file; `footer` is absent for a cut or damaged log.
    virtual void finish(const std::optional<LogFooter>& footer, std::string& out) = 0;
};

// Each appends the file's beginning to `out`. `params` (the neurons' parameters, when the
// log's scenario can be read) give the initial potentials and which neurons have a
// refractory period.
std::unique_ptr<LogExporter> make_vcd_exporter(const LogHeader& h, const std::optional<std::vector<NeuronParams>>& params, std::string& out);
std::unique_ptr<LogExporter> make_chrome_trace_exporter(const LogHeader& h, const std::optional<std::vector<NeuronParams>>& params, std::string& out);

} // namespace spikenn
