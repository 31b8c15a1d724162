// The classic hold model: N events pending at all times; each handled event schedules one
// successor at now + an exponentially distributed integer delay (mean 100 ticks).
// Compares, in one run with interleaved rounds, a plain std::priority_queue of (time, seq)
// with the engine's queues carrying whole events (time, kind, target, source, seq, payload,
// cause), and the engine's queue driven through Simulator::step() with a model that also
// cancels one event in a hundred (the engine's cancellation).
// Usage: spikenn_bench_scheduler [ROUNDS] (default 5)
#include <cmath>
#include <cstdlib>
#include <queue>
#include <random>

#include <fmt/format.h>

#include "bench/bench_common.hpp"
#include <spikenn/simulator.hpp>

using namespace spikenn;

namespace {

// The same delays for every variant: drawn once, outside the timed loops.
std::vector<std::int64_t> make_delays(std::size_t n) {
    std::mt19937_64 rng(12345);
    std::exponential_distribution<double> exp(1.0 / 100.0);
    std::vector<std::int64_t> d(n);
    for (auto& x: d) x = static_cast<std::int64_t>(exp(rng));
    return d;
}

double plain_priority_queue(std::size_t n, std::size_t ops, const std::vector<std::int64_t>& delays) {
    using Item = std::pair<std::int64_t, std::uint64_t>;
    std::priority_queue<Item, std::vector<Item>, std::greater<>> q;
    std::uint64_t seq = 0;
    std::size_t di = 0;
    for (std::size_t i = 0; i < n; ++i) q.emplace(delays[di++ % delays.size()], seq++);
    std::uint64_t check = 0;
    const double s = bench::seconds_of([&] {
        for (std::size_t i = 0; i < ops; ++i) {
            const Item top = q.top();
            q.pop();
            check += top.second;
            q.emplace(top.first + delays[di++ % delays.size()], seq++);
        }
    });
    if (check == 42) std::puts(""); // keep the loop
    return static_cast<double>(ops) / s;
}

Event make_event(std::int64_t t, std::uint64_t seq) {
    Event e;
    e.key = {Time::from_ticks(t), static_cast<EventKind>(seq % 4), static_cast<EntityId>(seq % 1000), static_cast<EntityId>((seq * 7) % 1000), seq};
    e.payload = no_payload;
    e.cause = seq;
    return e;
}

template <typename Q>
double engine_queue(std::size_t n, std::size_t ops, const std::vector<std::int64_t>& delays) {
    Q q;
    std::uint64_t seq = 0;
    std::size_t di = 0;
    for (std::size_t i = 0; i < n; ++i) q.push(make_event(delays[di++ % delays.size()], seq++));
    std::uint64_t check = 0;
    const double s = bench::seconds_of([&] {
        for (std::size_t i = 0; i < ops; ++i) {
            const Event e = q.pop();
            check += e.cause;
            q.push(make_event(e.key.time.ticks() + delays[di++ % delays.size()], seq++));
        }
    });
    if (check == 42) std::puts("");
    return static_cast<double>(ops) / s;
}

// The hold model as a Model: each event schedules its successor; one in a hundred also
// schedules a decoy that it cancels at once.
struct Hold final: Model {
    std::size_t n;
    const std::vector<std::int64_t>& delays;
    std::size_t di = 0;
    std::uint64_t seq = 0;
    Hold(std::size_t n_, const std::vector<std::int64_t>& d): n(n_), delays(d) {}
    void start(Simulator& sim) override {
        for (std::size_t i = 0; i < n; ++i) sim.schedule(make_event(delays[di++ % delays.size()], seq++));
    }
    EventResult handle(const Event& e, Simulator& sim) override {
        sim.schedule(make_event(e.key.time.ticks() + delays[di++ % delays.size()], seq++));
        if (seq % 100 == 0) {
            const Event decoy = make_event(e.key.time.ticks() + delays[di++ % delays.size()], seq++);
            sim.schedule(decoy);
            sim.cancel(decoy.key);
        }
        return {Outcome::accumulated, 0.0, no_payload};
    }
    EventResult cancelled(const Event&, Simulator&) override { return {Outcome::cancelled, 0.0, no_payload}; }
    void save_state(StateWriter&) const override {}
    void load_state(StateReader&, SavedState&) override {}
    void commit_state() override {}
};

double through_simulator(std::size_t n, std::size_t ops, const std::vector<std::int64_t>& delays) {
    Hold model(n, delays);
    Simulator sim(model, std::make_unique<RadixHeapQueue>());
    sim.start();
    const double s = bench::seconds_of([&] {
        for (std::size_t i = 0; i < ops; ++i) sim.step();
    });
    return static_cast<double>(ops) / s;
}

} // namespace

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
    const auto delays = make_delays(1 << 20);
    fmt::print("hold model, exponential delays (mean 100 ticks); millions of events per second, medians of {} interleaved rounds\n\n", rounds);
    fmt::print("{:>10} {:>14} {:>14} {:>14} {:>16} {:>11} {:>11}\n", "N", "std::pq", "binary heap", "radix heap", "radix+simulator", "radix/pq",
        "sim/pq");
    for (std::size_t n: {std::size_t{1000}, std::size_t{100000}, std::size_t{1000000}}) {
        const std::size_t ops = 4'000'000;
        std::vector<std::vector<double>> rates(4);
        for (int r = 0; r < rounds; ++r) {
            rates[0].push_back(plain_priority_queue(n, ops, delays));
            rates[1].push_back(engine_queue<BinaryHeapQueue>(n, ops, delays));
            rates[2].push_back(engine_queue<RadixHeapQueue>(n, ops, delays));
            rates[3].push_back(through_simulator(n, ops, delays));
        }
        const double pq = bench::median(rates[0]), bh = bench::median(rates[1]), rh = bench::median(rates[2]), sim = bench::median(rates[3]);
        fmt::print("{:>10} {:>14.2f} {:>14.2f} {:>14.2f} {:>16.2f} {:>10.2f}x {:>10.2f}x\n", n, pq / 1e6, bh / 1e6, rh / 1e6, sim / 1e6, rh / pq, sim / pq);
    }
    fmt::print("\nstd::pq: std::priority_queue of (time, seq); binary and radix heap: the engine's queues with whole events (48 bytes);\n"
               "radix+simulator: Simulator::step() on the radix heap, the model cancelling one event in a hundred.\n");
    return 0;
}
