#include "opt/fuse_gelu.h"

#include <cmath>
#include <optional>
#include <set>
#include <unordered_map>

namespace edgerun::opt {
namespace {

// The graph's readers and producers, to walk single-use chains.
class Uses {
 public:
  explicit Uses(const ir::Graph& graph) : graph_(graph) {
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      const ir::Node& node = graph.nodes[i];
      for (const std::string& in : node.inputs) {
        if (!in.empty()) readers_[in].push_back(i);
      }
      for (const ir::Attribute& a : node.attributes) {
        // Subgraphs reading a value count as readers that cannot be fused.
        if (a.g) {
          for (const std::string& r : a.g->outer_references()) readers_[r].push_back(kOpaque);
        }
        for (const auto& g : a.graphs) {
          for (const std::string& r : g->outer_references()) readers_[r].push_back(kOpaque);
        }
      }
      for (const std::string& out : node.outputs) {
        if (!out.empty()) producer_[out] = i;
      }
    }
    for (const ir::ValueInfo& out : graph.outputs) graph_outputs_.insert(out.name);
  }

  // The one node that reads `value`, when exactly one node reads it and it is no graph output.
  std::optional<size_t> only_reader(const std::string& value) const {
    if (graph_outputs_.count(value) > 0) return std::nullopt;
    auto it = readers_.find(value);
    if (it == readers_.end() || it->second.size() != 1 || it->second[0] == kOpaque) {
      return std::nullopt;
    }
    return it->second[0];
  }

  std::optional<size_t> producer(const std::string& value) const {
    auto it = producer_.find(value);
    return it == producer_.end() ? std::nullopt : std::optional<size_t>(it->second);
  }

  // Whether `value` is a float32 initializer holding one element close to `expected`.
  bool is_scalar(const std::string& value, double expected) const {
    auto it = graph_.initializers.find(value);
    if (it == graph_.initializers.end()) return false;
    const Tensor& t = it->second;
    if (t.dtype() != DType::kFloat32 || t.size() != 1) return false;
    return std::abs(static_cast<double>(t.data<float>()[0]) - expected) <= 1e-6 * expected;
  }

 private:
  static constexpr size_t kOpaque = static_cast<size_t>(-1);
  const ir::Graph& graph_;
  std::unordered_map<std::string, std::vector<size_t>> readers_;
  std::unordered_map<std::string, size_t> producer_;
  std::set<std::string> graph_outputs_;
};

bool is(const ir::Node& node, ir::Op op, size_t inputs) {
  return node.op == op && node.domain.empty() && node.inputs.size() == inputs &&
         node.outputs.size() == 1 && !node.outputs[0].empty();
}

// For a binary `node`, the input that is not `known` (or "" when neither/both are).
std::string other_input(const ir::Node& node, const std::string& known) {
  if (node.inputs[0] == known && node.inputs[1] != known) return node.inputs[1];
  if (node.inputs[1] == known && node.inputs[0] != known) return node.inputs[0];
  return {};
}

constexpr double kSqrt2 = 1.4142135623730951;

struct Match {
  std::string x;
  std::vector<size_t> nodes;  // every node of the pattern; the last one writes the result
};

// Tries to match the pattern around the Erf node `e`.
std::optional<Match> match_at(const ir::Graph& graph, const Uses& uses, size_t e) {
  const ir::Node& erf = graph.nodes[e];
  if (!is(erf, ir::Op::Erf, 1)) return std::nullopt;
  // x / sqrt(2), or x * (1 / sqrt(2)).
  const std::optional<size_t> d = uses.producer(erf.inputs[0]);
  if (!d || uses.only_reader(erf.inputs[0]) != e) return std::nullopt;
  const ir::Node& scale = graph.nodes[*d];
  std::string x;
  if (is(scale, ir::Op::Div, 2) && uses.is_scalar(scale.inputs[1], kSqrt2)) {
    x = scale.inputs[0];
  } else if (is(scale, ir::Op::Mul, 2)) {
    for (size_t k = 0; k < 2; ++k) {
      if (uses.is_scalar(scale.inputs[k], 1.0 / kSqrt2)) x = scale.inputs[1 - k];
    }
  }
  if (x.empty()) return std::nullopt;
  // erf(...) + 1
  const std::optional<size_t> a = uses.only_reader(erf.outputs[0]);
  if (!a || !is(graph.nodes[*a], ir::Op::Add, 2)) return std::nullopt;
  const ir::Node& add = graph.nodes[*a];
  if (!uses.is_scalar(other_input(add, erf.outputs[0]), 1.0)) return std::nullopt;
  // Two Muls make x * (erf + 1) * 0.5, associated either way.
  const std::optional<size_t> m1 = uses.only_reader(add.outputs[0]);
  if (!m1 || !is(graph.nodes[*m1], ir::Op::Mul, 2)) return std::nullopt;
  const ir::Node& first = graph.nodes[*m1];
  const std::string operand = other_input(first, add.outputs[0]);
  Match match{x, {*d, e, *a}};
  if (operand == x || uses.is_scalar(operand, 0.5)) {
    // (x * (erf + 1)) * 0.5, or ((erf + 1) * 0.5) * x
    const std::optional<size_t> m2 = uses.only_reader(first.outputs[0]);
    if (!m2 || !is(graph.nodes[*m2], ir::Op::Mul, 2)) return std::nullopt;
    const std::string last = other_input(graph.nodes[*m2], first.outputs[0]);
    const bool completes = operand == x ? uses.is_scalar(last, 0.5) : last == x;
    if (!completes) return std::nullopt;
    match.nodes.push_back(*m1);
    match.nodes.push_back(*m2);
    return match;
  }
  // (x * 0.5) * (erf + 1)
  const std::optional<size_t> h = uses.producer(operand);
  if (!h || uses.only_reader(operand) != *m1 || !is(graph.nodes[*h], ir::Op::Mul, 2)) {
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
    ir::Node gelu;
    gelu.name = result.name.empty() ? result.outputs[0] + "/Gelu" : result.name + "/Gelu";
    gelu.op_type = "Gelu";
    gelu.op = ir::Op::Gelu;
    gelu.opset = 20;
    gelu.inputs = {match->x};
    gelu.outputs = {result.outputs[0]};
    for (size_t n : match->nodes) removed[n] = 1;
    replacement[last] = std::move(gelu);
    ++fused;
  }
  if (fused == 0) return 0;
  std::vector<ir::Node> nodes;
  nodes.reserve(graph.nodes.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    if (replacement[i]) {
      nodes.push_back(std::move(*replacement[i]));
    } else if (removed[i] == 0) {
      nodes.push_back(std::move(graph.nodes[i]));
    }
  }
  graph.nodes = std::move(nodes);
  return fused;
}

}  // namespace edgerun::opt
