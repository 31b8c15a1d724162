// Spike statistics (record/spike_stats.hpp, record/populations.hpp): the formulas against
// hand-computed values on hand-built spike trains, and `spikenn log stats` and summary.json
// on a recorded run, which must agree with each other.
#include <doctest/doctest.h>

#include <cmath>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli_util.hpp"
#include <spikenn/eventlog.hpp>
#include <spikenn/spike_stats.hpp>

using namespace spikenn;

namespace {

Time ms(std::int64_t v) { return Time::from_ms(v); }

fs::path workdir(const std::string& name) {
    const fs::path d = fs::temp_directory_path() / fmt::format("spikenn_test_stats_{}_{}", ::getpid(), name);
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

// The trains worked through by hand below: p[0] at 10, 30, 70 ms; p[1] at 50, 60 ms;
// solo silent, with 4 dropped inputs.
SpikeTrains hand_trains() {
    SpikeTrains t(3);
    for (std::int64_t v: {10, 30, 70}) t.add_spike(0, ms(v));
    for (std::int64_t v: {50, 60}) t.add_spike(1, ms(v));
    t.add_drops(2, 4);
    t.add_drops(0);
    return t;
}
const std::vector<std::string> hand_names{"p[0]", "p[1]", "solo"};

} // namespace

// Populations come from the names alone: NAME[i] is a member of NAME, a name without
// brackets a population of its own, and members need not be neighbours.
TEST_CASE("populations are recovered from the neurons' names") {
    CHECK(population_of("hidden[3]") == "hidden");
    CHECK(population_of("a") == "a");
    const std::vector<std::string> names{"in[0]", "in[1]", "a", "hidden[0]", "in[2]"};
    const std::vector<Population> p = populations_of(names);
    REQUIRE(p.size() == 3);
    CHECK(p[0].name == "in");
    CHECK(p[0].members == std::vector<EntityId>{0, 1, 4});
    CHECK(p[1].name == "a");
    CHECK(p[1].members == std::vector<EntityId>{2});
    CHECK(p[2].name == "hidden");
    CHECK(p[2].members == std::vector<EntityId>{3});
}

// Per neuron, over [0, 100ms]: p[0] has ISIs 20 and 40 ms (mean 30, population std 10, so
// CV 1/3) and a rate of 3 / 0.1 s; p[1] one ISI (no CV); solo no spike and no ISI.
TEST_CASE("per-neuron rate, ISI mean and CV match the hand computation") {
    const SpikeStats s = hand_trains().stats(hand_names, ms(100), ms(20));
    REQUIRE(s.neurons.size() == 3);
    const TrainStats& a = s.neurons[0];
    CHECK(a.spikes == 3);
    CHECK(a.drops == 1);
    CHECK(*a.rate_hz == doctest::Approx(30.0));
    CHECK(a.intervals == 2);
    CHECK(*a.isi_mean_s == doctest::Approx(0.030));
    CHECK(*a.isi_cv == doctest::Approx(1.0 / 3.0));
    const TrainStats& b = s.neurons[1];
    CHECK(*b.rate_hz == doctest::Approx(20.0));
    CHECK(b.intervals == 1);
    CHECK(*b.isi_mean_s == doctest::Approx(0.010));
    CHECK(!b.isi_cv); // one ISI: no spread to speak of
    const TrainStats& c = s.neurons[2];
    CHECK(c.spikes == 0);
    CHECK(c.drops == 4);
    CHECK(*c.rate_hz == 0.0);
    CHECK(!c.isi_mean_s);
    CHECK(!c.isi_cv);
}

// Population p pools its members' ISIs {20, 40, 10} ms: mean 70/3 ms, deviations -10/3,
// 50/3, -40/3, variance 1400/9, CV sqrt(1400)/70. Its rate is 5 spikes / (2 neurons x 0.1 s).
// Bins of 20 ms hold 1, 1, 1, 2, 0 spikes: mean 1, variance 0.4, Fano factor 0.4. Bins of
// 30 ms: three whole bins [0, 90ms) with 1, 2, 2 (mean 5/3, variance 2/9): 2/15.
TEST_CASE("population rate, pooled ISIs and Fano factor match the hand computation") {
    const SpikeTrains t = hand_trains();
    const SpikeStats s = t.stats(hand_names, ms(100), ms(20));
    REQUIRE(s.populations.size() == 2);
    const PopulationStats& p = s.populations[0];
    CHECK(p.population.name == "p");
    CHECK(p.train.spikes == 5);
    CHECK(p.train.drops == 1);
    CHECK(*p.train.rate_hz == doctest::Approx(25.0));
    CHECK(p.train.intervals == 3);
    CHECK(*p.train.isi_mean_s == doctest::Approx(0.070 / 3));
    CHECK(*p.train.isi_cv == doctest::Approx(std::sqrt(1400.0) / 70));
    CHECK(p.bins == 5);
    CHECK(*p.fano == doctest::Approx(0.4));
    CHECK(*t.stats(hand_names, ms(100), ms(30)).populations[0].fano == doctest::Approx(2.0 / 15));
    // A population without spikes has no Fano factor; solo is its own population.
    const PopulationStats& solo = s.populations[1];
    CHECK(solo.population.members == std::vector<EntityId>{2});
    CHECK(solo.train.drops == 4);
    CHECK(!solo.fano);
}

// The undefined cases: fewer than 2 whole bins, an empty span, ISIs that are all 0.
TEST_CASE("statistics that are undefined are absent, not 0 or NaN") {
    const SpikeTrains t = hand_trains();
    CHECK(!t.stats(hand_names, ms(100), ms(60)).populations[0].fano); // one whole bin
    CHECK(!t.stats(hand_names, ms(100), ms(200)).populations[0].fano); // none
    const SpikeStats empty = t.stats(hand_names, Time::zero(), ms(10));
    CHECK(!empty.neurons[0].rate_hz);
    CHECK(!empty.populations[0].fano);
    SpikeTrains same(1);
    for (int k = 0; k < 3; ++k) same.add_spike(0, ms(5));
    const SpikeStats z = same.stats(std::vector<std::string>{"n"}, ms(10), ms(1));
    CHECK(*z.neurons[0].isi_mean_s == 0.0);
    CHECK(!z.neurons[0].isi_cv);
    // Spikes of a regular train give CV 0 exactly.
    SpikeTrains regular(1);
    for (int k = 1; k <= 4; ++k) regular.add_spike(0, ms(10 * k));
    CHECK(*regular.stats(std::vector<std::string>{"n"}, ms(50), ms(10)).neurons[0].isi_cv == 0.0);
}

// The rate trace's counts and the ISI histogram's intervals come from the same trains.
TEST_CASE("spike counts in equal parts of the span, and pooled intervals") {
    const SpikeTrains t = hand_trains();
    const std::vector<EntityId> p{0, 1};
    CHECK(t.counts(p, ms(100), 4) == std::vector<std::uint64_t>{1, 1, 3, 0}); // parts of 25 ms
    CHECK(t.counts(p, ms(70), 7) == std::vector<std::uint64_t>{0, 1, 0, 1, 0, 1, 2}); // 70 ms in the last part
    CHECK(t.intervals(p) == std::vector<std::int64_t>{ms(20).ticks(), ms(40).ticks(), ms(10).ticks()});
}

// A log's span: the header's end time when the run reached it, else its last event.
TEST_CASE("the span of a recorded run") {
    LogHeader h;
    h.end_ticks = ms(300).ticks();
    h.max_events = 100;
    CHECK(recorded_end(h, 50, ms(120), true) == ms(300));
    CHECK(recorded_end(h, 100, ms(120), true) == ms(120)); // stopped by its event limit
    CHECK(recorded_end(h, 50, ms(120), false) == ms(120)); // cut: it got no further
    h.end_ticks = Time::max().ticks();
    CHECK(recorded_end(h, 50, ms(120), true) == ms(120)); // no end time
}

// The same run through both readers: `log stats` reads the event log, summary.json the
// run's spikes.csv. Their numbers agree, the span is the run's end time, and the lone
// neuron is a population of its own.
TEST_CASE("log stats and summary.json give the same spike statistics") {
    const fs::path d = workdir("agree");
    const fs::path log = d / "stats.evlog";
    const Result run = run_cli(fmt::format("run tests/data/stats.yaml --out '{}' --record '{}' -q", (d / "out").string(), log.string()));
    INFO(run.err);
    REQUIRE(run.code == 0);
    const nlohmann::json j = nlohmann::json::parse(slurp(d / "out" / "summary.json"));
    // The fields of before are still there, beside the new ones.
    for (const char* key: {"scenario", "seed", "neurons", "end_time_ticks", "end_time_s", "stop", "events", "fingerprint", "events_by_kind",
             "events_by_outcome", "pending_events", "spikes", "drops", "per_neuron", "rate_span_s", "populations"}) {
        CAPTURE(key);
        CHECK(j.contains(key));
    }
    CHECK(j["rate_span_s"].get<double>() == 0.2);
    REQUIRE(j["populations"].size() == 2);
    const auto& pj = j["populations"][0];
    CHECK(pj["name"] == "p");
    CHECK(pj["size"] == 3);
    CHECK(pj["fano_bin_s"].get<double>() == 0.01);
    CHECK(j["populations"][1]["name"] == "solo");
    CHECK(j["populations"][1]["fano_factor"].is_null());
    CHECK(j["per_neuron"][3]["isi_cv"].is_null());

    // p[0]'s numbers from spikes.csv, by the test's own reckoning.
    std::vector<double> t0;
    {
        std::istringstream in(slurp(d / "out" / "spikes.csv"));
        std::string line;
        std::getline(in, line);
        while (std::getline(in, line)) {
            if (line.find(",p[0]") != std::string::npos) t0.push_back(std::stod(line.substr(0, line.find(','))) / 1e9);
        }
    }
    REQUIRE(t0.size() >= 3);
    const auto& n0 = j["per_neuron"][0];
    CHECK(n0["spikes"] == t0.size());
    CHECK(n0["rate_hz"].get<double>() == doctest::Approx(static_cast<double>(t0.size()) / 0.2));
    CHECK(n0["isi_mean_s"].get<double>() == doctest::Approx((t0.back() - t0.front()) / static_cast<double>(t0.size() - 1)));
    REQUIRE(n0["drops"].get<int>() > 0);

    // log stats prints the same numbers.
    const Result r = run_cli(fmt::format("log stats '{}'", log.string()));
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("span        0s to 200ms (the run's end time)") != std::string::npos);
    auto cell = [](const nlohmann::json& v, const char* form) { return v.is_null() ? std::string("-") : fmt::format(fmt::runtime(form), v.get<double>()); };
    for (const auto& n: j["per_neuron"]) {
        const std::string row = fmt::format("  {:<16} {:>10} {:>8} {:>8} {:>12} {:>14} {:>8}", n["name"].get<std::string>(), "", n["spikes"].get<int>(),
            n["drops"].get<int>(), cell(n["rate_hz"], "{:.6g}"), cell(n["isi_mean_s"], "{:.6g}"), cell(n["isi_cv"], "{:.4f}"));
        CAPTURE(row);
        // Everything but the events column, which summary.json does not have.
        const auto at = r.out.find("\n  " + n["name"].get<std::string>() + " ");
        REQUIRE(at != std::string::npos);
        const std::string printed = r.out.substr(at + 1, r.out.find('\n', at + 1) - at - 1);
        CHECK(printed.substr(29) == row.substr(29));
    }
    for (const auto& p: j["populations"]) {
        const std::string row = fmt::format("  {:<16} {:>6} {:>8} {:>8} {:>12} {:>14} {:>8} {:>8}", p["name"].get<std::string>(), p["size"].get<int>(),
            p["spikes"].get<int>(), p["drops"].get<int>(), cell(p["rate_hz"], "{:.6g}"), cell(p["isi_mean_s"], "{:.6g}"), cell(p["isi_cv"], "{:.4f}"),
            cell(p["fano_factor"], "{:.4f}"));
        CAPTURE(row);
        CHECK(r.out.find(row + "\n") != std::string::npos);
    }
    CHECK(r.out.find("20 bins of 10ms") != std::string::npos);

