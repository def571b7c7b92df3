// Canonicalisation: Constant nodes become initializers.
#include <gtest/gtest.h>

#include "ir/graph.h"
#include "ops/op_test.h"
#include "opt/fold_constant_nodes.h"

namespace edgerun {
namespace {

ir::Node constant(std::string output, ir::Attribute value) {
  ir::Node n;
  n.op_type = "Constant";
  n.op = ir::Op::Constant;
  n.outputs = {std::move(output)};
  n.attributes = {std::move(value)};
  return n;
}

TEST(FoldConstantNodes, ConstantsBecomeInitializersInGraphsAndSubgraphs) {
  auto body = std::make_shared<ir::Graph>();
  body->nodes.push_back(constant("inner", testing::attr("value_float", 2.5f)));
  ir::Graph g;
  g.nodes.push_back(constant("bounds", testing::attr("value_ints", std::vector<int64_t>{0, 6})));
  ir::Node loop;
  loop.op_type = "Loop";
  loop.op = ir::Op::Loop;
  ir::Attribute body_attr;
  body_attr.name = "body";
  body_attr.type = ir::AttrType::kGraph;
  body_attr.g = body;
  loop.attributes.push_back(body_attr);
  g.nodes.push_back(loop);
  // A sparse constant cannot be materialised here and stays a node for its kernel to report.
  ir::Attribute sparse;
  sparse.name = "sparse_value";
  sparse.type = ir::AttrType::kSparseTensor;
  g.nodes.push_back(constant("sparse", sparse));

  opt::fold_constant_nodes(g);
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].op_type, "Loop");
  EXPECT_EQ(g.nodes[1].outputs[0], "sparse");
  ASSERT_EQ(g.initializers.count("bounds"), 1u);
  EXPECT_TRUE(testing::tensors_close(g.initializers.at("bounds"), testing::make<int64_t>({2}, {0, 6})));
  EXPECT_TRUE(body->nodes.empty());
  EXPECT_TRUE(testing::tensors_close(body->initializers.at("inner"), Tensor::scalar<float>(2.5f)));
}

}  // namespace
}  // namespace edgerun
