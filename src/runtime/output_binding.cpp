#include "runtime/output_binding.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace edgerun::runtime {
namespace {

std::string describe(const Tensor& t) {
  return std::string(dtype_name(t.dtype())) + shape_to_string(t.shape());
}

bool overlap(const Tensor& a, const Tensor& b) {
  if (a.nbytes() == 0 || b.nbytes() == 0) return false;
  const auto* a0 = static_cast<const std::byte*>(a.raw_data());
  const auto* b0 = static_cast<const std::byte*>(b.raw_data());
  return a0 < b0 + b.nbytes() && b0 < a0 + a.nbytes();
}

Status unknown_output(const ir::Graph& graph, const std::string& name) {
  std::string names;
  for (const ir::ValueInfo& out : graph.outputs) names += (names.empty() ? "" : ", ") + out.name;
  return invalid_argument("unknown output '" + name + "'; the model's outputs are: " + names);
}

}  // namespace

Status order_output_tensors(const ir::Graph& graph, const TensorMap& inputs, TensorMap& outputs,
                            std::span<Tensor*> targets) {
  std::fill(targets.begin(), targets.end(), nullptr);
  for (auto& [name, tensor] : outputs) {
    size_t index = graph.outputs.size();
    for (size_t i = 0; i < graph.outputs.size(); ++i) {
      if (graph.outputs[i].name == name) index = i;
    }
    if (index == graph.outputs.size()) return unknown_output(graph, name);
    if (!tensor.defined() || (tensor.raw_data() == nullptr && tensor.nbytes() > 0)) {
      return invalid_argument("the tensor given for output '" + name + "' has no storage");
    }
    for (const auto& [input, fed] : inputs) {
      if (overlap(tensor, fed)) {
        return invalid_argument("the tensor given for output '" + name +
                                "' shares memory with input '" + input + "'");
      }
    }
    for (size_t i = 0; i < graph.outputs.size(); ++i) {
      if (targets[i] != nullptr && overlap(tensor, *targets[i])) {
        return invalid_argument("the tensors given for outputs '" + graph.outputs[i].name +
                                "' and '" + name + "' share memory");
      }
    }
    targets[index] = &tensor;
  }
  return Status::ok();
}

Status check_output_tensors(const ir::Graph& graph, const ValueTypes& types,
                            std::span<Tensor* const> targets) {
  for (size_t i = 0; i < graph.outputs.size() && i < targets.size(); ++i) {
    const Tensor* target = targets[i];
    if (target == nullptr) continue;
    const std::string& name = graph.outputs[i].name;
    const DType dtype = types.dtype(name);
    const Shape* shape = types.shape(name);
    if ((dtype != DType::kUndefined && dtype != target->dtype()) ||
        (shape != nullptr && *shape != target->shape())) {
      const std::string result =
          std::string(dtype_name(dtype)) + (shape != nullptr ? shape_to_string(*shape) : "[?]");
      return output_mismatch(name, result, *target);
    }
  }
  return Status::ok();
}

Status output_mismatch(const std::string& name, const std::string& result, const Tensor& target) {
  return invalid_argument("output '" + name + "' is " + result +
                          " but the tensor given for it is " + describe(target));
}

void copy_into(const Tensor& result, Tensor& target) {
  if (result.raw_data() == target.raw_data()) return;
  if (result.dtype() == DType::kString) {
    std::copy_n(result.data<std::string>(), result.size(), target.data<std::string>());
    return;
  }
  std::memcpy(target.raw_data(), result.raw_data(), result.nbytes());
}

Status copy_outputs_into(const ir::Graph& graph, const TensorMap& results, TensorMap& outputs) {
  for (const auto& [name, target] : outputs) {
    auto it = results.find(name);
    if (it == results.end()) return unknown_output(graph, name);
    if (it->second.dtype() != target.dtype() || it->second.shape() != target.shape()) {
      return output_mismatch(name, describe(it->second), target);
    }
  }
  for (auto& [name, target] : outputs) copy_into(results.at(name), target);
  return Status::ok();
}

}  // namespace edgerun::runtime
