// Shape-arithmetic folding: with the input shapes fixed, a Shape -> Gather -> Unsqueeze ->
// Concat chain feeding a Reshape becomes a constant shape and the chain's nodes go; with a
// symbolic batch dim the chain stays and the model runs for every batch.
#include <gtest/gtest.h>

#include "edgerun/edgerun.hpp"
#include "opt/fold_shape_values.h"
#include "opt/remove_dead_nodes.h"
#include "unit/model_builder.h"
#include "unit/pass_test_graph.h"

namespace edgerun {
namespace {

using testing::attr;
using testing::PassGraph;

// y = Reshape(Relu(x), [dim 0 of x, -1]), the shape computed in the graph.
PassGraph flatten_by_shape_chain() {
  PassGraph g;
  g.input("x", testing::ramp({2, 3, 4}));
  g.constant("zero", Tensor::scalar<int64_t>(0));
  g.constant("minus_one", Tensor::from_vector<int64_t>({1}, {-1}));
  g.node("Relu", {"x"}, {"r"});
  g.node("Shape", {"r"}, {"s"});
  g.node("Gather", {"s", "zero"}, {"n"}, {attr("axis", int64_t{0})});
  g.node("Unsqueeze", {"n"}, {"n1"}, {attr("axes", std::vector<int64_t>{0})}, 11);
  g.node("Concat", {"n1", "minus_one"}, {"shape"}, {attr("axis", int64_t{0})});
  g.node("Reshape", {"r", "shape"}, {"y"});
  g.output("y");
  return g;
}

TEST(FoldShapeValues, ShapeChainBecomesAConstant) {
  const PassGraph g = flatten_by_shape_chain();
  const ir::Graph folded = g.expect_same_outputs(opt::fold_shape_values, 4, 0, 0);
  ASSERT_EQ(folded.nodes.size(), 2u);  // Relu, Reshape
  EXPECT_EQ(folded.nodes[1].op, ir::Op::Reshape);
  const Tensor& shape = folded.initializers.at(folded.nodes[1].inputs[1]);
  EXPECT_TRUE(testing::tensors_close(shape, Tensor::from_vector<int64_t>({2}, {2, -1})));
  // The intermediates the chain left as initializers are unread: dead-code removal drops them.
  ir::Graph pruned = folded;
  EXPECT_EQ(opt::remove_dead_nodes(pruned), 0u);
  EXPECT_EQ(pruned.initializers.count("n"), 0u);
  EXPECT_EQ(pruned.initializers.count("shape"), 1u);
}

TEST(FoldShapeValues, GraphOutputsAndUnknownShapesStay) {
  PassGraph g = flatten_by_shape_chain();
  g.output("s");  // the Shape is also a model output: it stays a node
  ir::Graph folded = g.graph;
  EXPECT_EQ(opt::fold_shape_values(folded), 3u);
  EXPECT_EQ(PassGraph::count_in(folded, ir::Op::Shape), 1u);

  // An initializer that is also an input is a default a caller may replace: the Concat reading
  // it stays.
  PassGraph overridable = flatten_by_shape_chain();
  ir::ValueInfo minus_one;
  minus_one.name = "minus_one";
  minus_one.type.kind = ir::TypeInfo::Kind::kTensor;
  minus_one.type.dtype = DType::kInt64;
  minus_one.type.shape = std::vector<ir::Dim>{{1, ""}};
  overridable.graph.inputs.push_back(minus_one);
  ir::Graph partly = overridable.graph;
  EXPECT_EQ(opt::fold_shape_values(partly), 3u);
  EXPECT_EQ(PassGraph::count_in(partly, ir::Op::Concat), 1u);

  PassGraph symbolic = flatten_by_shape_chain();
  (*symbolic.graph.inputs[0].type.shape)[0] = {-1, "batch"};
  ir::Graph untouched = symbolic.graph;
  EXPECT_EQ(opt::fold_shape_values(untouched), 0u);
  EXPECT_EQ(untouched.nodes.size(), 6u);
}

TEST(RemoveDeadNodes, UnreadNodesAndInitializersGo) {
  PassGraph g;
  g.input("x", testing::ramp({2, 3}));
  g.scalar("unused", 1.0f);
  g.scalar("two", 2.0f);
  g.node("Mul", {"x", "two"}, {"dead"});
  g.node("Relu", {"dead"}, {"dead2"});
  g.node("Relu", {"x"}, {"y"});
  g.output("y");
  const ir::Graph pruned = g.expect_same_outputs(opt::remove_dead_nodes, 2, 0, 0);
  ASSERT_EQ(pruned.nodes.size(), 1u);
  EXPECT_TRUE(pruned.initializers.empty());
}

// The same chain as an ONNX model through the engine, batch symbolic or fixed.
std::string shape_chain_model(bool symbolic_batch) {
  testing::ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {symbolic_batch ? -1 : 2, 3, 4}, {"batch"});
  b.output("y");
  auto* zero = b.graph().add_initializer();
  zero->set_name("zero");
  zero->set_data_type(onnx::TensorProto::INT64);
  zero->add_int64_data(0);
  auto* axes = b.graph().add_initializer();
  axes->set_name("axes");
  axes->set_data_type(onnx::TensorProto::INT64);
  axes->add_dims(1);
  axes->add_int64_data(0);
  auto* minus_one = b.graph().add_initializer();
  minus_one->set_name("minus_one");
  minus_one->set_data_type(onnx::TensorProto::INT64);
  minus_one->add_dims(1);
  minus_one->add_int64_data(-1);
  b.node("Relu", {"x"}, {"r"});
  b.node("Shape", {"r"}, {"s"});
  testing::set_int_attr(b.node("Gather", {"s", "zero"}, {"n"}), "axis", 0);
  b.node("Unsqueeze", {"n", "axes"}, {"n1"});
  testing::set_int_attr(b.node("Concat", {"n1", "minus_one"}, {"shape"}), "axis", 0);
  b.node("Reshape", {"r", "shape"}, {"y"});
  return b.bytes();
}

TEST(FoldShapeValues, EngineFoldsFixedShapesAndKeepsSymbolicOnesWorking) {
  Engine engine;
  for (bool symbolic : {false, true}) {
    SCOPED_TRACE(symbolic ? "symbolic batch" : "fixed batch");
    PrepareOptions options;
    options.backends = {"reference"};
    auto model = engine.prepare(ModelArtifact::from_bytes(shape_chain_model(symbolic)), options);
    ASSERT_TRUE(model.is_ok()) << model.status().to_string();
    EXPECT_EQ(model->capabilities().node_count, symbolic ? 6u : 2u);
    for (int64_t batch : symbolic ? std::vector<int64_t>{1, 2, 5} : std::vector<int64_t>{2}) {
      const Tensor x = testing::ramp({batch, 3, 4});
      auto out = model->run({{"x", x}});
      ASSERT_TRUE(out.is_ok()) << out.status().to_string();
      const Tensor& y = out->at("y");
      ASSERT_EQ(y.shape(), (Shape{batch, 12}));
      for (int64_t i = 0; i < y.size(); ++i) {
        EXPECT_EQ(y.data<float>()[i], std::max(0.0f, x.data<float>()[i]));
      }
    }
  }
  // A symbolic batch bound at prepare folds like a fixed one.
  PrepareOptions bound;
  bound.backends = {"reference"};
  bound.input_shapes["x"] = {3, 3, 4};
  auto model = engine.prepare(ModelArtifact::from_bytes(shape_chain_model(true)), bound);
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  EXPECT_EQ(model->capabilities().node_count, 2u);
}

}  // namespace
}  // namespace edgerun
