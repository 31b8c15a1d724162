// spikenn.Simulation and spikenn.load(): a run of a scenario file or of a network built in
// Python (python/spikenn/network.py writes its scenario text), with the spikes, potentials and
// spike outputs kept in memory and handed over as NumPy arrays.
//
// A network built in Python goes through the scenario loader like a file: one set of checks,
// defaults and random streams, so that it runs exactly as the same scenario written in YAML
// does, and its event logs carry a scenario text that `spikenn replay` can run again.
#include "bindings.hpp"

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include <fmt/format.h>

#include <spikenn/event_log_recorder.hpp>
#include <spikenn/in_memory.hpp>
#include <spikenn/scenario.hpp>
#include <spikenn/simulation.hpp>

namespace spikenn::python {

namespace {

// What a network built in Python is called in the scenario loader's messages; its relative
// file names (weights, .npy) are then taken from the working directory, as a user expects.
constexpr const char* network_label = "<spikenn.Network>";

// Events run between two looks at Ctrl-C: a few hundred microseconds of the cheapest events,
// and a fraction of a second of the costliest blocks; retaking the GIL costs about a
// microsecond.
constexpr int events_between_signal_checks = 128;

struct SpikeRow {
    std::int64_t time_ticks;
    std::uint32_t neuron;
};

struct PotentialRow {
    std::uint64_t event;
    std::int64_t time_ticks;
    std::uint32_t neuron;
    double potential;
};

// One processed event, as step() returns it.
struct PyEvent {
    std::uint64_t number;
    std::int64_t time;
    std::string kind;
    EntityId target;
    std::string target_name;
    EntityId source;
    std::string source_name;
    std::uint64_t seq;
    std::uint64_t cause;
    std::string outcome;
    double potential;
};

// A neuron's state now.
struct PyNeuron {
    std::string name;
    EntityId id;
    double potential;
    double threshold;
    double reset_potential;
    std::optional<std::int64_t> last_spike;
    std::optional<std::int64_t> refractory_until;
    bool refractory;
};

struct PySpikeOutput {
    EntityId neuron;
    std::int64_t time_ticks;
    py::array_t<float> output;
};

// The stop reason as an identifier, as the enum names it.
const char* stop_name(StopReason r) {
    switch (r) {
    case StopReason::queue_empty: return "queue_empty";
    case StopReason::end_time: return "end_time";
    case StopReason::max_events: return "max_events";
    }
    return "unknown";
}

// An int argument in [low, high]: TypeError for anything else (a float, a bool), ValueError
// out of range.
std::uint64_t whole_number(const py::object& v, const char* what, std::int64_t low, std::int64_t high) {
    if (py::isinstance<py::bool_>(v) || !py::isinstance<py::int_>(v)) {
        throw py::type_error(fmt::format("{}: expected an int, not {}", what, py::str(py::type::of(v).attr("__name__")).cast<std::string>()));
    }
    const py::int_ n = py::reinterpret_borrow<py::int_>(v);
    if (n < py::int_(low) || n > py::int_(high)) throw py::value_error(fmt::format("{}: from {} to {}", what, low, high));
    return static_cast<std::uint64_t>(n.cast<std::int64_t>());
}

std::optional<Time> optional_time(const py::object& v, const char* what) {
    if (v.is_none()) return std::nullopt;
    const Time t = to_time(v, what);
    if (t < Time::zero()) throw py::value_error(fmt::format("{}: a time is not negative", what));
    return t;
}

// Marks the simulation in use by one thread: its methods run with the GIL released, and a
// simulation is used from one thread at a time (simulation.hpp).
class InUse {
public:
    explicit InUse(std::atomic<bool>& flag): flag_(flag) {
        if (flag_.exchange(true)) raise_error("Error", "this Simulation is in use by another thread", py::dict());
    }
    ~InUse() { flag_ = false; }
    InUse(const InUse&) = delete;
    InUse& operator=(const InUse&) = delete;

private:
    std::atomic<bool>& flag_;
};

class PySimulation {
public:
    // A scenario file, as `spikenn run` loads it.
    static std::unique_ptr<PySimulation> load(const std::filesystem::path& path, const py::object& seed, const py::object& until,
        const py::object& max_events, const py::object& threads) {
        ScenarioOverrides ov = overrides(seed, until, max_events, threads);
        Scenario sc;
        {
            py::gil_scoped_release unlocked; // drawing or reading the weights can take a while
            sc = load_scenario(path, ov);
        }
        return std::unique_ptr<PySimulation>(new PySimulation(std::move(sc), path.string(), ov.threads));
    }

