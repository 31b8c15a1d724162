#include <spikenn/outputs.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <unordered_set>

#include <fmt/format.h>

#include <spikenn/error.hpp>
#include <spikenn/hex.hpp>
#include <spikenn/input_file.hpp>
#include <spikenn/tensor_io.hpp>

namespace spikenn {

namespace fs = std::filesystem;

std::span<const char* const> result_file_names() {
    static constexpr const char* names[] = {"spikes.csv", "potentials.csv", "outputs.safetensors", "summary.json", "weights.safetensors"};
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
    out.put(length(output_data_));
    out.put<std::uint64_t>(outputs_.size());
    for (const auto& o: outputs_) {
        out.put_string(o.name);
        out.put(o.rows);
        out.put(o.cols);
        out.put_string(o.neuron);
        out.put(o.time_ticks);
    }
}

OutputFiles::OutputFiles(const fs::path& dir, const Network& net, OutputSettings settings): dir_(dir), net_(net), settings_(std::move(settings)) {
    record_potential_.assign(net.size(), 0);
    for (EntityId id: settings_.record.potentials) {
        SPIKENN_CHECK(id < net.size(), "a recorded potential of a neuron that does not exist");
        record_potential_[id] = 1;
    }
}

void OutputFiles::load_state(StateReader& in, std::uint32_t) {
    StateReader* resume = &in;
    // Read into a staged state: commit_state() takes it once the whole checkpoint is checked.
    loaded_.reset();
    Resume rs{0, 0, 0};
    std::vector<OutputEntry> outputs_;
    rs.spikes = resume->get<std::uint64_t>();
    rs.potentials = resume->get<std::uint64_t>();
    const std::uint64_t outputs_at = resume->offset();
    rs.outputs = resume->get<std::uint64_t>();
    // finish() reads each output's values from outputs.bin by these shapes, and writes their
    // names into a header: the shapes must hold exactly outputs.bin's length at the
    // checkpoint, and the names be the ones on_event() gives.
    std::unordered_set<std::string_view> neurons(net_.names.begin(), net_.names.end());
    std::uint64_t values = 0;
    for (std::uint64_t i = 0, n = resume->get_count(24); i < n; ++i) {
        OutputEntry o;
        const std::uint64_t at = resume->offset();
        o.name = resume->get_string();
        o.rows = resume->get<std::int32_t>();
        o.cols = resume->get<std::int32_t>();
        o.neuron = resume->get_string();
        o.time_ticks = resume->get<std::int64_t>();
        if (o.name != output_name(i) || !neurons.contains(o.neuron) || o.time_ticks < 0) {
            throw StateError(fmt::format("spike output {} is not one this run records", i), at);
        }
        if (o.rows < 0 || o.cols < 0) throw StateError(fmt::format("spike output {} has a negative shape", o.name), at);
        values += static_cast<std::uint64_t>(o.rows) * static_cast<std::uint64_t>(o.cols);
        if (values > rs.outputs / sizeof(float)) throw StateError(fmt::format("spike output {} goes past the end of outputs.bin", o.name), at);
        outputs_.push_back(std::move(o));
    }
    if (values * sizeof(float) != rs.outputs) {
        throw StateError(fmt::format("the spike outputs' shapes hold {} values, but outputs.bin had {} bytes", values, rs.outputs), outputs_at);
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
        if (!found && name == "outputs.bin" && fs::is_regular_file(dir_ / "outputs.safetensors", ec)) {
            const InputFile in(dir_ / "outputs.safetensors");
            std::uint64_t header = 0;
            if (in.size() >= 8) in.read(0, &header, 8);
            if (in.size() < 8 || header > in.size() - 8) {
                throw InputError(fmt::format("{}: not the interrupted run's outputs (its header is damaged)", (dir_ / "outputs.safetensors").string()));
            }
            size = in.size() - 8 - header;
            found = true;
        }
        if (!found || size < length) {
            throw InputError(fmt::format("{}: the interrupted run's file is missing or shorter than at the checkpoint; resume into the output directory of that run",
                partial(name).string()));
        }
    };
    check("spikes.csv", rs.spikes, true);
    check("potentials.csv", rs.potentials, !settings_.record.potentials.empty());
    check("outputs.bin", rs.outputs, settings_.record.outputs);
    loaded_.emplace(Loaded{rs, std::move(outputs_)});
}

void OutputFiles::commit_state() {
    SPIKENN_CHECK(loaded_.has_value(), "OutputFiles::commit_state without a loaded state");
    resume_ = loaded_->resume;
    outputs_ = std::move(loaded_->outputs);
    loaded_.reset();
}

std::string OutputFiles::output_name(std::size_t k) {
    // Fixed-width numbers keep name order and spike order the same, so that the data section
    // of outputs.safetensors is the outputs in the order of spikes.csv.
    return fmt::format("spike.{:09}", k);
}

void OutputFiles::start() {
    std::error_code ec;
    if (resume_) {
        // Continue the interrupted run's files from where the checkpoint was taken.
        auto reopen = [&](std::ofstream& f, const std::string& name, std::uint64_t length, bool wanted) {
            if (!wanted) return;
            const fs::path p = partial(name);
            // A run that finished after the checkpoint left final files: take them back.
            if (!fs::exists(p, ec) && name != "outputs.bin" && fs::exists(dir_ / name, ec)) fs::rename(dir_ / name, p, ec);
            if (!fs::exists(p, ec) && name == "outputs.bin" && fs::exists(dir_ / "outputs.safetensors", ec)) {
                // Its data section is outputs.bin as it was; only a regular file is read.
                const InputFile in(dir_ / "outputs.safetensors");
                std::uint64_t header = 0;
                in.read(0, &header, 8);
                std::ofstream raw(p, std::ios::binary | std::ios::trunc);
                in.read_chunks(8 + header, in.size() - 8 - header, [&](const char* bytes, std::size_t n) { raw.write(bytes, static_cast<std::streamsize>(n)); });
                raw.close();
                if (!raw) throw IoError(fmt::format("{}: write failed: {}", p.string(), std::strerror(errno)));
            }
            fs::resize_file(p, length, ec);
            if (ec) throw IoError(fmt::format("{}: cannot be cut back to {} bytes: {}", p.string(), length, ec.message()));
            f.open(p, std::ios::binary | std::ios::app);
            if (!f) throw IoError(fmt::format("{}: cannot be opened for writing: {}", p.string(), std::strerror(errno)));
        };
        reopen(spikes_, "spikes.csv", resume_->spikes, true);
        reopen(potentials_, "potentials.csv", resume_->potentials, !settings_.record.potentials.empty());
        reopen(output_data_, "outputs.bin", resume_->outputs, settings_.record.outputs);
        for (const char* name: result_file_names()) fs::remove(dir_ / name, ec);
        return;
    }
    // Results of an earlier run must not pass for this run's.
    for (const char* name: result_file_names()) {
        fs::remove(dir_ / name, ec);
        fs::remove(partial(name), ec);
    }
    fs::remove(partial("outputs.bin"), ec);
    // The log file is appended to as the run goes (so that a crash leaves it); an earlier
    // run's log and its rotated files go first, so that two runs leave the same log.
    for (const fs::path& f: settings_.stale) fs::remove(f, ec);
    open_or_fail(spikes_, partial("spikes.csv"));
    spikes_ << "time_ticks,time_s,neuron_id,neuron" << (settings_.record.outputs ? ",output" : "") << "\n";
    if (!settings_.record.potentials.empty()) {
        open_or_fail(potentials_, partial("potentials.csv"));
        potentials_ << "event,time_ticks,time_s,neuron_id,neuron,kind,outcome,potential\n";
    }
    if (settings_.record.outputs) open_or_fail(output_data_, partial("outputs.bin"));
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
            const Tensor& t = sim.payloads().get(r.result.produced);
            const std::string key = output_name(outputs_.size());
            spikes_ << ',' << key;
            output_data_.write(reinterpret_cast<const char*>(t.data.data()), static_cast<std::streamsize>(t.data.size() * sizeof(float)));
            outputs_.push_back({key, t.rows, t.cols, name, k.time.ticks()});
        }
        spikes_ << '\n';
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
        close_and_check(output_data_, "outputs.bin");
        // The header needs every shape; the data was streamed to disk as the run went.
        std::error_code ec;
        const auto bytes = fs::file_size(partial("outputs.bin"), ec);
        if (ec) throw IoError(fmt::format("{}: cannot be read: {}", partial("outputs.bin").string(), ec.message()));
        std::vector<float> data(bytes / sizeof(float));
        {
            std::ifstream raw(partial("outputs.bin"), std::ios::binary);
            raw.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size() * sizeof(float)));
            if (!raw) throw IoError(fmt::format("{}: read failed: {}", partial("outputs.bin").string(), std::strerror(errno)));
        }
        std::vector<NamedTensor> tensors;
        std::map<std::string, std::string> meta{{"format", "pt"}};
        std::size_t offset = 0;
        for (const auto& o: outputs_) {
            tensors.push_back({o.name, {o.rows, o.cols}, data.data() + offset});
            offset += static_cast<std::size_t>(o.rows) * static_cast<std::size_t>(o.cols);
            meta[o.name + ".neuron"] = o.neuron;
            meta[o.name + ".time_ticks"] = std::to_string(o.time_ticks);
        }
        write_safetensors(partial("outputs.safetensors"), tensors, meta);
        fs::remove(partial("outputs.bin"), ec);
        written_.push_back("outputs.safetensors");
    }
    if (settings_.record.weights) {
        std::vector<NamedTensor> tensors;
        for (std::size_t i = 0; i < net_.size(); ++i) {
            const BlockWeights& w = *net_.neurons[i].weights;
            for (int p = 0; p < param_count; ++p) {
                tensors.push_back({fmt::format("neurons.{}.{}", i, param_name(static_cast<Param>(p))), param_shape(static_cast<Param>(p), w.shape),
                    w.params[static_cast<std::size_t>(p)].data()});
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
