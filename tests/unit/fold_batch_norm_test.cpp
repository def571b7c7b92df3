// Conv + BatchNormalization folding: the folded convolution gives the unfolded pair's outputs
// within fp32 rounding; a BN whose input is also read elsewhere, or with a parameter fed at run
// time, stays.
#include <gtest/gtest.h>

#include "opt/fold_batch_norm.h"
#include "unit/pass_test_graph.h"

namespace edgerun {
namespace {

using testing::attr;
using testing::PassGraph;

PassGraph conv_bn(bool conv_bias) {
  PassGraph g;
  g.input("x", testing::ramp({1, 3, 6, 6}, 0.43f));
  g.constant("w", testing::ramp({4, 3, 3, 3}, 0.17f));
  g.constant("b", testing::ramp({4}, 0.9f));
  g.constant("scale", testing::ramp({4}, 0.77f));
  g.constant("bias", testing::ramp({4}, 0.31f));
  g.constant("mean", testing::ramp({4}, 0.53f));
  Tensor var = testing::ramp({4}, 0.37f);
  for (int64_t i = 0; i < 4; ++i) var.data<float>()[i] = std::abs(var.data<float>()[i]) + 0.1f;
  g.constant("var", var);
  std::vector<std::string> conv_in{"x", "w"};
  if (conv_bias) conv_in.push_back("b");
  g.node("Conv", conv_in, {"c"}, {attr("pads", std::vector<int64_t>{1, 1, 1, 1})});
  g.node("BatchNormalization", {"c", "scale", "bias", "mean", "var"}, {"bn"},
         {attr("epsilon", 1e-3f)}, 15);
  g.node("Relu", {"bn"}, {"y"});
  g.output("y");
  return g;
}

TEST(FoldBatchNorm, FoldsIntoTheConvolution) {
  for (bool conv_bias : {true, false}) {
    SCOPED_TRACE(conv_bias ? "conv with bias" : "conv without bias");
    const PassGraph g = conv_bn(conv_bias);
    const ir::Graph out = g.expect_same_outputs(opt::fold_batch_norm, 1, 1e-5, 1e-5);
    ASSERT_EQ(out.nodes.size(), 2u);
    EXPECT_EQ(out.nodes[0].op, ir::Op::Conv);
    EXPECT_EQ(out.nodes[0].outputs[0], "bn");
    EXPECT_EQ(out.nodes[0].inputs.size(), 3u);
    // The original weights are untouched (they may be shared).
    EXPECT_TRUE(testing::tensors_close(out.initializers.at("w"), g.graph.initializers.at("w"),
                                       0, 0));
  }
}

TEST(FoldBatchNorm, NearMissesStay) {
  PassGraph shared = conv_bn(true);
  shared.output("c");  // the convolution's own output is needed too
  shared.expect_same_outputs(opt::fold_batch_norm, 0, 0, 0);

  PassGraph fed = conv_bn(true);
  fed.graph.initializers.erase("mean");
  fed.input("mean", testing::ramp({4}, 0.53f));  // a statistic fed at run time
  const ir::Graph out = fed.expect_same_outputs(opt::fold_batch_norm, 0, 0, 0);
  EXPECT_EQ(PassGraph::count_in(out, ir::Op::BatchNormalization), 1u);
}

}  // namespace
}  // namespace edgerun
