#include <spikenn/outputs.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <unordered_set>

#include <fmt/format.h>

#include <spikenn/error.hpp>
#include <spikenn/hex.hpp>
#include <spikenn/input_file.hpp>
#include <spikenn/tensor_io.hpp>

#include "tensor_series.hpp"

namespace spikenn {

namespace fs = std::filesystem;

std::span<const char* const> result_file_names() {
    static constexpr const char* names[] = {"spikes.csv", "potentials.csv", "outputs.safetensors", "stimuli.safetensors", "summary.json", "weights.safetensors"};
    return names;
}

namespace {

// The run's paths were checked before it started (tools/run.cpp), so a file that cannot be
// opened now is an I/O failure: no inodes left, too many open files, a directory removed.
void open_or_fail(std::ofstream& f, const fs::path& p) {
    f.open(p, std::ios::binary | std::ios::trunc);
    if (!f) throw IoError(fmt::format("{}: cannot be opened for writing: {}", p.string(), std::strerror(errno)));
}

} // namespace

std::string seconds_text(Time t) {
    const std::int64_t ticks = t.ticks();
    const char* sign = ticks < 0 ? "-" : "";
    const std::uint64_t mag = ticks < 0 ? std::uint64_t(0) - static_cast<std::uint64_t>(ticks) : static_cast<std::uint64_t>(ticks);
    const std::uint64_t per = static_cast<std::uint64_t>(Time::ticks_per_second);
    std::string frac = fmt::format("{:09}", mag % per);
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    return frac.empty() ? fmt::format("{}{}", sign, mag / per) : fmt::format("{}{}.{}", sign, mag / per, frac);
}


void OutputFiles::save_state(StateWriter& out) {
    auto length = [](std::ofstream& f) -> std::uint64_t {
        if (!f.is_open()) return 0;
        f.flush();
        return static_cast<std::uint64_t>(f.tellp());
    };
    out.put(length(spikes_));
    out.put(length(potentials_));
    outputs_->save_state(out);
    stimuli_->save_state(out); // from checkpoint version 4
}

OutputFiles::OutputFiles(const fs::path& dir, const Network& net, OutputSettings settings):
    dir_(dir), net_(net), settings_(std::move(settings)),
    outputs_(std::make_unique<TensorSeries>("outputs.safetensors", "outputs.bin", "spike", false)),
    stimuli_(std::make_unique<TensorSeries>("stimuli.safetensors", "stimuli.bin", "stimulus", true)) {
    record_potential_.assign(net.size(), 0);
    for (EntityId id: settings_.record.potentials) {
        SPIKENN_CHECK(id < net.size(), "a recorded potential of a neuron that does not exist");
        record_potential_[id] = 1;
    }
}

void OutputFiles::load_state(StateReader& in, std::uint32_t checkpoint_version) {
    // Read into a staged state: commit_state() takes it once the whole checkpoint is checked.
    loaded_.reset();
    outputs_->discard();
    stimuli_->discard();
    Resume rs{0, 0};
    rs.spikes = in.get<std::uint64_t>();
    rs.potentials = in.get<std::uint64_t>();
    std::unordered_set<std::string_view> neurons(net_.names.begin(), net_.names.end());
    auto known = [&](const std::string& name) { return neurons.contains(name); };
    outputs_->load_state(in, dir_, known, {}, settings_.record.outputs);
    if (checkpoint_version >= 4) {
        auto known_stimulus = [&](const std::string& name) {
            return std::any_of(net_.stimuli.begin(), net_.stimuli.end(), [&](const Stimulus& st) { return st.name == name; });
        };
        stimuli_->load_state(in, dir_, known, known_stimulus, settings_.record.stimuli);
    }
    else if (settings_.record.stimuli) {
        throw InputError(fmt::format("{}: the interrupted run recorded no stimuli (a checkpoint of format version {})", dir_.string(), checkpoint_version));
    }
    else {
        stimuli_->load_empty(); // older checkpoints: no stimuli were recorded
    }
    // Each file the interrupted run was writing is there, as .partial or (when that run
    // finished after the checkpoint) under its final name, and at least as long as then.
    // Nothing is changed yet: start() does that, once the whole resume has been checked.
    auto check = [&](const std::string& name, std::uint64_t length, bool wanted) {
        if (!wanted) return;
        std::error_code ec;
        std::uint64_t size = 0;
        bool found = false;
        for (const fs::path& p: {partial(name), dir_ / name}) {
            if (fs::is_regular_file(p, ec)) {
                size = fs::file_size(p, ec);
                found = !ec;
                break;
            }
        }
        if (!found || size < length) {
            throw InputError(fmt::format("{}: the interrupted run's file is missing or shorter than at the checkpoint; resume into the output directory of that run",
                partial(name).string()));
        }
    };
    check("spikes.csv", rs.spikes, true);
    check("potentials.csv", rs.potentials, !settings_.record.potentials.empty());
    loaded_.emplace(Loaded{rs});
}

void OutputFiles::commit_state() {
    SPIKENN_CHECK(loaded_.has_value(), "OutputFiles::commit_state without a loaded state");
    resume_ = loaded_->resume;
    outputs_->commit();
    stimuli_->commit();
    loaded_.reset();
}

void OutputFiles::start() {
    std::error_code ec;
    if (resume_) {
        // Continue the interrupted run's files from where the checkpoint was taken.
        auto reopen = [&](std::ofstream& f, const std::string& name, std::uint64_t length, bool wanted) {
            if (!wanted) return;
            const fs::path p = partial(name);
            // A run that finished after the checkpoint left final files: take them back.
            if (!fs::exists(p, ec) && fs::exists(dir_ / name, ec)) fs::rename(dir_ / name, p, ec);
            fs::resize_file(p, length, ec);
            if (ec) throw IoError(fmt::format("{}: cannot be cut back to {} bytes: {}", p.string(), length, ec.message()));
            f.open(p, std::ios::binary | std::ios::app);
            if (!f) throw IoError(fmt::format("{}: cannot be opened for writing: {}", p.string(), std::strerror(errno)));
        };
        reopen(spikes_, "spikes.csv", resume_->spikes, true);
        reopen(potentials_, "potentials.csv", resume_->potentials, !settings_.record.potentials.empty());
        if (settings_.record.outputs) outputs_->reopen(dir_);
        if (settings_.record.stimuli) stimuli_->reopen(dir_);
        for (const char* name: result_file_names()) fs::remove(dir_ / name, ec);
        return;
    }
    // Results of an earlier run must not pass for this run's.
    for (const char* name: result_file_names()) {
        fs::remove(dir_ / name, ec);
        fs::remove(partial(name), ec);
    }
    fs::remove(partial("outputs.bin"), ec);
    fs::remove(partial("stimuli.bin"), ec);
    // The log file is appended to as the run goes (so that a crash leaves it); an earlier
    // run's log and its rotated files go first, so that two runs leave the same log.
    for (const fs::path& f: settings_.stale) fs::remove(f, ec);
    open_or_fail(spikes_, partial("spikes.csv"));
    spikes_ << "time_ticks,time_s,neuron_id,neuron" << (settings_.record.outputs ? ",output" : "") << "\n";
    if (!settings_.record.potentials.empty()) {
        open_or_fail(potentials_, partial("potentials.csv"));
        potentials_ << "event,time_ticks,time_s,neuron_id,neuron,kind,outcome,potential\n";
    }
    if (settings_.record.outputs) outputs_->open(dir_);
    if (settings_.record.stimuli) stimuli_->open(dir_);
}

std::vector<fs::path> log_file_names(const fs::path& dir, const std::optional<std::string>& file, std::uint32_t keep) {
    std::vector<fs::path> names;
    if (!file) return names;
    const fs::path log = dir / *file;
    names.push_back(log);
    // spdlog's rotating sink names the older files stem.N.ext.
    for (std::uint32_t k = 1; k <= keep + 1; ++k) {
        names.push_back(log.parent_path() / fmt::format("{}.{}{}", log.stem().string(), k, log.extension().string()));
    }
    return names;
}

OutputFiles::~OutputFiles() = default;

void OutputFiles::record(const RecordedEvent& e) {
    const EventRecord& r = e.event;
    const Simulator& sim = e.sim;
    const EventKey& k = r.event.key;
    const std::string& name = net_.names[k.target];
    if (r.result.outcome == Outcome::delivered) {
        spikes_ << k.time.ticks() << ',' << seconds_text(k.time) << ',' << k.target << ',' << name;
        if (settings_.record.outputs && r.result.produced != no_payload) {
            const std::string key = outputs_->next_name();
            spikes_ << ',' << key;
            outputs_->append(sim.payloads().get(r.result.produced), {key, 0, 0, name, k.time.ticks(), {}});
        }
        spikes_ << '\n';
    }
    // A stimulus's input as its target received it, dropped or not.
    if (settings_.record.stimuli && k.kind == EventKind::input && is_external(k.source) && r.event.payload != no_payload) {
        const Stimulus& st = net_.stimuli.at(external_index(k.source));
        stimuli_->append(sim.payloads().get(r.event.payload), {stimuli_->next_name(), 0, 0, name, k.time.ticks(), st.name});
    }
    if (potentials_.is_open() && record_potential_[k.target]) {
        potentials_ << r.number << ',' << k.time.ticks() << ',' << seconds_text(k.time) << ',' << k.target << ',' << name << ','
                    << to_string(k.kind) << ',' << to_string(r.result.outcome) << ',' << number_text(r.result.potential) << '\n';
    }
}

std::string OutputFiles::summary_json(const Network& net, const std::string& scenario_name, const Simulator& sim, const RunCounts& c,
    StopReason stop, std::uint64_t fingerprint, const SpikeStats& stats) {
    SPIKENN_CHECK(stats.neurons.size() == net.size(), "the summary's spike statistics are of another network");
    std::string j = "{\n";
    j += fmt::format("  \"scenario\": {},\n", json_string(scenario_name));
    j += fmt::format("  \"seed\": {},\n", net.seed);
    j += fmt::format("  \"neurons\": {},\n", net.size());
    j += fmt::format("  \"end_time_ticks\": {},\n", sim.now().ticks());
    j += fmt::format("  \"end_time_s\": {},\n", seconds_text(sim.now()));
    j += fmt::format("  \"stop\": {},\n", json_string(std::string(to_string(stop))));
    j += fmt::format("  \"events\": {},\n", c.events);
    j += fmt::format("  \"fingerprint\": \"{}\",\n", hex64(fingerprint));
    j += "  \"events_by_kind\": {";
    for (int k = 0; k < event_kind_count; ++k) {
        j += fmt::format("{}{}: {}", k ? ", " : "", json_string(std::string(to_string(static_cast<EventKind>(k)))), c.by_kind[static_cast<std::size_t>(k)]);
    }
    j += "},\n  \"events_by_outcome\": {";
    for (int k = 0; k < outcome_count; ++k) {
        j += fmt::format("{}{}: {}", k ? ", " : "", json_string(std::string(to_string(static_cast<Outcome>(k)))), c.by_outcome[static_cast<std::size_t>(k)]);
    }
    j += "},\n  \"pending_events\": " + std::to_string(sim.queue().size()) + ",\n";
    std::uint64_t spikes = 0, drops = 0;
    for (std::size_t i = 0; i < net.size(); ++i) {
        spikes += c.spikes[i];
        drops += c.drops[i];
    }
    j += fmt::format("  \"spikes\": {},\n  \"drops\": {},\n", spikes, drops);
    j += "  \"per_neuron\": [\n";
    for (std::size_t i = 0; i < net.size(); ++i) {
        const TrainStats& t = stats.neurons[i];
        j += fmt::format("    {{\"id\": {}, \"name\": {}, \"spikes\": {}, \"drops\": {}, \"potential\": {}, \"rate_hz\": {}, \"isi_mean_s\": {}, \"isi_cv\": {}}}{}\n",
            i, json_string(net.names[i]), c.spikes[i], c.drops[i], number_text(net.neurons[i].potential_at(sim.now())), json_number(t.rate_hz),
            json_number(t.isi_mean_s), json_number(t.isi_cv), i + 1 < net.size() ? "," : "");
    }
    j += "  ],\n";
    j += fmt::format("  \"rate_span_s\": {},\n", seconds_text(stats.end));
    j += "  \"populations\": [\n";
    for (std::size_t k = 0; k < stats.populations.size(); ++k) {
        const PopulationStats& p = stats.populations[k];
        const TrainStats& t = p.train;
        j += fmt::format("    {{\"name\": {}, \"size\": {}, \"spikes\": {}, \"drops\": {}, \"rate_hz\": {}, \"isi_mean_s\": {}, \"isi_cv\": {}, "
                         "\"fano_factor\": {}, \"fano_bin_s\": {}}}{}\n",
            json_string(p.population.name), p.population.members.size(), t.spikes, t.drops, json_number(t.rate_hz), json_number(t.isi_mean_s),
            json_number(t.isi_cv), json_number(p.fano), seconds_text(stats.bin), k + 1 < stats.populations.size() ? "," : "");
    }
    j += "  ]\n}\n";
    return j;
}

SpikeTrains OutputFiles::spike_trains(const RunCounts& counts) const {
    SpikeTrains trains(net_.size());
    for (std::size_t i = 0; i < net_.size(); ++i) trains.add_drops(static_cast<EntityId>(i), counts.drops[i]);
    const fs::path p = partial("spikes.csv");
    std::ifstream in(p, std::ios::binary);
    if (!in) throw IoError(fmt::format("{}: cannot be read back: {}", p.string(), std::strerror(errno)));
    std::string line;
    std::getline(in, line); // the header
    // Rows are time_ticks,time_s,neuron_id,neuron[,output], as record() writes them.
    for (std::uint64_t row = 2; std::getline(in, line); ++row) {
        // The first and third fields; a name never holds a comma (network_builder.cpp).
        const std::size_t c1 = line.find(','), c2 = c1 == std::string::npos ? c1 : line.find(',', c1 + 1);
        const std::size_t c3 = c2 == std::string::npos ? c2 : line.find(',', c2 + 1);
        std::int64_t ticks = 0;
        std::uint64_t id = 0;
        const bool ok = c3 != std::string::npos && std::from_chars(line.data(), line.data() + c1, ticks).ptr == line.data() + c1 &&
                        std::from_chars(line.data() + c2 + 1, line.data() + c3, id).ptr == line.data() + c3 && c1 > 0 && c3 > c2 + 1 &&
                        id < net_.size();
        if (!ok) throw IoError(fmt::format("{}:{}: not a row this run wrote: {}", p.string(), row, line));
        trains.add_spike(static_cast<EntityId>(id), Time::from_ticks(ticks));
    }
    if (in.bad()) throw IoError(fmt::format("{}: read failed: {}", p.string(), std::strerror(errno)));
    return trains;
}

void OutputFiles::finish(const RunEnd& end) {
    auto close_and_check = [&](std::ofstream& f, const std::string& name) {
        f.close();
        if (f.fail()) throw IoError(fmt::format("{}: write failed: {}", partial(name).string(), std::strerror(errno)));
    };
    close_and_check(spikes_, "spikes.csv");
    written_.push_back("spikes.csv");
    if (potentials_.is_open()) {
        close_and_check(potentials_, "potentials.csv");
        written_.push_back("potentials.csv");
    }
    if (settings_.record.outputs) {
        outputs_->finish(dir_);
        written_.push_back("outputs.safetensors");
    }
    if (settings_.record.stimuli) {
        stimuli_->finish(dir_);
        written_.push_back("stimuli.safetensors");
    }
    if (settings_.record.weights) {
        std::vector<NamedTensor> tensors;
        std::map<const PackedBlock*, BlockWeights> unpacked;
        for (std::size_t i = 0; i < net_.size(); ++i) {
            // Unpacked for the file (the neuron keeps only the packed form), once per distinct
            // set of weights; each copy lives until the file is written.
            const PackedBlock* packed = net_.neurons[i].weights.get();
            auto [it, fresh] = unpacked.try_emplace(packed);
            if (fresh) it->second = packed->unpack();
            const BlockWeights& w = it->second;
            for (int p = 0; p < param_count; ++p) {
                tensors.push_back({fmt::format("neurons.{}.{}", i, param_name(static_cast<Param>(p))), param_shape(static_cast<Param>(p), w.shape),
                    w.params[static_cast<std::size_t>(p)].data()});
            }
            // A linear readout under the names an nn.Linear(embed_dim, 1) attribute `readout`
            // of the neuron would have in PyTorch; the builder reads them under the same prefix.
            if (const LinearReadout* r = net_.neurons[i].linear.get()) {
                tensors.push_back({fmt::format("neurons.{}.readout.weight", i), {1, w.shape.embed_dim}, r->weight.data()});
                tensors.push_back({fmt::format("neurons.{}.readout.bias", i), {1}, &r->bias});
            }
        }
        write_safetensors(partial("weights.safetensors"), tensors, {{"format", "pt"}});
        written_.push_back("weights.safetensors");
    }
    {
        std::ofstream s;
        open_or_fail(s, partial("summary.json"));
        const SpikeStats stats = spike_trains(end.counts).stats(net_.names, end.sim.now(), default_fano_bin);
        s << summary_json(net_, settings_.scenario_name, end.sim, end.counts, end.stop, end.fingerprint, stats);
        close_and_check(s, "summary.json");
        written_.push_back("summary.json");
    }
    // The summary is renamed last: its presence says the run finished.
    for (const auto& name: written_) {
        std::error_code ec;
        fs::rename(partial(name), dir_ / name, ec);
        if (ec) throw IoError(fmt::format("{}: cannot be renamed to {}: {}", partial(name).string(), name, ec.message()));
    }
}

std::vector<std::string> OutputFiles::file_names() const { return written_; }

} // namespace spikenn
