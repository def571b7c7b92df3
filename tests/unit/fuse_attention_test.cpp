// Attention fusion: the MatMul-Scale-Softmax-MatMul pattern with its head Transposes, as
// nn.MultiheadAttention ([S, B*H, D], Q scaled) and per-head BERT code ([B, S, H, D], scores
// scaled, a mask added) export it, becomes one Attention whose reference result is the unfused
// nodes' own; a pattern that is not exactly attention stays.
#include <gtest/gtest.h>

#include "opt/fuse_attention.h"
#include "unit/pass_test_graph.h"

namespace edgerun {
namespace {

using testing::attr;
using testing::PassGraph;
using Ints = std::vector<int64_t>;

struct Spelling {
  bool rank4 = false;      // [B, S, H, D] with perms 0213 / 0231, else [S, N, D] with 102 / 120
  bool scale_query = true;  // Div on Q before the product, else Mul on the scores
  bool mask = false;
  bool scale_input = false;  // the scale is a graph input, not a constant
  Ints perm_q;               // overrides the Q perm
  int64_t softmax_axis = -1;
  bool transpose_back = true;
};

// S = 3 and H = 3, so a wrong perm can still give valid shapes.
PassGraph attention_graph(const Spelling& s) {
  PassGraph g;
  const Shape q = s.rank4 ? Shape{2, 3, 3, 4} : Shape{3, 3, 4};
  const Shape kv = s.rank4 ? Shape{2, 5, 3, 4} : Shape{5, 3, 4};
  g.input("q", testing::ramp(q, 0.37f));
  g.input("k", testing::ramp(kv, 0.53f));
  g.input("v", testing::ramp(kv, 0.29f));
  const Ints pq = !s.perm_q.empty() ? s.perm_q : s.rank4 ? Ints{0, 2, 1, 3} : Ints{1, 0, 2};
  const Ints pk = s.rank4 ? Ints{0, 2, 3, 1} : Ints{1, 2, 0};
  const Ints pv = s.rank4 ? Ints{0, 2, 1, 3} : Ints{1, 0, 2};
  if (s.scale_input) {
    g.input("scale", Tensor::scalar(2.0f));
  } else {
    g.scalar("scale", s.scale_query ? 2.0f : 0.7f);
  }
  g.node("Transpose", {"q"}, {"qt"}, {attr("perm", pq)});
  g.node("Transpose", {"k"}, {"kt"}, {attr("perm", pk)});
  g.node("Transpose", {"v"}, {"vt"}, {attr("perm", pv)});
  std::string scores = "scores";
  if (s.scale_query) {
    g.node("Div", {"qt", "scale"}, {"qs"});
    g.node("MatMul", {"qs", "kt"}, {"scores"});
  } else {
    g.node("MatMul", {"qt", "kt"}, {"product"});
    g.node("Mul", {"scale", "product"}, {"scores"});
  }
  if (s.mask) {
    g.constant("mask", testing::ramp(s.rank4 ? Shape{2, 1, 1, 5} : Shape{3, 1, 5}, 0.9f));
    g.node("Add", {"scores", "mask"}, {"masked"});
    scores = "masked";
  }
  g.node("Softmax", {scores}, {"p"}, {attr("axis", s.softmax_axis)});
  g.node("MatMul", {"p", "vt"}, {"attended"});
  if (s.transpose_back) {
    g.node("Transpose", {"attended"}, {"y"}, {attr("perm", pv)});
    g.constant("shape", Tensor::from_vector<int64_t>({2}, {-1, 12}));
    g.node("Reshape", {"y", "shape"}, {"out"});
    g.output("out");
  } else {
    g.output("attended");
  }
  return g;
}

TEST(FuseAttention, MultiheadAttentionExportFusesAndMatches) {
  const PassGraph g = attention_graph({});
  const ir::Graph out = g.expect_same_outputs(opt::fuse_attention, 1);
  ASSERT_EQ(out.nodes.size(), 2u);
  const ir::Node& a = out.nodes[0];
  EXPECT_EQ(a.op, ir::Op::Attention);
  EXPECT_EQ(a.domain, "ai.edgerun");
  EXPECT_EQ(a.inputs, (std::vector<std::string>{"q", "k", "v"}));
  EXPECT_EQ(a.outputs[0], "y");
  EXPECT_EQ(a.attr_float("scale", 0), 2.0f);
  EXPECT_EQ(a.attr_int("scale_divides", 0), 1);
  EXPECT_EQ(a.attr_int("scale_query", 0), 1);
  EXPECT_EQ(out.nodes[1].op, ir::Op::Reshape);
}

TEST(FuseAttention, PerHeadExportWithScaledScoresAndMaskFusesAndMatches) {
  for (bool rank4 : {true, false}) {
    SCOPED_TRACE(rank4 ? "rank 4" : "rank 3");
    Spelling s;
    s.rank4 = rank4;
    s.scale_query = false;
    s.mask = true;
    const ir::Graph out = attention_graph(s).expect_same_outputs(opt::fuse_attention, 1);
    ASSERT_EQ(PassGraph::count_in(out, ir::Op::Attention), 1u);
    const ir::Node& a = out.nodes[0];
    EXPECT_EQ(a.inputs, (std::vector<std::string>{"q", "k", "v", "mask"}));
    EXPECT_EQ(a.attr_int("scale_divides", 1), 0);
    EXPECT_EQ(a.attr_int("scale_query", 1), 0);
    EXPECT_EQ(PassGraph::count_in(out, ir::Op::Softmax), 0u);
  }
}

TEST(FuseAttention, NearMissesStay) {
  Spelling wrong_perm;  // Q not transposed at all (S == H keeps the shapes valid)
  wrong_perm.perm_q = {0, 1, 2};
  Spelling other_axis;  // softmax over the queries
  other_axis.softmax_axis = 1;
  Spelling variable_scale;
  variable_scale.scale_input = true;
  Spelling no_transpose_back;
  no_transpose_back.transpose_back = false;
  for (const Spelling& s : {wrong_perm, other_axis, variable_scale, no_transpose_back}) {
    const ir::Graph out = attention_graph(s).expect_same_outputs(opt::fuse_attention, 0, 0, 0);
    EXPECT_EQ(PassGraph::count_in(out, ir::Op::Attention), 0u);
  }
  // The scores are also a graph output.
  PassGraph shared = attention_graph({});
  shared.output("scores");
  shared.expect_same_outputs(opt::fuse_attention, 0, 0, 0);
}

}  // namespace
}  // namespace edgerun
