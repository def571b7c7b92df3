#include "runtime/input_binding.h"

#include "core/small_array.h"

namespace edgerun::runtime {

namespace {

Status unknown_input(const ir::Graph& graph, const std::string& name) {
  std::string names;
  for (const ir::ValueInfo& in : graph.inputs) names += (names.empty() ? "" : ", ") + in.name;
  return invalid_argument("unknown input '" + name + "'; the model's inputs are: " + names);
}

// Every name fed (a ValueMap's or a TensorMap's) must be a graph input.
template <class Feeds>
Status check_input_names(const ir::Graph& graph, const Feeds& feeds) {
  for (const auto& [name, value] : feeds) {
    bool known = false;
    for (const ir::ValueInfo& in : graph.inputs) known = known || in.name == name;
    if (!known) return unknown_input(graph, name);
  }
  return Status::ok();
}

Status missing_input(const ir::ValueInfo& in) {
  return invalid_argument("missing input '" + in.name + "' (" + ir::type_to_string(in.type) + ")");
}

// Element dtypes are checked here; element shapes are left to the ops that read them, as ONNX
// sequences may hold tensors of different shapes.
Status check_sequence_or_optional(const ir::ValueInfo& in, const Value& v) {
  const ir::TypeInfo* type = &in.type;
  if (type->kind == ir::TypeInfo::Kind::kOptional) {
    if (v.is_none()) return Status::ok();
    if (type->element) type = type->element.get();
  }
  const bool want_sequence = type->kind == ir::TypeInfo::Kind::kSequence;
  if (v.is_sequence() != want_sequence || (!want_sequence && !v.is_tensor())) {
    return invalid_argument("input '" + in.name + "' is " + describe_value(v) + ", expected " +
                            ir::type_to_string(in.type));
  }
  const DType want = want_sequence && type->element ? type->element->dtype : type->dtype;
  if (want == DType::kUndefined) return Status::ok();
  const auto wrong = [&](DType got) {
    return invalid_argument("input '" + in.name + "' holds " + std::string(dtype_name(got)) +
                            " elements, expected " + ir::type_to_string(in.type));
  };
  if (!want_sequence) return v.tensor().dtype() == want ? Status::ok() : wrong(v.tensor().dtype());
  for (const Tensor& t : v.items()) {
    if (t.dtype() != want) return wrong(t.dtype());
  }
  return Status::ok();
}

// Who fixed a symbol's value before input `i`'s dim `d`: the prepare options (`input` is
// kByOptions) or the first input, in graph order, with that symbol.
struct SymbolBinding {
  static constexpr size_t kByOptions = static_cast<size_t>(-1);
  bool found = false;
  int64_t value = 0;
  size_t input = kByOptions;
};

SymbolBinding symbol_binding(const ir::Graph& graph, std::span<const Tensor* const> inputs,
                             size_t i, size_t d, const std::string& symbol,
                             const std::map<std::string, int64_t>& fixed_dims) {
  if (auto fixed = fixed_dims.find(symbol); fixed != fixed_dims.end()) {
    return {true, fixed->second, SymbolBinding::kByOptions};
  }
  for (size_t j = 0; j <= i; ++j) {
    if (inputs[j] == nullptr || !graph.inputs[j].type.shape) continue;
    const std::vector<ir::Dim>& dims = *graph.inputs[j].type.shape;
    for (size_t e = 0; e < (j == i ? d : dims.size()); ++e) {
      if (!dims[e].known() && dims[e].symbol == symbol) return {true, inputs[j]->shape()[e], j};
    }
  }
  return {};
}

// Input `i` (a tensor) against its declared dtype, rank, fixed dims and symbols. Builds no
// string unless something is wrong.
Status check_tensor_input(const ir::Graph& graph, std::span<const Tensor* const> inputs, size_t i,
                          const std::map<std::string, int64_t>& fixed_dims) {
  const ir::ValueInfo& in = graph.inputs[i];
  const Tensor& t = *inputs[i];
  if (in.type.dtype != DType::kUndefined && t.dtype() != in.type.dtype) {
    return invalid_argument("input '" + in.name + "' has dtype " +
                            std::string(dtype_name(t.dtype())) + ", expected " +
                            std::string(dtype_name(in.type.dtype)) + " (" +
                            ir::type_to_string(in.type) + ")");
  }
  if (!in.type.shape) return Status::ok();
  const std::vector<ir::Dim>& dims = *in.type.shape;
  if (static_cast<size_t>(t.rank()) != dims.size()) {
    return invalid_argument("input '" + in.name + "' has rank " + std::to_string(t.rank()) +
                            " (shape " + shape_to_string(t.shape()) + "), expected rank " +
                            std::to_string(dims.size()) + " (" + ir::type_to_string(in.type) +
                            ")");
  }
  for (size_t d = 0; d < dims.size(); ++d) {
    const int64_t actual = t.shape()[d];
    if (dims[d].known() && dims[d].value != actual) {
      return invalid_argument("input '" + in.name + "' dim " + std::to_string(d) + " is " +
                              std::to_string(actual) + ", expected " +
                              std::to_string(dims[d].value) + " (" + ir::type_to_string(in.type) +
                              ")");
    }
    if (dims[d].known() || dims[d].symbol.empty()) continue;
    const SymbolBinding bound = symbol_binding(graph, inputs, i, d, dims[d].symbol, fixed_dims);
    if (bound.found && bound.value != actual) {
      const std::string by = bound.input == SymbolBinding::kByOptions
                                 ? std::string("the prepare options")
                                 : "input '" + graph.inputs[bound.input].name + "'";
      return invalid_argument("input '" + in.name + "' dim " + std::to_string(d) + " ('" +
                              dims[d].symbol + "') is " + std::to_string(actual) + ", but " + by +
                              " bound '" + dims[d].symbol + "' to " + std::to_string(bound.value));
    }
  }
  return Status::ok();
}

}  // namespace

Result<std::vector<Value>> bind_inputs(const ir::Graph& graph, const ValueMap& feeds,
                                       const std::map<std::string, int64_t>& fixed_dims) {
  ER_RETURN_IF_ERROR(check_input_names(graph, feeds));
  std::vector<Value> ordered;
  ordered.reserve(graph.inputs.size());
  // On the stack for the usual few inputs: run() should not allocate to check them.
  SmallArray<const Tensor*, 8> input_tensors(graph.inputs.size());
  const std::span<const Tensor*> tensors = input_tensors.span();
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    const ir::ValueInfo& in = graph.inputs[i];
    auto it = feeds.find(in.name);
    if (it == feeds.end()) return missing_input(in);
    const Value& v = it->second;
    if (in.type.kind == ir::TypeInfo::Kind::kSequence || in.type.kind == ir::TypeInfo::Kind::kOptional) {
      ER_RETURN_IF_ERROR(check_sequence_or_optional(in, v));
      ordered.push_back(v);
      continue;
    }
    if (!v.is_tensor()) {
      return invalid_argument("input '" + in.name + "' must be a tensor (" +
                              ir::type_to_string(in.type) + ")");
    }
    tensors[i] = &v.tensor();
    ER_RETURN_IF_ERROR(check_tensor_input(graph, tensors, i, fixed_dims));
    ordered.push_back(v);
  }
  return ordered;
}