    // A network built in Python: its scenario text and what it holds in memory.
    PySimulation(const py::object& network, const py::object& seed, const py::object& until, const py::object& max_events,
        const py::object& threads) {
        ScenarioOverrides ov = overrides(seed.is_none() ? py::int_(0) : seed, until, max_events, threads);
        const std::string text = network_scenario(network, true, ov);
        Scenario sc;
        {
            py::gil_scoped_release unlocked;
            sc = load_network_text(text, ov);
        }
        setup(std::move(sc), network_label, ov.threads);
    }

    // Checks a network built in Python as far as it goes, drawing no weights: what each call
    // of its builder runs, so that a mistake is reported where it was made.
    static void check_network(const py::object& network) {
        ScenarioOverrides ov;
        ov.weights = false;
        // The run's end is the Simulation's to give: a schedule that only it ends is not refused
        // here (a Simulation without `until` refuses it).
        ov.end = Time::from_ticks(Time::max().ticks() - 1);
        const std::string text = network_scenario(network, false, ov);
        load_network_text(text, ov);
    }

    const char* run() {
        InUse in_use(busy_);
        check_running("run");
        return stop_name(run_events(std::nullopt));
    }

    const char* run_until(const py::object& t) {
        InUse in_use(busy_);
        const auto until = optional_time(t, "run_until");
        if (!until) throw py::type_error("run_until: give a time");
        check_running("run_until");
        return stop_name(run_events(until));
    }

    std::optional<PyEvent> step() {
        InUse in_use(busy_);
        check_running("step");
        std::optional<EventRecord> r;
        guarded([&] {
            py::gil_scoped_release unlocked;
            r = sim_->step();
        });
        if (!r) return std::nullopt;
        const Network& net = sim_->network();
        const EventKey& k = r->event.key;
        return PyEvent{r->number, k.time.ticks(), std::string(to_string(k.kind)), k.target, entity_name(net, k.target), k.source,
            entity_name(net, k.source), k.seq, r->event.cause, std::string(to_string(r->result.outcome)), r->result.potential};
    }

    void record(const std::filesystem::path& path) {
        InUse in_use(busy_);
        if (started_) raise_error("Error", "record: an event log is recorded from the start: call record() before the first step or run", py::dict());
        if (log_) raise_error("Error", "record: this simulation already records an event log", py::dict());
        log_ = &sim_->add_recorder(std::make_unique<EventLogRecorder>(path, make_log_header(meta_, label_)));
    }

    void save_checkpoint(const std::filesystem::path& path) {
        InUse in_use(busy_);
        check_running("save_checkpoint");
        py::gil_scoped_release unlocked;
        sim_->save_checkpoint(path);
    }

    void load_checkpoint(const std::filesystem::path& path) {
        InUse in_use(busy_);
        {
            py::gil_scoped_release unlocked;
            sim_->load_checkpoint(path);
        }
        started_ = true;
        failed_ = false;
        // The results in memory are of the run from the checkpoint on: what came before it,
        // in this simulation, is of another stretch of time (a rewind would list it twice).
        spikes_from_ = spikes_->spikes().size();
        potentials_from_ = potentials_->potentials().size();
        if (outputs_) outputs_from_ = outputs_->outputs().size();
    }

