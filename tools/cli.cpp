#include "tools/cli.hpp"

#include <cstdio>
#include <iostream>
#include <thread>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <spikenn/block.hpp>
#include <spikenn/error.hpp>
#include <spikenn/checkpoint.hpp>
#include <spikenn/hex.hpp>
#include <spikenn/network_export.hpp>
#include "tools/debugger.hpp"
#include "tools/logtools.hpp"
#include <spikenn/outputs.hpp>
#include <spikenn/plot.hpp>
#include "tools/run.hpp"
#include <spikenn/scenario.hpp>
#include <spikenn/version.hpp>

namespace spikenn {

namespace fs = std::filesystem;

namespace {

std::shared_ptr<Communicator> cli_comm;

bool several_ranks() { return cli_comm && cli_comm->size() > 1; }
// Whether this process reports what every rank meets alike: alone, or rank 0.
bool speaks() { return !cli_comm || cli_comm->rank() == 0; }

struct RunOptions {
    std::string scenario;
    std::string out;
    std::string until;
    std::uint64_t max_events = 0;
    std::int64_t seed = -1;
    std::string log_level;
    std::string record;
    std::string checkpoint_every;
    std::string checkpoint_dir;
    std::uint64_t checkpoint_keep = 0;
    std::string resume;
    std::uint64_t break_at_event = 0;
    std::string break_on_spike;
    unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    bool no_batch = false;
    bool plot = false;
    bool quiet = false;
};

struct PlotCommand {
    std::string log;
    std::string out;
    PlotOptions options;
    bool partial = false;
};

// The SVG of the log goes next to it (run.evlog: run.svg) unless --out says otherwise.
// A log that cannot be read to its footer (damaged, or cut as a stopped run leaves it) is
// exit 2, as for `log show`; the page of the events before is drawn only with --partial,
// so that a picture of part of a run is never taken for the whole of it.
int do_plot(const PlotCommand& c) {
    const fs::path out = c.out.empty() ? fs::path(c.log).replace_extension(".svg") : fs::path(c.out);
    std::error_code ec;
    if (fs::exists(out, ec) && fs::equivalent(out, c.log, ec)) throw InputError(fmt::format("--out {}: that is the log being read", out.string()));
    const fs::path parent = out.parent_path().empty() ? fs::path(".") : out.parent_path();
    if (!fs::is_directory(parent, ec)) throw InputError(fmt::format("--out {}: the directory {} does not exist", out.string(), parent.string()));
    const Plot plot = plot_log(c.log, c.options, log_neuron_params(EventLogReader(c.log).header()));
    if (!plot.incomplete.empty() && !c.partial) {
        throw InputError(fmt::format("{}\n  nothing drawn: --partial draws the events read before that", plot.incomplete));
    }
    write_file_atomically(out, plot.svg);
    if (!plot.incomplete.empty()) {
        std::cerr << fmt::format("spikenn: error: {}\n", plot.incomplete);
        std::cout << fmt::format("{}: partial plot of {} (only the events before the problem above)\n", out.string(), c.log);
        return 2;
    }
    std::cout << fmt::format("{}: plot of {}\n", out.string(), c.log);
    return 0;
}

std::string neuron_table(const Scenario& sc, Time end, const RunCounts& c) {
    const Network& net = sc.network;
    std::vector<std::size_t> order(net.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    constexpr std::size_t shown = 30;
    std::string note;
    if (order.size() > shown) {
        // Too many to list: the most active first.
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return c.spikes[a] + c.drops[a] > c.spikes[b] + c.drops[b]; });
        note = fmt::format("  ({} more neurons not shown; summary.json lists every neuron)\n", order.size() - shown);
        order.resize(shown);
    }
    std::size_t width = 6;
    for (auto i: order) width = std::max(width, net.names[i].size());
    // Potentials as everywhere else: the shortest text that reads back as the same double.
    std::vector<std::string> potentials;
    std::size_t potential_width = 12;
    for (auto i: order) {
        potentials.push_back(fmt::format("{}", net.neurons[i].potential_at(end)));
        potential_width = std::max(potential_width, potentials.back().size());
    }
    std::string t = fmt::format("  {:<{}}  {:>7}  {:>7}  {:>{}}\n", "neuron", width, "spikes", "drops", "potential", potential_width);
    for (std::size_t row = 0; row < order.size(); ++row) {
        const auto i = order[row];
        t += fmt::format("  {:<{}}  {:>7}  {:>7}  {:>{}}\n", net.names[i], width, c.spikes[i], c.drops[i], potentials[row], potential_width);
    }
    return t + note;
}

int do_run(const RunOptions& o) {
    ScenarioOverrides ov;
    std::optional<Scenario> loaded;
    RunSettings rs;
    // Under several ranks, an error here on one rank (a weights file that lacks a tensor of
    // its own neurons, a memory limit of its machine) stops every rank: they agree first.
    std::exception_ptr failed;
    try {
        if (o.seed >= 0) ov.seed = static_cast<std::uint64_t>(o.seed);
        if (!o.until.empty()) {
            try {
                ov.end = parse_time(o.until);
            }
            catch (const std::invalid_argument& e) {
                throw InputError(fmt::format("--until: {}", e.what()));
            }
            if (*ov.end < Time::zero()) throw InputError("--until: the end time must not be negative");
        }
        if (o.max_events > 0) ov.max_events = o.max_events;
        if (!o.resume.empty()) {
            // The seed and limits are the interrupted run's.
            if (ov.seed || ov.end || ov.max_events) throw InputError("--resume takes the seed and the limits from the checkpoint; drop --seed, --until and --max-events");
            const Checkpoint ck = read_checkpoint(o.resume);
            ov.seed = ck.info.seed;
            ov.end = Time::from_ticks(ck.info.end_ticks);
            ov.max_events = ck.info.max_events;
        }
        Time checkpoint_every = Time::zero();
        if (!o.checkpoint_every.empty()) {
            try {
                checkpoint_every = parse_time(o.checkpoint_every);
            }
            catch (const std::invalid_argument& e) {
                throw InputError(fmt::format("--checkpoint-every: {}", e.what()));
            }
            if (checkpoint_every <= Time::zero()) throw InputError("--checkpoint-every: the period must be greater than 0");
        }
        ov.threads = o.threads;
        if (cli_comm) {
            ov.rank = cli_comm->rank();
            ov.ranks = cli_comm->size();
        }
        loaded.emplace(load_scenario(o.scenario, ov));
        Scenario& sc = *loaded;
        if (sc.end == Time::max() && sc.max_events == UINT64_MAX) {
            bool endless = false;
            for (const auto& s: sc.network.stimuli) endless |= s.endless();
            if (endless) throw InputError(fmt::format("{}: the run never ends: set run.until or --until", o.scenario));
        }
        rs.out_dir = o.out.empty() ? fs::path("out") / fs::path(o.scenario).stem() : fs::path(o.out);
        if (!o.record.empty()) rs.record = o.record;
        rs.scenario_arg = o.scenario;
        rs.log_level = o.log_level;
        rs.progress = isatty(fileno(stderr)) && !o.quiet;
        rs.checkpoint_every = checkpoint_every;
        rs.checkpoint_dir = o.checkpoint_dir.empty() ? rs.out_dir / "checkpoints" : fs::path(o.checkpoint_dir);
        rs.checkpoint_keep = o.checkpoint_keep;
        if (!o.resume.empty()) rs.resume = o.resume;
        rs.break_at_event = o.break_at_event;
        rs.threads = o.threads;
        rs.batch = !o.no_batch;
        rs.comm = cli_comm;
        if (!o.break_on_spike.empty()) {
            const auto& names = sc.network.names;
            const auto it = std::find(names.begin(), names.end(), o.break_on_spike);
            if (it == names.end()) throw InputError(fmt::format("--break-on-spike: the scenario has no neuron '{}'", o.break_on_spike));
            rs.break_on_spike = static_cast<EntityId>(it - names.begin());
        }
        if (o.plot && !rs.record) rs.record = rs.out_dir / "events.evlog"; // the plot is drawn from the log
        rs.plot = o.plot;
    }
    catch (...) {
        failed = std::current_exception();
    }
    agree_to_start(cli_comm, failed);
    Scenario& sc = *loaded;
    RunReport rep;
    try {
        rep = run_scenario(sc, rs);
    }
    catch (const SimulationError&) {
        if (speaks()) {
            std::cerr << fmt::format("spikenn: the run failed; what was recorded is in {}/*.partial{}\n", rs.out_dir.string(),
                rs.record ? fmt::format(" and in the complete blocks of {}", rs.record->string()) : std::string());
        }
        return 1;
    }
    catch (const IoError& e) {
        // A failure before the run started (the log's header could not be written) has
        // removed nothing and recorded nothing.
        const bool started = !e.before_start;
        std::cerr << fmt::format("spikenn: error: {}\nspikenn: the run failed; {}\n", e.what(),
            started ? fmt::format("what was recorded is in {}/*.partial{}", rs.out_dir.string(),
                          rs.record ? fmt::format(" and in the complete blocks of {}", rs.record->string()) : std::string())
                    : fmt::format("it had not started, and {} is as it was", rs.out_dir.string()));
        // Rank 0 alone writes files: the other ranks know nothing of this and would wait.
        if (started && several_ranks()) cli_comm->abort(1);
        return 1;
    }
    const RunCounts& counts = rep.counts;

    // The summary.
    std::string s;
    s += fmt::format("spike-nn {}: {}\n", SPIKENN_VERSION, o.scenario);
    if (!sc.description.empty()) s += fmt::format("  {}\n", sc.description);
    s += fmt::format("  neurons     {}\n", sc.network.size());
    s += fmt::format("  simulated   0s to {} ({})\n", rep.end, to_string(rep.stop));
    s += fmt::format("  events      {}:", counts.events);
    for (int k = 0; k < event_kind_count; ++k) s += fmt::format(" {} {}{}", to_string(static_cast<EventKind>(k)), counts.by_kind[static_cast<std::size_t>(k)], k + 1 < event_kind_count ? "," : "");
    s += "\n  outcomes   ";
    for (int k = 0; k < outcome_count; ++k) s += fmt::format(" {} {}{}", to_string(static_cast<Outcome>(k)), counts.by_outcome[static_cast<std::size_t>(k)], k + 1 < outcome_count ? "," : "");
    s += fmt::format("\n  fingerprint {}\n", hex64(rep.fingerprint));
    s += fmt::format("  wall time   {:.3f} s ({:.0f} events/s)\n", rep.wall_seconds, rep.wall_seconds > 0 ? static_cast<double>(counts.events) / rep.wall_seconds : 0.0);
    if (rep.blocks.blocks > 0) {
        const BatchStats& b = rep.blocks;
        s += fmt::format("  blocks      {} in {} products ({:.1f} inputs each), {} for inputs then dropped; {} spike outputs ahead, {} unused\n", b.blocks,
            b.batches, static_cast<double>(b.blocks) / static_cast<double>(std::max<std::uint64_t>(1, b.batches)), b.unused, b.spike_outputs, b.spike_unused);
    }
    if (several_ranks()) {
        const ExchangeStats& x = rep.exchange;
        s += fmt::format("  ranks       {} (rank 0: {} exchanges, {:.1f} MB sent, {:.1f} MB received, {:.3f} s in them)\n", cli_comm->size(), x.exchanges,
            static_cast<double>(x.bytes_sent) / 1e6, static_cast<double>(x.bytes_received) / 1e6, x.wait_seconds);
    }
    s += "\n";
    s += neuron_table(sc, rep.end, counts);
    s += fmt::format("\n  files in {}: {}\n", rs.out_dir.string(), fmt::join(rep.files, ", "));
    if (rs.record) s += fmt::format("  event log: {}\n", rs.record->string());
    if (o.plot && (!cli_comm || cli_comm->rank() == 0)) {
        const fs::path svg = rs.out_dir / "plot.svg";
        write_file_atomically(svg, plot_svg(*rs.record, {}, log_neuron_params(EventLogReader(*rs.record).header())));
        s += fmt::format("  plot: {}\n", svg.string());
    }
    std::cout << s;
    const bool overridden = o.resume.empty() && (ov.seed || ov.end || ov.max_events);
    if (sc.expect_fingerprint && overridden) {
        std::cout << "  fingerprint not checked: --seed, --until or --max-events changed the run the scenario pins\n";
    }
    else if (sc.expect_fingerprint) {
        if (*sc.expect_fingerprint != rep.fingerprint) {
            if (speaks()) std::cerr << fmt::format("spikenn: {}: the fingerprint after {} events is {}, the scenario expects {}\n", o.scenario, counts.events,
                hex64(rep.fingerprint), hex64(*sc.expect_fingerprint));
            return 1;
        }
        std::cout << fmt::format("  fingerprint checked after {} events: as the scenario expects\n", counts.events);
    }
    return 0;
}

int do_validate(const std::string& path) {
    // Shapes, files and the memory a run needs are checked; weights are neither drawn nor
    // read (20,000 neurons of 64/4/256 would take seconds and gigabytes).
    ScenarioOverrides ov;
    ov.weights = false;
    ov.check_weights = true;
    Scenario sc = load_scenario(path, ov);
    std::size_t synapses = 0;
    for (const auto& s: sc.network.synapses) synapses += s.size();
    auto count = [](std::size_t n, const char* one, const char* many) { return fmt::format("{} {}", n, n == 1 ? one : many); };
    std::cout << fmt::format("{}: valid: {}, {}, {}, seed {}, until {}\n", path, count(sc.network.size(), "neuron", "neurons"),
        count(synapses, "connection", "connections"), count(sc.network.stimuli.size(), "stimulus", "stimuli"), sc.seed,
        sc.end == Time::max() ? std::string("no events are left") : format_time(sc.end));
    return 0;
}

struct NetworkCommand {
    std::string scenario;
    std::string format = "csv";
    std::string out;
};

// The connections as the builder made them, drawn from the scenario's seed; weights are
// neither drawn nor read (they are not part of the listing).
int do_network(const NetworkCommand& c) {
    if (c.format != "csv" && c.format != "dot") throw InputError(fmt::format("--format: '{}' is not a format of network (csv or dot)", c.format));
    std::error_code ec;
    if (!c.out.empty() && fs::exists(c.out, ec) && fs::equivalent(c.out, c.scenario, ec)) {
        throw InputError(fmt::format("--out {}: that is the scenario being read", c.out));
    }
    const fs::path parent = fs::path(c.out).parent_path().empty() ? fs::path(".") : fs::path(c.out).parent_path();
    if (!c.out.empty() && !fs::is_directory(parent, ec)) throw InputError(fmt::format("--out {}: the directory {} does not exist", c.out, parent.string()));
    if (!c.out.empty() && fs::is_directory(c.out, ec)) throw InputError(fmt::format("--out {}: that is a directory; give a file name", c.out));
    ScenarioOverrides ov;
    ov.weights = false;
    const Scenario sc = load_scenario(c.scenario, ov);
    const std::string text = c.format == "csv" ? network_csv(sc.network) : network_dot(sc.network);
    if (c.out.empty()) {
        std::cout << text;
        std::cout.flush();
        if (!std::cout) throw IoError("standard output: write failed");
        return 0;
    }
    write_file_atomically(c.out, text);
    return 0;
}

} // namespace