    // Another bin width changes the Fano factor's bins, and nothing else.
    const Result wide = run_cli(fmt::format("log stats '{}' --bin 50ms", log.string()));
    REQUIRE(wide.code == 0);
    CHECK(wide.out.find("4 bins of 50ms") != std::string::npos);
    CHECK(wide.out.substr(0, wide.out.find("  population")) == r.out.substr(0, r.out.find("  population")));
}

// --bin takes a time greater than 0, and says so otherwise (exit 2, nothing printed).
TEST_CASE("log stats refuses a bad --bin") {
    const fs::path d = workdir("bin");
    const fs::path log = d / "stats.evlog";
    REQUIRE(run_cli(fmt::format("run tests/data/stats.yaml --out '{}' --record '{}' -q", (d / "out").string(), log.string())).code == 0);
    for (const char* bad: {"0", "0ms", "-5ms", "often", "10", "0.5ns"}) {
        CAPTURE(bad);
        const Result r = run_cli(fmt::format("log stats '{}' --bin '{}'", log.string(), bad));
        CHECK(r.code == 2);
        CHECK(r.err.find("--bin: ") != std::string::npos);
        CHECK(r.out.empty());
    }
    CHECK(run_cli(fmt::format("log stats '{}' --bin 0", log.string())).err.find("must be greater than 0") != std::string::npos);
    CHECK(run_cli(fmt::format("log stats '{}' --bin often", log.string())).err.find("'often' is not a valid time") != std::string::npos);
}
