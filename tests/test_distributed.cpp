// Runs on several ranks (docs/distributed.md), with the ranks as threads of this process
// (LocalGroup): the same library calls `spikenn run` makes under mpirun, so that the promise
// (every recorded byte as in the sequential run) is tested in every build, the sanitizers'
// included. tests/mpi_identical.sh tests the same through mpirun.
#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "cli_util.hpp"
#include <spikenn/communicator.hpp>
#include <spikenn/event_log_recorder.hpp>
#include <spikenn/outputs.hpp>
#include <spikenn/scenario.hpp>
#include <spikenn/simulation.hpp>
#include "tools/run.hpp"

using namespace spikenn;

namespace {

struct RankRun {
    std::uint64_t fingerprint = 0;
    std::uint64_t events = 0;
    std::string log;                           // rank 0's event log
    std::map<std::string, std::string> files; // rank 0's output files
    std::string error;                         // what the run threw, if anything
    std::size_t weights = 0;                   // neurons with weights on this rank
    ExchangeStats exchanged;                   // this rank's
    BatchStats blocks;                         // this rank's
    std::set<std::int64_t> input_times;        // rank 0: the times of the inputs it handled (not dropped)
    std::uint64_t spikes = 0;                  // rank 0: the spikes
};

// The times at which inputs were handled, as a run sees them.
class InputTimes final: public Recorder {
public:
    InputTimes(std::set<std::int64_t>& out, std::uint64_t& spikes): out_(out), spikes_(spikes) {}
    void record(const RecordedEvent& e) override {
        if (e.event.event.key.kind == EventKind::input && e.event.result.outcome != Outcome::dropped) out_.insert(e.event.event.key.time.ticks());
        if (e.event.event.key.kind == EventKind::spike) ++spikes_;
    }

private:
    std::set<std::int64_t>& out_;
    std::uint64_t& spikes_;
};

// Runs `scenario` on `ranks` ranks (threads of this process) with `threads` threads each;
// rank 0 records a log and the output files under `name`. ranks == 0: alone, no communicator.
std::vector<RankRun> run_ranks(const std::string& scenario, int ranks, unsigned threads, const std::string& name) {
    const int n = ranks == 0 ? 1 : ranks;
    std::vector<std::shared_ptr<Communicator>> comms;
    if (ranks > 0) comms = LocalGroup::make(ranks);
    std::vector<RankRun> out(static_cast<std::size_t>(n));
    const fs::path dir = scratch / "distributed" / name;
    fs::remove_all(dir);
    fs::create_directories(dir / "out");
    auto rank_main = [&](int r) {
        RankRun& me = out[static_cast<std::size_t>(r)];
        try {
            ScenarioOverrides ov;
            ov.rank = r;
            ov.ranks = n;
            Scenario sc = load_scenario(SPIKENN_SOURCE_DIR "/" + scenario, ov);
            for (const auto& x: sc.network.neurons) me.weights += x.weights ? 1 : 0;
            SimulationOptions options = sc.simulation_options(threads);
            if (ranks > 0) options.communicator = comms[static_cast<std::size_t>(r)];
            Simulation sim(std::move(sc.network), options);
            if (r == 0) {
                sim.add_recorder(std::make_unique<EventLogRecorder>(dir / "run.evlog", make_log_header(sc, scenario)));
                sim.add_recorder(std::make_unique<OutputFiles>(dir / "out", sim.network(), sc.output_settings(dir / "out")));
                sim.add_recorder(std::make_unique<InputTimes>(me.input_times, me.spikes));
            }
            sim.run();
            if (ranks > 0) me.exchanged = comms[static_cast<std::size_t>(r)]->stats();
            me.blocks = sim.network().batch_stats();
            me.fingerprint = sim.fingerprint();
            me.events = sim.events_processed();
        }
        catch (const std::exception& e) {
            me.error = e.what();
            // A failure of this rank alone would leave the others waiting: end them (a
            // failure every rank meets alike has no one waiting, and this changes nothing).
            if (ranks > 0) {
                try {
                    comms[static_cast<std::size_t>(r)]->abort(1);
                }
                catch (const AbortedRun&) {
                }
            }
        }
        catch (const AbortedRun&) {
            me.error = "aborted by another rank";
        }
    };
    std::vector<std::thread> pool;
    for (int r = 1; r < n; ++r) pool.emplace_back(rank_main, r);
    rank_main(0);
    for (auto& t: pool) t.join();
    if (out[0].error.empty()) {
        out[0].log = slurp(dir / "run.evlog");
        out[0].files = files_of(dir / "out");
    }
    return out;
}

} // namespace

