// The network of scenarios/demo.yaml, built in code: three populations, two connections with
// their efficacies, a Poisson drive and a periodic one, each target with its own draws. It prints the spikes and the run's fingerprint, which is the one
// `spikenn run scenarios/demo.yaml` prints: the same network is the same run, however it
// was described.
#include <cinttypes>
#include <cstdio>
#include <exception>
#include <memory>

#include <spikenn/in_memory.hpp>
#include <spikenn/network_builder.hpp>
#include <spikenn/simulation.hpp>

using spikenn::Time;

namespace {

spikenn::NeuronParams layer(double threshold, double reset, Time refractory, double decay_per_s) {
    spikenn::NeuronParams p;
    p.shape = {64, 4, 256}; // embed_dim, num_heads, hidden_dim
    p.threshold = threshold;
    p.reset_potential = reset;
    p.refractory_period = refractory;
    p.decay = {spikenn::DecayKind::linear, decay_per_s, Time::zero()};
    return p;
}

// Random weights, with LayerNorm2's weight and bias drawn per element: the mean readout
// then depends on the input (with one weight for every element it would be the bias's mean).
spikenn::WeightsSpec drawn_norm2(bool shared = false) {
    spikenn::WeightsSpec w;
    w.norm2.weight = spikenn::NormFill::normal(/*mean=*/1.0, /*std=*/0.5);
    w.norm2.bias = spikenn::NormFill::normal(0.3, 0.2);
    w.shared = shared;
    return w;
}

} // namespace

int main() {
    try {
        spikenn::NetworkBuilder net(/*seed=*/7);
        spikenn::NeuronParams in = layer(0.3, 0.0, Time::from_ms(60), 0.8);
        in.readout = spikenn::Readout::linear; // its weights drawn like PyTorch's nn.Linear
        net.add_population("in", 4, in);
        net.add_population("hidden", 8, layer(0.8, 0.1, Time::from_ms(80), 1.0), drawn_norm2());
        net.add_population("out", 2, layer(0.9, 0.0, Time::from_ms(50), 0.5), drawn_norm2(/*shared=*/true));
        net.connect("in", "hidden", spikenn::Pattern::all_to_all, {Time::from_ms(2), /*weight=*/1.0f, /*efficacy=*/0.7f});
        net.connect("hidden", "out", spikenn::Pattern::random, {Time::from_ms(3), 1.0f, 0.6f}, /*probability=*/0.75);
        net.add_stimulus("noise", "in", spikenn::Schedule::poisson(/*per_second=*/60, Time::zero(), Time::from_ms(1500)),
            spikenn::StimulusTensor::random_normal(10, /*std=*/1.0f), {/*efficacy=*/1.0f, /*independent=*/true});
        net.add_stimulus("beat", "in", spikenn::Schedule::every(Time::from_ms(60), Time::from_ms(10), Time::from_ms(1500)),
            spikenn::StimulusTensor::random_normal(10, 2.0f), {0.5f, true});

        spikenn::SimulationOptions options;
        options.until = Time::from_ms(3000);
        spikenn::Simulation sim(net.build(), options);
        const auto& spikes = sim.add_recorder(std::make_unique<spikenn::SpikeRecorder>()).spikes();
        const spikenn::StopReason stop = sim.run();

        std::printf("%" PRIu64 " events, stopped at %s (%s)\n", sim.events_processed(), spikenn::format_time(sim.now()).c_str(),
            std::string(spikenn::to_string(stop)).c_str());
        std::printf("%zu spikes\n", spikes.size());
        for (std::size_t i = 0; i < spikes.size() && i < 5; ++i) {
            std::printf("  %8s %s\n", spikenn::format_time(spikes[i].time).c_str(), sim.network().names[spikes[i].neuron].c_str());
        }
        std::printf("fingerprint 0x%016" PRIx64 "\n", sim.fingerprint());
    }
    catch (const spikenn::Error& e) {
        std::fprintf(stderr, "demo_in_code: %s\n", e.what());
        return 1;
    }
}
