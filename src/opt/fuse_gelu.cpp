#include "opt/fuse_gelu.h"

#include <optional>

#include "opt/graph_uses.h"

namespace edgerun::opt {
namespace {

constexpr double kSqrt2 = 1.4142135623730951;

struct Match {
  std::string x;
  std::vector<size_t> nodes;  // every node of the pattern; the last one writes the result
};

// Tries to match the pattern around the Erf node `e`.
std::optional<Match> match_at(const ir::Graph& graph, const Uses& uses, size_t e) {
  const ir::Node& erf = graph.nodes[e];
  if (!is_op(erf, ir::Op::Erf, 1)) return std::nullopt;
  // x / sqrt(2), or x * (1 / sqrt(2)).
  const std::optional<size_t> d = uses.producer(erf.inputs[0]);
  if (!d || uses.only_reader(erf.inputs[0]) != e) return std::nullopt;
  const ir::Node& scale = graph.nodes[*d];
  std::string x;
  if (is_op(scale, ir::Op::Div, 2) && uses.is_scalar(scale.inputs[1], kSqrt2)) {
    x = scale.inputs[0];
  } else if (is_op(scale, ir::Op::Mul, 2)) {
    for (size_t k = 0; k < 2; ++k) {
      if (uses.is_scalar(scale.inputs[k], 1.0 / kSqrt2)) x = scale.inputs[1 - k];
    }
  }
  if (x.empty()) return std::nullopt;
  // erf(...) + 1
  const std::optional<size_t> a = uses.only_reader(erf.outputs[0]);
  if (!a || !is_op(graph.nodes[*a], ir::Op::Add, 2)) return std::nullopt;
  const ir::Node& add = graph.nodes[*a];
  if (!uses.is_scalar(other_input(add, erf.outputs[0]), 1.0)) return std::nullopt;
  // Two Muls make x * (erf + 1) * 0.5, associated either way.
  const std::optional<size_t> m1 = uses.only_reader(add.outputs[0]);
  if (!m1 || !is_op(graph.nodes[*m1], ir::Op::Mul, 2)) return std::nullopt;
  const ir::Node& first = graph.nodes[*m1];
  const std::string operand = other_input(first, add.outputs[0]);
  Match match{x, {*d, e, *a}};
  if (operand == x || uses.is_scalar(operand, 0.5)) {
    // (x * (erf + 1)) * 0.5, or ((erf + 1) * 0.5) * x
    const std::optional<size_t> m2 = uses.only_reader(first.outputs[0]);
    if (!m2 || !is_op(graph.nodes[*m2], ir::Op::Mul, 2)) return std::nullopt;
    const std::string last = other_input(graph.nodes[*m2], first.outputs[0]);
    const bool completes = operand == x ? uses.is_scalar(last, 0.5) : last == x;
    if (!completes) return std::nullopt;
    match.nodes.push_back(*m1);
    match.nodes.push_back(*m2);
    return match;
  }
  // (x * 0.5) * (erf + 1)
  const std::optional<size_t> h = uses.producer(operand);
  if (!h || uses.only_reader(operand) != *m1 || !is_op(graph.nodes[*h], ir::Op::Mul, 2)) {
    return std::nullopt;
  }
  const ir::Node& half = graph.nodes[*h];
  if (other_input(half, x).empty() || !uses.is_scalar(other_input(half, x), 0.5)) {
    return std::nullopt;
  }
  match.nodes.push_back(*h);
  match.nodes.push_back(*m1);
  return match;
}

}  // namespace

size_t fuse_gelu(ir::Graph& graph) {
  const Uses uses(graph);
  std::vector<char> removed(graph.nodes.size(), 0);
  std::vector<std::optional<ir::Node>> replacement(graph.nodes.size());
  size_t fused = 0;
  for (size_t e = 0; e < graph.nodes.size(); ++e) {
    const std::optional<Match> match = match_at(graph, uses, e);
    if (!match) continue;
    bool overlaps = false;
    for (size_t n : match->nodes) overlaps |= removed[n] != 0;
    if (overlaps) continue;
    // The Gelu takes the place of the pattern's last node, after everything it reads.
    size_t last = 0;
    for (size_t n : match->nodes) last = std::max(last, n);
    const ir::Node& result = graph.nodes[last];
    ir::Node gelu = fused_node(result, ir::Op::Gelu, "Gelu", 20);
    gelu.inputs = {match->x};
    gelu.outputs = {result.outputs[0]};
    for (size_t n : match->nodes) removed[n] = 1;
    replacement[last] = std::move(gelu);
    ++fused;
  }
  if (fused > 0) splice_nodes(graph, removed, replacement);
  return fused;
}

}  // namespace edgerun::opt
