// Fusion of the exported GELU pattern into one Gelu node: the fused graph gives the unfused
// graph's outputs on the reference backend, and matches are refused when an intermediate is
// needed elsewhere or a constant is not the GELU's.
#include <gtest/gtest.h>

#include "backends/reference/reference_backend.h"
#include "ops/op_test.h"
#include "opt/fuse_gelu.h"
#include "runtime/program.h"

namespace edgerun {
namespace {

class GeluGraph {
 public:
  GeluGraph() {
    ir::ValueInfo x;
    x.name = "x";
    x.type.kind = ir::TypeInfo::Kind::kTensor;
    x.type.dtype = DType::kFloat32;
    x.type.shape = std::vector<ir::Dim>{{2, ""}, {3, ""}, {7, ""}};
    graph.inputs.push_back(x);
    scalar("sqrt2", 1.4142135f);
    scalar("inv_sqrt2", 0.70710677f);
    scalar("one", 1.0f);
    scalar("half", 0.5f);
    scalar("two", 2.0f);
  }
  void scalar(const std::string& name, float v) { graph.initializers[name] = Tensor::scalar(v); }
  void node(const std::string& type, std::vector<std::string> inputs, const std::string& output) {
    ir::Node n;
    n.name = output;
    n.op_type = type;
    n.op = ir::find_op("", type);
    n.opset = 17;
    n.inputs = std::move(inputs);
    n.outputs = {output};
    graph.nodes.push_back(std::move(n));
  }
  void output(const std::string& name) {
    ir::ValueInfo v;
    v.name = name;
    graph.outputs.push_back(v);
  }

  ir::Graph graph;
};

std::vector<Value> run_reference(const ir::Graph& graph) {
  reference::ReferenceBackend reference;
  Tensor x(DType::kFloat32, {2, 3, 7});
  for (int64_t i = 0; i < x.size(); ++i) x.data<float>()[i] = -4.0f + 0.19f * static_cast<float>(i);
  auto program = runtime::Program::build(graph, {&reference}, {x.shape()});
  EXPECT_TRUE(program.is_ok()) << program.status().to_string();
  if (!program.is_ok()) return {};
  auto out = program.value()->run({Value(x)});
  EXPECT_TRUE(out.is_ok()) << out.status().to_string();
  return out.is_ok() ? std::move(out).value() : std::vector<Value>{};
}

// Fuses `g` and checks the result: `fused` matches, a single Gelu where the pattern was, and
// the same outputs as before.
void expect_fuses(GeluGraph g, size_t fused, size_t nodes_after) {
  const std::vector<Value> before = run_reference(g.graph);
  ir::Graph optimised = g.graph;
  EXPECT_EQ(opt::fuse_gelu(optimised), fused);
  EXPECT_EQ(optimised.nodes.size(), nodes_after);
  if (fused > 0) {
    size_t gelus = 0;
    for (const ir::Node& n : optimised.nodes) gelus += n.op == ir::Op::Gelu ? 1 : 0;
    EXPECT_EQ(gelus, fused);
  }
  const std::vector<Value> after = run_reference(optimised);
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    // x * (1 / sqrt(2)) rounds differently from x / sqrt(2); nothing else changes.
    EXPECT_TRUE(testing::tensors_close(after[i].tensor(), before[i].tensor(), 1e-6, 1e-7))
        << "output " << i << " differs after fusion";
  }
}

TEST(FuseGelu, PyTorchExportPattern) {
  GeluGraph g;
  g.node("Div", {"x", "sqrt2"}, "d");
  g.node("Erf", {"d"}, "e");
  g.node("Add", {"e", "one"}, "a");
  g.node("Mul", {"x", "a"}, "m");
  g.node("Mul", {"m", "half"}, "y");
  g.output("y");
  expect_fuses(g, 1, 1);
}

TEST(FuseGelu, OtherOperandOrdersAndAssociations) {
  GeluGraph scaled_first;  // x * 0.5 first, the scale as a Mul by 1/sqrt(2), 1 + erf
  scaled_first.node("Mul", {"inv_sqrt2", "x"}, "d");
  scaled_first.node("Erf", {"d"}, "e");
  scaled_first.node("Add", {"one", "e"}, "a");
  scaled_first.node("Mul", {"x", "half"}, "h");
  scaled_first.node("Mul", {"h", "a"}, "y");
  scaled_first.output("y");
  expect_fuses(scaled_first, 1, 1);

  GeluGraph halved_sum;  // ((erf + 1) * 0.5) * x, and a second Gelu after the first
  halved_sum.node("Div", {"x", "sqrt2"}, "d");
  halved_sum.node("Erf", {"d"}, "e");
  halved_sum.node("Add", {"e", "one"}, "a");
  halved_sum.node("Mul", {"a", "half"}, "m");
  halved_sum.node("Mul", {"m", "x"}, "g1");
  halved_sum.node("Div", {"g1", "sqrt2"}, "d2");
  halved_sum.node("Erf", {"d2"}, "e2");
  halved_sum.node("Add", {"e2", "one"}, "a2");
  halved_sum.node("Mul", {"g1", "a2"}, "m2");
  halved_sum.node("Mul", {"half", "m2"}, "y");
  halved_sum.output("y");
  expect_fuses(halved_sum, 2, 2);
}

TEST(FuseGelu, RefusedWhenAnIntermediateIsNeededOrAConstantDiffers) {
  GeluGraph shared;  // the Erf's output is also a graph output
  shared.node("Div", {"x", "sqrt2"}, "d");
  shared.node("Erf", {"d"}, "e");
  shared.node("Add", {"e", "one"}, "a");
  shared.node("Mul", {"x", "a"}, "m");
  shared.node("Mul", {"m", "half"}, "y");
  shared.output("y");
  shared.output("e");
  expect_fuses(shared, 0, 5);

  GeluGraph not_gelu;  // x / 2 is not x / sqrt(2)
  not_gelu.node("Div", {"x", "two"}, "d");
  not_gelu.node("Erf", {"d"}, "e");
  not_gelu.node("Add", {"e", "one"}, "a");
  not_gelu.node("Mul", {"x", "a"}, "m");
  not_gelu.node("Mul", {"m", "half"}, "y");
  not_gelu.output("y");
  expect_fuses(not_gelu, 0, 5);
}

}  // namespace
}  // namespace edgerun