    std::int64_t now() const {
        InUse in_use(busy_);
        return sim_->now().ticks();
    }
    std::uint64_t fingerprint() const {
        InUse in_use(busy_);
        return sim_->fingerprint();
    }
    std::uint64_t events_processed() const {
        InUse in_use(busy_);
        return sim_->events_processed();
    }
    bool finished() const {
        InUse in_use(busy_);
        return sim_->finished();
    }
    const std::vector<std::string>& names() const { return names_; }
    std::optional<std::uint64_t> expected_fingerprint() const { return meta_.expect_fingerprint; }

    PyNeuron neuron(const std::string& name) const {
        InUse in_use(busy_);
        const EntityId id = id_of(name, "neuron");
        const TransformerNeuron& n = sim_->network().neurons[id];
        const Time now = sim_->now();
        PyNeuron v{name, id, n.potential_at(now), n.params.threshold, n.params.reset_potential, std::nullopt, std::nullopt, n.refractory_at(now)};
        if (n.state.last_spike) {
            v.last_spike = n.state.last_spike->ticks();
            v.refractory_until = (*n.state.last_spike + n.params.refractory_period).ticks();
        }
        return v;
    }

    py::array_t<SpikeRow> spikes() const {
        InUse in_use(busy_);
        const auto& s = spikes_->spikes();
        py::array_t<SpikeRow> a(static_cast<py::ssize_t>(s.size() - spikes_from_));
        auto* out = a.mutable_data();
        for (std::size_t i = spikes_from_; i < s.size(); ++i) out[i - spikes_from_] = {s[i].time.ticks(), s[i].neuron};
        return a;
    }

    py::array_t<PotentialRow> potentials(const py::object& names) const {
        InUse in_use(busy_);
        std::vector<char> wanted;
        if (!names.is_none()) {
            wanted.assign(sim_->network().size(), 0);
            std::vector<std::string> list;
            if (py::isinstance<py::str>(names)) list.push_back(names.cast<std::string>());
            else {
                if (!py::isinstance<py::iterable>(names)) throw py::type_error("potentials: names is a neuron's name or a list of names");
                for (const auto& n: names) {
                    if (!py::isinstance<py::str>(n)) throw py::type_error("potentials: names is a neuron's name or a list of names");
                    list.push_back(n.cast<std::string>());
                }
            }
            for (const auto& n: list) wanted[id_of(n, "potentials")] = 1;
        }
        const auto& p = potentials_->potentials();
        std::vector<PotentialRow> rows;
        rows.reserve(wanted.empty() ? p.size() - potentials_from_ : 0);
        for (std::size_t i = potentials_from_; i < p.size(); ++i) {
            const auto& r = p[i];
            if (wanted.empty() || wanted[r.neuron]) rows.push_back({r.event, r.time.ticks(), r.neuron, r.potential});
        }
        py::array_t<PotentialRow> a(static_cast<py::ssize_t>(rows.size()));
        std::copy(rows.begin(), rows.end(), a.mutable_data());
        return a;
    }

    py::list spike_outputs() const {
        InUse in_use(busy_);
        if (!outputs_) raise_error("Error", "spike_outputs: the scenario does not record them (record: { outputs: false })", py::dict());
        py::list out;
        const auto& all = outputs_->outputs();
        for (std::size_t i = outputs_from_; i < all.size(); ++i) out.append(PySpikeOutput{all[i].neuron, all[i].time.ticks(), to_array(all[i].output)});
        return out;
    }

private:
    PySimulation(Scenario sc, std::string label, unsigned threads) { setup(std::move(sc), std::move(label), threads); }

    static ScenarioOverrides overrides(const py::object& seed, const py::object& until, const py::object& max_events, const py::object& threads) {
        ScenarioOverrides ov;
        if (!seed.is_none()) ov.seed = whole_number(seed, "seed", 0, INT64_MAX); // run.seed's range
        ov.end = optional_time(until, "until");
        if (!max_events.is_none()) ov.max_events = whole_number(max_events, "max_events", 0, INT64_MAX);
        if (!threads.is_none()) ov.threads = static_cast<unsigned>(whole_number(threads, "threads", 1, 1024));
        return ov;
    }

