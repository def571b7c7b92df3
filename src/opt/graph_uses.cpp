#include "opt/graph_uses.h"

#include <algorithm>
#include <cmath>

#include "runtime/value_types.h"

namespace edgerun::opt {

Uses::Uses(const ir::Graph& graph) : graph_(graph) {
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const ir::Node& node = graph.nodes[i];
    for (const std::string& in : node.inputs) {
      if (!in.empty()) readers_[in].push_back(i);
    }
    for (const ir::Attribute& a : node.attributes) {
      if (a.g) {
        for (const std::string& r : a.g->outer_references()) opaque_.insert(r);
      }
      for (const auto& g : a.graphs) {
        for (const std::string& r : g->outer_references()) opaque_.insert(r);
      }
    }
    for (const std::string& out : node.outputs) {
      if (!out.empty()) producer_[out] = i;
    }
  }
  for (const ir::ValueInfo& out : graph.outputs) graph_outputs_.insert(out.name);
  for (const ir::ValueInfo& in : graph.inputs) graph_inputs_.insert(in.name);
}

std::optional<size_t> Uses::only_reader(const std::string& value) const {
  if (graph_outputs_.count(value) > 0 || opaque_.count(value) > 0) return std::nullopt;
  auto it = readers_.find(value);
  if (it == readers_.end() || it->second.size() != 1) return std::nullopt;
  return it->second[0];
}

std::vector<size_t> Uses::readers(const std::string& value) const {
  auto it = readers_.find(value);
  return it == readers_.end() ? std::vector<size_t>{} : it->second;
}

std::optional<size_t> Uses::producer(const std::string& value) const {
  auto it = producer_.find(value);
  return it == producer_.end() ? std::nullopt : std::optional<size_t>(it->second);
}

const Tensor* Uses::constant(const std::string& value) const {
  if (value.empty() || graph_inputs_.count(value) > 0) return nullptr;
  auto it = graph_.initializers.find(value);
  return it == graph_.initializers.end() ? nullptr : &it->second;
}

bool Uses::is_scalar(const std::string& value, double expected) const {
  const Tensor* t = constant(value);
  if (t == nullptr || t->dtype() != DType::kFloat32 || t->size() != 1) return false;
  return std::abs(static_cast<double>(t->data<float>()[0]) - expected) <=
         1e-6 * std::abs(expected);
}

bool is_op(const ir::Node& node, ir::Op op, size_t inputs) {
  return node.op == op && node.domain.empty() && node.inputs.size() == inputs &&
         node.outputs.size() == 1 && !node.outputs[0].empty();
}

std::string other_input(const ir::Node& node, const std::string& known) {
  if (node.inputs.size() != 2) return {};
  if (node.inputs[0] == known && node.inputs[1] != known) return node.inputs[1];
  if (node.inputs[1] == known && node.inputs[0] != known) return node.inputs[0];
  return {};
}

size_t replace_patterns(ir::Graph& graph, ir::Op anchor,
                        const std::function<std::optional<PatternMatch>(size_t)>& match) {
  std::vector<char> removed(graph.nodes.size(), 0);
  std::vector<std::optional<ir::Node>> replacement(graph.nodes.size());
  size_t replaced = 0;
  for (size_t a = 0; a < graph.nodes.size(); ++a) {
    if (graph.nodes[a].op != anchor) continue;
    std::optional<PatternMatch> found = match(a);
    if (!found || found->nodes.empty()) continue;
    bool overlaps = false;
    size_t last = 0;
    for (size_t n : found->nodes) {
      overlaps |= removed[n] != 0;
      last = std::max(last, n);
    }
    if (overlaps) continue;
    // The last node reads everything the pattern computes, so its place comes after the
    // pattern's inputs are written.
    replacement[last] = found->build(graph.nodes[last]);
    for (size_t n : found->nodes) removed[n] = 1;
    ++replaced;
  }
  if (replaced > 0) splice_nodes(graph, removed, replacement);
  return replaced;
}

void splice_nodes(ir::Graph& graph, const std::vector<char>& removed,
                  std::vector<std::optional<ir::Node>>& replacement) {
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
}

ValueTypes declared_value_types(const ir::Graph& graph) {
  bool overridable = false;
  for (const ir::ValueInfo& in : graph.inputs) overridable |= graph.initializers.count(in.name) > 0;
  if (!overridable) return runtime::infer_value_types(graph, {});
  ir::Graph fixed = graph;
  for (const ir::ValueInfo& in : graph.inputs) fixed.initializers.erase(in.name);
  return runtime::infer_value_types(fixed, {});
}

std::string unused_name(const ir::Graph& graph, const std::string& base) {
  auto taken = [&](const std::string& name) {
    if (graph.initializers.count(name) > 0) return true;
    for (const ir::ValueInfo& in : graph.inputs) {
      if (in.name == name) return true;
    }
    for (const ir::Node& node : graph.nodes) {
      for (const std::string& out : node.outputs) {
        if (out == name) return true;
      }
    }
    return false;
  };
  std::string name = base;
  for (int i = 1; taken(name); ++i) name = base + "_" + std::to_string(i);
  return name;
}

ir::Node fused_node(const ir::Node& replaced, ir::Op op, const char* op_type, int64_t opset) {
  ir::Node node;
  const std::string& base = replaced.name.empty() ? replaced.outputs[0] : replaced.name;
  node.name = base + "/" + op_type;
  node.op_type = op_type;
  node.op = op;
  node.opset = opset;
  return node;
}

ir::Attribute float_attribute(const std::string& name, float value) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttrType::kFloat;
  a.f = value;
  return a;
}

ir::Attribute int_attribute(const std::string& name, int64_t value) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttrType::kInt;
  a.i = value;
  return a;
}

}  // namespace edgerun::opt