Status order_input_tensors(const ir::Graph& graph, const TensorMap& feeds,
                           const std::map<std::string, int64_t>& fixed_dims,
                           std::span<const Tensor*> ordered) {
  ER_RETURN_IF_ERROR(check_input_names(graph, feeds));
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    const ir::ValueInfo& in = graph.inputs[i];
    if (in.type.kind == ir::TypeInfo::Kind::kSequence ||
        in.type.kind == ir::TypeInfo::Kind::kOptional) {
      return invalid_argument("input '" + in.name + "' is " + ir::type_to_string(in.type) +
                              ", which runs that bind tensors cannot feed");
    }
    auto it = feeds.find(in.name);
    if (it == feeds.end()) return missing_input(in);
    ordered[i] = &it->second;
    ER_RETURN_IF_ERROR(check_tensor_input(graph, ordered, i, fixed_dims));
  }
  return Status::ok();
}

Status apply_shape_options(ir::Graph& graph, PrepareOptions& options) {
  for (const auto& [name, shape] : options.input_shapes) {
    ir::ValueInfo* input = nullptr;
    for (ir::ValueInfo& in : graph.inputs) {
      if (in.name == name) input = &in;
    }
    if (input == nullptr) {
      return invalid_argument("a shape was given for '" + name + "', which is not a model input");
    }
    if (input->type.shape && input->type.shape->size() != shape.size()) {
      return invalid_argument("the shape " + shape_to_string(shape) + " given for input '" + name +
                              "' has rank " + std::to_string(shape.size()) + ", the model declares " +
                              ir::type_to_string(input->type));
    }
    std::vector<ir::Dim> dims(shape.size());
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] < 0) {
        return invalid_argument("the shape given for input '" + name + "' has a negative dim");
      }
      if (input->type.shape) {
        const ir::Dim& declared = (*input->type.shape)[d];
        if (declared.known() && declared.value != shape[d]) {
          return invalid_argument("the shape " + shape_to_string(shape) + " given for input '" +
                                  name + "' conflicts with the declared " +
                                  ir::type_to_string(input->type));
        }
        if (!declared.symbol.empty()) options.dim_values.emplace(declared.symbol, shape[d]);
      }
      dims[d].value = shape[d];
    }
    input->type.shape = std::move(dims);
  }
  for (ir::ValueInfo& in : graph.inputs) {
    if (!in.type.shape) continue;
    for (ir::Dim& d : *in.type.shape) {
      auto it = d.symbol.empty() ? options.dim_values.end() : options.dim_values.find(d.symbol);
      if (it != options.dim_values.end()) d.value = it->second;
    }
  }
  return Status::ok();
}

}  // namespace edgerun::runtime
