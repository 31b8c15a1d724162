// The pieces of the Python module (spikenn._spikenn), one concept per file, and the
// conversions they share. The module is the library's API (simulation.hpp, scenario.hpp,
// eventlog.hpp, tensor_io.hpp) seen from Python: it adds no behaviour of its own beyond
// handing results over as NumPy arrays, releasing the GIL and stopping on Ctrl-C.
#pragma once

#include <string>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <spikenn/block.hpp>
#include <spikenn/payload.hpp>
#include <spikenn/scenario.hpp>
#include <spikenn/time.hpp>

namespace spikenn::python {

namespace py = pybind11;

void bind_errors(py::module_& m);      // errors.cpp: C++ exceptions as spikenn.errors' classes
void bind_tensors(py::module_& m);     // tensors.cpp: safetensors files
void bind_eventlog(py::module_& m);    // eventlog.cpp: EventLog
void bind_simulation(py::module_& m);  // simulation.cpp: Simulation, load()

// Raises the class `name` of spikenn.errors (the Python package's) with these arguments.
[[noreturn]] void raise_error(const char* name, const std::string& message, const py::dict& attributes);

// A time given from Python: an int is ticks (nanoseconds), a str has units ("2ms"); `what`
// names the argument in the TypeError or ValueError.
Time to_time(py::handle value, const char* what);

// A float32 array from a NumPy array or a torch tensor, C-contiguous (copied if it was not);
// TypeError naming `what` for any other dtype: a float64 array is refused, not rounded.
py::array_t<float, py::array::c_style> as_float32(py::handle value, const std::string& what);

// A copy of a tensor as a float32 array of shape [rows, cols].
py::array_t<float> to_array(const Tensor& t);

// A neuron's weights from a state_dict (a mapping of names to torch tensors or float32 arrays)
// under the seed's names, each looked up as prefix + name; a linear readout's too when
// `readout` is set (a linear readout that is not drawn). ScenarioError naming `key` for a
// missing or misshapen tensor.
GivenWeights weights_from_state_dict(py::handle state_dict, const std::string& prefix, BlockShape shape, const std::string& key, bool readout);

} // namespace spikenn::python
