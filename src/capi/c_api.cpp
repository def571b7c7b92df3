// The C ABI (include/edgerun/edgerun.h) over the C++ API. Every entry point catches everything:
// no exception may cross into C.
#define EDGERUN_BUILDING_C_API
#include "edgerun/edgerun.h"

#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "edgerun/edgerun.hpp"
#include "runtime/report_json.h"
#include "runtime/telemetry_report.h"

struct er_status {
  er_status_code code;
  std::string message;
};

struct er_engine {
  edgerun::Engine engine;
};

// The schema as C views: strings and arrays owned here so er_io_info can point into them.
struct IoInfoStorage {
  std::string name;
  std::vector<int64_t> dims;
  std::vector<std::string> dim_name_strings;
  std::vector<const char*> dim_names;
};

struct er_model {
  edgerun::PreparedModel model;
  std::vector<IoInfoStorage> inputs;
  std::vector<IoInfoStorage> outputs;
};

struct er_cancellation {
  std::shared_ptr<edgerun::CancellationToken> token;
};

struct er_tensor {
  edgerun::Tensor tensor;  // owns its storage, or wraps the caller's (er_tensor_wrap)
};

namespace {

using edgerun::DType;
using edgerun::Status;
using edgerun::StatusCode;

// Returned when even a status cannot be allocated: a null status would read as success.
er_status kOutOfMemoryStatus{ER_OUT_OF_MEMORY, "out of memory"};

er_status* make_status(er_status_code code, std::string message) {
  try {
    return new er_status{code, std::move(message)};
  } catch (...) {
    return &kOutOfMemoryStatus;
  }
}

er_status* from_status(const Status& s) {
  if (s.is_ok()) return nullptr;
  return make_status(static_cast<er_status_code>(s.code()), s.message());
}

er_status* null_argument(const char* function, const char* argument) {
  return make_status(ER_INVALID_ARGUMENT,
                     std::string(function) + ": '" + argument + "' must not be NULL");
}

// Runs `body` and turns any escaping exception into a status.
template <class F>
er_status* guarded(const char* function, F&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return make_status(ER_OUT_OF_MEMORY, std::string(function) + ": out of memory");
  } catch (const std::exception& e) {
    return make_status(ER_INTERNAL, std::string(function) + ": " + e.what());
  } catch (...) {
    return make_status(ER_INTERNAL, std::string(function) + ": unknown exception");
  }
}

bool valid_tensor_dtype(er_dtype dtype) {
  return dtype > ER_DTYPE_UNDEFINED && dtype <= ER_DTYPE_BFLOAT16 && dtype != ER_DTYPE_STRING;
}

// Checks dtype and dims and computes the byte size, naming `function` in errors.
er_status* check_layout(const char* function, er_dtype dtype, const int64_t* dims, size_t rank,
                        edgerun::Shape* shape, size_t* bytes) {
  if (!valid_tensor_dtype(dtype)) {
    return make_status(ER_INVALID_ARGUMENT, std::string(function) + ": dtype " +
                                                std::to_string(static_cast<int>(dtype)) +
                                                " is not a numeric er_dtype");
  }
  if (rank > 0 && dims == nullptr) return null_argument(function, "dims");
  shape->assign(dims, dims + rank);
  size_t count = 1;
  for (size_t i = 0; i < rank; ++i) {
    if (dims[i] < 0) {
      return make_status(ER_INVALID_ARGUMENT, std::string(function) + ": dim " +
                                                  std::to_string(i) + " is " +
                                                  std::to_string(dims[i]) + ", must be >= 0");
    }
    count *= static_cast<size_t>(dims[i]);
  }
  *bytes = count * edgerun::dtype_size(static_cast<DType>(dtype));
  return nullptr;
}

void fill_storage(IoInfoStorage* storage, const edgerun::TensorSpec& spec) {
  storage->name = spec.name;
  if (spec.shape) storage->dims = *spec.shape;
  storage->dim_name_strings = spec.dim_names;
  storage->dim_name_strings.resize(storage->dims.size());
  for (const std::string& n : storage->dim_name_strings) storage->dim_names.push_back(n.c_str());
}

