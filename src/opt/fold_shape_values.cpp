#include "opt/fold_shape_values.h"

#include <set>

#include "opt/graph_uses.h"

namespace edgerun::opt {

size_t fold_shape_values(ir::Graph& graph) {
  // No input shapes given: shape inference takes them from the declarations, and only fully
  // known ones, which bind_inputs enforces on every run.
  const ValueTypes types = declared_value_types(graph);
  std::set<std::string> graph_outputs;
  for (const ir::ValueInfo& out : graph.outputs) graph_outputs.insert(out.name);
  std::vector<ir::Node> kept;
  kept.reserve(graph.nodes.size());
  size_t folded = 0;
  for (ir::Node& node : graph.nodes) {
    bool known = !node.outputs.empty();
    for (const ir::Attribute& a : node.attributes) known = known && !a.g && a.graphs.empty();
    for (const std::string& out : node.outputs) {
      if (out.empty()) continue;
      known = known && types.value(out) != nullptr && graph_outputs.count(out) == 0 &&
              graph.initializers.count(out) == 0;
    }
    if (!known) {
      kept.push_back(std::move(node));
      continue;
    }
    for (const std::string& out : node.outputs) {
      if (!out.empty()) graph.initializers[out] = *types.value(out);
    }
    ++folded;
  }
  graph.nodes = std::move(kept);
  return folded;
}

}  // namespace edgerun::opt
