// A small IR graph for the graph-pass tests, and the check every pass test makes: the optimised
// graph gives the unoptimised graph's outputs on the reference backend.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "backends/reference/reference_backend.h"
#include "ops/op_test.h"
#include "runtime/program.h"

namespace edgerun::testing {

class PassGraph {
 public:
  // An input of fixed shape; `values` feeds it when the graph runs.
  void input(const std::string& name, Tensor values) {
    ir::ValueInfo v;
    v.name = name;
    v.type.kind = ir::TypeInfo::Kind::kTensor;
    v.type.dtype = values.dtype();
    std::vector<ir::Dim> dims;
    for (int64_t d : values.shape()) dims.push_back({d, ""});
    v.type.shape = std::move(dims);
    graph.inputs.push_back(std::move(v));
    feeds.push_back(std::move(values));
  }
  void constant(const std::string& name, Tensor value) { graph.initializers[name] = value; }
  void scalar(const std::string& name, float v) { constant(name, Tensor::scalar(v)); }
  ir::Node& node(const std::string& type, std::vector<std::string> inputs,
                 std::vector<std::string> outputs, std::vector<ir::Attribute> attributes = {},
                 int64_t opset = 13) {
    ir::Node n;
    n.name = outputs.empty() ? type : outputs[0];
    n.op_type = type;
    n.op = ir::find_op("", type);
    n.opset = opset;
    n.inputs = std::move(inputs);
    n.outputs = std::move(outputs);
    n.attributes = std::move(attributes);
    graph.nodes.push_back(std::move(n));
    return graph.nodes.back();
  }
  void output(const std::string& name) {
    ir::ValueInfo v;
    v.name = name;
    graph.outputs.push_back(v);
  }

  size_t count(ir::Op op) const { return count_in(graph, op); }
  static size_t count_in(const ir::Graph& g, ir::Op op) {
    size_t n = 0;
    for (const ir::Node& node : g.nodes) n += node.op == op ? 1 : 0;
    return n;
  }

  std::vector<Value> run(const ir::Graph& g) const {
    reference::ReferenceBackend reference;
    std::vector<Shape> shapes;
    std::vector<Value> values;
    for (const Tensor& t : feeds) {
      shapes.push_back(t.shape());
      values.emplace_back(t);
    }
    auto program = runtime::Program::build(g, {&reference}, shapes);
    EXPECT_TRUE(program.is_ok()) << program.status().to_string();
    if (!program.is_ok()) return {};
    auto out = program.value()->run(values);
    EXPECT_TRUE(out.is_ok()) << out.status().to_string();
    return out.is_ok() ? std::move(out).value() : std::vector<Value>{};
  }

  // Runs `pass` on a copy, checks it reports `changes` and that the outputs stay within the
  // tolerance; returns the optimised graph.
  template <class Pass>
  ir::Graph expect_same_outputs(Pass pass, size_t changes, double rtol = 1e-6,
                                double atol = 1e-6) const {
    const std::vector<Value> before = run(graph);
    ir::Graph optimised = graph;
    EXPECT_EQ(pass(optimised), changes);
    const std::vector<Value> after = run(optimised);
    EXPECT_EQ(before.size(), after.size());
    for (size_t i = 0; i < before.size() && i < after.size(); ++i) {
      EXPECT_TRUE(tensors_close(after[i].tensor(), before[i].tensor(), rtol, atol))
          << "output " << i << " differs after the pass";
    }
    return optimised;
  }

  ir::Graph graph;
  std::vector<Tensor> feeds;
};

// Deterministic values in [-2, 2).
inline Tensor ramp(Shape shape, float step = 0.37f) {
  Tensor t(DType::kFloat32, std::move(shape));
  for (int64_t i = 0; i < t.size(); ++i) {
    t.data<float>()[i] = std::fmod(step * static_cast<float>(i) + 2.0f, 4.0f) - 2.0f;
  }
  return t;
}

}  // namespace edgerun::testing
