#include <spikenn/neuron.hpp>

#include <spikenn/portable_math.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace spikenn {

namespace {

double decayed(const NeuronParams& p, double v, std::int64_t dt_ticks) {
    const double dt = static_cast<double>(dt_ticks) / static_cast<double>(Time::ticks_per_second);
    if (p.decay.kind == DecayKind::linear) return std::max(0.0, v - p.decay.rate * dt);
    return std::max(0.0, v * portable_exp(-dt / p.decay.tau.seconds()));
}

} // namespace

double TransformerNeuron::potential_at(Time t) const {
    return decayed(params, state.potential, (t - state.last_update).ticks());
}

std::optional<Time> TransformerNeuron::zero_time() const {
    const double v = state.potential;
    if (v == 0) return std::nullopt;
    if (v < 0) {
        // The clamp lifts it to 0 a tick later, if there is a later tick.
        if (state.last_update == Time::max()) return std::nullopt;
        return state.last_update + Time::from_ticks(1);
    }
    if (params.decay.kind == DecayKind::exponential || params.decay.rate <= 0) return std::nullopt;
    const double estimate = std::ceil(v / params.decay.rate * static_cast<double>(Time::ticks_per_second));
    if (!(estimate < 4e18)) return std::nullopt; // beyond any representable time
    auto dt = std::max<std::int64_t>(1, static_cast<std::int64_t>(estimate));
    // The estimate can be off by a tick either way in floating point; settle on the first
    // tick at which the decay formula itself gives 0.
    while (decayed(params, v, dt) > 0) ++dt;
    while (dt > 1 && decayed(params, v, dt - 1) == 0) --dt;
    const std::int64_t room = std::numeric_limits<std::int64_t>::max() - state.last_update.ticks();
    if (dt > room) return std::nullopt;
    return state.last_update + Time::from_ticks(dt);
}

double TransformerNeuron::readout(const Tensor& out) const {
    switch (params.readout) {
    case Readout::mean: {
        double sum = 0;
        for (float x: out.data) sum += x;
        // PyTorch's mean of a float32 tensor is a float32; .item() widens it.
        return static_cast<double>(static_cast<float>(sum / static_cast<double>(out.data.size())));
    }
    case Readout::sum: {
        double sum = 0;
        for (float x: out.data) sum += x;
        return static_cast<double>(static_cast<float>(sum));
    }
    case Readout::max: return static_cast<double>(*std::max_element(out.data.begin(), out.data.end()));
    case Readout::linear: return linear->apply(out); // in the order readout.hpp gives
    }
    return 0;
}

} // namespace spikenn
