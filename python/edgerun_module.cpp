// _edgerun: the Python extension under the `edgerun` package (python/edgerun/__init__.py).
// numpy arrays in, numpy arrays out; runtime errors become edgerun.EdgerunError carrying the
// runtime's code and message.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "edgerun/edgerun.hpp"
#include "runtime/report_json.h"

namespace py = pybind11;
using namespace edgerun;

namespace {

// Carries a Status out of C++; translated into edgerun.EdgerunError(code, message).
struct StatusError {
  Status status;
};

[[noreturn]] void raise(const Status& s) { throw StatusError{s}; }

template <class T>
T value_or_raise(Result<T> r) {
  if (!r.is_ok()) raise(r.status());
  return std::move(r).value();
}

// DType <-> numpy dtype character codes. bfloat16 has no numpy dtype.
std::string numpy_format(DType d) {
  switch (d) {
    case DType::kFloat32: return "float32";
    case DType::kFloat64: return "float64";
    case DType::kFloat16: return "float16";
    case DType::kInt8: return "int8";
    case DType::kInt16: return "int16";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
    case DType::kUInt8: return "uint8";
    case DType::kUInt16: return "uint16";
    case DType::kUInt32: return "uint32";
    case DType::kUInt64: return "uint64";
    case DType::kBool: return "bool";
    case DType::kComplex64: return "complex64";
    case DType::kComplex128: return "complex128";
    default: return "";
  }
}

DType dtype_of_array(const py::array& a, const std::string& name) {
  const char kind = a.dtype().kind();
  if (kind == 'U' || kind == 'S' || kind == 'O') return DType::kString;
  const std::string str = py::str(a.dtype());
  for (int code = 1; code <= 16; ++code) {
    const auto d = static_cast<DType>(code);
    if (!numpy_format(d).empty() && numpy_format(d) == str) return d;
  }
  raise(invalid_argument("input '" + name + "' has numpy dtype " + str +
                         ", which edgerun has no dtype for"));
}

// Holds the numpy arrays fed to a run so the zero-copy tensors over them stay valid.
struct Feeds {
  ValueMap values;
  std::vector<py::array> arrays;
  std::vector<std::pair<const char*, const char*>> ranges;  // input buffers, to detect aliasing
};

Tensor tensor_from_array(py::handle obj, const std::string& name, Feeds* feeds) {
  py::array a = py::array::ensure(obj, py::array::c_style);
  if (!a) raise(invalid_argument("input '" + name + "' is not convertible to a numpy array"));
  const DType dtype = dtype_of_array(a, name);
  Shape shape(a.shape(), a.shape() + a.ndim());
  if (dtype == DType::kString) {
    Tensor t(DType::kString, shape);
    py::list items = a.attr("ravel")().attr("tolist")();
    for (size_t i = 0; i < items.size(); ++i) {
      py::handle item = items[i];
      t.data<std::string>()[i] = py::isinstance<py::bytes>(item) ? item.cast<std::string>()
                                                                 : py::str(item).cast<std::string>();
    }
    return t;
  }
  feeds->arrays.push_back(a);
  const char* begin = static_cast<const char*>(a.data());
  feeds->ranges.emplace_back(begin, begin + a.nbytes());
  // Zero copy: the array outlives the run (Feeds holds it) and is never written.
  return Tensor::wrap(dtype, shape, const_cast<void*>(a.data()), nullptr);
}

Feeds make_feeds(const py::dict& inputs) {
  Feeds feeds;
  for (auto [key, obj] : inputs) {
    const std::string name = py::str(key);
    if (py::isinstance<py::list>(obj) || py::isinstance<py::tuple>(obj)) {
      std::vector<Tensor> items;
      for (py::handle item : obj) items.push_back(tensor_from_array(item, name, &feeds));
      const DType element = items.empty() ? DType::kUndefined : items[0].dtype();
      feeds.values[name] = Value::sequence(element, std::move(items));
    } else if (obj.is_none()) {
      feeds.values[name] = Value::none();
    } else {
      feeds.values[name] = tensor_from_array(obj, name, &feeds);
    }
  }
  return feeds;
}

py::object array_from_tensor(const Tensor& t, const Feeds& feeds) {
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  if (t.dtype() == DType::kString) {
    py::list items;
    for (int64_t i = 0; i < t.size(); ++i) items.append(py::str(t.data<std::string>()[i]));
    return py::module_::import("numpy").attr("array")(items, "object").attr("reshape")(shape);
  }
  const std::string format = numpy_format(t.dtype());
  if (format.empty()) {
    raise(unsupported("an output has dtype " + std::string(dtype_name(t.dtype())) +
                      ", which numpy has no dtype for"));
  }
  const py::dtype dtype(format);
  const char* data = static_cast<const char*>(t.raw_data());
  for (const auto& [begin, end] : feeds.ranges) {
    if (data >= begin && data < end) {
      // The output aliases an input array (Identity, Reshape): copy rather than tie its
      // lifetime to the caller's array.
      return py::array(dtype, shape, t.raw_data());
    }
  }
  // Zero copy: the array owns a handle on the tensor's shared storage.
  auto* owner = new Tensor(t);
  py::capsule keep(owner, [](void* p) { delete static_cast<Tensor*>(p); });
  return py::array(dtype, shape, owner->raw_data(), keep);
}

py::object to_python(const Value& v, const Feeds& feeds) {
  if (v.is_none()) return py::none();
  if (v.is_tensor()) return array_from_tensor(v.tensor(), feeds);
  py::list items;
  for (const Tensor& t : v.items()) items.append(array_from_tensor(t, feeds));
  return items;
}

py::dict spec_dict(const TensorSpec& s) {
  py::dict d;
  d["name"] = s.name;
  d["kind"] = s.kind == ValueKind::kTensor ? "tensor"
              : s.kind == ValueKind::kSequence ? "sequence" : "optional";
  d["dtype"] = std::string(dtype_name(s.dtype));
  d["type"] = s.type;
  if (s.shape) {
    py::list dims;
    for (size_t i = 0; i < s.shape->size(); ++i) {
      const int64_t dim = (*s.shape)[i];
      if (dim >= 0) {
        dims.append(dim);
      } else if (i < s.dim_names.size() && !s.dim_names[i].empty()) {
        dims.append(s.dim_names[i]);  // symbolic, as onnxruntime reports it
      } else {
        dims.append(py::none());
      }
    }
    d["shape"] = dims;
  } else {
    d["shape"] = py::none();
  }
  return d;
}

class Session {
 public:
  Session(const py::object& model, const std::string& compute_units,
          const std::map<std::string, int64_t>& dim_values, const std::vector<std::string>& backends,
          int threads) {
    PrepareOptions options;
    std::optional<ComputeUnits> units = parse_compute_units(compute_units);
    if (!units) {
      raise(invalid_argument("compute_units '" + compute_units +
                             "' is not one of all, cpu_only, cpu_and_gpu, cpu_and_ne"));
    }
    options.compute_units = *units;
    options.dim_values = dim_values;
    options.backends = backends;
    options.threads = threads;
    ModelArtifact artifact = py::isinstance<py::bytes>(model)
                                 ? ModelArtifact::from_bytes(model.cast<std::string>())
                                 : ModelArtifact::from_file(py::str(model).cast<std::string>());
    Engine engine;
    py::gil_scoped_release unlocked;
    model_ = value_or_raise(engine.prepare(artifact, options));
  }