    // The network's scenario text, and into `ov` what it holds in memory: its stimulus tensors
    // and, with `weights`, the weights of its state_dicts.
    static std::string network_scenario(const py::object& network, bool weights, ScenarioOverrides& ov) {
        const py::tuple t = network.attr("_scenario")();
        const auto text = t[0].cast<std::string>();
        if (weights) {
            for (const auto& item: t[1].cast<py::list>()) {
                // (name, state_dict, prefix, (embed_dim, num_heads, hidden_dim), key, takes a readout)
                const auto w = item.cast<py::tuple>();
                const auto dims = w[3].cast<py::tuple>();
                const BlockShape shape{dims[0].cast<std::int32_t>(), dims[1].cast<std::int32_t>(), dims[2].cast<std::int32_t>()};
                ov.given_weights[w[0].cast<std::string>()] =
                    weights_from_state_dict(w[1], w[2].cast<std::string>(), shape, w[4].cast<std::string>(), w[5].cast<bool>());
            }
        }
        for (const auto& item: t[2].cast<py::list>()) {
            const auto s = item.cast<py::tuple>(); // (name, array, key)
            const auto key = s[2].cast<std::string>();
            auto a = as_float32(s[1], key);
            const bool batched = a.ndim() == 3 && a.shape(0) == 1;
            if (a.ndim() != 2 && !batched) throw InputError(InputPlace{"", 0, 0, key}, "a stimulus tensor is [seq_len, embed_dim] or [1, seq_len, embed_dim]");
            const auto rows = static_cast<std::int32_t>(a.shape(a.ndim() - 2));
            const auto cols = static_cast<std::int32_t>(a.shape(a.ndim() - 1));
            ov.given_tensors[s[0].cast<std::string>()] = Tensor(rows, cols, std::vector<float>(a.data(), a.data() + a.size()));
        }
        return text;
    }

    // Loads a network's text; its errors name the key, not a place in text the user never saw.
    static Scenario load_network_text(const std::string& text, const ScenarioOverrides& ov) {
        try {
            return load_scenario_text(network_label, text, ov);
        }
        catch (const InputError& e) {
            if (e.file() != network_label) throw; // a weights or .npy file's error names that file
            // A Network has no run section: its end is the Simulation's.
            std::string problem = e.problem();
            if (const auto at = problem.find("'run.until'"); at != std::string::npos) problem.replace(at, 11, "Simulation(until=...)");
            const std::string what = e.key().empty() ? problem : fmt::format("{}: {}", e.key(), problem);
            throw InputError(InputPlace{"", 0, 0, e.key()}, problem, what);
        }
    }

    void setup(Scenario sc, std::string label, unsigned threads) {
        label_ = std::move(label);
        SimulationOptions o = sc.simulation_options(threads);
        const bool outputs = sc.record.outputs;
        meta_ = std::move(sc);
        sim_ = std::make_unique<Simulation>(std::move(meta_.network), o);
        // What make_log_header reads of the network: its names and its stimuli's.
        meta_.network = Network();
        meta_.network.names = sim_->network().names;
        names_ = sim_->network().names;
        for (const Stimulus& s: sim_->network().stimuli) {
            Stimulus named;
            named.name = s.name;
            meta_.network.stimuli.push_back(std::move(named));
        }
        spikes_ = &sim_->add_recorder(std::make_unique<SpikeRecorder>());
        potentials_ = &sim_->add_recorder(std::make_unique<PotentialRecorder>());
        if (outputs) outputs_ = &sim_->add_recorder(std::make_unique<SpikeOutputRecorder>());
    }