void set_cli_communicator(std::shared_ptr<Communicator> comm) { cli_comm = std::move(comm); }

int cli_main(int argc, char** argv) {
    CLI::App app{"spike-nn: a discrete-event simulator of spiking transformer neurons"};
    app.set_version_flag("--version", std::string(SPIKENN_VERSION));
    app.require_subcommand(1);

    RunOptions ro;
    auto* run = app.add_subcommand("run", "Run a scenario and write its results to an output directory");
    run->add_option("scenario", ro.scenario, "Scenario file (YAML)")->required();
    run->add_option("--out,-o", ro.out, "Output directory (default: out/<scenario name>)");
    run->add_option("--until", ro.until, "End time, e.g. 2s (overrides run.until)");
    run->add_option("--max-events", ro.max_events, "Stop after this many events (overrides run.max_events)")->check(CLI::PositiveNumber);
    run->add_option("--seed", ro.seed, "Random seed (overrides run.seed)")->check(CLI::NonNegativeNumber);
    run->add_option("--log-level", ro.log_level, "Log level: trace, debug, info, warn, error, off (overrides log.level)")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
    run->add_option("--record", ro.record, "Write an event log of the run to this file (docs/eventlog.md)");
    run->add_option("--checkpoint-every", ro.checkpoint_every, "Save the run's state every T of simulated time, e.g. 500ms");
    run->add_option("--checkpoint-dir", ro.checkpoint_dir, "Where checkpoints go (default: OUT/checkpoints)");
    run->add_option("--checkpoint-keep", ro.checkpoint_keep, "Keep only the last N checkpoints this run writes (default: all)")->check(CLI::PositiveNumber);
    run->add_option("--resume", ro.resume, "Continue an interrupted run from one of its checkpoints (same scenario, output directory and --record)");
    run->add_option("--threads", ro.threads, "Threads for the blocks (default: the machine's cores); results do not depend on it")
        ->check(CLI::Range(1, 256));
    run->add_flag("--no-batch", ro.no_batch, "Compute every block alone, not the inputs due together to the same weights as one product (to compare: results do not depend on it)");
    run->add_option("--break-at-event", ro.break_at_event, "For gdb: call spikenn_break_here() before event N")->check(CLI::PositiveNumber);
    run->add_option("--break-on-spike", ro.break_on_spike, "For gdb: call spikenn_break_here() before each spike of this neuron");
    run->add_flag("--plot", ro.plot, "Also draw OUT/plot.svg from the event log (recorded to OUT/events.evlog unless --record is given)");
    run->add_flag("--quiet,-q", ro.quiet, "No progress line");

    std::string vpath;
    auto* validate = app.add_subcommand("validate", "Check a scenario and its files without running it");
    validate->add_option("scenario", vpath, "Scenario file (YAML)")->required();

    ReplayOptions rp;
    auto* replay = app.add_subcommand("replay", "Re-run the scenario recorded in an event log and check every event against it");
    replay->add_option("log", rp.log, "Event log (.evlog)")->required();
    replay->add_option("--scenario", rp.scenario, "Replay this scenario file instead of the one in the log");

    DebugOptions dbg;
    auto* debug = app.add_subcommand("debug", "Step through a scenario, or browse an event log, at an interactive prompt");
    debug->add_option("target", dbg.target, "A scenario (.yaml) or an event log")->required();
    debug->add_option("--commands", dbg.commands, "Read commands from this file instead of the terminal");

    PlotCommand pc;
    auto* plot = app.add_subcommand("plot", "Draw an event log as one SVG page: spike raster, potential traces, event rates");
    plot->add_option("log", pc.log, "Event log")->required();
    plot->add_option("--out,-o", pc.out, "SVG file (default: the log's name with .svg)");
    plot->add_option("--neurons,-n", pc.options.neurons, "Neurons whose potential to trace (names, comma-separated or repeated; default: the 4 that spiked most)")
        ->delimiter(',');
    plot->add_option("--max-rows", pc.options.max_rows, "Raster rows before neurons are grouped (default 1000)")->check(CLI::Range(1, 100000));
    plot->add_flag("--partial", pc.partial, "Draw a damaged or cut log up to the problem (still exit 2)");

    NetworkCommand nc;
    auto* network = app.add_subcommand("network", "List a scenario's connections as built (random patterns included) and its stimuli, as CSV or Graphviz DOT");
    network->add_option("scenario", nc.scenario, "Scenario file (YAML)")->required();
    network->add_option("--format", nc.format, "csv (default) or dot");
    network->add_option("--out,-o", nc.out, "Output file (default: standard output)");

    auto* logcmd = app.add_subcommand("log", "Read event logs: show, stats, export, diff");
    logcmd->require_subcommand(1);
    ShowOptions so;
    auto* show = logcmd->add_subcommand("show", "Print events as a table");
    show->add_option("log", so.log, "Event log")->required();
    show->add_option("--neuron,-n", so.neurons, "Only events of these neurons (names; repeatable)");
    show->add_option("--kind,-k", so.kinds, "Only these event kinds or outcomes (e.g. spike, dropped; repeatable)");
    show->add_option("--from", so.from, "Only events at or after this time");
    show->add_option("--to", so.to, "Only events at or before this time");
    show->add_option("--limit", so.limit, "At most this many events");
    StatsOptions sto;
    auto* stats = logcmd->add_subcommand("stats", "Counts by kind, outcome and neuron, spike statistics by neuron and population, and the fingerprint");
    stats->add_option("log", sto.log, "Event log")->required();
    stats->add_option("--bin", sto.bin, "Bin width of the populations' Fano factor, a time (default 10ms)");
    std::string export_log, export_format, export_out;
    auto* exp = logcmd->add_subcommand("export", "Write the events in another format");
    exp->add_option("log", export_log, "Event log")->required();
    exp->add_option("--format", export_format, "jsonl, csv, vcd (GTKWave) or chrome-trace (Perfetto, chrome://tracing)")
        ->required()
        ->check(CLI::IsMember({"jsonl", "csv", "vcd", "chrome-trace"}));
    exp->add_option("--out,-o", export_out, "Output file (default: standard output)");
    std::string diff_a, diff_b;
    auto* diff = logcmd->add_subcommand("diff", "Find the first event where two logs part");
    diff->add_option("a", diff_a, "First event log")->required();
    diff->add_option("b", diff_b, "Second event log")->required();

    // A mistyped command is named, with the commands there are (CLI11 would say only that a
    // subcommand is required).
    if (argc > 1 && argv[1][0] != '-') {
        const std::string_view first = argv[1];
        std::vector<std::string> names;
        for (const auto* c: app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(c->get_name());
        if (std::find(names.begin(), names.end(), first) == names.end()) {
            std::cerr << fmt::format("spikenn: unknown command '{}' (the commands: {}; spikenn --help says more)\n", first, fmt::join(names, ", "));
            return 2;
        }
    }
    try {
        app.parse(argc, argv);
    }
    catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : 2;
    }
    if (*run || *replay || *debug) {
        // A forced product kernel this CPU lacks is refused before anything runs.
        try {
            (void)product_kernel();
        }
        catch (const std::invalid_argument& e) {
            if (speaks()) std::cerr << "spikenn: error: " << e.what() << "\n";
            return 2;
        }
    }
    // Under several ranks only `run` shares its work out; any other command is run by rank 0
    // alone (the others would only do the same, and write the same files at once).
    if (several_ranks() && !*run && cli_comm->rank() != 0) return 0;
    try {
        if (*run) return do_run(ro);
        if (*validate) return do_validate(vpath);
        if (*replay) return replay_command(rp);
        if (*debug) return debug_command(dbg);
        if (*plot) return do_plot(pc);
        if (*network) return do_network(nc);
        if (*show) return log_show(so);
        if (*stats) return log_stats(sto);
        if (*exp) return log_export(export_log, export_format, export_out);
        if (*diff) return log_diff(diff_a, diff_b);
    }
    // The one place where the library's errors become exit codes (README, "Exit codes").
    // (Under several ranks, these come alike on every rank, and rank 0 reports them.)
    catch (const InputError& e) { // DamagedFileError included
        if (speaks()) std::cerr << "spikenn: error: " << e.what() << "\n";
        return 2;
    }
    catch (const SimulationError& e) {
        if (speaks()) std::cerr << "spikenn: error: the run failed: " << e.what() << "\n";
        return 1;
    }
    catch (const IoError& e) {
        if (speaks()) std::cerr << "spikenn: error: " << e.what() << "\n";
        return 1;
    }
    catch (const std::exception& e) { // InternalError, and anything else: a bug of ours
        std::cerr << "spikenn: internal error" << (several_ranks() ? fmt::format(" on rank {}", cli_comm->rank()) : std::string()) << ": " << e.what() << "\n";
        // Under several ranks, the others may be waiting on this one: end them all.
        if (several_ranks()) cli_comm->abort(1);
        return 1;
    }
    return 0;
}

} // namespace spikenn
