// spike-nn's exceptions (engine/include/spikenn/error.hpp) as the classes of spikenn.errors,
// each with the attributes its C++ class carries: a ScenarioError its file, line, column and
// key; a LogError its path, byte offset and event. The classes are defined in Python, where
// users read them; this file only fills them in.
#include "bindings.hpp"

#include <fmt/format.h>

#include <spikenn/error.hpp>
#include <spikenn/eventlog.hpp>
#include <spikenn/simulator.hpp>

namespace spikenn::python {

namespace {

py::object or_none(const std::string& s) { return s.empty() ? py::object(py::none()) : py::object(py::str(s)); }
py::object or_none(std::int64_t v) { return v == 0 ? py::object(py::none()) : py::object(py::int_(v)); }

void translate(std::exception_ptr p) {
    try {
        std::rethrow_exception(p);
    }
    catch (const LogError& e) {
        py::dict a;
        a["path"] = e.path();
        a["offset"] = e.offset();
        a["event"] = e.event;
        raise_error("LogError", e.what(), a);
    }
    catch (const DamagedFileError& e) {
        py::dict a;
        a["path"] = e.path();
        a["offset"] = e.offset();
        raise_error("DamagedFileError", e.what(), a);
    }
    catch (const InputError& e) {
        py::dict a;
        a["file"] = or_none(e.file());
        a["line"] = or_none(e.line());
        a["column"] = or_none(e.column());
        a["key"] = or_none(e.key());
        a["problem"] = e.problem();
        raise_error("ScenarioError", e.what(), a);
    }
    catch (const SimulationError& e) {
        // Simulation's methods translate their own, with the neuron's name; this is for any other.
        py::dict a;
        a["neuron"] = py::none();
        a["time"] = e.event.key.time.ticks();
        a["event"] = e.event_number;
        raise_error("SimulationError", e.what(), a);
    }
    catch (const IoError& e) {
        raise_error("IoError", e.what(), py::dict());
    }
    catch (const Error& e) {
        raise_error("Error", e.what(), py::dict());
    }
}

} // namespace

void raise_error(const char* name, const std::string& message, const py::dict& attributes) {
    py::object cls = py::module_::import("spikenn.errors").attr(name);
    py::object exc = cls(message, **attributes);
    PyErr_SetObject(cls.ptr(), exc.ptr());
    throw py::error_already_set();
}

void bind_errors(py::module_& m) {
    (void)m;
    py::register_exception_translator([](std::exception_ptr p) {
        if (!p) return;
        try {
            translate(p);
        }
        catch (py::error_already_set& e) {
            // raise_error set the Python error; restore it for pybind11 to report.
            e.restore();
        }
    });
}

} // namespace spikenn::python