// Every recorded byte of a run on 2 or 3 ranks, with 1 or 2 threads each, is the sequential
// run's: the event log, every output file and the fingerprint, on every rank. The scenarios:
// the demo (every kind of event), a shared-weights population with random connections of two
// delays, and the seed's.
TEST_CASE("ranks as threads record the bytes of the sequential run") {
    for (const char* scenario: {"scenarios/demo.yaml", "tests/data/population.yaml", "scenarios/seed.yaml"}) {
        CAPTURE(scenario);
        const auto alone = run_ranks(scenario, 0, 1, "alone");
        REQUIRE(alone[0].error.empty());
        REQUIRE(alone[0].log.size() > 1000);
        REQUIRE(alone[0].files.count("spikes.csv") == 1);
        for (int ranks: {2, 3}) {
            for (unsigned threads: {1u, 2u}) {
                CAPTURE(ranks);
                CAPTURE(threads);
                const auto runs = run_ranks(scenario, ranks, threads, fmt::format("r{}t{}", ranks, threads));
                for (const auto& r: runs) {
                    CHECK(r.error == "");
                    CHECK(r.fingerprint == alone[0].fingerprint);
                    CHECK(r.events == alone[0].events);
                }
                CHECK(runs[0].log == alone[0].log);
                CHECK(runs[0].files == alone[0].files);
                // Each rank holds only its own neurons' weights.
                std::size_t with_weights = 0;
                for (const auto& r: runs) with_weights += r.weights;
                CHECK(with_weights == alone[0].weights);
                CHECK(runs[1].weights < alone[0].weights);
            }
        }
    }
}

// The ranks exchange once per window, not once per time: at the first need of a time t every
// input due before t plus the smallest delay (1ms here) is computed and exchanged, since no
// event in that window can schedule an input into it. And the spike outputs of a time's
// spikes are computed together: with the batch when the readouts foresee them, or else all
// the time's foreseeable ones at its first spike.
TEST_CASE("ranks exchange once per window of the smallest delay") {
    const auto runs = run_ranks("tests/data/scattered.yaml", 2, 1, "windows");
    REQUIRE(runs[0].error == "");
    const std::size_t times = runs[0].input_times.size();
    const std::uint64_t exchanges = runs[0].exchanged.exchanges;
    MESSAGE("input times " << times << ", exchanges " << exchanges);
    CHECK(times > 100);
    CHECK(exchanges * 3 < times);
    // Nearly every spike's output came ahead, computed with a batch or with another spike's
    // (each rank counts those of its own neurons).
    const std::uint64_t ahead = runs[0].blocks.spike_outputs + runs[1].blocks.spike_outputs;
    MESSAGE("spikes " << runs[0].spikes << ", outputs ahead " << ahead);
    CHECK(runs[0].spikes > 500);
    CHECK(ahead * 10 >= runs[0].spikes * 9);
}

// A NaN computed on one rank stops every rank at the same event, with the same message
// (neuron blows_up is rank 1's of 2; the failure happens at its event 3).
TEST_CASE("a non-finite block on one rank stops every rank at the same event") {
    const auto runs = run_ranks("tests/data/nan.yaml", 2, 1, "nan");
    REQUIRE(runs.size() == 2);
    for (const auto& r: runs) {
        CAPTURE(r.error);
        CHECK(r.error.find("event 3") != std::string::npos);
        CHECK(r.error.find("blows_up") != std::string::npos);
        CHECK(r.error.find("not finite") != std::string::npos);
    }
    CHECK(runs[0].error == runs[1].error);
}

// A network built for one rank holds only that rank's weights, and runs only as that rank.
TEST_CASE("a network built for one rank runs only as that rank") {
    ScenarioOverrides ov;
    ov.rank = 1;
    ov.ranks = 2;
    Scenario sc = load_scenario(SPIKENN_SOURCE_DIR "/scenarios/demo.yaml", ov);
    CHECK(sc.network.partition.rank == 1);
    CHECK(sc.network.partition.ranks == 2);
    CHECK(!sc.network.neurons[0].weights);
    CHECK(sc.network.neurons[1].weights);
    const auto comms = LocalGroup::make(3);
    Network net = std::move(sc.network);
    try {
        net.set_communicator(comms[1]);
        FAIL("a network for rank 1 of 2 ran as rank 1 of 3");
    }
    catch (const InputError& e) {
        CHECK(std::string(e.what()).find("built for rank 1 of 2") != std::string::npos);
    }
    try {
        net.set_communicator(nullptr);
        FAIL("a network for rank 1 of 2 ran alone");
    }
    catch (const InputError&) {
    }
}

