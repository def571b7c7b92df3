// Swish fusion: x * Sigmoid(x) (PyTorch's nn.SiLU) and x * Sigmoid(x * alpha) become one Swish;
// a Sigmoid gating another tensor (squeeze-and-excitation), one read elsewhere too, or a scale
// that is not a rank-0 constant stays.
#include <gtest/gtest.h>

#include "opt/fuse_swish.h"
#include "unit/pass_test_graph.h"

namespace edgerun {
namespace {

using testing::PassGraph;

// Values in [-120, 120): far enough out that the sigmoid saturates to 1 and underflows to 0 in
// float, where a careless x * sigmoid(x) would overflow or give NaN.
Tensor wide_ramp(Shape shape) {
  Tensor t = testing::ramp(std::move(shape), 0.61f);
  for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] *= 60.0f;
  return t;
}

const ir::Node* find_node(const ir::Graph& g, ir::Op op) {
  for (const ir::Node& n : g.nodes) {
    if (n.op == op) return &n;
  }
  return nullptr;
}

TEST(FuseSwish, BothOperandOrdersFuseExactly) {
  PassGraph g;
  g.input("x", wide_ramp({2, 3, 40}));
  g.node("Sigmoid", {"x"}, {"s"});
  g.node("Mul", {"x", "s"}, {"a"});
  g.node("Sigmoid", {"a"}, {"s2"});
  g.node("Mul", {"s2", "a"}, {"y"});
  g.output("y");
  // The fused kernel computes the unfused arithmetic in its order: bit for bit the same.
  const ir::Graph out = g.expect_same_outputs(opt::fuse_swish, 2, 0, 0);
  EXPECT_EQ(PassGraph::count_in(out, ir::Op::Swish), 2u);
  ASSERT_EQ(out.nodes.size(), 2u);
  EXPECT_EQ(out.nodes[0].domain, "ai.edgerun");
  EXPECT_EQ(out.nodes[0].inputs, std::vector<std::string>{"x"});
  EXPECT_EQ(out.nodes[1].inputs, std::vector<std::string>{"a"});
  EXPECT_EQ(out.nodes[1].outputs, std::vector<std::string>{"y"});
  EXPECT_EQ(out.nodes[1].attr_float("alpha", 1.0f), 1.0f);
}

TEST(FuseSwish, ScaledSigmoidBecomesAlpha) {
  PassGraph g;
  g.input("x", wide_ramp({3, 50}));
  g.constant("k", Tensor::scalar(1.702f));
  g.node("Mul", {"k", "x"}, {"kx"});  // the constant on either side
  g.node("Sigmoid", {"kx"}, {"s"});
  g.node("Mul", {"x", "s"}, {"y"});
  g.output("y");
  const ir::Graph out = g.expect_same_outputs(opt::fuse_swish, 1, 0, 0);
  ASSERT_EQ(out.nodes.size(), 1u);
  EXPECT_EQ(out.nodes[0].op, ir::Op::Swish);
  EXPECT_EQ(out.nodes[0].attr_float("alpha", 1.0f), 1.702f);
}

TEST(FuseSwish, SqueezeExcitationGateStays) {
  // x * Sigmoid(fc(pool(x))): the gate is a function of x, not x.
  PassGraph g;
  g.input("x", testing::ramp({1, 4, 3, 3}, 0.61f));
  g.constant("w", testing::ramp({4, 4, 1, 1}, 0.29f));
  g.node("GlobalAveragePool", {"x"}, {"p"});
  g.node("Conv", {"p", "w"}, {"fc"});
  g.node("Sigmoid", {"fc"}, {"gate"});
  g.node("Mul", {"x", "gate"}, {"y"});
  g.output("y");
  const ir::Graph out = g.expect_same_outputs(opt::fuse_swish, 0, 0, 0);
  EXPECT_EQ(out.nodes.size(), 4u);
  EXPECT_EQ(find_node(out, ir::Op::Swish), nullptr);
}

TEST(FuseSwish, SigmoidReadElsewhereStays) {
  PassGraph g;
  g.input("x", testing::ramp({2, 8}));
  g.node("Sigmoid", {"x"}, {"s"});
  g.node("Mul", {"x", "s"}, {"a"});
  g.node("Add", {"a", "s"}, {"y"});  // the sigmoid is read by the Add too
  g.output("y");
  g.node("Sigmoid", {"y"}, {"s2"});
  g.node("Mul", {"y", "s2"}, {"z"});
  g.output("z");
  g.output("s2");  // a graph output: must still be written
  const ir::Graph out = g.expect_same_outputs(opt::fuse_swish, 0, 0, 0);
  EXPECT_EQ(out.nodes.size(), 5u);
}

TEST(FuseSwish, ScalesThatAreNotRankZeroConstantsStay) {
  PassGraph g;
  g.input("x", testing::ramp({1, 4, 5}));
  g.input("runtime_k", Tensor::scalar(2.0f));
  g.constant("per_channel", testing::ramp({4, 1}, 0.5f));
  g.constant("rank1", Tensor::from_vector<float>({1}, {2.0f}));
  int n = 0;
  for (const char* k : {"runtime_k", "per_channel", "rank1"}) {
    const std::string i = std::to_string(n++);
    g.node("Mul", {"x", k}, {"kx" + i});
    g.node("Sigmoid", {"kx" + i}, {"s" + i});
    g.node("Mul", {"x", "s" + i}, {"y" + i});
    g.output("y" + i);
  }
  // x * Sigmoid(y * 2) with y != x: the scaled value is not the multiplied one.
  g.constant("two", Tensor::scalar(2.0f));
  g.node("Mul", {"y0", "two"}, {"ky"});
  g.node("Sigmoid", {"ky"}, {"sy"});
  g.node("Mul", {"x", "sy"}, {"z"});
  g.output("z");
  const ir::Graph out = g.expect_same_outputs(opt::fuse_swish, 0, 0, 0);
  EXPECT_EQ(out.nodes.size(), 12u);
}

}  // namespace
}  // namespace edgerun
