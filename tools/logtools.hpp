// The commands that read event logs: replay, log show, log stats, log export, log diff.
// Each returns the process exit code: 0 success (or: the runs agree), 1 a difference was
// found, 2 bad input (a damaged log, a missing file).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <spikenn/eventlog.hpp>
#include <spikenn/log_params.hpp>

namespace spikenn {

// The parameters of the neurons of a recorded run, for the viewers (plot, exports): the
// scenario text in the log's header loaded without weights (with the recorded seed), or
// unknown with the reason when it no longer loads or names another number of neurons.
LogNeuronParams log_neuron_params(const LogHeader& h);

struct ReplayOptions {
    std::string log;
    std::string scenario; // replay this file instead of the scenario in the log
};
int replay_command(const ReplayOptions& o);

struct ShowOptions {
    std::string log;
    std::vector<std::string> neurons; // names
    std::vector<std::string> kinds;   // event kinds or outcomes
    std::string from, to;             // times
    std::uint64_t limit = 0;          // 0: no limit
};
int log_show(const ShowOptions& o);
struct StatsOptions {
    std::string log;
    std::string bin; // the Fano factor's bin width, a time; empty: default_fano_bin (10ms)
};
int log_stats(const StatsOptions& o);
int log_export(const std::string& log, const std::string& format, const std::string& out);
int log_diff(const std::string& a, const std::string& b);

} // namespace spikenn