// The in-process group: every rank gets every rank's bytes in rank order, broadcasts reach
// every rank, and an abort on one rank ends every rank's next call rather than leaving it
// waiting.
TEST_CASE("LocalGroup exchanges bytes between its ranks") {
    const auto comms = LocalGroup::make(3);
    std::vector<std::vector<std::vector<unsigned char>>> gathered(3);
    std::vector<std::vector<unsigned char>> cast(3);
    std::vector<std::thread> pool;
    for (int r = 0; r < 3; ++r) {
        pool.emplace_back([&, r] {
            for (int round = 0; round < 50; ++round) { // rounds must not overtake one another
                const std::vector<unsigned char> mine(static_cast<std::size_t>(r + 1), static_cast<unsigned char>(10 * r + round % 7));
                gathered[static_cast<std::size_t>(r)] = comms[static_cast<std::size_t>(r)]->all_gather(mine);
                for (int k = 0; k < 3; ++k) {
                    REQUIRE(gathered[static_cast<std::size_t>(r)][static_cast<std::size_t>(k)] ==
                        std::vector<unsigned char>(static_cast<std::size_t>(k + 1), static_cast<unsigned char>(10 * k + round % 7)));
                }
            }
            const std::vector<unsigned char> root_bytes{1, 2, 3};
            cast[static_cast<std::size_t>(r)] = comms[static_cast<std::size_t>(r)]->broadcast(r == 2 ? root_bytes : std::vector<unsigned char>{}, 2);
        });
    }
    for (auto& t: pool) t.join();
    for (int r = 0; r < 3; ++r) CHECK(cast[static_cast<std::size_t>(r)] == std::vector<unsigned char>{1, 2, 3});
    CHECK(comms[0]->stats().exchanges == 51);
    CHECK(comms[0]->stats().bytes_received == 50 * (2 + 3) + 3);

    const auto group = LocalGroup::make(2);
    std::atomic<int> aborted{0};
    std::thread other([&] {
        try {
            group[1]->all_gather({});
        }
        catch (const AbortedRun& a) {
            aborted += a.code;
        }
    });
    try {
        group[0]->abort(7);
    }
    catch (const AbortedRun& a) {
        aborted += a.code;
    }
    other.join();
    CHECK(aborted == 14);
}

// A network whose weights do not fit one process runs on several: each rank's memory
// estimate charges only the weights of the neurons it owns (16 neurons of (256, 4, 1024) with
// weights of their own are 50 MiB; under a limit of 40 MiB one rank is refused, and each of 2
// ranks accepted).
TEST_CASE("each rank's memory estimate charges its own weights") {
    const std::string text = R"(run: {until: 1ms}
neurons:
  - population: p
    size: 16
    embed_dim: 256
    num_heads: 4
    hidden_dim: 1024
stimuli:
  - {name: s, to: all, at: [0ms], tensor: {random: {seq_len: 1}}}
)";
    ScenarioOverrides ov;
    ov.memory_limit = 40ull << 20;
    ov.weights = false;
    ov.check_weights = true;
    std::string refused;
    try {
        load_scenario_text("big.yaml", text, ov);
    }
    catch (const InputError& e) {
        refused = e.what();
    }
    CHECK(refused.find("run on more ranks") != std::string::npos);
    for (int r = 0; r < 2; ++r) {
        ov.rank = r;
        ov.ranks = 2;
        CHECK_NOTHROW(load_scenario_text("big.yaml", text, ov));
    }
    // Recording the weights, rank 0 builds them all (it writes the file), and is charged so.
    const std::string recorded = text + "record: {weights: true}\n";
    ov.rank = 0;
    CHECK_THROWS_AS(load_scenario_text("big.yaml", recorded, ov), InputError);
    ov.rank = 1;
    CHECK_NOTHROW(load_scenario_text("big.yaml", recorded, ov));
}

// An error in setting up on one rank only (rank 1's weights file lacks its neurons' tensors,
// say) stops every rank: the failing rank with its own error, the others with an InputError
// that names the rank and the error, rather than waiting for it in the run's first exchange.
TEST_CASE("an error on one rank before the run stops every rank") {
    const auto comms = LocalGroup::make(3);
    std::vector<std::string> errors(3);
    std::vector<std::thread> pool;
    for (int r = 0; r < 3; ++r) {
        pool.emplace_back([&, r] {
            std::exception_ptr failed;
            if (r == 1) failed = std::make_exception_ptr(InputError("weights.safetensors has no tensor 'p.1.fc1.weight'"));
            try {
                agree_to_start(comms[static_cast<std::size_t>(r)], failed);
                errors[static_cast<std::size_t>(r)] = "started";
            }
            catch (const InputError& e) {
                errors[static_cast<std::size_t>(r)] = e.what();
            }
        });
    }
    for (auto& t: pool) t.join();
    CHECK(errors[0] == "on rank 1: weights.safetensors has no tensor 'p.1.fc1.weight'");
    CHECK(errors[1] == "weights.safetensors has no tensor 'p.1.fc1.weight'");
    CHECK(errors[2] == errors[0]);
    // No error anywhere: every rank starts.
    std::vector<int> started(2);
    const auto two = LocalGroup::make(2);
    std::thread other([&] {
        agree_to_start(two[1], nullptr);
        started[1] = 1;
    });
    agree_to_start(two[0], nullptr);
    started[0] = 1;
    other.join();
    CHECK(started == std::vector<int>{1, 1});
}
