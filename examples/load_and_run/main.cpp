// Loads a scenario, attaches a recorder of its own, runs it, and prints what the recorder
// kept and the run's fingerprint (the number `spikenn run` prints, and that a scenario's
// `expect: fingerprint:` pins).
//   load_and_run SCENARIO.yaml
#include <cinttypes>
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <string>

#include <spikenn/recorder.hpp>
#include <spikenn/scenario.hpp>
#include <spikenn/simulation.hpp>

namespace {

// A recorder sees every processed event, in order. This one keeps, per neuron, how many
// spikes it fired and when the first came; a spike is an event whose outcome is
// `delivered` (a refractory neuron drops its inputs, and nothing else delivers).
class FirstSpikes final: public spikenn::Recorder {
public:
    struct Entry {
        std::uint64_t count = 0;
        spikenn::Time first;
    };

    void record(const spikenn::RecordedEvent& e) override {
        if (e.event.result.outcome != spikenn::Outcome::delivered) return;
        Entry& n = per_neuron_[e.event.event.key.target];
        if (n.count++ == 0) n.first = e.event.event.key.time;
    }
    void finish(const spikenn::RunEnd& end) override { ended_at_ = end.sim.now(); }

    const std::map<spikenn::EntityId, Entry>& per_neuron() const { return per_neuron_; }
    spikenn::Time ended_at() const { return ended_at_; }

private:
    std::map<spikenn::EntityId, Entry> per_neuron_;
    spikenn::Time ended_at_;
};

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s SCENARIO.yaml\n", argv[0]);
        return 2;
    }
    try {
        spikenn::Scenario sc = spikenn::load_scenario(argv[1]);
        spikenn::Simulation sim(std::move(sc.network), sc.simulation_options());
        const FirstSpikes& spikes = sim.add_recorder(std::make_unique<FirstSpikes>());
        sim.run();

        std::printf("%" PRIu64 " events, ended at %s\n", sim.events_processed(), spikenn::format_time(spikes.ended_at()).c_str());
        for (const auto& [id, n]: spikes.per_neuron()) {
            std::printf("  %-10s %4" PRIu64 " spikes, the first at %s\n", sim.network().names[id].c_str(), n.count,
                spikenn::format_time(n.first).c_str());
        }
        std::printf("fingerprint 0x%016" PRIx64 "\n", sim.fingerprint());
    }
    catch (const spikenn::InputError& e) { // the scenario, or a file it names
        std::fprintf(stderr, "load_and_run: %s\n", e.what());
        return 2;
    }
    catch (const spikenn::Error& e) { // a failed run
        std::fprintf(stderr, "load_and_run: %s\n", e.what());
        return 1;
    }
}
