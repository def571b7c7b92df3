#include "opt/fold_constant_nodes.h"

#include "ir/constant_value.h"

namespace edgerun::opt {

void fold_constant_nodes(ir::Graph& graph) {
  std::vector<ir::Node> kept;
  kept.reserve(graph.nodes.size());
  for (ir::Node& node : graph.nodes) {
    for (ir::Attribute& a : node.attributes) {
      if (a.g) fold_constant_nodes(*a.g);
      for (auto& g : a.graphs) fold_constant_nodes(*g);
    }
    const bool constant = node.op == ir::Op::Constant && node.outputs.size() == 1 &&
                          !node.outputs[0].empty();
    if (constant) {
      Result<Tensor> value = ir::constant_node_value(node);
      if (value.is_ok()) {
        graph.initializers[node.outputs[0]] = std::move(value).value();
        continue;
      }
    }
    kept.push_back(std::move(node));
  }
  graph.nodes = std::move(kept);
}

}  // namespace edgerun::opt
