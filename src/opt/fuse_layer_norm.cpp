#include "opt/fuse_layer_norm.h"

#include <optional>

#include "opt/graph_uses.h"
#include "runtime/value_types.h"

namespace edgerun::opt {
namespace {

// Whether the ReduceMean `node` averages exactly the last axis of a rank-`rank` input and keeps
// it.
bool reduces_last_axis(const ir::Node& node, const Uses& uses, size_t rank) {
  if (!node.op || *node.op != ir::Op::ReduceMean || !node.domain.empty() ||
      node.outputs.size() != 1 || node.inputs.empty()) {
    return false;
  }
  if (node.attr_int("keepdims", 1) != 1) return false;
  std::vector<int64_t> axes;
  if (node.opset >= 18) {
    if (node.inputs.size() != 2) return false;
    const Tensor* t = uses.constant(node.inputs[1]);
    if (t == nullptr || t->dtype() != DType::kInt64 || t->size() != 1) return false;
    axes.push_back(t->data<int64_t>()[0]);
  } else {
    if (node.inputs.size() != 1) return false;
    axes = node.attr_ints("axes");
  }
  const auto r = static_cast<int64_t>(rank);
  return axes.size() == 1 && (axes[0] == r - 1 || axes[0] == -1);
}

// A float32 constant of shape [c].
bool is_vector(const Uses& uses, const std::string& name, int64_t c) {
  const Tensor* t = uses.constant(name);
  return t != nullptr && t->dtype() == DType::kFloat32 && t->rank() == 1 && t->dim(0) == c;
}

struct Match {
  std::string x, scale, bias, output;
  float epsilon = 0;
  std::vector<size_t> nodes;
};

// Matches the pattern from its first ReduceMean, node `r`.
std::optional<Match> match_at(const ir::Graph& graph, const Uses& uses, const ValueTypes& types,
                              size_t r) {
  const ir::Node& mean = graph.nodes[r];
  if (mean.inputs.empty()) return std::nullopt;
  const std::string& x = mean.inputs[0];
  const Shape* xs = types.shape(x);
  if (xs == nullptr || xs->empty() || types.dtype(x) != DType::kFloat32) return std::nullopt;
  const int64_t c = xs->back();
  if (!reduces_last_axis(mean, uses, xs->size())) return std::nullopt;
  // d = x - mean, read by the Pow and the Div only.
  const std::optional<size_t> s = uses.only_reader(mean.outputs[0]);
  if (!s || !is_op(graph.nodes[*s], ir::Op::Sub, 2)) return std::nullopt;
  const ir::Node& sub = graph.nodes[*s];
  if (sub.inputs[0] != x || sub.inputs[1] != mean.outputs[0]) return std::nullopt;
  const std::string& d = sub.outputs[0];
  const std::vector<size_t> d_readers = uses.readers(d);
  if (d_readers.size() != 2 || uses.is_graph_output(d) || uses.read_by_subgraph(d)) {
    return std::nullopt;
  }
  std::optional<size_t> p, q;
  for (size_t i : d_readers) {
    const ir::Node& n = graph.nodes[i];
    if (is_op(n, ir::Op::Pow, 2) && n.inputs[0] == d) p = i;
    if (is_op(n, ir::Op::Div, 2) && n.inputs[0] == d && n.inputs[1] != d) q = i;
  }
  if (!p || !q || !uses.is_scalar(graph.nodes[*p].inputs[1], 2.0)) return std::nullopt;
  const Tensor* exponent = uses.constant(graph.nodes[*p].inputs[1]);
  if (exponent->data<float>()[0] != 2.0f) return std::nullopt;
  // v = ReduceMean(d^2), v + eps, sqrt.
  const std::optional<size_t> vm = uses.only_reader(graph.nodes[*p].outputs[0]);
  if (!vm || !reduces_last_axis(graph.nodes[*vm], uses, xs->size()) ||
      graph.nodes[*vm].inputs[0] != graph.nodes[*p].outputs[0]) {
    return std::nullopt;
  }
  const std::optional<size_t> a = uses.only_reader(graph.nodes[*vm].outputs[0]);
  if (!a || !is_op(graph.nodes[*a], ir::Op::Add, 2)) return std::nullopt;
  const std::string eps = other_input(graph.nodes[*a], graph.nodes[*vm].outputs[0]);
  const Tensor* e = uses.constant(eps);
  if (e == nullptr || e->dtype() != DType::kFloat32 || e->size() != 1 || e->rank() > 1) {
    return std::nullopt;
  }
  const std::optional<size_t> sq = uses.only_reader(graph.nodes[*a].outputs[0]);
  if (!sq || !is_op(graph.nodes[*sq], ir::Op::Sqrt, 1)) return std::nullopt;
  if (uses.only_reader(graph.nodes[*sq].outputs[0]) != q ||
      graph.nodes[*q].inputs[1] != graph.nodes[*sq].outputs[0]) {
    return std::nullopt;
  }
  // * scale, then + bias when an Add of a [C] constant follows.
  const std::optional<size_t> m = uses.only_reader(graph.nodes[*q].outputs[0]);
  if (!m || !is_op(graph.nodes[*m], ir::Op::Mul, 2)) return std::nullopt;
  const std::string scale = other_input(graph.nodes[*m], graph.nodes[*q].outputs[0]);
  if (!is_vector(uses, scale, c)) return std::nullopt;
  Match match{x, scale, {}, graph.nodes[*m].outputs[0], e->data<float>()[0],
              {r, *s, *p, *vm, *a, *sq, *q, *m}};
  const std::optional<size_t> b = uses.only_reader(graph.nodes[*m].outputs[0]);
  if (b && is_op(graph.nodes[*b], ir::Op::Add, 2)) {
    const std::string bias = other_input(graph.nodes[*b], graph.nodes[*m].outputs[0]);
    if (is_vector(uses, bias, c)) {
      match.bias = bias;
      match.output = graph.nodes[*b].outputs[0];
      match.nodes.push_back(*b);
    }
  }
  return match;
}

}  // namespace

size_t fuse_layer_norm(ir::Graph& graph) {
  const ValueTypes types = runtime::infer_value_types(graph, {});
  const Uses uses(graph);
  return replace_patterns(graph, ir::Op::ReduceMean, [&](size_t r) -> std::optional<PatternMatch> {
    const std::optional<Match> match = match_at(graph, uses, types, r);
    if (!match) return std::nullopt;
    return PatternMatch{match->nodes, [m = *match](const ir::Node& last) {
      ir::Node ln = fused_node(last, ir::Op::LayerNormalization, "LayerNormalization", 17);
      ln.inputs = {m.x, m.scale};
      if (!m.bias.empty()) ln.inputs.push_back(m.bias);
      ln.outputs = {m.output};
      ln.attributes = {int_attribute("axis", -1), float_attribute("epsilon", m.epsilon)};
      return ln;
    }};
  });
}

}  // namespace edgerun::opt
