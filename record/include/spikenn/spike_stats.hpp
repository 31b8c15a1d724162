// The statistics modellers read off a run's spike trains, per neuron and per population:
// spike count, mean rate, the mean and coefficient of variation of the inter-spike
// intervals, dropped inputs, and each population's Fano factor over time bins. One
// computation for every reader: `spikenn log stats` (from an event log), summary.json (from
// the run's spikes.csv) and the plot's rate traces and ISI histogram.
//
// Definitions (README, "Spike statistics"):
// - the span is [0, end]: the run's end time (the scenario's or --until's when the run
//   reached it, else its last event), so a neuron silent towards the end counts as silent;
// - rate = spikes / end, in Hz; a population's is the mean over its members;
// - the ISIs are the gaps between one neuron's consecutive spikes; a population pools its
//   members' ISIs (never gaps between two members' spikes);
// - CV = std / mean of the ISIs, with the population standard deviation (divided by n,
//   as NumPy's std and Elephant's cv); undefined with fewer than 2 ISIs or a mean of 0;
// - Fano factor = variance / mean (variance divided by n) of the population's spike counts
//   in the whole bins [k*bin, (k+1)*bin) that fit in [0, end]; undefined with fewer than
//   2 bins or no spike in them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <spikenn/eventlog.hpp>
#include <spikenn/populations.hpp>
#include <spikenn/time.hpp>

namespace spikenn {

// The bin of the Fano factor in summary.json, and `log stats` without --bin.
inline constexpr Time default_fano_bin = Time::from_ms(10);

// The numbers of one spike train: a neuron's, or a population's pooled.
struct TrainStats {
    std::uint64_t spikes = 0;
    std::uint64_t drops = 0;
    std::optional<double> rate_hz;   // none for an empty span
    std::uint64_t intervals = 0;     // ISIs
    std::optional<double> isi_mean_s; // none without an ISI
    std::optional<double> isi_cv;     // none with fewer than 2 ISIs, or a mean of 0
};

struct PopulationStats {
    Population population;
    TrainStats train;
    std::uint64_t bins = 0;    // whole bins in the span, which the Fano factor is over
    std::optional<double> fano; // none with fewer than 2 bins or no spike in them
};

struct SpikeStats {
    Time end;  // the span is [0, end]
    Time bin;  // of the Fano factor
    std::vector<TrainStats> neurons;        // in id order
    std::vector<PopulationStats> populations; // in the order of their first members
};

// Every neuron's spike times and dropped inputs, as a run or a log gives them.
class SpikeTrains {
public:
    explicit SpikeTrains(std::size_t neurons): times_(neurons), drops_(neurons) {}

    // Spikes of one neuron come in time order (as every run and log gives them).
    void add_spike(EntityId neuron, Time t) { times_[neuron].push_back(t.ticks()); }
    void add_drops(EntityId neuron, std::uint64_t n = 1) { drops_[neuron] += n; }
    // A log's record: a delivered spike or a dropped input of a neuron counts, nothing else.
    void add(const LogRecord& r);

    std::size_t size() const { return times_.size(); }
    const std::vector<std::int64_t>& times(EntityId neuron) const { return times_[neuron]; }

    // The statistics over [0, end] of neurons named `names` (one per neuron; they give the
    // populations), with the Fano factor over bins of `bin` (greater than 0).
    SpikeStats stats(std::span<const std::string> names, Time end, Time bin) const;

    // The members' spikes in `bins` equal parts of [0, end] (end > 0, bins > 0): a spike at t
    // is in part floor(t * bins / end), one at `end` in the last.
    std::vector<std::uint64_t> counts(std::span<const EntityId> members, Time end, std::size_t bins) const;
    // The members' ISIs pooled, in ticks, member by member.
    std::vector<std::int64_t> intervals(std::span<const EntityId> members) const;

private:
    std::vector<std::vector<std::int64_t>> times_; // ticks, per neuron
    std::vector<std::uint64_t> drops_;
};

// The end of the span of a recorded run from its log: the header's end time when the run
// had one and reached it, else the last event read. `complete`: the log was read to its
// footer; `events`: how many it holds. A run stopped by its event limit (as many events as
// the header's max_events) ends at its last event, as the run's summary says.
Time recorded_end(const LogHeader& h, std::uint64_t events, Time last_event, bool complete);

} // namespace spikenn
