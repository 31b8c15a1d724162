// Tensors between NumPy and spike-nn: safetensors files (which Debian's PyTorch cannot read or
// write) and a neuron's weights from a state_dict held in memory.
#include "bindings.hpp"

#include <cstring>
#include <map>
#include <vector>

#include <fmt/format.h>

#include <spikenn/error.hpp>
#include <spikenn/readout.hpp>
#include <spikenn/tensor_io.hpp>

namespace spikenn::python {

namespace {

py::dict read_safetensors(const std::filesystem::path& path) {
    SafetensorsFile f(path);
    py::dict out;
    for (const auto& [name, entry]: f.entries()) {
        if (entry.dtype != "F32") {
            throw InputError(InputPlace{path.string(), 0, 0, name}, fmt::format("the tensor is {}: spike-nn reads float32 (F32) tensors only", entry.dtype));
        }
        std::vector<float> data = f.get_f32(name, entry.shape);
        std::vector<py::ssize_t> shape(entry.shape.begin(), entry.shape.end());
        py::array_t<float> a(shape);
        if (!data.empty()) std::memcpy(a.mutable_data(), data.data(), data.size() * sizeof(float));
        out[py::str(name)] = a;
    }
    return out;
}

py::dict read_safetensors_metadata(const std::filesystem::path& path) {
    SafetensorsFile f(path);
    py::dict out;
    for (const auto& [k, v]: f.metadata()) out[py::str(k)] = v;
    return out;
}

void write_tensors(const std::filesystem::path& path, const py::dict& tensors, const py::object& metadata) {
    // The arrays are kept alive, and C-contiguous float32, while the writer reads them.
    std::vector<py::array_t<float, py::array::c_style>> arrays;
    std::vector<NamedTensor> named;
    arrays.reserve(tensors.size());
    for (const auto& [k, v]: tensors) {
        if (!py::isinstance<py::str>(k)) throw py::type_error("write_safetensors: the names of the tensors must be str");
        const auto name = k.cast<std::string>();
        arrays.push_back(as_float32(v, fmt::format("write_safetensors: '{}'", name)));
        const auto& a = arrays.back();
        NamedTensor t;
        t.name = name;
        for (py::ssize_t d = 0; d < a.ndim(); ++d) t.shape.push_back(a.shape(d));
        t.data = a.data();
        named.push_back(std::move(t));
    }
    std::map<std::string, std::string> meta;
    if (!metadata.is_none()) {
        for (const auto& [k, v]: metadata.cast<py::dict>()) {
            if (!py::isinstance<py::str>(k) || !py::isinstance<py::str>(v)) throw py::type_error("write_safetensors: metadata maps str to str");
            meta[k.cast<std::string>()] = v.cast<std::string>();
        }
    }
    write_safetensors(path, std::move(named), meta);
}

std::vector<float> take(const py::dict& sd, const std::string& name, const std::vector<std::int64_t>& shape, const std::string& key) {
    if (!sd.contains(name)) throw InputError(InputPlace{"", 0, 0, key}, fmt::format("the state_dict has no tensor '{}'", name));
    const auto a = as_float32(sd[py::str(name)], fmt::format("{}: '{}'", key, name));
    std::vector<std::int64_t> got(a.shape(), a.shape() + a.ndim());
    if (got != shape) {
        throw InputError(InputPlace{"", 0, 0, key}, fmt::format("'{}' has shape {}, where this neuron takes {}", name, shape_string(got), shape_string(shape)));
    }
    return {a.data(), a.data() + a.size()};
}

} // namespace

GivenWeights weights_from_state_dict(py::handle state_dict, const std::string& prefix, BlockShape shape, const std::string& key, bool readout) {
    // A torch state_dict is an OrderedDict, which is a dict; any other mapping is copied into
    // one, which this function holds while it reads it.
    py::dict sd;
    if (py::isinstance<py::dict>(state_dict)) sd = py::reinterpret_borrow<py::dict>(state_dict);
    else if (py::hasattr(state_dict, "items")) sd = py::dict(py::reinterpret_borrow<py::object>(state_dict));
    else throw py::type_error(fmt::format("{}: a state_dict is a mapping of names to tensors", key));
    auto w = std::make_shared<BlockWeights>();
    w->shape = shape;
    for (int k = 0; k < param_count; ++k) {
        const auto p = static_cast<Param>(k);
        (*w)[p] = take(sd, prefix + std::string(param_name(p)), param_shape(p, shape), key);
    }
    GivenWeights g;
    g.block = std::move(w);
    // A linear readout's weights, when the neuron takes them from its state_dict (as from a
    // weights file: not for another readout, nor for one drawn with init: random).
    if (readout) {
        if (!sd.contains(prefix + "readout.weight")) {
            throw InputError(InputPlace{"", 0, 0, key}, fmt::format("the state_dict has no tensor '{}readout.weight' for the linear readout (or give it readout: {{ linear: {{ init: random }} }})", prefix));
        }
        auto r = std::make_shared<LinearReadout>();
        r->weight = take(sd, prefix + "readout.weight", {1, shape.embed_dim}, key);
        r->bias = take(sd, prefix + "readout.bias", {1}, key).front();
        g.readout = std::move(r);
    }
    return g;
}

void bind_tensors(py::module_& m) {
    m.def("_check_state_dict", [](py::handle sd, const std::string& prefix, std::int32_t e, std::int32_t h, std::int32_t hd, const std::string& key, bool readout) {
        weights_from_state_dict(sd, prefix, BlockShape{e, h, hd}, key, readout);
    });
    m.def("read_safetensors", &read_safetensors, py::arg("path"),
        "The float32 tensors of a safetensors file, by name, as NumPy arrays of their shapes.");
    m.def("read_safetensors_metadata", &read_safetensors_metadata, py::arg("path"), "The string metadata of a safetensors file.");
    m.def("write_safetensors", &write_tensors, py::arg("path"), py::arg("tensors"), py::arg("metadata") = py::none(),
        "Writes float32 tensors (NumPy arrays or torch tensors) and string metadata as a safetensors file that PyTorch reads.");
}

} // namespace spikenn::python
