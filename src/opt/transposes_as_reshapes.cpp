#include "opt/transposes_as_reshapes.h"

#include <numeric>
#include <string>
#include <vector>

#include "opt/graph_uses.h"

namespace edgerun::opt {
namespace {

// Whether `perm` over `shape` keeps the dims larger than 1 in their order, and is a permutation.
bool moves_only_unit_dims(const Shape& shape, const std::vector<int64_t>& perm) {
  const int64_t rank = static_cast<int64_t>(shape.size());
  if (static_cast<int64_t>(perm.size()) != rank) return false;
  std::vector<char> seen(shape.size(), 0);
  int64_t last = -1;
  for (int64_t axis : perm) {
    if (axis < 0 || axis >= rank || seen[static_cast<size_t>(axis)] != 0) return false;
    seen[static_cast<size_t>(axis)] = 1;
    if (shape[static_cast<size_t>(axis)] == 1) continue;
    if (axis < last) return false;
    last = axis;
  }
  return true;
}

}  // namespace

size_t transposes_as_reshapes(ir::Graph& graph) {
  const ValueTypes types = declared_value_types(graph);
  size_t rewritten = 0;
  for (ir::Node& node : graph.nodes) {
    if (!is_op(node, ir::Op::Transpose, 1)) continue;
    const Shape* shape = types.shape(node.inputs[0]);
    if (shape == nullptr) continue;
    std::vector<int64_t> reversed(shape->size());
    std::iota(reversed.rbegin(), reversed.rend(), int64_t{0});
    const std::vector<int64_t> perm = node.attr_ints("perm", reversed);
    // Reshape reads a 0 in its shape as "keep this dim": empty tensors stay transposes.
    bool empty = false;
    for (int64_t d : *shape) empty |= d == 0;
    if (empty || !moves_only_unit_dims(*shape, perm)) continue;
    Shape out;
    for (int64_t axis : perm) out.push_back((*shape)[static_cast<size_t>(axis)]);
    const std::string shape_name = unused_name(graph, node.outputs[0] + "/shape");
    graph.initializers[shape_name] =
        Tensor::from_vector<int64_t>({static_cast<int64_t>(out.size())}, out);
    ir::Node reshape = fused_node(node, ir::Op::Reshape, "Reshape", 14);
    reshape.name = node.name;
    reshape.inputs = {node.inputs[0], shape_name};
    reshape.outputs = {node.outputs[0]};
    node = std::move(reshape);
    ++rewritten;
  }
  return rewritten;
}

}  // namespace edgerun::opt