    // Runs to the end (until: none) or to a time, a few events at a time with the GIL
    // released, looking for Ctrl-C in between: a KeyboardInterrupt leaves the simulation
    // between two events, and a later run goes on from there.
    StopReason run_events(std::optional<Time> until) {
        Simulation& s = *sim_;
        StopReason stop{};
        guarded([&] {
            // The stimuli's first events, as the first step would schedule them: until then
            // the queue is empty, and a run_until would see nothing to look for Ctrl-C between.
            {
                py::gil_scoped_release unlocked;
                s.schedule_initial_events();
            }
            for (;;) {
                bool more = true;
                {
                    py::gil_scoped_release unlocked;
                    for (int i = 0; i < events_between_signal_checks && more; ++i) {
                        if (until) {
                            const auto next = s.next_event_time();
                            if (!next || *next > *until) {
                                more = false;
                                break;
                            }
                        }
                        more = s.step().has_value();
                    }
                }
                if (!more) break;
                if (PyErr_CheckSignals() != 0) throw py::error_already_set();
            }
            py::gil_scoped_release unlocked;
            // Nothing is left to process: these finish the run, or take the clock to `until`.
            stop = until ? s.run_until(*until) : s.run();
        });
        return stop;
    }

    // Events go on only while the run does (a SimulationError ends it, run() finishes it).
    void check_running(const char* what) {
        if (failed_) raise_error("Error", fmt::format("{}: the simulation failed at an event; load a checkpoint to go on", what), py::dict());
        if (sim_->finished()) raise_error("Error", fmt::format("{}: the simulation has finished", what), py::dict());
        started_ = true;
    }

    // Runs f, giving a failed event's SimulationError the name of its neuron.
    template <typename F>
    void guarded(F&& f) {
        try {
            f();
        }
        catch (const SimulationError& e) {
            failed_ = true;
            py::dict a;
            const EntityId target = e.event.key.target;
            a["neuron"] = is_external(target) || target >= sim_->network().size() ? py::object(py::none()) : py::object(py::str(sim_->network().names[target]));
            a["time"] = e.event.key.time.ticks();
            a["event"] = e.event_number;
            raise_error("SimulationError", e.what(), a);
        }
    }

    static std::string entity_name(const Network& net, EntityId id) {
        if (is_external(id)) {
            const auto k = external_index(id);
            // As the exports name it (`spikenn log export`): a stimulus and a neuron may share a name.
            return k < net.stimuli.size() ? "stimulus:" + net.stimuli[k].name : fmt::format("stimulus:#{}", k);
        }
        return id < net.size() ? net.names[id] : fmt::format("neuron {}", id);
    }

    EntityId id_of(const std::string& name, const char* what) const {
        const auto& names = names_;
        if (index_.empty()) {
            for (std::size_t i = 0; i < names.size(); ++i) index_.emplace(names[i], static_cast<EntityId>(i));
        }
        const auto it = index_.find(name);
        if (it == index_.end()) throw py::key_error(fmt::format("{}: no neuron is named '{}'", what, name));
        return it->second;
    }

