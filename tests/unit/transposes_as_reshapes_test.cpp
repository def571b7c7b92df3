// Transposes that move only dims of size 1 become reshapes (views); the others stay.
#include <gtest/gtest.h>

#include "opt/transposes_as_reshapes.h"
#include "unit/pass_test_graph.h"

namespace edgerun {
namespace {

using testing::PassGraph;
using Ints = std::vector<int64_t>;

ir::Attribute perm(Ints axes) {
  ir::Attribute a;
  a.name = "perm";
  a.type = ir::AttrType::kInts;
  a.ints = std::move(axes);
  return a;
}

Shape constant_shape(const ir::Graph& g, const ir::Node& reshape) {
  const Tensor& t = g.initializers.at(reshape.inputs[1]);
  return Shape(t.data<int64_t>(), t.data<int64_t>() + t.size());
}

TEST(TransposesAsReshapes, UnitDimsMovedAroundTheOthersBecomeReshapes) {
  PassGraph g;
  g.input("x", testing::ramp({1, 5, 4}));
  g.input("y", testing::ramp({3, 1, 4, 1}));
  g.input("z", testing::ramp({1, 6}));
  g.node("Transpose", {"x"}, {"seq_first"}, {perm({1, 0, 2})});  // [1, S, E] -> [S, 1, E]
  g.node("Relu", {"seq_first"}, {"a"});
  g.node("Transpose", {"y"}, {"b"}, {perm({1, 0, 3, 2})});       // 3 stays before 4
  g.node("Transpose", {"z"}, {"c"});                              // default: reversed
  g.output("a");
  g.output("b");
  g.output("c");
  const ir::Graph out = g.expect_same_outputs(opt::transposes_as_reshapes, 3, 0, 0);
  EXPECT_EQ(PassGraph::count_in(out, ir::Op::Transpose), 0u);
  ASSERT_EQ(PassGraph::count_in(out, ir::Op::Reshape), 3u);
  EXPECT_EQ(out.nodes[0].outputs[0], "seq_first");
  EXPECT_EQ(constant_shape(out, out.nodes[0]), (Shape{5, 1, 4}));
  EXPECT_EQ(constant_shape(out, out.nodes[2]), (Shape{1, 3, 1, 4}));
  EXPECT_EQ(constant_shape(out, out.nodes[3]), (Shape{6, 1}));
}

TEST(TransposesAsReshapes, ShapeConstantsTakeUnusedNames) {
  PassGraph g;
  g.input("x", testing::ramp({1, 5}));
  g.constant("t/shape", testing::ramp({2}));  // the name the pass would pick first
  g.node("Transpose", {"x"}, {"t"}, {perm({1, 0})});
  g.node("Add", {"t", "t/shape"}, {"y"});
  g.output("y");
  const ir::Graph out = g.expect_same_outputs(opt::transposes_as_reshapes, 1, 0, 0);
  EXPECT_EQ(out.nodes[0].inputs[1], "t/shape_1");
}

TEST(TransposesAsReshapes, RealPermutationsSymbolicDimsAndEmptyTensorsStay) {
  PassGraph g;
  g.input("x", testing::ramp({2, 3}));
  g.input("y", testing::ramp({1, 2, 3}));
  g.input("e", testing::ramp({1, 0, 3}));
  g.input("s", testing::ramp({1, 4}));
  (*g.graph.inputs.back().type.shape)[0] = ir::Dim{-1, "batch"};  // 1 here, not in general
  g.node("Transpose", {"x"}, {"a"}, {perm({1, 0})});
  g.node("Transpose", {"y"}, {"b"}, {perm({0, 2, 1})});
  g.node("Transpose", {"e"}, {"c"}, {perm({1, 0, 2})});
  g.node("Transpose", {"s"}, {"d"}, {perm({1, 0})});
  for (const char* out : {"a", "b", "c", "d"}) g.output(out);
  const ir::Graph out = g.expect_same_outputs(opt::transposes_as_reshapes, 0, 0, 0);
  EXPECT_EQ(PassGraph::count_in(out, ir::Op::Transpose), 4u);
}

}  // namespace
}  // namespace edgerun
