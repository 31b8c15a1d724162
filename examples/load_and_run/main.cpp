// Loads a scenario, runs it, and prints its spikes and the run's fingerprint (the number
// that `spikenn run` prints, and that a scenario's `expect: fingerprint:` pins).
//   load_and_run SCENARIO.yaml
#include <cinttypes>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <spikenn/eventlog.hpp>
#include <spikenn/scenario.hpp>
#include <spikenn/simulator.hpp>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s SCENARIO.yaml\n", argv[0]);
        return 2;
    }
    try {
        spikenn::Scenario sc = spikenn::load_scenario(argv[1]);
        spikenn::Simulator sim(sc.network);
        sim.set_limits({sc.end, sc.max_events});

        // The observer sees every processed event. A spike is an event of kind spike that
        // was delivered (not cancelled); the fingerprint chains every event.
        struct Spike {
            spikenn::Time time;
            spikenn::EntityId neuron;
        };
        std::vector<Spike> spikes;
        spikenn::Fingerprint fingerprint;
        spikenn::TensorHashCache hashes;
        sim.add_observer([&](const spikenn::EventRecord& r, const spikenn::Simulator& s) {
            const spikenn::EventKey& k = r.event.key;
            if (k.kind == spikenn::EventKind::spike && r.result.outcome == spikenn::Outcome::delivered) {
                spikes.push_back({k.time, k.target});
            }
            fingerprint.add(spikenn::to_log_record(r, s, hashes));
        });

        const spikenn::StopReason stop = sim.run();

        std::printf("%" PRIu64 " events, stopped at %s (%s)\n", sim.events_processed(), spikenn::format_time(sim.now()).c_str(),
            std::string(spikenn::to_string(stop)).c_str());
        std::printf("%zu spikes\n", spikes.size());
        for (std::size_t i = 0; i < spikes.size() && i < 5; ++i) {
            std::printf("  %s %s\n", spikenn::format_time(spikes[i].time).c_str(), sc.network.names[spikes[i].neuron].c_str());
        }
        std::printf("fingerprint 0x%016" PRIx64 "\n", fingerprint.value());
    }
    catch (const std::exception& e) {
        std::fprintf(stderr, "load_and_run: %s\n", e.what());
        return 1;
    }
}
