#include "opt/fold_constants.h"

#include <optional>
#include <set>

#include "backends/reference/evaluate.h"

namespace edgerun::opt {
namespace {

// Outputs may exceed the inputs by this much: small shapes and scalars derived from constants
// fold, a broadcast that would store a large constant does not.
constexpr size_t kMaxGrowthBytes = 64 * 1024;

size_t bytes_of(const Tensor& t) {
  return t.defined() ? static_cast<size_t>(t.size()) * dtype_size(t.dtype()) : 0;
}

}  // namespace

size_t fold_constants(ir::Graph& graph) {
  std::set<std::string> graph_outputs, graph_inputs;
  for (const ir::ValueInfo& out : graph.outputs) graph_outputs.insert(out.name);
  for (const ir::ValueInfo& in : graph.inputs) graph_inputs.insert(in.name);
  auto value_of = [&](const std::string& name) -> const Tensor* {
    // An initializer that is also a graph input is only a default: a caller may feed it.
    if (graph_inputs.count(name) > 0) return nullptr;
    auto it = graph.initializers.find(name);
    return it == graph.initializers.end() ? nullptr : &it->second;
  };
  std::vector<ir::Node> kept;
  kept.reserve(graph.nodes.size());
  size_t folded = 0;
  for (ir::Node& node : graph.nodes) {
    bool foldable = !node.inputs.empty();
    size_t input_bytes = 0;
    for (const std::string& in : node.inputs) {
      if (in.empty()) continue;
      const Tensor* t = value_of(in);
      foldable = foldable && t != nullptr;
      if (t != nullptr) input_bytes += bytes_of(*t);
    }
    // A graph output computed from constants stays a node, so the model keeps producing it.
    for (const std::string& out : node.outputs) foldable = foldable && !graph_outputs.count(out);
    std::optional<std::vector<Tensor>> outputs;
    if (foldable) outputs = reference::evaluate_node(node, value_of);
    size_t output_bytes = 0;
    bool complete = outputs.has_value();
    if (outputs) {
      for (size_t i = 0; i < node.outputs.size(); ++i) {
        if (node.outputs[i].empty()) continue;
        complete = complete && (*outputs)[i].defined();
        output_bytes += bytes_of((*outputs)[i]);
      }
    }
    if (!complete || output_bytes > input_bytes + kMaxGrowthBytes) {
      kept.push_back(std::move(node));
      continue;
    }
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      if (!node.outputs[i].empty()) graph.initializers[node.outputs[i]] = std::move((*outputs)[i]);
    }
    ++folded;
  }
  graph.nodes = std::move(kept);
  return folded;
}

}  // namespace edgerun::opt
