// spikenn._spikenn: the compiled part of the Python package (python/spikenn/ is the rest).
#include "bindings.hpp"

#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include <spikenn/event.hpp>
#include <spikenn/version.hpp>

namespace spikenn::python {

Time to_time(py::handle value, const char* what) {
    // bool is an int in Python; True as a time is a mistake, not one tick.
    if (py::isinstance<py::bool_>(value)) throw py::type_error(fmt::format("{}: expected a time, got a bool", what));
    if (py::isinstance<py::int_>(value)) return Time::from_ticks(value.cast<std::int64_t>());
    if (py::isinstance<py::str>(value)) {
        try {
            return parse_time(value.cast<std::string>());
        }
        catch (const std::invalid_argument& e) {
            throw py::value_error(fmt::format("{}: {}", what, e.what()));
        }
    }
    throw py::type_error(fmt::format("{}: a time is an int of ticks (nanoseconds) or a str with a unit such as '2ms', not {}", what,
        py::str(py::type::of(value).attr("__name__")).cast<std::string>()));
}

py::array_t<float, py::array::c_style> as_float32(py::handle value, const std::string& what) {
    py::object v = py::reinterpret_borrow<py::object>(value);
    // A torch tensor: its values as NumPy sees them, without importing torch here.
    if (py::hasattr(v, "detach") && py::hasattr(v, "numpy")) v = v.attr("detach")().attr("cpu")().attr("numpy")();
    if (!py::isinstance<py::array>(v)) {
        throw py::type_error(fmt::format("{}: expected a float32 NumPy array or torch tensor, not {}", what,
            py::str(py::type::of(v).attr("__name__")).cast<std::string>()));
    }
    auto a = py::reinterpret_borrow<py::array>(v);
    if (!a.dtype().is(py::dtype::of<float>())) {
        throw py::type_error(fmt::format("{}: expected float32, got {} (convert with .astype(numpy.float32))", what,
            py::str(a.dtype()).cast<std::string>()));
    }
    return py::array_t<float, py::array::c_style>::ensure(a);
}

py::array_t<float> to_array(const Tensor& t) {
    py::array_t<float> a({static_cast<py::ssize_t>(t.rows), static_cast<py::ssize_t>(t.cols)});
    if (!t.data.empty()) std::memcpy(a.mutable_data(), t.data.data(), t.data.size() * sizeof(float));
    return a;
}

} // namespace spikenn::python

PYBIND11_MODULE(_spikenn, m) {
    namespace sp = spikenn::python;
    m.doc() = "spike-nn's engine (the spikenn package wraps it; import spikenn)";
    m.attr("__version__") = SPIKENN_VERSION;
    pybind11::tuple kinds(spikenn::event_kind_count);
    for (int k = 0; k < spikenn::event_kind_count; ++k) kinds[k] = std::string(spikenn::to_string(static_cast<spikenn::EventKind>(k)));
    m.attr("KINDS") = kinds;
    pybind11::tuple outcomes(spikenn::outcome_count);
    for (int k = 0; k < spikenn::outcome_count; ++k) outcomes[k] = std::string(spikenn::to_string(static_cast<spikenn::Outcome>(k)));
    m.attr("OUTCOMES") = outcomes;
    sp::bind_errors(m);
    sp::bind_tensors(m);
    sp::bind_eventlog(m);
    sp::bind_simulation(m);
}
