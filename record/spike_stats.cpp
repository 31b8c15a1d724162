#include <spikenn/spike_stats.hpp>

#include <algorithm>
#include <cmath>

#include <spikenn/error.hpp>

namespace spikenn {

namespace {

__extension__ typedef __int128 i128; // sums of times and of squared counts, which overflow 64 bits

// The ISI part of a train: their number, mean and CV, from gaps in ticks. The mean is the
// exact sum divided once; the deviations are summed in the gaps' order, so the numbers are
// the same on every machine.
void interval_stats(const std::vector<std::int64_t>& gaps, TrainStats& s) {
    s.intervals = gaps.size();
    if (gaps.empty()) return;
    i128 sum = 0;
    for (std::int64_t g: gaps) sum += g;
    const double n = static_cast<double>(gaps.size());
    const double mean = static_cast<double>(sum) / n; // ticks
    s.isi_mean_s = mean / static_cast<double>(Time::ticks_per_second);
    if (gaps.size() < 2 || mean <= 0) return;
    double squares = 0;
    for (std::int64_t g: gaps) {
        const double d = static_cast<double>(g) - mean;
        squares += d * d;
    }
    s.isi_cv = std::sqrt(squares / n) / mean;
}

std::optional<double> rate(std::uint64_t spikes, std::size_t neurons, Time end) {
    if (end <= Time::zero() || neurons == 0) return std::nullopt;
    // In ticks and then scaled, so that 15 spikes of 3 neurons in 200ms are 25 Hz exactly.
    return static_cast<double>(spikes) * static_cast<double>(Time::ticks_per_second) / (static_cast<double>(neurons) * static_cast<double>(end.ticks()));
}

} // namespace

void SpikeTrains::add(const LogRecord& r) {
    if (r.target >= times_.size()) return;
    if (r.outcome == Outcome::delivered) add_spike(r.target, Time::from_ticks(r.time));
    else if (r.outcome == Outcome::dropped) add_drops(r.target);
}

std::vector<std::int64_t> SpikeTrains::intervals(std::span<const EntityId> members) const {
    std::vector<std::int64_t> gaps;
    for (EntityId id: members) {
        const auto& t = times_[id];
        for (std::size_t k = 1; k < t.size(); ++k) gaps.push_back(t[k] - t[k - 1]);
    }
    return gaps;
}

std::vector<std::uint64_t> SpikeTrains::counts(std::span<const EntityId> members, Time end, std::size_t bins) const {
    SPIKENN_CHECK(end > Time::zero() && bins > 0, "spike counts in bins of an empty span");
    std::vector<std::uint64_t> out(bins);
    for (EntityId id: members) {
        for (std::int64_t t: times_[id]) {
            if (t < 0 || t > end.ticks()) continue;
            const auto b = static_cast<std::size_t>(std::min<i128>(static_cast<i128>(bins) - 1, static_cast<i128>(t) * static_cast<i128>(bins) / end.ticks()));
            ++out[b];
        }
    }
    return out;
}

SpikeStats SpikeTrains::stats(std::span<const std::string> names, Time end, Time bin) const {
    SPIKENN_CHECK(names.size() == times_.size(), "spike statistics with a name for each neuron");
    SPIKENN_CHECK(bin > Time::zero(), "spike statistics over bins of no width");
    SpikeStats s;
    s.end = end;
    s.bin = bin;
    s.neurons.resize(times_.size());
    for (std::size_t i = 0; i < times_.size(); ++i) {
        TrainStats& t = s.neurons[i];
        t.spikes = times_[i].size();
        t.drops = drops_[i];
        t.rate_hz = rate(t.spikes, 1, end);
        const EntityId id[] = {static_cast<EntityId>(i)};
        interval_stats(intervals(id), t);
    }
    // The bins are whole: a part-bin at the end would count fewer spikes than the others.
    const std::uint64_t bins = end > Time::zero() ? static_cast<std::uint64_t>(end.ticks() / bin.ticks()) : 0;
    const i128 covered = static_cast<i128>(bins) * bin.ticks(); // [0, covered) is binned
    for (Population& p: populations_of(names)) {
        PopulationStats ps;
        ps.bins = bins;
        TrainStats& t = ps.train;
        std::vector<std::uint64_t> in_bin; // each spike's bin
        for (EntityId id: p.members) {
            t.spikes += times_[id].size();
            t.drops += drops_[id];
            for (std::int64_t x: times_[id]) {
                if (x >= 0 && x < covered) in_bin.push_back(static_cast<std::uint64_t>(x / bin.ticks()));
            }
        }
        t.rate_hz = rate(t.spikes, p.members.size(), end);
        interval_stats(intervals(p.members), t);
        if (bins >= 2 && !in_bin.empty()) {
            // Only the bins with spikes are visited: the span may hold billions of bins.
            // With S spikes and counts c over n bins, var / mean = (n * sum c^2 - S^2) / (n * S),
            // an exact integer quotient until the one division.
            std::sort(in_bin.begin(), in_bin.end());
            i128 squares = 0;
            for (std::size_t k = 0; k < in_bin.size();) {
                std::size_t j = k;
                while (j < in_bin.size() && in_bin[j] == in_bin[k]) ++j;
                squares += static_cast<i128>(j - k) * static_cast<i128>(j - k);
                k = j;
            }
            const i128 n = bins, S = static_cast<i128>(in_bin.size());
            constexpr i128 most = ~(static_cast<i128>(1) << 127);
            if (squares <= most / n) ps.fano = static_cast<double>(n * squares - S * S) / static_cast<double>(n * S);
            else ps.fano = static_cast<double>(squares) / static_cast<double>(S) - static_cast<double>(S) / static_cast<double>(n); // past 2^127
        }
        ps.population = std::move(p);
        s.populations.push_back(std::move(ps));
    }
    return s;
}

Time recorded_end(const LogHeader& h, std::uint64_t events, Time last_event, bool complete) {
    if (complete && h.end_ticks != Time::max().ticks() && events < h.max_events) return std::max(last_event, Time::from_ticks(h.end_ticks));
    return last_event;
}

} // namespace spikenn
