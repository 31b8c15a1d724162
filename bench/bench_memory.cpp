// Peak resident memory of 10,000 neurons of (512, 8 heads, 2048) in one population with
// shared weights, after building the network and running a few hundred events.
// Usage: spikenn_bench_memory [NEURONS] (default 10000)
#include <sys/resource.h>

#include <cstdlib>

#include <fmt/format.h>

#include <spikenn/scenario.hpp>

using namespace spikenn;

int main(int argc, char** argv) {
    const int n = argc > 1 ? std::atoi(argv[1]) : 10000;
    const std::string text = fmt::format(R"(run: {{seed: 1, until: 30ms}}
neurons:
  - population: p
    size: {}
    embed_dim: 512
    num_heads: 8
    hidden_dim: 2048
    threshold: 1.0
    weights: {{ shared: true, norm2: {{ bias: 0.4 }} }}
stimuli:
  - name: drive
    to: ["p[0]", "p[1]", "p[2]", "p[3]", "p[4]", "p[5]", "p[6]", "p[7]"]
    every: 1ms
    until: 30ms
    tensor: {{ random: {{ seq_len: 10 }} }}
)",
        n);
    Scenario sc = load_scenario_text("memory.yaml", text);
    Simulator sim(sc.network);
    sim.set_limits({sc.end, sc.max_events});
    sim.run();
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    fmt::print("{} neurons of (512, 8, 2048) sharing weights: {} events, peak resident {:.1f} MiB\n", n, sim.events_processed(),
        static_cast<double>(ru.ru_maxrss) / 1024.0);
    return 0;
}
