// spikenn.EventLog: an event log (docs/eventlog.md) read whole into one NumPy structured
// array, with its header as a dict. A log that was cut short gives its complete blocks and
// a warning, as `spikenn log show` prints them before saying where it stops; a damaged
// block is an error (or, with damaged="warn", the end of what is read).
#include "bindings.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <vector>

#include <spikenn/eventlog.hpp>

namespace spikenn::python {

namespace {

// One record as the array holds it; the fields are those of LogRecord, named as the CSV
// export names its columns. `has_tensor_hash` says whether tensor_hash is one.
// The wide fields first, so that a record is 64 bytes with no padding between fields.
struct ArrayRecord {
    std::uint64_t number;
    std::int64_t time_ticks;
    std::uint64_t seq;
    std::uint64_t cause;
    double potential;
    std::uint64_t tensor_hash;
    std::uint32_t target;
    std::uint32_t source;
    std::uint8_t kind;
    std::uint8_t outcome;
    bool has_tensor_hash;
};
static_assert(sizeof(ArrayRecord) == 64);

// How many records to make room for at once, so that a million of them are not copied as the
// vector grows: the count the footer gives (docs/eventlog.md, "Footer"), which is only a hint
// until the records have been read and checked against it, bounded by the most records the
// file's size allows (13 bytes each at least); without a footer, a guess at 20 bytes each.
std::size_t capacity_hint(const std::filesystem::path& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) return 0;
    const std::uint64_t most = size / 13;
    std::ifstream in(path, std::ios::binary);
    unsigned char footer[16];
    if (size >= 128 && in.seekg(static_cast<std::streamoff>(size - 128)) && in.read(reinterpret_cast<char*>(footer), sizeof footer) &&
        std::memcmp(footer, "SEND", 4) == 0) {
        std::uint64_t events = 0;
        std::memcpy(&events, footer + 8, 8); // little-endian, as every x86-64 machine is
        return static_cast<std::size_t>(std::min(events, most));
    }
    return static_cast<std::size_t>(size / 20);
}

py::dict header_dict(const LogHeader& h) {
    py::dict d;
    d["version"] = h.version;
    d["engine_version"] = h.engine_version;
    d["scenario_path"] = h.scenario_path;
    d["scenario_text"] = h.scenario_text;
    d["scenario_hash"] = h.scenario_hash;
    d["seed"] = h.seed;
    d["end_ticks"] = h.end_ticks == INT64_MAX ? py::object(py::none()) : py::object(py::int_(h.end_ticks));
    d["max_events"] = h.max_events == UINT64_MAX ? py::object(py::none()) : py::object(py::int_(h.max_events));
    py::list files;
    for (const LogFile& f: h.files) {
        py::dict e;
        e["path"] = f.path;
        e["hash"] = f.hash;
        files.append(e);
    }
    d["files"] = files;
    d["neuron_names"] = h.neuron_names;
    d["stimulus_names"] = h.stimulus_names;
    return d;
}

class EventLog {
public:
    EventLog(const std::filesystem::path& path, const std::string& damaged) {
        if (damaged != "raise" && damaged != "warn") throw py::value_error("EventLog: damaged is 'raise' or 'warn'");
        auto records = std::make_unique<std::vector<ArrayRecord>>();
        records->reserve(capacity_hint(path));
        std::optional<LogError> damage;
        std::unique_ptr<EventLogReader> reader; // the file is mapped only while it is read
        {
            py::gil_scoped_release unlocked;
            reader = std::make_unique<EventLogReader>(path);
            std::vector<LogRecord> block;
            try {
                while (reader->next_block(block)) {
                    for (const LogRecord& r: block) {
                        records->push_back({r.number, r.time, r.seq, r.cause, r.potential, r.tensor_hash.value_or(0), r.target, r.source,
                            static_cast<std::uint8_t>(r.kind), static_cast<std::uint8_t>(r.outcome), r.tensor_hash.has_value()});
                    }
                }
            }
            catch (const LogError& e) {
                // A cut is what a killed run leaves: its complete blocks are kept, with a
                // warning, as for a log cut between blocks. Damage is an error unless asked.
                if (!e.cut && damaged == "raise") throw;
                damage = e;
            }
        }
        header_ = header_dict(reader->header());
        fingerprint_ = reader->fingerprint();
        if (damage) problem_ = damage->what();
        else if (!reader->footer()) problem_ = reader->cut_message();
        // The array owns the vector: no copy of a million records.
        auto* v = records.release();
        py::capsule owner(v, [](void* p) { delete static_cast<std::vector<ArrayRecord>*>(p); });
        records_ = py::array_t<ArrayRecord>({static_cast<py::ssize_t>(v->size())}, {static_cast<py::ssize_t>(sizeof(ArrayRecord))}, v->data(), owner);
        if (problem_) {
            py::object cls = py::module_::import("spikenn.errors").attr("LogWarning");
            if (PyErr_WarnEx(cls.ptr(), problem_->c_str(), 1) != 0) throw py::error_already_set();
        }
    }

    const py::dict& header() const { return header_; }
    const py::array& records() const { return records_; }
    std::uint64_t fingerprint() const { return fingerprint_; }
    bool complete() const { return !problem_; }
    const std::optional<std::string>& problem() const { return problem_; }
    py::ssize_t size() const { return records_.shape(0); }

private:
    py::dict header_;
    py::array records_;
    std::uint64_t fingerprint_ = 0;
    std::optional<std::string> problem_;
};

} // namespace

void bind_eventlog(py::module_& m) {
    PYBIND11_NUMPY_DTYPE(ArrayRecord, number, time_ticks, kind, target, source, seq, outcome, cause, potential, tensor_hash, has_tensor_hash);
    py::class_<EventLog>(m, "EventLog", "An event log read whole: its header, every record as one structured array, its fingerprint.")
        .def(py::init<const std::filesystem::path&, const std::string&>(), py::arg("path"), py::kw_only(), py::arg("damaged") = "raise")
        .def_property_readonly("header", &EventLog::header)
        .def_property_readonly("records", &EventLog::records)
        .def_property_readonly("fingerprint", &EventLog::fingerprint)
        .def_property_readonly("complete", &EventLog::complete)
        .def_property_readonly("problem", &EventLog::problem)
        .def("__len__", &EventLog::size);
}

} // namespace spikenn::python
