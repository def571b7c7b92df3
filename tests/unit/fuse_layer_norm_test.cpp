// LayerNorm fusion: the decomposition PyTorch exports before opset 17 becomes one
// LayerNormalization whose reference result matches the nine nodes within fp32 rounding; a
// pattern that is not exactly a layer norm over the last axis stays.
#include <gtest/gtest.h>

#include "opt/fuse_layer_norm.h"
#include "unit/pass_test_graph.h"

namespace edgerun {
namespace {

using testing::attr;
using testing::PassGraph;

constexpr int64_t kC = 16;

// ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul(, Add) on x of [2, 5, 16].
PassGraph layer_norm_graph(int64_t mean_axis = -1, float exponent = 2.0f, bool bias = true,
                           int64_t opset = 13) {
  PassGraph g;
  g.input("x", testing::ramp({2, 5, kC}, 0.53f));
  g.scalar("eps", 1e-5f);
  g.scalar("exponent", exponent);
  g.constant("gamma", testing::ramp({kC}, 0.29f));
  g.constant("beta", testing::ramp({kC}, 0.71f));
  g.constant("axes", Tensor::from_vector<int64_t>({1}, {-1}));
  auto mean = [&](const std::string& in, const std::string& out, int64_t axis) {
    if (opset >= 18) {
      g.constant(out + "_axes", Tensor::from_vector<int64_t>({1}, {axis}));
      g.node("ReduceMean", {in, out + "_axes"}, {out}, {}, opset);
    } else {
      g.node("ReduceMean", {in}, {out}, {attr("axes", std::vector<int64_t>{axis})}, opset);
    }
  };
  mean("x", "m", mean_axis);
  g.node("Sub", {"x", "m"}, {"d"}, {}, opset);
  g.node("Pow", {"d", "exponent"}, {"p"}, {}, opset);
  mean("p", "v", -1);
  g.node("Add", {"v", "eps"}, {"ve"}, {}, opset);
  g.node("Sqrt", {"ve"}, {"s"}, {}, opset);
  g.node("Div", {"d", "s"}, {"n"}, {}, opset);
  g.node("Mul", {"n", "gamma"}, {"scaled"}, {}, opset);
  if (bias) {
    g.node("Add", {"beta", "scaled"}, {"y"}, {}, opset);
  } else {
    g.node("Relu", {"scaled"}, {"y"}, {}, opset);
  }
  g.output("y");
  return g;
}

TEST(FuseLayerNorm, ExportedPatternFusesAndMatches) {
  for (int64_t opset : {13, 18}) {
    SCOPED_TRACE("opset " + std::to_string(opset));
    const PassGraph g = layer_norm_graph(-1, 2.0f, true, opset);
    const ir::Graph out = g.expect_same_outputs(opt::fuse_layer_norm, 1, 1e-5, 1e-5);
    ASSERT_EQ(out.nodes.size(), 1u);
    const ir::Node& ln = out.nodes[0];
    EXPECT_EQ(ln.op, ir::Op::LayerNormalization);
    EXPECT_EQ(ln.opset, 17);
    EXPECT_EQ(ln.inputs, (std::vector<std::string>{"x", "gamma", "beta"}));
    EXPECT_EQ(ln.outputs[0], "y");
    EXPECT_EQ(ln.attr_float("epsilon", 0), 1e-5f);
  }
  // The last axis by its positive index, and no bias Add after the scale.
  const PassGraph no_bias = layer_norm_graph(2, 2.0f, false);
  const ir::Graph out = no_bias.expect_same_outputs(opt::fuse_layer_norm, 1, 1e-5, 1e-5);
  ASSERT_EQ(out.nodes.size(), 2u);
  EXPECT_EQ(out.nodes[0].inputs.size(), 2u);
}

TEST(FuseLayerNorm, NearMissesStay) {
  // The mean over another axis, and a cube instead of a square.
  for (const PassGraph& g : {layer_norm_graph(1), layer_norm_graph(-1, 3.0f)}) {
    const ir::Graph out = g.expect_same_outputs(opt::fuse_layer_norm, 0, 0, 0);
    EXPECT_EQ(PassGraph::count_in(out, ir::Op::LayerNormalization), 0u);
  }
  // The centred value is also a graph output.
  PassGraph shared = layer_norm_graph();
  shared.output("d");
  shared.expect_same_outputs(opt::fuse_layer_norm, 0, 0, 0);
  // A scale of the wrong shape (broadcast over a middle axis).
  PassGraph wrong_scale = layer_norm_graph();
  wrong_scale.constant("gamma", testing::ramp({5, 1}, 0.29f));
  wrong_scale.expect_same_outputs(opt::fuse_layer_norm, 0, 0, 0);
}

}  // namespace
}  // namespace edgerun
