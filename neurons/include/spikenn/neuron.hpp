// A transformer neuron: immutable parameters and weights, a small mutable state, and the
// rules that move the state on each event (docs/semantics.md, "The potential").
//
// The potential between inputs is a function of the state at the last input:
//   linear:      p(t) = max(0, p - rate * (t - t_last))   (the seed's decay)
//   exponential: p(t) = max(0, p * exp(-(t - t_last) / tau))
// Decay updates and refractory expiries are bookkeeping events: they report the potential
// at their time and never change the state, so whether they run cannot change any result.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <spikenn/event.hpp>
#include <spikenn/time.hpp>
#include <spikenn/block.hpp>
#include <spikenn/readout.hpp>

namespace spikenn {

enum class DecayKind { linear, exponential };

struct Decay {
    DecayKind kind = DecayKind::linear;
    double rate = 0.01;     // linear: potential per second
    Time tau = Time::zero(); // exponential: time constant
};

enum class Readout {
    mean,   // the seed's: mean of every element of the block's output
    sum,    // sum of every element
    max,    // largest element
    linear, // mean over rows of a learnt linear map of each row (readout.hpp)
};

struct NeuronParams {
    BlockShape shape;
    double threshold = 1.0;
    double reset_potential = 0.0;
    Time refractory_period = Time::from_ticks(Time::ticks_per_second);
    Decay decay;
    Readout readout = Readout::mean;
};

struct NeuronState {
    double potential = 0;              // at last_update
    Time last_update = Time::zero();
    std::optional<Time> last_spike;
    std::optional<EventKey> pending_decay; // the decay update in the queue, if any
    PayloadId spike_input = no_payload;    // the input whose spike is pending
    std::uint64_t seq = 0;                 // events this neuron has created
};

struct TransformerNeuron {
    NeuronParams params;
    std::shared_ptr<const PackedBlock> weights;
    // The linear readout's weights, for Readout::linear (null otherwise). Immutable, and
    // shared like the block's weights by the members of a shared population.
    std::shared_ptr<const LinearReadout> linear;
    NeuronState state;

    // The potential at t >= last_update, decayed, without changing the state.
    double potential_at(Time t) const;
    bool refractory_at(Time t) const {
        return state.last_spike && t - *state.last_spike < params.refractory_period;
    }
    // The first tick after last_update at which the potential is 0, if it ever is
    // (and is not already 0 at last_update).
    std::optional<Time> zero_time() const;
    // The readout of one block output.
    double readout(const Tensor& out) const;
};

} // namespace spikenn
