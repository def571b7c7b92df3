#include "opt/fuse_swish.h"

#include "opt/graph_uses.h"

namespace edgerun::opt {
namespace {

struct Match {
  std::string x;
  float alpha = 1.0f;
  std::vector<size_t> nodes;  // every node of the pattern; the last one writes the result
};

// The alpha of `scale` = Mul(x, alpha) or Mul(alpha, x): a float32 constant of rank 0. A rank-1
// constant of one element would broadcast a scalar x to rank 1, which the fused node would not.
std::optional<float> scalar_factor(const Uses& uses, const ir::Node& scale, const std::string& x) {
  const Tensor* alpha = uses.constant(other_input(scale, x));
  if (alpha == nullptr || alpha->dtype() != DType::kFloat32 || !alpha->shape().empty()) {
    return std::nullopt;
  }
  return alpha->data<float>()[0];
}

std::optional<Match> match_at(const ir::Graph& graph, const Uses& uses, size_t s) {
  const ir::Node& sigmoid = graph.nodes[s];
  if (!is_op(sigmoid, ir::Op::Sigmoid, 1)) return std::nullopt;
  const std::optional<size_t> m = uses.only_reader(sigmoid.outputs[0]);
  if (!m || !is_op(graph.nodes[*m], ir::Op::Mul, 2) || graph.nodes[*m].opset < 7) {
    return std::nullopt;
  }
  // The Mul's other operand must be the very value the Sigmoid's argument comes from.
  const std::string x = other_input(graph.nodes[*m], sigmoid.outputs[0]);
  if (x.empty()) return std::nullopt;
  if (sigmoid.inputs[0] == x) return Match{x, 1.0f, {s, *m}};
  const std::optional<size_t> k = uses.producer(sigmoid.inputs[0]);
  if (!k || uses.only_reader(sigmoid.inputs[0]) != s) return std::nullopt;
  const ir::Node& scale = graph.nodes[*k];
  if (!is_op(scale, ir::Op::Mul, 2) || scale.opset < 7) return std::nullopt;
  const std::optional<float> alpha = scalar_factor(uses, scale, x);
  if (!alpha) return std::nullopt;
  return Match{x, *alpha, {*k, s, *m}};
}

}  // namespace

size_t fuse_swish(ir::Graph& graph) {
  const Uses uses(graph);
  return replace_patterns(graph, ir::Op::Sigmoid, [&](size_t s) -> std::optional<PatternMatch> {
    const std::optional<Match> match = match_at(graph, uses, s);
    if (!match) return std::nullopt;
    return PatternMatch{match->nodes, [m = *match](const ir::Node& last) {
      ir::Node swish = fused_node(last, ir::Op::Swish, "Swish", 1);
      swish.domain = std::string(ir::op_info(ir::Op::Swish).domain);
      swish.inputs = {m.x};
      swish.outputs = {last.outputs[0]};
      if (m.alpha != 1.0f) swish.attributes = {float_attribute("alpha", m.alpha)};
      return swish;
    }};
  });
}

}  // namespace edgerun::opt
