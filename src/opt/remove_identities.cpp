#include "opt/remove_identities.h"

#include "opt/graph_uses.h"

namespace edgerun::opt {
namespace {

// Whether `node` passes input 0 through unchanged as its only used output.
bool is_identity(const ir::Node& node, const Uses& uses) {
  if (!node.op || !node.domain.empty() || node.inputs.empty() || node.inputs[0].empty() ||
      node.outputs.empty() || node.outputs[0].empty()) {
    return false;
  }
  if (*node.op == ir::Op::Identity) return node.inputs.size() == 1 && node.outputs.size() == 1;
  if (*node.op != ir::Op::Dropout) return false;
  // The mask output, if any, must be unused.
  for (size_t i = 1; i < node.outputs.size(); ++i) {
    const std::string& mask = node.outputs[i];
    if (!mask.empty() && (!uses.readers(mask).empty() || uses.is_graph_output(mask) ||
                          uses.read_by_subgraph(mask))) {
      return false;
    }
  }
  // Before opset 12 Dropout is an identity at inference (the reference ignores is_test); from
  // 12 a training_mode input, when given, must be a constant false.
  if (node.opset >= 12 && node.has_input(2)) {
    const Tensor* training = uses.constant(node.inputs[2]);
    if (training == nullptr || training->dtype() != DType::kBool || training->size() != 1 ||
        training->data<bool>()[0]) {
      return false;
    }
  }
  return true;
}

void rename_inputs(ir::Graph& graph, const std::string& from, const std::string& to) {
  for (ir::Node& node : graph.nodes) {
    for (std::string& in : node.inputs) {
      if (in == from) in = to;
    }
  }
}

}  // namespace

size_t remove_identities(ir::Graph& graph) {
  size_t removed_count = 0;
  // One identity at a time: each removal renames values, so the uses are rebuilt. Graphs hold
  // few identities; the rebuild is linear.
  for (bool changed = true; changed;) {
    changed = false;
    const Uses uses(graph);
    for (size_t i = 0; i < graph.nodes.size() && !changed; ++i) {
      const ir::Node& node = graph.nodes[i];
      if (!is_identity(node, uses)) continue;
      const std::string x = node.inputs[0], y = node.outputs[0];
      if (uses.read_by_subgraph(y)) continue;
      if (!uses.is_graph_output(y)) {
        rename_inputs(graph, y, x);
      } else {
        // y must stay the graph's output: x's producer writes y instead, its readers follow.
        const std::optional<size_t> p = uses.producer(x);
        if (!p || uses.is_graph_output(x) || uses.read_by_subgraph(x)) continue;
        for (std::string& out : graph.nodes[*p].outputs) {
          if (out == x) out = y;
        }
        rename_inputs(graph, x, y);
      }
      graph.nodes.erase(graph.nodes.begin() + static_cast<std::ptrdiff_t>(i));
      ++removed_count;
      changed = true;
    }
  }
  return removed_count;
}

}  // namespace edgerun::opt
