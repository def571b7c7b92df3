#include "opt/fuse_attention.h"

#include <algorithm>
#include <optional>

#include "opt/graph_uses.h"
#include "runtime/value_types.h"

namespace edgerun::opt {
namespace {

struct Match {
  std::string q, k, v, mask, output;
  float scale = 1.0f;
  bool divides = false;
  bool scale_query = false;
  std::vector<size_t> nodes;
};

// `value` is read by node `reader` alone (once, not a graph output, no subgraph reads it).
bool only_read_by(const Uses& uses, const std::string& value, size_t reader) {
  return uses.only_reader(value) == reader && !uses.read_by_subgraph(value);
}

// The node writing `value`, when it is a Transpose with exactly `perm` read only by `reader`.
std::optional<size_t> transpose_into(const ir::Graph& graph, const Uses& uses,
                                     const std::string& value, size_t reader,
                                     const std::vector<int64_t>& perm) {
  const std::optional<size_t> t = uses.producer(value);
  if (!t || !is_op(graph.nodes[*t], ir::Op::Transpose, 1) || !only_read_by(uses, value, reader)) {
    return std::nullopt;
  }
  if (graph.nodes[*t].attr_ints("perm") != perm) return std::nullopt;
  return t;
}

// A Div by, or Mul with, a float32 constant of one element (of rank at most `rank`, so it does
// not widen the result): its data input, the constant and whether it divides.
struct Scale {
  std::string input;
  float value = 1.0f;
  bool divides = false;
};
std::optional<Scale> scale_of(const ir::Node& node, const Uses& uses, size_t rank) {
  auto scalar = [&](const std::string& name) -> const Tensor* {
    const Tensor* t = uses.constant(name);
    if (t == nullptr || t->dtype() != DType::kFloat32 || t->size() != 1 ||
        t->rank() > static_cast<int64_t>(rank)) {
      return nullptr;
    }
    return t;
  };
  if (is_op(node, ir::Op::Div, 2)) {
    const Tensor* t = scalar(node.inputs[1]);
    if (t == nullptr) return std::nullopt;
    return Scale{node.inputs[0], t->data<float>()[0], true};
  }
  if (is_op(node, ir::Op::Mul, 2)) {
    for (size_t i = 0; i < 2; ++i) {
      const Tensor* t = scalar(node.inputs[i]);
      if (t != nullptr && uses.constant(node.inputs[1 - i]) == nullptr) {
        return Scale{node.inputs[1 - i], t->data<float>()[0], false};
      }
    }
  }
  return std::nullopt;
}

// Whether Q, K, V have known float32 shapes of rank `rank` that agree: [B?, S, H, D],
// [B?, Sk, H, D] and [B?, Sk, H, Dv].
bool shapes_agree(const ValueTypes& types, const Match& m, size_t rank) {
  const Shape* q = types.shape(m.q);
  const Shape* k = types.shape(m.k);
  const Shape* v = types.shape(m.v);
  if (q == nullptr || k == nullptr || v == nullptr) return false;
  for (const std::string* name : {&m.q, &m.k, &m.v}) {
    if (types.dtype(*name) != DType::kFloat32) return false;
  }
  if (q->size() != rank || k->size() != rank || v->size() != rank) return false;
  const size_t o = rank - 3;
  if (rank == 4 && ((*k)[0] != (*q)[0] || (*v)[0] != (*q)[0])) return false;
  return (*k)[o + 1] == (*q)[o + 1] && (*k)[o + 2] == (*q)[o + 2] && (*v)[o] == (*k)[o] &&
         (*v)[o + 1] == (*q)[o + 1];
}

// Matches the pattern around the Softmax node `sm`.
std::optional<Match> match_at(const ir::Graph& graph, const Uses& uses, const ValueTypes& types,
                              size_t sm) {
  const ir::Node& softmax = graph.nodes[sm];
  if (!is_op(softmax, ir::Op::Softmax, 1)) return std::nullopt;
  const Shape* scores_shape = types.shape(softmax.inputs[0]);
  if (scores_shape == nullptr) return std::nullopt;
  const size_t rank = scores_shape->size();
  if (rank != 3 && rank != 4) return std::nullopt;
  // Before opset 13 Softmax flattens from `axis` (default 1): the last axis alone only when
  // the axis is the last.
  const int64_t axis = softmax.attr_int("axis", softmax.opset >= 13 ? -1 : 1);
  if (axis != -1 && axis != static_cast<int64_t>(rank) - 1) return std::nullopt;
  const std::vector<int64_t> perm_q =
      rank == 3 ? std::vector<int64_t>{1, 0, 2} : std::vector<int64_t>{0, 2, 1, 3};
  const std::vector<int64_t> perm_k =
      rank == 3 ? std::vector<int64_t>{1, 2, 0} : std::vector<int64_t>{0, 2, 3, 1};

  Match match;
  match.nodes.push_back(sm);
  // Walk back from the Softmax: an optional mask Add, an optional scale, the first MatMul.
  std::string value = softmax.inputs[0];
  size_t reader = sm;
  std::optional<size_t> p = uses.producer(value);
  if (!p || !only_read_by(uses, value, reader)) return std::nullopt;
  if (is_op(graph.nodes[*p], ir::Op::Add, 2)) {
    const ir::Node& add = graph.nodes[*p];
    // The scores operand is the one a scale or MatMul writes; the other is the mask.
    for (size_t i = 0; i < 2 && match.mask.empty(); ++i) {
      const std::optional<size_t> w = uses.producer(add.inputs[i]);
      if (!w || add.inputs[0] == add.inputs[1]) continue;
      const ir::Node& writer = graph.nodes[*w];
      if (is_op(writer, ir::Op::MatMul, 2) || scale_of(writer, uses, rank)) {
        match.mask = add.inputs[1 - i];
        value = add.inputs[i];
      }
    }
    if (match.mask.empty() || types.dtype(match.mask) != DType::kFloat32) return std::nullopt;
    // The mask broadcasts into the scores: the sum keeps the scores' shape.
    const Shape* sum_shape = types.shape(add.outputs[0]);
    const Shape* operand_shape = types.shape(value);
    const Shape* mask_shape = types.shape(match.mask);
    if (sum_shape == nullptr || operand_shape == nullptr || mask_shape == nullptr ||
        *sum_shape != *operand_shape || mask_shape->size() > rank) {
      return std::nullopt;
    }
    match.nodes.push_back(*p);
    reader = *p;
    p = uses.producer(value);
    if (!p || !only_read_by(uses, value, reader)) return std::nullopt;
  }
  bool scaled = false;
  if (const std::optional<Scale> s = scale_of(graph.nodes[*p], uses, rank)) {
    match.scale = s->value;
    match.divides = s->divides;
    scaled = true;
    match.nodes.push_back(*p);
    reader = *p;
    value = s->input;
    p = uses.producer(value);
    if (!p || !only_read_by(uses, value, reader)) return std::nullopt;
  }
  const size_t mm1 = *p;
  if (!is_op(graph.nodes[mm1], ir::Op::MatMul, 2)) return std::nullopt;
  match.nodes.push_back(mm1);
  // Q: Transpose, or a scaled Transpose when the scores are not scaled.
  std::string a = graph.nodes[mm1].inputs[0];
  size_t a_reader = mm1;
  if (!scaled) {
    const std::optional<size_t> sq = uses.producer(a);
    if (sq && only_read_by(uses, a, mm1)) {
      if (const std::optional<Scale> s = scale_of(graph.nodes[*sq], uses, rank)) {
        match.scale = s->value;
        match.divides = s->divides;
        match.scale_query = true;
        match.nodes.push_back(*sq);
        a_reader = *sq;
        a = s->input;
      }
    }
  }
  const std::optional<size_t> tq = transpose_into(graph, uses, a, a_reader, perm_q);
  const std::optional<size_t> tk =
      transpose_into(graph, uses, graph.nodes[mm1].inputs[1], mm1, perm_k);
  if (!tq || !tk || graph.nodes[mm1].inputs[0] == graph.nodes[mm1].inputs[1]) return std::nullopt;
  // Forward from the Softmax: MatMul with the transposed V, then the Transpose back.
  const std::optional<size_t> mm2 = uses.only_reader(softmax.outputs[0]);
  if (!mm2 || uses.read_by_subgraph(softmax.outputs[0]) ||
      !is_op(graph.nodes[*mm2], ir::Op::MatMul, 2) ||
      graph.nodes[*mm2].inputs[0] != softmax.outputs[0]) {
    return std::nullopt;
  }
  const std::optional<size_t> tv =
      transpose_into(graph, uses, graph.nodes[*mm2].inputs[1], *mm2, perm_q);
  if (!tv) return std::nullopt;
  const std::string& attended = graph.nodes[*mm2].outputs[0];
  const std::optional<size_t> ty = uses.only_reader(attended);
  if (!ty || uses.read_by_subgraph(attended) || !is_op(graph.nodes[*ty], ir::Op::Transpose, 1) ||
      graph.nodes[*ty].attr_ints("perm") != perm_q) {
    return std::nullopt;
  }
  match.q = graph.nodes[*tq].inputs[0];
  match.k = graph.nodes[*tk].inputs[0];
  match.v = graph.nodes[*tv].inputs[0];
  match.output = graph.nodes[*ty].outputs[0];
  match.nodes.insert(match.nodes.end(), {*tq, *tk, *mm2, *tv, *ty});
  if (!shapes_agree(types, match, rank)) return std::nullopt;
  return match;
}

}  // namespace

size_t fuse_attention(ir::Graph& graph) {
  const ValueTypes types = runtime::infer_value_types(graph, {});
  const Uses uses(graph);
  return replace_patterns(graph, ir::Op::Softmax, [&](size_t sm) -> std::optional<PatternMatch> {
    const std::optional<Match> match = match_at(graph, uses, types, sm);
    if (!match) return std::nullopt;
    return PatternMatch{match->nodes, [m = *match](const ir::Node& last) {
      ir::Node attention = fused_node(last, ir::Op::Attention, "Attention", 1);
      attention.domain = std::string(ir::op_info(ir::Op::Attention).domain);
      attention.inputs = {m.q, m.k, m.v};
      if (!m.mask.empty()) attention.inputs.push_back(m.mask);
      attention.outputs = {m.output};
      attention.attributes = {float_attribute("scale", m.scale),
                              int_attribute("scale_divides", m.divides ? 1 : 0),
                              int_attribute("scale_query", m.scale_query ? 1 : 0)};
      return attention;
    }};
  });
}

}  // namespace edgerun::opt