    Scenario meta_; // the scenario, without its network: for event log headers
    std::string label_;
    std::unique_ptr<Simulation> sim_;
    SpikeRecorder* spikes_ = nullptr;
    PotentialRecorder* potentials_ = nullptr;
    SpikeOutputRecorder* outputs_ = nullptr;
    EventLogRecorder* log_ = nullptr;
    bool started_ = false;
    bool failed_ = false; // an event failed: only a checkpoint takes the run on
    // Where the results of the run since the last checkpoint loaded begin.
    std::size_t spikes_from_ = 0, potentials_from_ = 0, outputs_from_ = 0;
    mutable std::atomic<bool> busy_{false};
    std::vector<std::string> names_;
    mutable std::map<std::string, EntityId> index_;
};

} // namespace

void bind_simulation(py::module_& m) {
    PYBIND11_NUMPY_DTYPE(SpikeRow, time_ticks, neuron);
    PYBIND11_NUMPY_DTYPE(PotentialRow, event, time_ticks, neuron, potential);

    py::class_<PyEvent>(m, "Event", "One processed event (docs/eventlog.md, \"Records\").")
        .def_readonly("number", &PyEvent::number)
        .def_readonly("time", &PyEvent::time)
        .def_readonly("kind", &PyEvent::kind)
        .def_readonly("target", &PyEvent::target)
        .def_readonly("target_name", &PyEvent::target_name)
        .def_readonly("source", &PyEvent::source)
        .def_readonly("source_name", &PyEvent::source_name)
        .def_readonly("seq", &PyEvent::seq)
        .def_readonly("cause", &PyEvent::cause)
        .def_readonly("outcome", &PyEvent::outcome)
        .def_readonly("potential", &PyEvent::potential)
        .def("__repr__", [](const PyEvent& e) {
            return fmt::format("<Event {} at {}: {} of {} from {}: {}, potential {}>", e.number, format_time(Time::from_ticks(e.time)), e.kind,
                e.target_name, e.source_name, e.outcome, e.potential);
        });

    py::class_<PyNeuron>(m, "Neuron", "A neuron's state at the simulation's time.")
        .def_readonly("name", &PyNeuron::name)
        .def_readonly("id", &PyNeuron::id)
        .def_readonly("potential", &PyNeuron::potential)
        .def_readonly("threshold", &PyNeuron::threshold)
        .def_readonly("reset_potential", &PyNeuron::reset_potential)
        .def_readonly("last_spike", &PyNeuron::last_spike)
        .def_readonly("refractory_until", &PyNeuron::refractory_until)
        .def_readonly("refractory", &PyNeuron::refractory)
        .def("__repr__", [](const PyNeuron& n) { return fmt::format("<Neuron {}: potential {}, threshold {}>", n.name, n.potential, n.threshold); });

    py::class_<PySpikeOutput>(m, "SpikeOutput", "The output tensor of one spike.")
        .def_readonly("neuron", &PySpikeOutput::neuron)
        .def_readonly("time_ticks", &PySpikeOutput::time_ticks)
        .def_readonly("output", &PySpikeOutput::output);

    py::class_<PySimulation>(m, "Simulation", "A run of a network: events, results and checkpoints.")
        .def(py::init<const py::object&, const py::object&, const py::object&, const py::object&, const py::object&>(), py::arg("network"),
            py::kw_only(), py::arg("seed") = 0, py::arg("until") = py::none(), py::arg("max_events") = py::none(), py::arg("threads") = 1)
        .def("run", &PySimulation::run, "Runs every event within the limits and finishes the run; returns why it stopped.")
        .def("run_until", &PySimulation::run_until, py::arg("t"), "Runs every event at or before t; the run can go on.")
        .def("step", &PySimulation::step, "Processes one event and returns it; None when none is left or a limit stops the run.")
        .def("record", &PySimulation::record, py::arg("path"), "Writes an event log of the run to path (before the first step).")
        .def("save_checkpoint", &PySimulation::save_checkpoint, py::arg("path"))
        .def("load_checkpoint", &PySimulation::load_checkpoint, py::arg("path"))
        .def("neuron", &PySimulation::neuron, py::arg("name"))
        .def("potentials", &PySimulation::potentials, py::arg("names") = py::none())
        .def("spike_outputs", &PySimulation::spike_outputs)
        .def_property_readonly("spikes", &PySimulation::spikes)
        .def_property_readonly("now", &PySimulation::now)
        .def_property_readonly("fingerprint", &PySimulation::fingerprint)
        .def_property_readonly("events_processed", &PySimulation::events_processed)
        .def_property_readonly("finished", &PySimulation::finished)
        .def_property_readonly("names", &PySimulation::names)
        .def_property_readonly("expected_fingerprint", &PySimulation::expected_fingerprint);

    m.def("load", &PySimulation::load, py::arg("path"), py::kw_only(), py::arg("seed") = py::none(), py::arg("until") = py::none(),
        py::arg("max_events") = py::none(), py::arg("threads") = py::none(), "A simulation of a YAML scenario file, loaded as `spikenn run` loads it.");
    m.def("_check_network", &PySimulation::check_network, py::arg("network"));
}

} // namespace spikenn::python