  py::list inputs() const { return specs(model_.io_schema().inputs); }
  py::list outputs() const { return specs(model_.io_schema().outputs); }

  py::list run(const py::dict& inputs, const std::optional<std::vector<std::string>>& names) const {
    Feeds feeds = make_feeds(inputs);
    Result<ValueMap> result = ValueMap();
    {
      py::gil_scoped_release unlocked;
      result = model_.run_values(feeds.values);
    }
    ValueMap values = value_or_raise(std::move(result));
    std::vector<std::string> wanted;
    if (names) {
      wanted = *names;
    } else {
      for (const TensorSpec& s : model_.io_schema().outputs) wanted.push_back(s.name);
    }
    py::list out;
    for (const std::string& name : wanted) {
      auto it = values.find(name);
      if (it == values.end()) {
        std::string known;
        for (const TensorSpec& s : model_.io_schema().outputs) {
          known += (known.empty() ? "" : ", ") + s.name;
        }
        raise(invalid_argument("unknown output '" + name + "'; the model's outputs are: " + known));
      }
      out.append(to_python(it->second, feeds));
    }
    return out;
  }

  std::string capabilities_json() const { return capabilities_to_json(model_.capabilities()); }

 private:
  static py::list specs(const std::vector<TensorSpec>& list) {
    py::list out;
    for (const TensorSpec& s : list) out.append(spec_dict(s));
    return out;
  }

  PreparedModel model_;
};

}  // namespace

PYBIND11_MODULE(_edgerun, m) {
  m.doc() = "edgerun runtime bindings; use the `edgerun` package";
  m.attr("__version__") = std::string(version());
  static py::exception<StatusError> error(m, "EdgerunError", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const StatusError& e) {
      py::object type = py::reinterpret_borrow<py::object>(error.ptr());
      py::object exc = type(e.status.to_string());
      std::string code(status_code_name(e.status.code()));  // "invalid argument"
      std::replace(code.begin(), code.end(), ' ', '_');     // -> "invalid_argument"
      exc.attr("code") = code;
      exc.attr("message") = e.status.message();
      PyErr_SetObject(error.ptr(), exc.ptr());
    }
  });
  py::class_<Session>(m, "_Session")
      .def(py::init<const py::object&, const std::string&, const std::map<std::string, int64_t>&,
                    const std::vector<std::string>&, int>(),
           py::arg("model"), py::arg("compute_units"), py::arg("dim_values"), py::arg("backends"),
           py::arg("threads"))
      .def("inputs", &Session::inputs)
      .def("outputs", &Session::outputs)
      .def("run", &Session::run, py::arg("inputs"), py::arg("outputs"))
      .def("capabilities_json", &Session::capabilities_json);
}
