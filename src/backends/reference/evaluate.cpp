#include "backends/reference/evaluate.h"

#include "backends/reference/kernel.h"

namespace edgerun::reference {

bool may_evaluate_ahead(const ir::Node& node) {
  if (!node.op) return false;
  switch (*node.op) {
    // Their bodies are graphs that are not analysed here.
    case ir::Op::If:
    case ir::Op::Loop:
    case ir::Op::Scan:
    case ir::Op::SequenceMap:
    // Random in training mode. (The random generators themselves are not in the registry: a
    // value fixed ahead could never equal a run's.)
    case ir::Op::Dropout: return false;
    default: break;
  }
  for (const ir::Attribute& attr : node.attributes) {
    if (attr.g || !attr.graphs.empty()) return false;
  }
  return true;
}

std::optional<std::vector<Tensor>> evaluate_node(
    const ir::Node& node, const std::function<const Tensor*(const std::string&)>& value_of) {
  if (!may_evaluate_ahead(node)) return std::nullopt;
  std::vector<Value> input_values;
  input_values.reserve(node.inputs.size());
  for (const std::string& name : node.inputs) {
    if (name.empty()) {
      input_values.emplace_back();
      continue;
    }
    const Tensor* known = value_of(name);
    if (known == nullptr) return std::nullopt;
    input_values.emplace_back(*known);
  }
  std::vector<const Value*> inputs;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    inputs.push_back(node.inputs[i].empty() ? nullptr : &input_values[i]);
  }
  std::vector<Value> outputs(node.outputs.size());
  KernelContext ctx(node, inputs, outputs, nullptr);
  if (!kernel_for(*node.op)(ctx).is_ok()) return std::nullopt;
  std::vector<Tensor> tensors(outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (!node.outputs[i].empty() && outputs[i].is_tensor()) tensors[i] = outputs[i].tensor();
  }
  return tensors;
}

}  // namespace edgerun::reference
