// HardSwish fusion: x * HardSigmoid(x) with PyTorch's constants becomes HardSwish; a
// HardSigmoid gating another tensor (squeeze-and-excitation) or with other constants stays.
#include <gtest/gtest.h>

#include "opt/fuse_hard_swish.h"
#include "unit/pass_test_graph.h"

namespace edgerun {
namespace {

using testing::attr;
using testing::PassGraph;

std::vector<ir::Attribute> torch_hardsigmoid() {
  return {attr("alpha", 1.0f / 6.0f), attr("beta", 0.5f)};
}

TEST(FuseHardSwish, BothOperandOrdersFuse) {
  PassGraph g;
  g.input("x", testing::ramp({2, 3, 8}, 0.61f));
  g.node("HardSigmoid", {"x"}, {"h"}, torch_hardsigmoid());
  g.node("Mul", {"x", "h"}, {"a"});
  g.node("HardSigmoid", {"a"}, {"h2"}, torch_hardsigmoid());
  g.node("Mul", {"h2", "a"}, {"y"});
  g.output("y");
  // x / 6 and x * 0.16666667f round apart by an ulp.
  const ir::Graph out = g.expect_same_outputs(opt::fuse_hard_swish, 2, 1e-6, 1e-7);
  EXPECT_EQ(PassGraph::count_in(out, ir::Op::HardSwish), 2u);
  EXPECT_EQ(out.nodes.size(), 2u);
}

TEST(FuseHardSwish, SqueezeExcitationAndOtherConstantsStay) {
  PassGraph g;
  g.input("x", testing::ramp({1, 4, 3, 3}, 0.61f));
  g.node("GlobalAveragePool", {"x"}, {"p"});
  g.node("HardSigmoid", {"p"}, {"gate"}, torch_hardsigmoid());
  g.node("Mul", {"x", "gate"}, {"se"});  // gates x by a function of p: not a HardSwish
  g.node("HardSigmoid", {"se"}, {"h"});  // ONNX's default alpha 0.2
  g.node("Mul", {"se", "h"}, {"y"});
  g.node("HardSigmoid", {"y"}, {"h3"}, torch_hardsigmoid());
  g.node("Mul", {"y", "h3"}, {"z"});
  g.output("z");
  g.output("h3");  // read elsewhere: the HardSigmoid must stay
  const ir::Graph out = g.expect_same_outputs(opt::fuse_hard_swish, 0, 0, 0);
  EXPECT_EQ(out.nodes.size(), 7u);
}

}  // namespace
}  // namespace edgerun