er_status* io_info(const er_model* model, size_t index, er_io_info* out, bool input) {
  const char* function = input ? "er_model_input_info" : "er_model_output_info";
  if (model == nullptr) return null_argument(function, "model");
  if (out == nullptr) return null_argument(function, "out_info");
  if (out->struct_size < sizeof(er_io_info)) {
    return make_status(ER_INVALID_ARGUMENT,
                       std::string(function) + ": out_info->struct_size is " +
                           std::to_string(out->struct_size) + ", expected at least " +
                           std::to_string(sizeof(er_io_info)));
  }
  const auto& specs = input ? model->model.io_schema().inputs : model->model.io_schema().outputs;
  const auto& storage = input ? model->inputs : model->outputs;
  if (index >= specs.size()) {
    return make_status(ER_INVALID_ARGUMENT, std::string(function) + ": index " +
                                                std::to_string(index) + " is out of range; the "
                                                "model has " + std::to_string(specs.size()) +
                                                (input ? " inputs" : " outputs"));
  }
  const edgerun::TensorSpec& spec = specs[index];
  const IoInfoStorage& s = storage[index];
  out->name = s.name.c_str();
  out->kind = static_cast<er_value_kind>(spec.kind);
  out->dtype = static_cast<er_dtype>(spec.dtype);
  out->rank = spec.shape ? static_cast<int64_t>(s.dims.size()) : -1;
  out->dims = s.dims.data();
  out->dim_names = s.dim_names.data();
  return nullptr;
}

er_status* load(const er_engine* engine, const edgerun::ModelArtifact& artifact,
                const er_model_options* options, er_model** out_model, const char* function) {
  edgerun::PrepareOptions prepare;
  if (options != nullptr) {
    if (options->struct_size < offsetof(er_model_options, dim_values)) {
      return make_status(ER_INVALID_ARGUMENT, std::string(function) +
                                                  ": options->struct_size is too small (" +
                                                  std::to_string(options->struct_size) + ")");
    }
    switch (options->compute_units) {
      case ER_COMPUTE_UNITS_ALL: prepare.compute_units = edgerun::ComputeUnits::kAll; break;
      case ER_COMPUTE_UNITS_CPU_ONLY: prepare.compute_units = edgerun::ComputeUnits::kCpuOnly; break;
      case ER_COMPUTE_UNITS_CPU_AND_GPU:
        prepare.compute_units = edgerun::ComputeUnits::kCpuAndGpu;
        break;
      case ER_COMPUTE_UNITS_CPU_AND_NE:
        prepare.compute_units = edgerun::ComputeUnits::kCpuAndNeuralEngine;
        break;
      default:
        return make_status(ER_INVALID_ARGUMENT,
                           std::string(function) + ": compute_units " +
                               std::to_string(static_cast<int>(options->compute_units)) +
                               " is not an er_compute_units value");
    }
    // Fields past struct_size belong to a newer header than the caller's: they keep defaults.
    const auto has = [&](size_t end_of_field) { return options->struct_size >= end_of_field; };
    if (has(offsetof(er_model_options, num_backends) + sizeof(size_t)) &&
        options->num_backends > 0) {
      if (options->backends == nullptr) return null_argument(function, "options->backends");
      for (size_t i = 0; i < options->num_backends; ++i) {
        if (options->backends[i] == nullptr) return null_argument(function, "options->backends[i]");
        prepare.backends.emplace_back(options->backends[i]);
      }
    }
    if (has(offsetof(er_model_options, num_dim_values) + sizeof(size_t)) &&
        options->num_dim_values > 0) {
      if (options->dim_values == nullptr) return null_argument(function, "options->dim_values");
      for (size_t i = 0; i < options->num_dim_values; ++i) {
        const er_dim_value& d = options->dim_values[i];
        if (d.symbol == nullptr) return null_argument(function, "options->dim_values[i].symbol");
        prepare.dim_values[d.symbol] = d.value;
      }
    }
  }
  edgerun::Result<edgerun::PreparedModel> prepared = engine->engine.prepare(artifact, prepare);
  if (!prepared.is_ok()) return from_status(prepared.status());
  auto model = std::make_unique<er_model>();
  model->model = std::move(prepared).value();
  // Sized first, then filled in place: dim_names point into the strings, which must not move.
  const edgerun::IoSchema& schema = model->model.io_schema();
  model->inputs.resize(schema.inputs.size());
  model->outputs.resize(schema.outputs.size());
  for (size_t i = 0; i < schema.inputs.size(); ++i) fill_storage(&model->inputs[i], schema.inputs[i]);
  for (size_t i = 0; i < schema.outputs.size(); ++i) fill_storage(&model->outputs[i], schema.outputs[i]);
  *out_model = model.release();
  return nullptr;
}

