// Identity and inference-mode Dropout removal: readers read the input instead, graph outputs
// keep their names, and a Dropout that may train, or whose mask is read, stays.
#include <gtest/gtest.h>

#include "opt/remove_identities.h"
#include "unit/pass_test_graph.h"

namespace edgerun {
namespace {

using testing::PassGraph;

TEST(RemoveIdentities, IdentitiesAndDropoutsGoAndOutputsKeepTheirNames) {
  PassGraph g;
  g.input("x", testing::ramp({2, 5}));
  g.constant("ratio", Tensor::scalar(0.1f));
  g.constant("no", Tensor::scalar(false));
  g.node("Identity", {"x"}, {"i"});
  g.node("Relu", {"i"}, {"r"});
  g.node("Dropout", {"r", "ratio", "no"}, {"d"}, {}, 13);
  g.node("Dropout", {"d"}, {"d2", ""}, {}, 7);
  g.node("Sigmoid", {"d2"}, {"s"});
  g.node("Identity", {"s"}, {"y"});  // the graph output: Sigmoid is renamed to write "y"
  g.output("y");
  const ir::Graph out = g.expect_same_outputs(opt::remove_identities, 4, 0, 0);
  ASSERT_EQ(out.nodes.size(), 2u);
  EXPECT_EQ(out.nodes[0].op, ir::Op::Relu);
  EXPECT_EQ(out.nodes[0].inputs[0], "x");
  EXPECT_EQ(out.nodes[1].op, ir::Op::Sigmoid);
  EXPECT_EQ(out.nodes[1].inputs[0], "r");
  EXPECT_EQ(out.nodes[1].outputs[0], "y");
}

TEST(RemoveIdentities, NearMissesStay) {
  PassGraph g;
  g.input("x", testing::ramp({2, 5}));
  g.input("training", Tensor::scalar(false));  // fed at run time: may be true
  g.node("Dropout", {"x", "", "training"}, {"d"}, {}, 13);
  g.node("Dropout", {"d"}, {"d2", "mask"}, {}, 13);  // its mask is a graph output
  g.node("Identity", {"x"}, {"y"});  // an input passed straight to an output
  g.output("d2");
  g.output("mask");
  g.output("y");
  const ir::Graph out = g.expect_same_outputs(opt::remove_identities, 0, 0, 0);
  EXPECT_EQ(out.nodes.size(), 3u);
}

}  // namespace
}  // namespace edgerun
