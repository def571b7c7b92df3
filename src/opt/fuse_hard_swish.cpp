#include "opt/fuse_hard_swish.h"

#include <cmath>

#include "opt/graph_uses.h"

namespace edgerun::opt {

size_t fuse_hard_swish(ir::Graph& graph) {
  const Uses uses(graph);
  std::vector<char> removed(graph.nodes.size(), 0);
  std::vector<std::optional<ir::Node>> replacement(graph.nodes.size());
  size_t fused = 0;
  for (size_t h = 0; h < graph.nodes.size(); ++h) {
    const ir::Node& sigmoid = graph.nodes[h];
    if (!is_op(sigmoid, ir::Op::HardSigmoid, 1) || sigmoid.opset < 6) continue;
    // The attributes as float32 holds them: 1/6 rounds to 0.16666667f.
    if (std::abs(sigmoid.attr_float("alpha", 0.2f) - 1.0f / 6.0f) > 1e-7f ||
        sigmoid.attr_float("beta", 0.5f) != 0.5f) {
      continue;
    }
    const std::string& x = sigmoid.inputs[0];
    const std::optional<size_t> m = uses.only_reader(sigmoid.outputs[0]);
    if (!m || !is_op(graph.nodes[*m], ir::Op::Mul, 2) || graph.nodes[*m].opset < 7 ||
        other_input(graph.nodes[*m], sigmoid.outputs[0]) != x || removed[*m] != 0) {
      continue;
    }
    ir::Node swish = fused_node(graph.nodes[*m], ir::Op::HardSwish, "HardSwish", 14);
    swish.inputs = {x};
    swish.outputs = {graph.nodes[*m].outputs[0]};
    removed[h] = removed[*m] = 1;
    replacement[*m] = std::move(swish);
    ++fused;
  }
  if (fused > 0) splice_nodes(graph, removed, replacement);
  return fused;
}

}  // namespace edgerun::opt
