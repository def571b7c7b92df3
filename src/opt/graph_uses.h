// What the pattern passes ask of a graph: who reads and who writes each value, which values are
// small constants, and how to splice a rewritten node list back in.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "backends/backend.h"
#include "ir/graph.h"

namespace edgerun::opt {

// The readers and producers of a graph's values (not inside subgraphs), to walk single-use
// chains. A snapshot: rebuild it after the graph changes.
class Uses {
 public:
  explicit Uses(const ir::Graph& graph);

  // The one node that reads `value`, when exactly one node reads it (once) and it is no graph
  // output.
  std::optional<size_t> only_reader(const std::string& value) const;
  // The nodes that read `value`, in graph order (a node reading it twice is listed twice).
  std::vector<size_t> readers(const std::string& value) const;
  // Whether a subgraph (If/Loop/Scan body) reads `value` from this graph by name.
  bool read_by_subgraph(const std::string& value) const { return opaque_.count(value) > 0; }
  bool is_graph_output(const std::string& value) const { return graph_outputs_.count(value) > 0; }
  std::optional<size_t> producer(const std::string& value) const;

  // The initializer `value`, unless it is also a graph input (then it is only a default).
  const Tensor* constant(const std::string& value) const;
  // Whether `value` is a float32 constant holding one element within 1e-6 (relative) of
  // `expected`.
  bool is_scalar(const std::string& value, double expected) const;

 private:
  const ir::Graph& graph_;
  std::unordered_map<std::string, std::vector<size_t>> readers_;
  std::unordered_map<std::string, size_t> producer_;
  std::set<std::string> graph_outputs_, graph_inputs_, opaque_;
};

// `node` is `op` in the default domain with `inputs` inputs and one (named) output.
bool is_op(const ir::Node& node, ir::Op op, size_t inputs);

// For a binary `node`, the input that is not `known` (or "" when neither or both are).
std::string other_input(const ir::Node& node, const std::string& known);

// Rebuilds `graph.nodes`: nodes with `removed[i]` are dropped and nodes with `replacement[i]`
// take the place of node i, which keeps a valid topological order when each replacement sits at
// the position of the last node of its pattern.
void splice_nodes(ir::Graph& graph, const std::vector<char>& removed,
                  std::vector<std::optional<ir::Node>>& replacement);

// One multi-node pattern found in a graph: its nodes, and how to build the one node that
// replaces them from the last of them (whose place the new node takes).
struct PatternMatch {
  std::vector<size_t> nodes;
  std::function<ir::Node(const ir::Node& last)> build;
};

// Asks `match` at every node of type `anchor` and replaces each pattern found with one node,
// skipping a match that shares a node with an earlier one. Returns how many were replaced.
size_t replace_patterns(ir::Graph& graph, ir::Op anchor,
                        const std::function<std::optional<PatternMatch>(size_t)>& match);

// A node of the default domain at `opset`, named after the node it replaces.
ir::Node fused_node(const ir::Node& replaced, ir::Op op, const char* op_type, int64_t opset);

// What shape inference knows of `graph`'s values from its declared input shapes. An initializer
// that is also a graph input is only a default a caller may replace (with another shape), so
// nothing computed from it counts as known.
ValueTypes declared_value_types(const ir::Graph& graph);

// `base`, or `base` with a number appended, so that no value of `graph` (initializer, input or
// node output) has that name yet.
std::string unused_name(const ir::Graph& graph, const std::string& base);

ir::Attribute float_attribute(const std::string& name, float value);
ir::Attribute int_attribute(const std::string& name, int64_t value);

}  // namespace edgerun::opt