char* copy_cstr(const std::string& s) {
  char* out = new char[s.size() + 1];
  std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

// A caller-provided output tensor must have the output's exact dtype and dims.
er_status* layout_mismatch(const edgerun::Tensor& result, const edgerun::Tensor& target,
                           const char* name) {
  if (target.dtype() == result.dtype() && target.shape() == result.shape()) return nullptr;
  return make_status(ER_INVALID_ARGUMENT,
                     std::string("er_model_predict: output '") + name + "' is " +
                         std::string(edgerun::dtype_name(result.dtype())) +
                         edgerun::shape_to_string(result.shape()) +
                         " but the tensor provided for it is " +
                         std::string(edgerun::dtype_name(target.dtype())) +
                         edgerun::shape_to_string(target.shape()) + " (" +
                         std::to_string(target.nbytes()) + " bytes, " +
                         std::to_string(result.nbytes()) + " needed)");
}

}  // namespace

extern "C" {

uint32_t er_abi_version(void) { return (ER_ABI_VERSION_MAJOR << 16) | ER_ABI_VERSION_MINOR; }

const char* er_version(void) { return EDGERUN_VERSION; }

er_status_code er_status_get_code(const er_status* status) {
  return status == nullptr ? ER_OK : status->code;
}

const char* er_status_message(const er_status* status) {
  return status == nullptr ? "" : status->message.c_str();
}

void er_status_free(er_status* status) {
  if (status != &kOutOfMemoryStatus) delete status;
}

void er_free_cstr(char* str) { delete[] str; }

size_t er_dtype_size(er_dtype dtype) {
  return valid_tensor_dtype(dtype) ? edgerun::dtype_size(static_cast<DType>(dtype)) : 0;
}

er_status* er_engine_create(const er_engine_options* options, er_engine** out_engine) {
  return guarded("er_engine_create", [&]() -> er_status* {
    if (out_engine == nullptr) return null_argument("er_engine_create", "out_engine");
    *out_engine = nullptr;
    if (options != nullptr && options->struct_size < sizeof(size_t)) {
      return make_status(ER_INVALID_ARGUMENT, "er_engine_create: options->struct_size is 0");
    }
    *out_engine = new er_engine();
    return nullptr;
  });
}

void er_engine_free(er_engine* engine) { delete engine; }

er_status* er_model_load(const er_engine* engine, const char* path,
                         const er_model_options* options, er_model** out_model) {
  return guarded("er_model_load", [&]() -> er_status* {
    if (out_model == nullptr) return null_argument("er_model_load", "out_model");
    *out_model = nullptr;
    if (engine == nullptr) return null_argument("er_model_load", "engine");
    if (path == nullptr) return null_argument("er_model_load", "path");
    return load(engine, edgerun::ModelArtifact::from_file(path), options, out_model,
                "er_model_load");
  });
}

er_status* er_model_load_from_memory(const er_engine* engine, const void* data, size_t size,
                                     const er_model_options* options, er_model** out_model) {
  return guarded("er_model_load_from_memory", [&]() -> er_status* {
    if (out_model == nullptr) return null_argument("er_model_load_from_memory", "out_model");
    *out_model = nullptr;
    if (engine == nullptr) return null_argument("er_model_load_from_memory", "engine");
    if (data == nullptr) return null_argument("er_model_load_from_memory", "data");
    std::string bytes(static_cast<const char*>(data), size);
    return load(engine, edgerun::ModelArtifact::from_bytes(std::move(bytes)), options, out_model,
                "er_model_load_from_memory");
  });
}

void er_model_free(er_model* model) { delete model; }

size_t er_model_num_inputs(const er_model* model) {
  return model == nullptr ? 0 : model->inputs.size();
}

size_t er_model_num_outputs(const er_model* model) {
  return model == nullptr ? 0 : model->outputs.size();
}

er_status* er_model_input_info(const er_model* model, size_t index, er_io_info* out_info) {
  return guarded("er_model_input_info", [&] { return io_info(model, index, out_info, true); });
}

er_status* er_model_output_info(const er_model* model, size_t index, er_io_info* out_info) {
  return guarded("er_model_output_info", [&] { return io_info(model, index, out_info, false); });
}

er_status* er_model_schema_json(const er_model* model, char** out_json) {
  return guarded("er_model_schema_json", [&]() -> er_status* {
    if (out_json == nullptr) return null_argument("er_model_schema_json", "out_json");
    *out_json = nullptr;
    if (model == nullptr) return null_argument("er_model_schema_json", "model");
    *out_json = copy_cstr(edgerun::schema_to_json(model->model.io_schema()));
    return nullptr;
  });
}

er_status* er_model_capabilities_json(const er_model* model, char** out_json) {
  return guarded("er_model_capabilities_json", [&]() -> er_status* {
    if (out_json == nullptr) return null_argument("er_model_capabilities_json", "out_json");
    *out_json = nullptr;
    if (model == nullptr) return null_argument("er_model_capabilities_json", "model");
    *out_json = copy_cstr(edgerun::capabilities_to_json(model->model.capabilities()));
    return nullptr;
  });
}

er_status* er_model_telemetry_json(const er_model* model, char** out_json) {
  return guarded("er_model_telemetry_json", [&]() -> er_status* {
    if (out_json == nullptr) return null_argument("er_model_telemetry_json", "out_json");
    *out_json = nullptr;
    if (model == nullptr) return null_argument("er_model_telemetry_json", "model");
    *out_json = copy_cstr(edgerun::telemetry_to_json(model->model.telemetry()));
    return nullptr;
  });
}

er_status* er_cancellation_create(er_cancellation** out_cancellation) {
  return guarded("er_cancellation_create", [&]() -> er_status* {
    if (out_cancellation == nullptr) {
      return null_argument("er_cancellation_create", "out_cancellation");
    }
    *out_cancellation = new er_cancellation{std::make_shared<edgerun::CancellationToken>()};
    return nullptr;
  });
}

void er_cancellation_cancel(er_cancellation* cancellation) {
  if (cancellation != nullptr) cancellation->token->cancel();
}

void er_cancellation_free(er_cancellation* cancellation) { delete cancellation; }

er_status* er_tensor_create(er_dtype dtype, const int64_t* dims, size_t rank,
                            er_tensor** out_tensor) {
  return guarded("er_tensor_create", [&]() -> er_status* {
    if (out_tensor == nullptr) return null_argument("er_tensor_create", "out_tensor");
    *out_tensor = nullptr;
    edgerun::Shape shape;
    size_t bytes = 0;
    if (er_status* s = check_layout("er_tensor_create", dtype, dims, rank, &shape, &bytes)) return s;
    *out_tensor = new er_tensor{edgerun::Tensor(static_cast<DType>(dtype), shape)};
    return nullptr;
  });
}

er_status* er_tensor_wrap(er_dtype dtype, const int64_t* dims, size_t rank, void* data,
                          size_t size_bytes, er_tensor** out_tensor) {
  return guarded("er_tensor_wrap", [&]() -> er_status* {
    if (out_tensor == nullptr) return null_argument("er_tensor_wrap", "out_tensor");
    *out_tensor = nullptr;
    edgerun::Shape shape;
    size_t bytes = 0;
    if (er_status* s = check_layout("er_tensor_wrap", dtype, dims, rank, &shape, &bytes)) return s;
    if (data == nullptr && bytes > 0) return null_argument("er_tensor_wrap", "data");
    if (size_bytes < bytes) {
      return make_status(ER_INVALID_ARGUMENT,
                         "er_tensor_wrap: the buffer holds " + std::to_string(size_bytes) +
                             " bytes but " + edgerun::shape_to_string(shape) + " of " +
                             std::string(edgerun::dtype_name(static_cast<DType>(dtype))) +
                             " needs " + std::to_string(bytes));
    }
    *out_tensor =
        new er_tensor{edgerun::Tensor::wrap(static_cast<DType>(dtype), shape, data, nullptr)};
    return nullptr;
  });
}

void er_tensor_free(er_tensor* tensor) { delete tensor; }

er_dtype er_tensor_dtype(const er_tensor* tensor) {
  return tensor == nullptr ? ER_DTYPE_UNDEFINED : static_cast<er_dtype>(tensor->tensor.dtype());
}

size_t er_tensor_rank(const er_tensor* tensor) {
  return tensor == nullptr ? 0 : tensor->tensor.shape().size();
}

const int64_t* er_tensor_dims(const er_tensor* tensor) {
  return tensor == nullptr ? nullptr : tensor->tensor.shape().data();
}

size_t er_tensor_size_bytes(const er_tensor* tensor) {
  return tensor == nullptr ? 0 : tensor->tensor.nbytes();
}

void* er_tensor_data(er_tensor* tensor) {
  return tensor == nullptr ? nullptr : tensor->tensor.raw_data();
}

const void* er_tensor_data_const(const er_tensor* tensor) {
  return tensor == nullptr ? nullptr : tensor->tensor.raw_data();
}

er_status* er_model_predict(const er_model* model, const er_run_options* options,
                            const char* const* input_names, const er_tensor* const* inputs,
                            size_t num_inputs, const char* const* output_names,
                            er_tensor** outputs, size_t num_outputs) {
  return guarded("er_model_predict", [&]() -> er_status* {
    constexpr const char* kFn = "er_model_predict";
    if (model == nullptr) return null_argument(kFn, "model");
    if (num_inputs > 0 && (input_names == nullptr || inputs == nullptr)) {
      return null_argument(kFn, input_names == nullptr ? "input_names" : "inputs");
    }
    if (num_outputs > 0 && (output_names == nullptr || outputs == nullptr)) {
      return null_argument(kFn, output_names == nullptr ? "output_names" : "outputs");
    }
    edgerun::RunOptions run_options;
    if (options != nullptr) {
      // 1.0 callers end the struct after timeout_ms; later fields keep their defaults for them.
      constexpr size_t kV10Size = offsetof(er_run_options, timeout_ms) + sizeof(uint32_t);
      if (options->struct_size < kV10Size) {
        return make_status(ER_INVALID_ARGUMENT, "er_model_predict: options->struct_size is " +
                                                    std::to_string(options->struct_size) +
                                                    ", expected " +
                                                    std::to_string(sizeof(er_run_options)));
      }
      run_options.timeout = std::chrono::milliseconds(options->timeout_ms);
      if (options->struct_size >= offsetof(er_run_options, cancellation) + sizeof(void*) &&
          options->cancellation != nullptr) {
        run_options.cancellation = options->cancellation->token;
      }
    }
    edgerun::TensorMap feeds;
    for (size_t i = 0; i < num_inputs; ++i) {
      if (input_names[i] == nullptr) return null_argument(kFn, "input_names[i]");
      if (inputs[i] == nullptr) {
        return make_status(ER_INVALID_ARGUMENT, std::string(kFn) + ": the tensor for input '" +
                                                    input_names[i] + "' is NULL");
      }
      // With a deadline the core runs on its own copies, so an abandoned run never reads
      // caller memory after this call returns.
      feeds[input_names[i]] = inputs[i]->tensor;
    }
    for (size_t i = 0; i < num_outputs; ++i) {
      if (output_names[i] == nullptr) return null_argument(kFn, "output_names[i]");
    }

    // Every output in a caller's tensor, each named once: the kernels write there directly.
    edgerun::TensorMap targets;
    for (size_t i = 0; i < num_outputs && outputs[i] != nullptr; ++i) {
      targets.emplace(output_names[i], outputs[i]->tensor);
    }
    if (num_outputs > 0 && targets.size() == num_outputs) {
      return from_status(model->model.run_into(feeds, targets, run_options));
    }

    edgerun::Result<edgerun::TensorMap> results = model->model.run(feeds, run_options);
    if (!results.is_ok()) return from_status(results.status());

    // Check every requested output before writing anything, so a failure leaves no partial state.
    std::vector<const edgerun::Tensor*> found(num_outputs, nullptr);
    for (size_t i = 0; i < num_outputs; ++i) {
      auto it = results->find(output_names[i]);
      if (it == results->end()) {
        std::string names;
        for (const auto& [name, t] : *results) names += (names.empty() ? "" : ", ") + name;
        return make_status(ER_INVALID_ARGUMENT, std::string(kFn) + ": unknown output '" +
                                                    output_names[i] + "'; the model's outputs are: " +
                                                    names);
      }
      if (it->second.dtype() == DType::kString) {
        return make_status(ER_UNSUPPORTED, std::string(kFn) + ": output '" + output_names[i] +
                                               "' holds strings, which the C ABI does not carry");
      }
      found[i] = &it->second;
      if (outputs[i] != nullptr) {
        if (er_status* s = layout_mismatch(*found[i], outputs[i]->tensor, output_names[i])) return s;
      }
    }
    std::vector<std::unique_ptr<er_tensor>> created(num_outputs);
    for (size_t i = 0; i < num_outputs; ++i) {
      // Shares the result's storage: the runtime-owned output is not copied.
      if (outputs[i] == nullptr) created[i] = std::make_unique<er_tensor>(er_tensor{*found[i]});
    }
    for (size_t i = 0; i < num_outputs; ++i) {
      if (created[i]) {
        outputs[i] = created[i].release();
      } else {
        std::memcpy(outputs[i]->tensor.raw_data(), found[i]->raw_data(), found[i]->nbytes());
      }
    }
    return nullptr;
  });
}

}  // extern "C"
