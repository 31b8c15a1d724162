// The network of scenarios/demo.yaml, built in code: three populations, two connections,
// two random drives. It prints the spikes and the run's fingerprint, which is the one
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

// Random weights, with LayerNorm2's bias set: the mean readout of a LayerNorm output is its
// bias, so each accepted input moves the potential by about that much.
spikenn::WeightsSpec norm2_bias(float bias, bool shared = false) {
    spikenn::WeightsSpec w;
    w.norm2.bias = bias;
    w.shared = shared;
    return w;
}

} // namespace

int main() {
    try {
        spikenn::NetworkBuilder net(/*seed=*/7);
        net.add_population("in", 4, layer(1.0, 0.0, Time::from_ms(120), 0.8), norm2_bias(0.3f));
        net.add_population("hidden", 8, layer(1.2, 0.1, Time::from_ms(80), 0.5), norm2_bias(0.25f));
        net.add_population("out", 2, layer(1.5, 0.0, Time::from_ms(50), 0.5), norm2_bias(0.2f, /*shared=*/true));
        net.connect("in", "hidden", spikenn::Pattern::all_to_all, {Time::from_ms(2)});
        net.connect("hidden", "out", spikenn::Pattern::all_to_all, {Time::from_ms(3), /*weight=*/0.5f});
        const auto seq_len_10 = spikenn::StimulusTensor::random_normal(10, /*std=*/1.0f);
        net.add_stimulus("drive", net.select({"in[0]", "in[1]"}),
            spikenn::Schedule::every(Time::from_ms(50), Time::from_ms(10), Time::from_ms(1500)), seq_len_10);
        net.add_stimulus("drive2", net.select({"in[2]", "in[3]"}),
            spikenn::Schedule::every(Time::from_ms(70), Time::from_ms(25), Time::from_ms(1500)), seq_len_10);

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
