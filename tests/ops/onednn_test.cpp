// Op cases on the oneDNN backend, each compared with the reference kernel on the same inputs.
//
// Tolerance (fp32): rtol 1e-4, atol 1e-5. oneDNN sums products in another order than the
// reference (vectorised, blocked over channels), so a dot product of K terms of magnitude ~1
// may differ by a few K * 2^-24; the cases here keep K below ~200, for which 1e-5 absolute is
// ample. Its exp/tanh/logistic are vectorised approximations within a few ulp, well inside
// rtol 1e-4. Ops whose approximation is worse than that (Log near 1) are not claimed at all.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cmath>
#include <functional>
#include <string>
#include <thread>

#include "backends/onednn/executable.h"
#include "backends/onednn/onednn_backend.h"
#include "backends/onednn/vector_kernels.h"
#include "backends/reference/reference_backend.h"
#include "ops/op_test.h"
#include "runtime/program.h"
#include "runtime/value_types.h"

namespace edgerun::testing {
namespace {

constexpr double kRtol = 1e-4;
constexpr double kAtol = 1e-5;

// Deterministic values in [-1, 1).
Tensor random(Shape shape, uint32_t seed = 1) {
  Tensor t(DType::kFloat32, std::move(shape));
  uint32_t state = seed * 2654435761u + 12345u;
  for (int64_t i = 0; i < t.size(); ++i) {
    state = state * 1664525u + 1013904223u;
    t.data<float>()[i] = static_cast<float>(state >> 8) / static_cast<float>(1u << 23) - 1.0f;
  }
  return t;
}

// Convolution weights [M, C, kH, kW] scaled by 1 / sqrt(C kH kW), so that values stay near 1
// through layers of many channels (and absolute tolerances stay meaningful).
Tensor scaled_weights(Shape shape, uint32_t seed) {
  Tensor t = random(shape, seed);
  const float scale = 1.0f / std::sqrt(static_cast<float>(shape[1] * shape[2] * shape[3]));
  for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] *= scale;
  return t;
}

Tensor positive(Shape shape, uint32_t seed = 1) {
  Tensor t = random(std::move(shape), seed);
  for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = 0.5f + std::abs(t.data<float>()[i]);
  return t;
}

// One node in a graph of its own, placed on oneDNN, compiled and ready to run.
class OneDnnCase {
 public:
  // `constant` lists the inputs given as initializers (weights), the others are graph inputs.
  OneDnnCase(const OpCall& call, const std::vector<size_t>& constant) {
    const ir::Node node = node_for(call);
    for (size_t i = 0; i < call.inputs.size(); ++i) {
      const std::string& name = node.inputs[i];
      if (name.empty()) continue;
      if (std::find(constant.begin(), constant.end(), i) != constant.end()) {
        graph_.initializers[name] = call.inputs[i];
      } else {
        ir::ValueInfo v;
        v.name = name;
        v.type.kind = ir::TypeInfo::Kind::kTensor;
        v.type.dtype = call.inputs[i].dtype();
        std::vector<ir::Dim> dims;
        for (int64_t d : call.inputs[i].shape()) dims.push_back(ir::Dim{d, ""});
        v.type.shape = dims;
        graph_.inputs.push_back(v);
        feeds_.push_back(call.inputs[i]);
      }
    }
    graph_.nodes.push_back(node);
    for (const ir::ValueInfo& in : graph_.inputs) input_slots_.push_back(slots_.add(in.name));
    for (const auto& [name, t] : graph_.initializers) constants_.emplace_back(slots_.add(name), t);
    for (const std::string& out : node.outputs) output_slots_.push_back(slots_.add(out));

    const ValueTypes types = runtime::infer_value_types(graph_, {});
    claimed_ = backend_.supports(graph_.nodes[0], graph_, types, &why_not_);
    if (!claimed_) return;
    Partition partition;
    partition.graph = &graph_;
    partition.nodes = {0};
    partition.slots = &slots_;
    partition.release_after = {{}};
    Result<std::unique_ptr<Executable>> compiled = backend_.compile(partition);
    EXPECT_TRUE(compiled.is_ok()) << compiled.status().to_string();
    if (compiled.is_ok()) executable_ = std::move(compiled).value();
  }

  bool claimed() const { return claimed_; }
  // Shapes that ran on the reference kernel instead of oneDNN.
  size_t fallbacks() const { return executable_ ? onednn::reference_fallbacks(*executable_) : 0; }
  const std::string& why_not() const { return why_not_; }

  Result<std::vector<Tensor>> run(const std::vector<Tensor>* feeds = nullptr) const {
    if (!executable_) return internal_error("not compiled");
    ExecutionFrame frame;
    frame.slots = &slots_;
    frame.values.resize(slots_.size());
    for (const auto& [slot, t] : constants_) frame.values[static_cast<size_t>(slot)] = Value(t);
    const std::vector<Tensor>& in = feeds != nullptr ? *feeds : feeds_;
    for (size_t i = 0; i < input_slots_.size(); ++i) {
      frame.values[static_cast<size_t>(input_slots_[i])] = Value(in[i]);
    }
    ER_RETURN_IF_ERROR(executable_->run(frame));
    std::vector<Tensor> outputs;
    for (int slot : output_slots_) {
      const Value& v = frame.values[static_cast<size_t>(slot)];
      outputs.push_back(v.is_tensor() ? v.tensor() : Tensor());
    }
    return outputs;
  }

 private:
  onednn::OneDnnBackend backend_;
  ir::Graph graph_;
  SlotTable slots_;
  std::vector<int> input_slots_, output_slots_;
  std::vector<std::pair<int, Tensor>> constants_;
  std::vector<Tensor> feeds_;
  bool claimed_ = false;
  std::string why_not_;
  std::unique_ptr<Executable> executable_;
};

// Runs `call` on oneDNN (which must claim it) and on the reference, and compares. Unless
// `falls_back`, oneDNN itself must have run it (not the reference kernel it falls back to).
void expect_matches_reference(const OpCall& call, const std::vector<size_t>& constant = {},
                              bool falls_back = false) {
  SCOPED_TRACE(call.op_type);
  OneDnnCase c(call, constant);
  ASSERT_TRUE(c.claimed()) << "oneDNN does not claim it: " << c.why_not();
  Result<std::vector<Tensor>> got = c.run();
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  EXPECT_EQ(c.fallbacks(), falls_back ? 1u : 0u);
  std::vector<Tensor> want = run_all(call);
  ASSERT_EQ(got->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_TRUE(tensors_close(got.value()[i], want[i], kRtol, kAtol)) << "output " << i;
  }
}

// The same case with its weights (input 1 onwards) as graph inputs and as initializers, so
// both the per-run path and the reorder-once path are checked.
void expect_matches_reference_both_ways(const OpCall& call) {
  expect_matches_reference(call);
  std::vector<size_t> weights;
  for (size_t i = 1; i < call.inputs.size(); ++i) weights.push_back(i);
  expect_matches_reference(call, weights);
}

TEST(OneDnnConv, Basic2dWithBias) {
  expect_matches_reference_both_ways(
      op("Conv", {random({2, 3, 9, 9}, 1), random({4, 3, 3, 3}, 2), random({4}, 3)},
         {attr("pads", std::vector<int64_t>{1, 1, 1, 1})}));
}

TEST(OneDnnConv, StridesDilationsAsymmetricPads) {
  expect_matches_reference_both_ways(op(
      "Conv", {random({1, 4, 11, 10}, 1), random({8, 4, 3, 2}, 2)},
      {attr("strides", std::vector<int64_t>{2, 1}), attr("dilations", std::vector<int64_t>{2, 3}),
       attr("pads", std::vector<int64_t>{0, 1, 2, 0})}));
}

TEST(OneDnnConv, AutoPad) {
  for (const char* mode : {"SAME_UPPER", "SAME_LOWER", "VALID"}) {
    SCOPED_TRACE(mode);
    expect_matches_reference_both_ways(
        op("Conv", {random({1, 2, 7, 8}, 1), random({3, 2, 4, 3}, 2)},
           {attr("auto_pad", std::string(mode)), attr("strides", std::vector<int64_t>{2, 2})}));
  }
}

TEST(OneDnnConv, GroupedAndDepthwise) {
  expect_matches_reference_both_ways(
      op("Conv", {random({2, 6, 8, 8}, 1), random({4, 3, 3, 3}, 2), random({4}, 3)},
         {attr("group", int64_t{2}), attr("pads", std::vector<int64_t>{1, 1, 1, 1})}));
  expect_matches_reference_both_ways(
      op("Conv", {random({1, 8, 10, 10}, 4), random({8, 1, 3, 3}, 5), random({8}, 6)},
         {attr("group", int64_t{8}), attr("strides", std::vector<int64_t>{2, 2}),
          attr("pads", std::vector<int64_t>{1, 1, 1, 1})}));
}

TEST(OneDnnConv, OneAndThreeSpatialDims) {
  expect_matches_reference_both_ways(
      op("Conv", {random({2, 3, 17}, 1), random({5, 3, 4}, 2), random({5}, 3)},
         {attr("pads", std::vector<int64_t>{2, 1}), attr("strides", std::vector<int64_t>{3})}));
  expect_matches_reference_both_ways(op("Conv",
                                        {random({1, 2, 5, 6, 7}, 1), random({3, 2, 2, 3, 2}, 2)},
                                        {attr("pads", std::vector<int64_t>{1, 0, 1, 0, 1, 0})}));
}

TEST(OneDnnConv, StridedOneByOne) {
  // Plain (nchw) inputs: oneDNN cannot view every other column of them, so these run strided
  // (lower_conv.cpp, subsampled); odd sizes leave a last row and column the strides skip.
  expect_matches_reference_both_ways(
      op("Conv", {random({2, 16, 9, 9}, 1), random({24, 16, 1, 1}, 2), random({24}, 3)},
         {attr("strides", std::vector<int64_t>{2, 2})}));
  expect_matches_reference_both_ways(
      op("Conv", {random({1, 8, 10, 7}, 4), random({12, 8, 1, 1}, 5)},
         {attr("strides", std::vector<int64_t>{3, 2})}));
}

TEST(OneDnnGemm, TransposesAlphaBetaAndBroadcastC) {
  const std::vector<Tensor> cs = {Tensor(), random({5}, 3), random({4, 1}, 4), random({4, 5}, 5),
                                  random({}, 6)};
  for (const Tensor& c : cs) {
    for (int64_t ta : {0, 1}) {
      for (int64_t tb : {0, 1}) {
        SCOPED_TRACE("transA " + std::to_string(ta) + " transB " + std::to_string(tb) + " C " +
                     (c.defined() ? shape_to_string(c.shape()) : "none"));
        Tensor a = ta ? random({6, 4}, 1) : random({4, 6}, 1);
        Tensor b = tb ? random({5, 6}, 2) : random({6, 5}, 2);
        std::vector<Tensor> inputs = {a, b};
        if (c.defined()) inputs.push_back(c);
        expect_matches_reference_both_ways(
            op("Gemm", inputs,
               {attr("transA", ta), attr("transB", tb), attr("alpha", 0.5f), attr("beta", 2.0f)}));
      }
    }
  }
  expect_matches_reference(op("Gemm", {random({3, 7}, 1), random({7, 2}, 2), random({2}, 3)}));
}

TEST(OneDnnMatMul, BatchedBroadcastAndVectors) {
  expect_matches_reference_both_ways(op("MatMul", {random({5, 7}, 1), random({7, 3}, 2)}));
  expect_matches_reference_both_ways(op("MatMul", {random({2, 5, 7}, 1), random({2, 7, 3}, 2)}));
  expect_matches_reference_both_ways(op("MatMul", {random({2, 1, 5, 7}, 1), random({3, 7, 4}, 2)}));
  expect_matches_reference_both_ways(op("MatMul", {random({4, 5, 7}, 1), random({7, 3}, 2)}));
  expect_matches_reference_both_ways(op("MatMul", {random({7}, 1), random({2, 7, 3}, 2)}));
  expect_matches_reference_both_ways(op("MatMul", {random({2, 5, 7}, 1), random({7}, 2)}));
  expect_matches_reference_both_ways(op("MatMul", {random({7}, 1), random({7}, 2)}));
}

TEST(OneDnnPool, MaxPool) {
  expect_matches_reference(op("MaxPool", {random({2, 3, 9, 8})},
                              {attr("kernel_shape", std::vector<int64_t>{3, 2}),
                               attr("strides", std::vector<int64_t>{2, 2}),
                               attr("pads", std::vector<int64_t>{1, 0, 1, 1})}));
  expect_matches_reference(op("MaxPool", {random({1, 2, 10, 10})},
                              {attr("kernel_shape", std::vector<int64_t>{2, 2}),
                               attr("dilations", std::vector<int64_t>{2, 2})}));
  expect_matches_reference(op(
      "MaxPool", {random({1, 2, 7, 7})},
      {attr("kernel_shape", std::vector<int64_t>{3, 3}),
       attr("strides", std::vector<int64_t>{2, 2}), attr("auto_pad", std::string("SAME_UPPER"))}));
  expect_matches_reference(
      op("MaxPool", {random({1, 2, 11})}, {attr("kernel_shape", std::vector<int64_t>{3})}));
}

TEST(OneDnnPool, AveragePoolWithAndWithoutPadCounting) {
  for (int64_t include : {0, 1}) {
    SCOPED_TRACE("count_include_pad " + std::to_string(include));
    expect_matches_reference(
        op("AveragePool", {random({2, 3, 8, 9})},
           {attr("kernel_shape", std::vector<int64_t>{3, 3}),
            attr("strides", std::vector<int64_t>{2, 1}),
            attr("pads", std::vector<int64_t>{1, 1, 0, 2}), attr("count_include_pad", include)}));
    expect_matches_reference(op("AveragePool", {random({1, 2, 5, 6, 4})},
                                {attr("kernel_shape", std::vector<int64_t>{2, 3, 2}),
                                 attr("pads", std::vector<int64_t>{1, 1, 1, 0, 1, 0}),
                                 attr("count_include_pad", include)}));
  }
}

TEST(OneDnnPool, GlobalPools) {
  expect_matches_reference(op("GlobalAveragePool", {random({2, 5, 7, 6})}));
  expect_matches_reference(op("GlobalMaxPool", {random({2, 5, 7, 6})}));
  expect_matches_reference(op("GlobalAveragePool", {random({3, 4, 10})}));
}

TEST(OneDnnBatchNorm, Inference) {
  expect_matches_reference_both_ways(op(
      "BatchNormalization",
      {random({2, 3, 4, 5}, 1), random({3}, 2), random({3}, 3), random({3}, 4), positive({3}, 5)},
      {attr("epsilon", 1e-3f)}, 15));
  expect_matches_reference_both_ways(
      op("BatchNormalization",
         {random({4, 6}, 1), random({6}, 2), random({6}, 3), random({6}, 4), positive({6}, 5)}, {},
         9));
}

TEST(OneDnnEltwise, Activations) {
  const Tensor x = random({2, 3, 4, 5});
  for (const char* name :
       {"Relu", "Sigmoid", "Tanh", "HardSwish", "Softplus", "Exp", "Abs", "Neg"}) {
    expect_matches_reference(op(name, {x}));
  }
  expect_matches_reference(op("LeakyRelu", {x}, {attr("alpha", 0.2f)}));
  expect_matches_reference(op("Elu", {x}, {attr("alpha", 0.7f)}));
  expect_matches_reference(op("Sqrt", {positive({3, 4})}));
  // No hardsigmoid in oneDNN 2.6: a linear step and a clip, checked on both sides of 0 and 1.
  expect_matches_reference(op("HardSigmoid", {x}));
  Tensor wide = random({4, 6}, 3);
  for (int64_t i = 0; i < wide.size(); ++i) wide.data<float>()[i] *= 8.0f;
  expect_matches_reference(op("HardSigmoid", {wide}, {attr("alpha", 0.3f), attr("beta", 0.4f)}));
}

TEST(OneDnnEltwise, ClipWithConstantBoundsAndAttributes) {
  const Tensor x = random({3, 7});
  expect_matches_reference(op("Clip", {x, Tensor::scalar(-0.25f), Tensor::scalar(0.5f)}, {}, 13),
                           {1, 2});
  expect_matches_reference(op("Clip", {x, Tensor(), Tensor::scalar(0.1f)}, {}, 13), {2});
  expect_matches_reference(op("Clip", {x}, {attr("min", -0.3f), attr("max", 0.3f)}, 6));
  // Bounds that arrive at run time are not claimed: they would be baked into the primitive.
  OneDnnCase runtime_bounds(op("Clip", {x, Tensor::scalar(-0.25f), Tensor::scalar(0.5f)}, {}, 13),
                            {});
  EXPECT_FALSE(runtime_bounds.claimed());
  EXPECT_NE(runtime_bounds.why_not().find("not constant"), std::string::npos);
}

TEST(OneDnnBinary, BroadcastingEitherSide) {
  for (const char* name : {"Add", "Sub", "Mul", "Div"}) {
    SCOPED_TRACE(name);
    expect_matches_reference(op(name, {random({2, 3, 4}, 1), positive({2, 3, 4}, 2)}));
    expect_matches_reference(op(name, {random({2, 3, 4}, 1), positive({4}, 2)}));
    expect_matches_reference(op(name, {random({2, 3, 4}, 1), positive({3, 1}, 2)}));
    expect_matches_reference(op(name, {random({2, 3, 4}, 1), positive({}, 2)}));
    // The first input broadcasts: Add, Mul and Sub swap operands, Div falls back at run time.
    expect_matches_reference(op(name, {random({3, 1}, 1), positive({2, 3, 4}, 2)}), {},
                             std::string(name) == "Div");
    // Both broadcast: the reference kernel runs it.
    expect_matches_reference(op(name, {random({3, 1}, 1), positive({1, 4}, 2)}), {}, true);
  }
}

TEST(OneDnnSoftmax, AxisSemanticsBeforeAndFromOpset13) {
  const Tensor x = random({2, 3, 4});
  for (int64_t axis : {0, 1, 2, -1}) {
    SCOPED_TRACE("axis " + std::to_string(axis));
    expect_matches_reference(op("Softmax", {x}, {attr("axis", axis)}, 13));
    expect_matches_reference(op("Softmax", {x}, {attr("axis", axis)}, 11));
    expect_matches_reference(op("LogSoftmax", {x}, {attr("axis", axis)}, 13));
    expect_matches_reference(op("LogSoftmax", {x}, {attr("axis", axis)}, 11));
  }
  expect_matches_reference(op("Softmax", {x}, {}, 13));
  expect_matches_reference(op("Softmax", {x}, {}, 1));
}

TEST(OneDnnClaims, RefusalsCarryReasons) {
  OneDnnCase ints(op("Add", {make<int32_t>({2}, {1, 2}), make<int32_t>({2}, {3, 4})}), {});
  EXPECT_FALSE(ints.claimed());
  EXPECT_NE(ints.why_not().find("int32"), std::string::npos) << ints.why_not();
  OneDnnCase log(op("Log", {positive({3})}), {});
  EXPECT_FALSE(log.claimed());
  EXPECT_FALSE(log.why_not().empty());
  OneDnnCase indices(op("MaxPool", {random({1, 1, 4, 4})},
                        {attr("kernel_shape", std::vector<int64_t>{2, 2})}, 12, 2),
                     {});
  EXPECT_FALSE(indices.claimed());
  EXPECT_NE(indices.why_not().find("output 1"), std::string::npos) << indices.why_not();
  OneDnnCase ceil(op("MaxPool", {random({1, 1, 5, 5})},
                     {attr("kernel_shape", std::vector<int64_t>{2, 2}),
                      attr("ceil_mode", int64_t{1}), attr("strides", std::vector<int64_t>{2, 2})}),
                  {});
  EXPECT_FALSE(ceil.claimed());
  EXPECT_NE(ceil.why_not().find("ceil_mode"), std::string::npos) << ceil.why_not();
  OneDnnCase topk(op("TopK", {random({4}), make<int64_t>({1}, {2})}, {}, 11, 2), {});
  EXPECT_FALSE(topk.claimed());
  EXPECT_NE(topk.why_not().find("no oneDNN lowering"), std::string::npos);
}

TEST(OneDnnExecutable, NewShapesBuildNewPrimitivesAndConcurrentRunsAgree) {
  const OpCall call = op("Conv", {random({1, 3, 8, 8}, 1), random({4, 3, 3, 3}, 2)},
                         {attr("pads", std::vector<int64_t>{1, 1, 1, 1})});
  OneDnnCase c(call, {1});
  ASSERT_TRUE(c.claimed()) << c.why_not();
  // Same weights, inputs of two batch sizes and spatial sizes through one executable.
  std::vector<std::vector<Tensor>> feeds = {{random({1, 3, 8, 8}, 7)}, {random({3, 3, 5, 6}, 8)}};
  std::vector<Tensor> expected;
  for (const auto& f : feeds) {
    OpCall ref = call;
    ref.inputs[0] = f[0];
    expected.push_back(run1(ref));
    Result<std::vector<Tensor>> got = c.run(&f);
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    EXPECT_TRUE(tensors_close(got.value()[0], expected.back(), kRtol, kAtol));
  }
  EXPECT_EQ(c.fallbacks(), 0u);
  constexpr int kThreads = 4;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < 20; ++r) {
        const size_t which = static_cast<size_t>((t + r) % 2);
        Result<std::vector<Tensor>> got = c.run(&feeds[which]);
        if (!got.is_ok() || !tensors_close(got.value()[0], expected[which], kRtol, kAtol)) {
          ++mismatches[static_cast<size_t>(t)];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[static_cast<size_t>(t)], 0);
}


// ---- ConvTranspose, Concat, LayerNormalization -------------------------------------------------

using Ints = std::vector<int64_t>;

TEST(OneDnnConvTranspose, StridesPadsOutputPaddingAndBias) {
  expect_matches_reference_both_ways(
      op("ConvTranspose", {random({2, 3, 5, 5}, 1), random({3, 4, 3, 3}, 2), random({4}, 3)},
         {attr("strides", Ints{2, 2}), attr("pads", Ints{1, 1, 1, 1}),
          attr("output_padding", Ints{1, 1})}));
  expect_matches_reference_both_ways(
      op("ConvTranspose", {random({1, 2, 4, 6}, 1), random({2, 3, 2, 3}, 2)},
         {attr("strides", Ints{3, 2}), attr("pads", Ints{0, 2, 1, 0})}));
  // output_padding beyond the end padding makes the result larger than oneDNN's: the reference
  // kernel runs it.
  expect_matches_reference(
      op("ConvTranspose", {random({1, 2, 4, 4}, 1), random({2, 3, 3, 3}, 2), random({3}, 3)},
         {attr("strides", Ints{2, 2}), attr("output_padding", Ints{1, 0})}),
      {}, true);
}

TEST(OneDnnConvTranspose, GroupsAndDilations) {
  expect_matches_reference_both_ways(
      op("ConvTranspose", {random({1, 4, 4, 5}, 1), random({4, 3, 3, 2}, 2), random({6}, 3)},
         {attr("group", int64_t{2}), attr("strides", Ints{2, 1}), attr("dilations", Ints{1, 2}),
          attr("pads", Ints{0, 1, 1, 0})}));
  // Depthwise.
  expect_matches_reference_both_ways(
      op("ConvTranspose", {random({2, 3, 5, 5}, 4), random({3, 1, 3, 3}, 5)},
         {attr("group", int64_t{3}), attr("strides", Ints{2, 2})}));
}

TEST(OneDnnConvTranspose, OneAndThreeSpatialDims) {
  expect_matches_reference_both_ways(
      op("ConvTranspose", {random({2, 3, 6}, 1), random({3, 2, 4}, 2), random({2}, 3)},
         {attr("strides", Ints{3})}));
  expect_matches_reference_both_ways(
      op("ConvTranspose", {random({1, 2, 3, 4, 3}, 1), random({2, 2, 2, 2, 2}, 2)},
         {attr("strides", Ints{2, 2, 2}), attr("pads", Ints{0, 1, 0, 1, 0, 0})}));
}

TEST(OneDnnConvTranspose, OutputShapeAndAutoPad) {
  const Tensor x = random({1, 2, 5, 5}, 1), w = random({2, 3, 3, 3}, 2);
  expect_matches_reference_both_ways(
      op("ConvTranspose", {x, w},
         {attr("strides", Ints{2, 2}), attr("output_shape", Ints{10, 11})}));
  for (const char* mode : {"SAME_UPPER", "SAME_LOWER", "VALID"}) {
    SCOPED_TRACE(mode);
    expect_matches_reference_both_ways(
        op("ConvTranspose", {x, w},
           {attr("strides", Ints{2, 2}), attr("auto_pad", std::string(mode))}));
  }
}

TEST(OneDnnConcat, AnyAxis) {
  for (int64_t axis : {0, 1, 2, -1, -3}) {
    SCOPED_TRACE("axis " + std::to_string(axis));
    const size_t a = static_cast<size_t>(axis < 0 ? axis + 3 : axis);
    Shape s0 = {2, 3, 4}, s1 = s0, s2 = s0;
    s1[a] = 1;
    s2[a] = 5;
    expect_matches_reference(
        op("Concat", {random(s0, 1), random(s1, 2), random(s2, 3)}, {attr("axis", axis)}, 13));
  }
  expect_matches_reference(op("Concat", {random({7}, 1)}, {attr("axis", int64_t{0})}, 13));
  expect_matches_reference(
      op("Concat", {random({2, 1, 3, 2, 2}, 1), random({2, 1, 3, 2, 1}, 2)},
         {attr("axis", int64_t{4})}, 11));
  OneDnnCase old(op("Concat", {random({2}, 1), random({2}, 2)}, {attr("axis", int64_t{0})}, 1), {});
  EXPECT_FALSE(old.claimed());
}

TEST(OneDnnLayerNorm, AxisEpsilonScaleAndBias) {
  const Tensor x = random({2, 3, 8}, 1);
  expect_matches_reference_both_ways(
      op("LayerNormalization", {x, positive({8}, 2), random({8}, 3)}, {}, 17));
  expect_matches_reference_both_ways(
      op("LayerNormalization", {x, positive({3, 8}, 2), random({3, 8}, 3)},
         {attr("axis", int64_t{1}), attr("epsilon", 1e-3f)}, 17));
  expect_matches_reference_both_ways(
      op("LayerNormalization", {x, positive({2, 3, 8}, 2)}, {attr("axis", int64_t{-3})}, 17));
  expect_matches_reference_both_ways(
      op("LayerNormalization", {random({4, 64}, 4), positive({64}, 5), random({1, 64}, 6)}, {},
         17));
  // Scale broadcasting within the normalised dims does not map: the reference kernel runs it.
  expect_matches_reference(
      op("LayerNormalization", {x, positive({1, 8}, 2)}, {attr("axis", int64_t{1})}, 17), {}, true);
}

TEST(OneDnnLayerNorm, MeanAndInvStdDevOutputsAreNotClaimed) {
  OneDnnCase stats(op("LayerNormalization", {random({2, 8}), positive({8})}, {}, 17, 3), {});
  EXPECT_FALSE(stats.claimed());
  EXPECT_NE(stats.why_not().find("InvStdDev"), std::string::npos) << stats.why_not();
  OneDnnCase stash(op("LayerNormalization", {random({2, 8}), positive({8})},
                      {attr("stash_type", int64_t{11})}, 17),
                   {});
  EXPECT_FALSE(stash.claimed());
}

// ---- Attention (ai.edgerun, internal; built by opt/fuse_attention) -----------------------------

OpCall attention(std::vector<Tensor> inputs, float scale, bool divides, bool scale_query) {
  OpCall call = op("Attention", std::move(inputs),
                   {attr("scale", scale), attr("scale_divides", int64_t{divides ? 1 : 0}),
                    attr("scale_query", int64_t{scale_query ? 1 : 0})},
                   1);
  call.domain = "ai.edgerun";
  return call;
}

TEST(OneDnnAttention, SequenceMajorHeadsWithoutMask) {
  // nn.MultiheadAttention's layout: [S, B*H, D]; Sk != S and Dv != D.
  expect_matches_reference(
      attention({random({7, 3, 8}, 1), random({5, 3, 8}, 2), random({5, 3, 6}, 3)}, 8.0f, true,
                true));
  // BERT-base-like geometry.
  expect_matches_reference(
      attention({random({16, 4, 64}, 4), random({16, 4, 64}, 5), random({16, 4, 64}, 6)}, 8.0f,
                true, true));
}

TEST(OneDnnAttention, BatchedWithScaledScoresAndMask) {
  const Tensor q = random({2, 6, 3, 8}, 1), k = random({2, 5, 3, 8}, 2), v = random({2, 5, 3, 4}, 3);
  expect_matches_reference(attention({q, k, v, random({2, 1, 1, 5}, 4)}, 0.35f, false, false));
  expect_matches_reference(attention({q, k, v, random({6, 5}, 5)}, 0.35f, false, false));
  expect_matches_reference(attention({q, k, v, random({2, 3, 6, 5}, 6)}, 1.0f, false, false), {3});
  // A mask that would widen the scores is an error of the kernel.
  EXPECT_FALSE(run_op(attention({q, k, v, random({2, 3, 6, 5, 2}, 7)}, 1.0f, false, false)).is_ok());
}

// ---- fused post-ops: small graphs through the partitioner and the whole runtime -------------

// A graph built node by node, run with oneDNN first (then the reference) and with the
// reference alone.
class FusionCase {
 public:
  FusionCase() = default;
  // A backend with `threads` threads that picks its one-thread nodes by `choice`.
  FusionCase(int threads, onednn::ThreadChoice choice) : onednn_(threads, choice) {}

  void input(const std::string& name, const Tensor& t) {
    ir::ValueInfo v;
    v.name = name;
    v.type.kind = ir::TypeInfo::Kind::kTensor;
    v.type.dtype = t.dtype();
    std::vector<ir::Dim> dims;
    for (int64_t d : t.shape()) dims.push_back(ir::Dim{d, ""});
    v.type.shape = dims;
    graph_.inputs.push_back(v);
    feeds_.emplace_back(t);
    shapes_.push_back(t.shape());
  }
  void constant(const std::string& name, const Tensor& t) { graph_.initializers[name] = t; }
  // A node of the default domain, or of `domain` (ai.edgerun for the internal ops).
  void node(const std::string& type, std::vector<std::string> inputs, const std::string& output,
            std::vector<ir::Attribute> attrs = {}, int64_t opset = 17,
            const std::string& domain = "") {
    ir::Node n;
    n.name = output;
    n.op_type = type;
    n.domain = domain;
    n.op = ir::find_op(domain, type);
    n.opset = opset;
    n.inputs = std::move(inputs);
    n.outputs = {output};
    n.attributes = std::move(attrs);
    graph_.nodes.push_back(std::move(n));
  }
  void output(const std::string& name) {
    ir::ValueInfo v;
    v.name = name;
    graph_.outputs.push_back(v);
  }

  // Runs both ways and compares; returns the chains oneDNN fused (node names, base first).
  // Unless `unfused` (count of chains whose shapes could not be fused), every chain must have
  // run as one primitive.
  std::vector<std::vector<std::string>> run_and_compare(size_t unfused = 0) {
    std::vector<std::vector<std::string>> fused;
    Result<std::unique_ptr<runtime::Program>> accel =
        runtime::Program::build(graph_, {&onednn_, &reference_}, shapes_);
    Result<std::unique_ptr<runtime::Program>> exact =
        runtime::Program::build(graph_, {&reference_}, shapes_);
    EXPECT_TRUE(accel.is_ok()) << accel.status().to_string();
    EXPECT_TRUE(exact.is_ok()) << exact.status().to_string();
    if (!accel.is_ok() || !exact.is_ok()) return fused;
    // Every node, fused or not, is placed on oneDNN with no reason recorded against it.
    std::vector<std::string> placed(graph_.nodes.size());
    for (const runtime::Step& step : accel.value()->steps()) {
      for (size_t i : step.nodes) placed[i] = std::string(step.backend->name());
      for (const auto& chain : onednn::fused_chains(*step.executable)) {
        std::vector<std::string> names;
        for (size_t i : chain) names.push_back(graph_.nodes[i].name);
        fused.push_back(names);
      }
    }
    for (size_t i = 0; i < graph_.nodes.size(); ++i) {
      EXPECT_EQ(placed[i], "onednn") << graph_.nodes[i].name;
      EXPECT_EQ(accel.value()->placement_reasons()[i], "") << graph_.nodes[i].name;
    }
    lowered_before_run_ = 0;
    for (const runtime::Step& step : accel.value()->steps()) {
      lowered_before_run_ += onednn::lowered_count(*step.executable);
    }
    for (int repeat = 0; repeat < 2; ++repeat) {  // the second run reuses the primitives
      Result<std::vector<Value>> got = accel.value()->run(feeds_);
      Result<std::vector<Value>> want = exact.value()->run(feeds_);
      EXPECT_TRUE(got.is_ok()) << got.status().to_string();
      EXPECT_TRUE(want.is_ok()) << want.status().to_string();
      if (!got.is_ok() || !want.is_ok()) return fused;
      EXPECT_EQ(got->size(), want->size());
      for (size_t i = 0; i < std::min(got->size(), want->size()); ++i) {
        EXPECT_TRUE(tensors_close(got.value()[i].tensor(), want.value()[i].tensor(), kRtol, kAtol))
            << "output " << graph_.outputs[i].name;
      }
      expected_ = std::move(want).value();
    }
    size_t unfused_runs = 0;
    for (const runtime::Step& step : accel.value()->steps()) {
      EXPECT_EQ(onednn::reference_fallbacks(*step.executable), 0u);
      unfused_runs += onednn::unfused_runs(*step.executable);
    }
    EXPECT_EQ(unfused_runs, unfused);
    program_ = std::move(accel).value();
    return fused;
  }

  // After run_and_compare: the oneDNN steps' lowered forms (before the first run and now) and
  // layout statistics (two runs together).
  size_t lowered_before_run() const { return lowered_before_run_; }
  size_t lowered_now() const {
    size_t count = 0;
    for (const runtime::Step& step : program_->steps()) count += onednn::lowered_count(*step.executable);
    return count;
  }
  size_t single_thread_nodes() const {
    size_t count = 0;
    for (const runtime::Step& step : program_->steps()) {
      count += onednn::single_thread_nodes(*step.executable);
    }
    return count;
  }
  size_t depthwise_post_op_nodes() const {
    size_t count = 0;
    for (const runtime::Step& step : program_->steps()) {
      count += onednn::depthwise_post_op_nodes(*step.executable);
    }
    return count;
  }
  size_t winograd_nodes() const {
    size_t count = 0;
    for (const runtime::Step& step : program_->steps()) {
      count += onednn::winograd_nodes(*step.executable);
    }
    return count;
  }
  // How many nodes edgerun's own kernel computing `what` runs (PreparedNode::own_kernel).
  size_t own_kernel_nodes(const std::string& what) const {
    size_t count = 0;
    for (const runtime::Step& step : program_->steps()) {
      const auto counts = onednn::own_kernel_nodes(*step.executable);
      const auto found = counts.find(what);
      count += found == counts.end() ? 0 : found->second;
    }
    return count;
  }
  size_t team_split_nodes() const {
    size_t count = 0;
    for (const runtime::Step& step : program_->steps()) {
      count += onednn::team_split_nodes(*step.executable);
    }
    return count;
  }
  onednn::ThreadChoiceStats thread_choice_stats() const {
    onednn::ThreadChoiceStats total;
    for (const runtime::Step& step : program_->steps()) {
      const onednn::ThreadChoiceStats s = onednn::thread_choice_stats(*step.executable);
      total.timed += s.timed;
      total.timed_one_thread += s.timed_one_thread;
    }
    return total;
  }
  // After run_and_compare: runs the oneDNN program from `callers` threads at once, `runs` times
  // each, and counts the runs whose outputs differ from the reference's.
  int concurrent_mismatches(int callers, int runs) const {
    std::atomic<int> mismatches{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < callers; ++t) {
      threads.emplace_back([&] {
        for (int r = 0; r < runs; ++r) {
          Result<std::vector<Value>> got = program_->run(feeds_);
          bool same = got.is_ok() && got->size() == expected_.size();
          for (size_t i = 0; same && i < expected_.size(); ++i) {
            same = tensors_close(got.value()[i].tensor(), expected_[i].tensor(), kRtol, kAtol);
          }
          if (!same) ++mismatches;
        }
      });
    }
    for (auto& th : threads) th.join();
    return mismatches.load();
  }
  onednn::LayoutStats layout_stats() const {
    onednn::LayoutStats total;
    for (const runtime::Step& step : program_->steps()) {
      const onednn::LayoutStats s = onednn::layout_stats(*step.executable);
      total.blocked_reads += s.blocked_reads;
      total.conversions += s.conversions;
    }
    return total;
  }

 private:
  onednn::OneDnnBackend onednn_;
  reference::ReferenceBackend reference_;
  ir::Graph graph_;
  std::vector<Value> feeds_;
  std::vector<Shape> shapes_;
  std::unique_ptr<runtime::Program> program_;
  std::vector<Value> expected_;  // the reference's outputs, from run_and_compare
  size_t lowered_before_run_ = 0;
};

using Chains = std::vector<std::vector<std::string>>;

TEST(OneDnnFusion, ConvBiasActivationAndResidualAdd) {
  FusionCase c;
  c.input("x", random({2, 4, 9, 9}, 1));
  c.constant("w", random({4, 4, 3, 3}, 2));
  c.constant("b", random({4}, 3));
  c.node("Conv", {"x", "w", "b"}, "conv", {attr("pads", std::vector<int64_t>{1, 1, 1, 1})});
  c.node("Relu", {"conv"}, "relu");
  c.node("Add", {"x", "relu"}, "sum");  // the residual on the left: Add is commutative
  c.node("Sigmoid", {"sum"}, "y");
  c.output("y");
  EXPECT_EQ(c.run_and_compare(), (Chains{{"conv", "relu", "sum", "y"}}));
}

TEST(OneDnnFusion, StridedOneByOneOverChannelsLastWithItsActivation) {
  // Inside a partition the first convolution writes the layout oneDNN picks (channels-last
  // here), which the strided 1x1 reads through its subsampled view and runs at stride 1 over
  // (lower_conv.cpp, subsampled).
  FusionCase c;
  c.input("x", random({1, 8, 15, 15}, 1));
  c.constant("w1", random({16, 8, 3, 3}, 2));
  c.constant("w2", random({32, 16, 1, 1}, 3));
  c.constant("b2", random({32}, 4));
  c.node("Conv", {"x", "w1"}, "conv1", {attr("pads", std::vector<int64_t>{1, 1, 1, 1})});
  c.node("Conv", {"conv1", "w2", "b2"}, "conv2", {attr("strides", std::vector<int64_t>{2, 2})});
  c.node("Relu", {"conv2"}, "y");
  c.output("y");
  EXPECT_EQ(c.run_and_compare(), (Chains{{"conv2", "y"}}));
  // A Swish that ends the chain runs as our kernel after the subsampled convolution.
  FusionCase d;
  d.input("x", random({1, 8, 15, 15}, 1));
  d.constant("w1", random({16, 8, 3, 3}, 2));
  d.constant("w2", random({32, 16, 1, 1}, 3));
  d.node("Conv", {"x", "w1"}, "conv1", {attr("pads", std::vector<int64_t>{1, 1, 1, 1})});
  d.node("Conv", {"conv1", "w2"}, "conv2", {attr("strides", std::vector<int64_t>{2, 2})});
  d.node("Swish", {"conv2"}, "y", {}, 1, "ai.edgerun");
  d.output("y");
  EXPECT_EQ(d.run_and_compare(), (Chains{{"conv2", "y"}}));
}

TEST(OneDnnFusion, EveryActivationFusesAfterConv) {
  struct Act {
    const char* op;
    std::vector<ir::Attribute> attrs;
  };
  const std::vector<Act> acts = {{"Relu", {}},    {"Sigmoid", {}}, {"Tanh", {}},
                                 {"HardSwish", {}}, {"Softplus", {}}, {"HardSigmoid", {}},
                                 {"LeakyRelu", {attr("alpha", 0.15f)}},
                                 {"Elu", {attr("alpha", 0.6f)}}};
  for (const Act& act : acts) {
    SCOPED_TRACE(act.op);
    FusionCase c;
    c.input("x", random({1, 3, 7, 7}, 1));
    c.constant("w", random({5, 3, 3, 3}, 2));
    c.node("Conv", {"x", "w"}, "conv");
    c.node(act.op, {"conv"}, "y", act.attrs);
    c.output("y");
    EXPECT_EQ(c.run_and_compare(), (Chains{{"conv", "y"}}));
  }
}

TEST(OneDnnFusion, ClipWithConstantBoundsInputsAndAttributes) {
  FusionCase c;
  c.input("x", random({1, 3, 8, 8}, 1));
  c.constant("w", random({6, 3, 3, 3}, 2));
  c.constant("lo", Tensor::scalar(-0.2f));
  c.constant("hi", Tensor::scalar(0.3f));
  c.node("Conv", {"x", "w"}, "conv", {attr("group", int64_t{1})});
  c.node("Clip", {"conv", "lo", "hi"}, "clip", {}, 13);
  c.node("Conv", {"clip", "w2"}, "conv2", {attr("group", int64_t{6})});
  c.constant("w2", random({6, 1, 3, 3}, 3));
  c.node("Clip", {"conv2"}, "y", {attr("min", 0.0f), attr("max", 0.25f)}, 6);
  c.output("y");
  EXPECT_EQ(c.run_and_compare(), (Chains{{"conv", "clip"}, {"conv2", "y"}}));
}

TEST(OneDnnFusion, GemmAndMatMulWithBiasActivationAndBroadcastAdd) {
  FusionCase c;
  c.input("a", random({6, 8}, 1));
  c.constant("b", random({8, 5}, 2));
  c.constant("c", random({5}, 3));
  c.input("r", random({6, 1}, 4));
  c.node("Gemm", {"a", "b", "c"}, "gemm", {attr("alpha", 0.5f), attr("beta", 2.0f)});
  c.node("Tanh", {"gemm"}, "tanh");
  c.node("Add", {"tanh", "r"}, "g");  // [6, 5] + [6, 1]
  c.output("g");
  c.input("m", random({3, 4, 8}, 5));
  c.constant("mw", random({8, 7}, 6));
  c.constant("mb", random({7}, 7));
  c.node("MatMul", {"m", "mw"}, "mm");
  c.node("Add", {"mm", "mb"}, "bias");  // the bias, broadcast over rows and batch
  c.node("Relu", {"bias"}, "h");
  c.output("h");
  EXPECT_EQ(c.run_and_compare(), (Chains{{"gemm", "tanh", "g"}, {"mm", "bias", "h"}}));
}

TEST(OneDnnFusion, ResidualAddComputedAfterTheBase) {
  // The Add's other operand comes from a branch placed after the conv in the partition, so the
  // fused chain runs where its last link was.
  FusionCase c;
  c.input("x", random({1, 4, 6, 6}, 1));
  c.constant("w", random({4, 4, 1, 1}, 2));
  c.constant("w2", random({4, 4, 3, 3}, 3));
  c.node("Conv", {"x", "w"}, "conv");
  c.node("Conv", {"x", "w2"}, "branch", {attr("pads", std::vector<int64_t>{1, 1, 1, 1})});
  c.node("Add", {"conv", "branch"}, "y");
  c.output("y");
  const Chains chains = c.run_and_compare();
  ASSERT_EQ(chains.size(), 1u);
  EXPECT_EQ(chains[0].back(), "y");
}

TEST(OneDnnFusion, IntermediateReadElsewhereIsNotFused) {
  FusionCase c;
  c.input("x", random({1, 3, 7, 7}, 1));
  c.constant("w", random({4, 3, 3, 3}, 2));
  c.node("Conv", {"x", "w"}, "conv");
  c.node("Relu", {"conv"}, "relu");
  c.node("Sigmoid", {"conv"}, "other");  // a second reader of the conv's output
  c.node("Add", {"relu", "other"}, "y");
  c.output("y");
  EXPECT_EQ(c.run_and_compare(), Chains{});

  // A graph output in the middle of the chain ends it there.
  FusionCase d;
  d.input("x", random({1, 3, 7, 7}, 1));
  d.constant("w", random({4, 3, 3, 3}, 2));
  d.node("Conv", {"x", "w"}, "conv");
  d.node("Relu", {"conv"}, "relu");
  d.node("Tanh", {"relu"}, "y");
  d.output("relu");
  d.output("y");
  EXPECT_EQ(d.run_and_compare(), (Chains{{"conv", "relu"}}));
}

TEST(OneDnnFusion, AddThatBroadcastsTheResultWiderRunsUnfused) {
  // [4, 5] + [3, 4, 5] makes a [3, 4, 5] result a fused MatMul cannot write: the chain is
  // planned, but these shapes run node by node (still on oneDNN).
  FusionCase c;
  c.input("a", random({4, 6}, 1));
  c.constant("b", random({6, 5}, 2));
  c.input("r", random({3, 4, 5}, 3));
  c.node("MatMul", {"a", "b"}, "mm");
  c.node("Add", {"mm", "r"}, "y");
  c.output("y");
  EXPECT_EQ(c.run_and_compare(/*unfused=*/1), (Chains{{"mm", "y"}}));
}

// ---- layouts inside a partition, views, lowering at compile time ----------------------------

// Whether oneDNN's convolutions prefer a layout other than plain NCHW here (they do on every
// x86 CPU with AVX2 or later); without that there is nothing blocked to keep.
bool convolutions_prefer_blocked_layouts() {
  return dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx2;
}

TEST(OneDnnLayouts, ConvChainStaysBlockedBetweenItsNodes) {
  FusionCase c;
  c.input("x", random({1, 8, 12, 12}, 1));
  c.constant("w1", random({16, 8, 3, 3}, 2));
  c.constant("w2", random({16, 16, 3, 3}, 3));
  c.constant("w3", random({16, 16, 1, 1}, 4));
  c.node("Conv", {"x", "w1"}, "c1", {attr("pads", std::vector<int64_t>{1, 1, 1, 1})});
  c.node("Relu", {"c1"}, "r1");
  c.node("Conv", {"r1", "w2"}, "c2", {attr("pads", std::vector<int64_t>{1, 1, 1, 1})});
  c.node("MaxPool", {"c2"}, "p", {attr("kernel_shape", std::vector<int64_t>{2, 2}),
                                  attr("strides", std::vector<int64_t>{2, 2})});
  c.node("Conv", {"p", "w3"}, "c3");
  c.node("Add", {"c3", "p"}, "sum");  // a residual in the pool's layout
  c.node("GlobalAveragePool", {"sum"}, "y");
  c.output("y");
  EXPECT_EQ(c.run_and_compare(), (Chains{{"c1", "r1"}, {"c3", "sum"}}));
  const onednn::LayoutStats stats = c.layout_stats();
  // Per run: x into the first convolution's layout and y back to a plain tensor, nothing else.
  EXPECT_LE(stats.conversions, 4u);
  if (convolutions_prefer_blocked_layouts()) {
    // c2 reads r1, the pool reads c2, c3 reads p, the residual reads p, GAP reads sum.
    EXPECT_GE(stats.blocked_reads, 2u * 5u);
  }
}

TEST(OneDnnLayouts, TransposesReadTheLayoutTheirInputArrivesIn) {
  // A ConvNeXt block: channels-first data turned channels-last around a LayerNorm and a product,
  // then back, scaled per channel and added to the block's input. The transposes read their
  // input in its producer's layout, and the one back to channels-first writes channels-last
  // bytes, which the scaling, the residual Add and the next convolution read as they are.
  FusionCase c;
  c.input("x", random({1, 24, 10, 12}, 1));
  c.constant("dw", random({24, 1, 7, 7}, 2));
  c.constant("dw2", random({24, 1, 7, 7}, 3));
  c.constant("fc", random({24, 24}, 4));
  c.constant("gamma", random({24}, 5));
  c.constant("beta", random({24}, 6));
  c.constant("scale", random({24, 1, 1}, 7));
  const std::vector<ir::Attribute> depthwise = {attr("pads", Ints{3, 3, 3, 3}),
                                                attr("group", int64_t{24})};
  c.node("Conv", {"x", "dw"}, "conv", depthwise);
  c.node("Transpose", {"conv"}, "nhwc", {attr("perm", Ints{0, 2, 3, 1})});
  c.node("LayerNormalization", {"nhwc", "gamma", "beta"}, "normed", {attr("axis", int64_t{-1})});
  c.node("MatMul", {"normed", "fc"}, "mixed");
  c.node("Transpose", {"mixed"}, "nchw", {attr("perm", Ints{0, 3, 1, 2})});
  c.node("Mul", {"nchw", "scale"}, "scaled");
  c.node("Add", {"scaled", "x"}, "block");
  c.node("Conv", {"block", "dw2"}, "next", depthwise);
  // An arbitrary permutation of a convolution's (blocked or channels-last) result.
  c.node("Transpose", {"next"}, "odd", {attr("perm", Ints{3, 1, 0, 2})});
  c.output("odd");
  c.run_and_compare();
  // Per run: x into the first convolution's layout (read twice: there and by the Add) and
  // "odd" (plain already) out; before, each transpose also converted to or from plain.
  EXPECT_LE(c.layout_stats().conversions, 2u * 2u);
}

TEST(OneDnnLayouts, ViewsKeepTheLayoutWhereOnlyATransposeReadsThem) {
  // Two detection heads: a convolution's channels-last scores [1, A * K, H, W], seen as
  // [1, A, K, H, W], turned to [1, H, W, A, K] and flattened to [1, H * W * A, K], then joined.
  // The first view reads the convolution's bytes as they are (no conversion to plain), and the
  // transpose then reads plain data. A view that an elementwise op reads converts as before.
  FusionCase c;
  c.input("x", random({1, 8, 12, 10}, 1));
  c.constant("w", random({24, 8, 5, 5}, 2));  // 5x5: channels last, not Winograd's blocks
  c.node("Conv", {"x", "w"}, "scores", {attr("pads", Ints{2, 2, 2, 2})});
  c.constant("split", Tensor::from_vector<int64_t>({5}, {1, 4, 6, 12, 10}));
  c.node("Reshape", {"scores", "split"}, "split_scores");
  c.node("Transpose", {"split_scores"}, "per_pixel", {attr("perm", Ints{0, 3, 4, 1, 2})});
  c.constant("rows", Tensor::from_vector<int64_t>({3}, {1, -1, 6}));
  c.node("Reshape", {"per_pixel", "rows"}, "head_a");
  c.constant("w2", random({12, 8, 5, 5}, 3));
  c.node("Conv", {"x", "w2"}, "scores2",
         {attr("pads", Ints{2, 2, 2, 2}), attr("strides", Ints{2, 2})});
  c.constant("split2", Tensor::from_vector<int64_t>({5}, {1, 2, 6, 6, 5}));
  c.node("Reshape", {"scores2", "split2"}, "split_scores2");
  c.node("Transpose", {"split_scores2"}, "per_pixel2", {attr("perm", Ints{0, 3, 4, 1, 2})});
  c.node("Reshape", {"per_pixel2", "rows"}, "head_b");
  c.node("Concat", {"head_a", "head_b"}, "joined", {attr("axis", int64_t{1})});
  c.output("joined");
  c.constant("flat_shape", Tensor::from_vector<int64_t>({2}, {1, -1}));
  c.constant("w3", random({16, 8, 5, 5}, 4));
  c.node("Conv", {"x", "w3"}, "features", {attr("pads", Ints{2, 2, 2, 2})});
  c.node("Reshape", {"features", "flat_shape"}, "flat");
  c.node("Relu", {"flat"}, "flat_relu");
  c.output("flat_relu");
  c.run_and_compare();
  // Per run: x into each convolution's layout, and "features" to plain for the Relu's view;
  // before, both heads' scores were converted to plain too.
  EXPECT_LE(c.layout_stats().conversions, 2u * 4u);
  EXPECT_EQ(c.concurrent_mismatches(2, 2), 0);
}

TEST(OneDnnLayouts, ValueReadOutsideThePartitionLeavesItPlain) {
  FusionCase c;
  c.input("x", random({2, 4, 6, 6}, 1));
  c.constant("w1", random({8, 4, 3, 3}, 2));
  c.constant("w2", random({8, 8, 3, 3}, 3));
  c.node("Conv", {"x", "w1"}, "c1", {attr("pads", std::vector<int64_t>{1, 1, 1, 1})});
  c.node("Conv", {"c1", "w2"}, "c2", {attr("pads", std::vector<int64_t>{1, 1, 1, 1})});
  c.output("c1");  // read inside (by c2) and outside (a graph output)
  c.output("c2");
  c.run_and_compare();
}

TEST(OneDnnViews, ReshapeAndFlattenRunInsideThePartition) {
  FusionCase c;
  c.input("x", random({2, 3, 5, 5}, 1));
  c.constant("w", random({4, 3, 3, 3}, 2));
  c.constant("shape", Tensor::from_vector<int64_t>({2}, {2, -1}));
  c.constant("fc", random({36, 5}, 3));
  c.constant("fc2", random({5, 4}, 4));
  c.node("Conv", {"x", "w"}, "conv");
  c.node("Relu", {"conv"}, "relu");
  c.node("Reshape", {"relu", "shape"}, "flat");
  c.node("MatMul", {"flat", "fc"}, "h");
  c.node("Flatten", {"h"}, "h2");
  c.node("Gemm", {"h2", "fc2"}, "y");
  c.output("y");
  c.run_and_compare();  // every node on oneDNN, results equal to the reference's
}

TEST(OneDnnExecutable, LowersAtCompileTimeWhenShapesAreKnown) {
  FusionCase c;
  c.input("x", random({1, 3, 8, 8}, 1));
  c.constant("w", random({4, 3, 3, 3}, 2));
  c.constant("w2", random({4, 4, 3, 3}, 3));
  c.constant("shape", Tensor::from_vector<int64_t>({2}, {1, -1}));
  c.constant("fc", random({64, 10}, 4));
  c.node("Conv", {"x", "w"}, "conv", {attr("pads", std::vector<int64_t>{1, 1, 1, 1})});
  c.node("Relu", {"conv"}, "relu");
  c.node("MaxPool", {"relu"}, "pool", {attr("kernel_shape", std::vector<int64_t>{2, 2}),
                                       attr("strides", std::vector<int64_t>{2, 2})});
  c.node("Conv", {"pool", "w2"}, "conv2", {attr("pads", std::vector<int64_t>{1, 1, 1, 1})});
  c.node("Reshape", {"conv2", "shape"}, "flat");
  c.node("Gemm", {"flat", "fc"}, "y");
  c.output("y");
  EXPECT_EQ(c.run_and_compare(), (Chains{{"conv", "relu"}}));
  // Shape inference knew every shape, so each unit (the chain, the pool, conv2, the Gemm) was
  // lowered, its weights reordered, when the program was built; the runs built nothing more.
  EXPECT_EQ(c.lowered_before_run(), 4u);
  EXPECT_EQ(c.lowered_now(), 4u);
}

TEST(OneDnnExecutable, MeasuredThreadChoiceTimesMidSizedNodesAndKeepsTheResults) {
  FusionCase c(2, onednn::ThreadChoice::kMeasured);
  // Channel counts (8, 20) that are not whole oneDNN channel blocks; reductions short enough
  // (72 to 180 terms, one layer deep to every output) for the fp32 tolerance.
  c.input("x", random({1, 8, 64, 64}, 1));
  c.constant("w1", random({20, 8, 3, 3}, 2));  // 2 x 20 x 72 x 4096: 11.8 MFLOP, timed
  c.constant("b1", random({20}, 3));
  c.constant("w2", random({8, 20, 3, 3}, 4));  // 11.8 MFLOP with a residual Add, timed
  c.constant("wd", random({8, 1, 3, 3}, 5));   // depthwise: 0.6 MFLOP, too small to split
  c.constant("fc", random({64, 200}, 6));      // 512 rows of 64 x 200: 13 MFLOP, timed
  const Ints pads = {1, 1, 1, 1};
  c.node("Conv", {"x", "w1", "b1"}, "conv1", {attr("pads", pads)});
  c.node("Relu", {"conv1"}, "relu1");
  c.node("Conv", {"relu1", "w2"}, "conv2", {attr("pads", pads)});
  c.node("Add", {"conv2", "x"}, "sum");
  c.node("Conv", {"x", "wd"}, "dw", {attr("pads", pads), attr("group", int64_t{8})});
  c.node("MatMul", {"x", "fc"}, "y");
  c.output("sum");
  c.output("dw");
  c.output("y");
  EXPECT_EQ(c.run_and_compare(), (Chains{{"conv1", "relu1"}, {"conv2", "sum"}}));
  // The two convolution chains and the product are timed, whatever each choice was; the
  // depthwise convolution runs on one thread by the size rule without being timed.
  const onednn::ThreadChoiceStats stats = c.thread_choice_stats();
  EXPECT_EQ(stats.timed, 3u);
  EXPECT_LE(stats.timed_one_thread, stats.timed);
  EXPECT_EQ(c.single_thread_nodes(), 1u + stats.timed_one_thread);
  // However the nodes were split, concurrent runs share the cores and agree with the reference.
  EXPECT_EQ(c.concurrent_mismatches(3, 4), 0);
}

TEST(OneDnnExecutable, MeasuredThreadChoiceKeepsAClassifierHeadOnAllThreads) {
  // One row times an 8 MiB B (4.1 MFLOP, above the size rule's floor): bound by reading B,
  // which timing on warm scratch memory cannot see, so it is not timed and keeps both threads.
  // 17 rows times a 6.6 MiB B (56 MFLOP) are past the few rows and timed.
  // Non-negative values: sums of 2048 terms that do not cancel stay within the fp32 tolerance.
  auto positive = [](Tensor t) {
    for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = std::fabs(t.data<float>()[i]);
    return t;
  };
  FusionCase c(2, onednn::ThreadChoice::kMeasured);
  c.input("features", positive(random({1, 2048}, 1)));
  c.input("batch", positive(random({17, 2048}, 2)));
  c.constant("fc", positive(random({1000, 2048}, 3)));
  c.constant("fc2", positive(random({800, 2048}, 4)));
  c.node("Gemm", {"features", "fc"}, "logits", {attr("transB", int64_t{1})});
  c.node("Gemm", {"batch", "fc2"}, "batch_logits", {attr("transB", int64_t{1})});
  c.output("logits");
  c.output("batch_logits");
  c.run_and_compare();
  EXPECT_EQ(c.thread_choice_stats().timed, 1u);  // the 17 rows
  EXPECT_LE(c.single_thread_nodes(), 1u);         // the head is not among them
}

TEST(OneDnnExecutable, MeasuredThreadChoiceLeavesNodesThatReadAtOffsetsAlone) {
  // A Slice reads its part of a larger tensor at an offset: timing it on scratch memory of its
  // own layout once read past that memory (ViT's query/key/value split crashed prepare).
  FusionCase c(2, onednn::ThreadChoice::kMeasured);
  c.input("x", random({1, 300, 768}, 1));
  c.constant("starts", Tensor::from_vector<int64_t>({1}, {256}));
  c.constant("ends", Tensor::from_vector<int64_t>({1}, {512}));
  c.constant("axes", Tensor::from_vector<int64_t>({1}, {2}));
  c.node("Slice", {"x", "starts", "ends", "axes"}, "k");  // 76800 elements, at offset 256
  c.node("Softmax", {"k"}, "p", {attr("axis", int64_t{-1})});
  c.node("Transpose", {"p"}, "t", {attr("perm", Ints{0, 2, 1})});
  c.constant("w", random({300, 64}, 2));
  c.node("MatMul", {"t", "w"}, "y");  // 2 x 256 x 300 x 64: 9.8 MFLOP, timed
  c.output("p");
  c.output("y");
  c.run_and_compare();
  EXPECT_EQ(c.thread_choice_stats().timed, 1u);  // the product only
  EXPECT_EQ(c.concurrent_mismatches(2, 2), 0);
}

TEST(OneDnnFusion, WinogradRunsThreeByThreeConvolutionsWithTheirChains) {
  // 3x3, stride 1, outputs of 14x14 or more: oneDNN's Winograd kernels (AVX-512 only) over
  // channel-blocked data, with bias, a residual sum and Relu fused, within the tests'
  // tolerance of the reference. A strided, a dilated and a 7x7-output one stay direct.
  FusionCase c(1, onednn::ThreadChoice::kMeasured);
  c.input("x", random({1, 32, 16, 16}, 1));
  c.constant("w1", scaled_weights({32, 32, 3, 3}, 2));
  c.constant("b1", random({32}, 3));
  c.constant("w2", scaled_weights({32, 32, 3, 3}, 4));
  c.constant("w3", scaled_weights({48, 32, 3, 3}, 5));
  c.constant("w4", scaled_weights({16, 32, 3, 3}, 6));
  const Ints pads = {1, 1, 1, 1};
  c.node("Conv", {"x", "w1", "b1"}, "conv1", {attr("pads", pads)});
  c.node("Relu", {"conv1"}, "relu1");
  c.node("Conv", {"relu1", "w2"}, "conv2", {attr("pads", pads)});
  c.node("Add", {"conv2", "x"}, "sum");
  c.node("Relu", {"sum"}, "relu2");
  c.node("Conv", {"relu2", "w3"}, "strided", {attr("pads", pads), attr("strides", Ints{2, 2})});
  c.node("Conv", {"relu2", "w4"}, "dilated", {attr("pads", Ints{2, 2, 2, 2}),
                                              attr("dilations", Ints{2, 2})});
  c.output("strided");
  c.output("dilated");
  EXPECT_EQ(c.run_and_compare(), (Chains{{"conv1", "relu1"}, {"conv2", "sum", "relu2"}}));
  const bool has_winograd = onednn::best_vector_isa() == onednn::VectorIsa::kAvx512;
  EXPECT_EQ(c.winograd_nodes(), has_winograd ? 2u : 0u);
  EXPECT_EQ(c.concurrent_mismatches(2, 2), 0);

  // Split over a team by output channel blocks, each slice the whole's Winograd kernel with
  // its part of the transformed weights: 48 channels (three blocks, split unevenly) with bias
  // and Relu, then 32 with a residual sum.
  FusionCase team(2, onednn::ThreadChoice::kTeam);
  team.input("x", random({1, 32, 16, 16}, 1));
  team.constant("w1", scaled_weights({48, 32, 3, 3}, 2));
  team.constant("b1", random({48}, 3));
  team.constant("w2", scaled_weights({32, 48, 3, 3}, 4));
  team.node("Conv", {"x", "w1", "b1"}, "conv1", {attr("pads", pads)});
  team.node("Relu", {"conv1"}, "relu1");
  team.node("Conv", {"relu1", "w2"}, "conv2", {attr("pads", pads)});
  team.node("Add", {"conv2", "x"}, "sum");
  team.node("Relu", {"sum"}, "y");
  team.output("y");
  EXPECT_EQ(team.run_and_compare(), (Chains{{"conv1", "relu1"}, {"conv2", "sum", "y"}}));
  EXPECT_EQ(team.team_split_nodes(), 2u);
  EXPECT_EQ(team.winograd_nodes(), has_winograd ? 2u : 0u);
  EXPECT_EQ(team.concurrent_mismatches(2, 2), 0);
}

TEST(OneDnnExecutable, TeamSplitsConvolutionsAndKeepsTheResults) {
  FusionCase c(2, onednn::ThreadChoice::kTeam);
  // Channel counts (8, 12, 20) that are not whole oneDNN channel blocks, odd output heights
  // (11 after the strided one), asymmetric padding and a dilation: every slice edge case.
  c.input("x", random({1, 8, 40, 40}, 1));
  c.constant("w1", random({20, 8, 3, 3}, 2));  // 4.6 MFLOP, with bias and Relu
  c.constant("b1", random({20}, 3));
  c.constant("w2", random({8, 20, 3, 3}, 4));  // 4.6 MFLOP, with a residual Add
  c.constant("wd", random({20, 1, 5, 5}, 5));  // depthwise: 1.6 MFLOP
  c.constant("w3", random({16, 20, 3, 3}, 6)); // stride 2, dilation 2: 2.1 MFLOP
  c.constant("w4", random({12, 8, 3, 3}, 7));  // reads and writes plain tensors: 2.8 MFLOP
  const Ints pads = {1, 1, 1, 1};
  c.node("Conv", {"x", "w1", "b1"}, "conv1", {attr("pads", pads)});
  c.node("Relu", {"conv1"}, "relu1");
  c.node("Conv", {"relu1", "w2"}, "conv2", {attr("pads", pads)});
  c.node("Add", {"conv2", "x"}, "sum");
  c.node("Conv", {"relu1", "wd"}, "dw",
         {attr("pads", Ints{2, 2, 2, 2}), attr("group", int64_t{20})});
  c.node("Conv", {"relu1", "w3"}, "strided",
         {attr("pads", Ints{0, 1, 2, 1}), attr("strides", Ints{3, 2}),
          attr("dilations", Ints{2, 2})});
  c.node("Conv", {"x", "w4"}, "plain", {attr("pads", pads)});
  c.output("sum");
  c.output("dw");
  c.output("strided");
  c.output("plain");
  EXPECT_EQ(c.run_and_compare(), (Chains{{"conv1", "relu1"}, {"conv2", "sum"}}));
  EXPECT_EQ(c.team_split_nodes(), 5u);
  EXPECT_EQ(c.single_thread_nodes(), 0u);
  EXPECT_EQ(c.thread_choice_stats().timed, 0u);  // the team needs no timing
  // Each calling thread opens its own team; the core budget keeps them from oversubscribing.
  EXPECT_EQ(c.concurrent_mismatches(3, 4), 0);
}

TEST(OneDnnExecutable, TeamSplitsScalingsSumsAndOneRowProducts) {
  FusionCase c(2, onednn::ThreadChoice::kTeam);
  c.input("x", random({1, 16, 48, 48}, 1));
  c.constant("w", random({16, 16, 3, 3}, 2));      // 10.6 MFLOP
  c.constant("fc", random({20000, 16}, 3));        // transposed: 0.64 MFLOP, one row
  c.constant("bias", random({20000}, 4));
  c.node("Conv", {"x", "w"}, "conv", {attr("pads", Ints{1, 1, 1, 1})});
  // A squeeze-excitation's scaling: the gate broadcasts along the rows being split.
  c.node("GlobalAveragePool", {"conv"}, "pooled");
  c.node("Sigmoid", {"pooled"}, "gate");
  c.node("Mul", {"conv", "gate"}, "scaled");
  c.node("Add", {"scaled", "x"}, "sum");  // same shapes: both operands split by rows
  // A classifier's head: a one-row Gemm with a bias row, alpha and beta, and an activation.
  c.node("Flatten", {"pooled"}, "flat");
  c.node("Gemm", {"flat", "fc", "bias"}, "logits",
         {attr("transB", int64_t{1}), attr("alpha", 0.5f), attr("beta", 2.0f)});
  c.node("HardSwish", {"logits"}, "out", {}, 14);
  c.output("sum");
  c.output("out");
  EXPECT_EQ(c.run_and_compare(), (Chains{{"logits", "out"}}));
  EXPECT_EQ(c.team_split_nodes(), 4u);  // the Conv, Mul, Add and the Gemm chain
  EXPECT_EQ(c.concurrent_mismatches(2, 3), 0);
}

TEST(OneDnnFusion, OneRowProductsRunOnOurKernelWithTheirBiasAndActivations) {
  // A classifier's head and a decoder's projections at one token: our kernel where B is large
  // (256 KiB or more) and what follows is a bias and activations; oneDNN's matmul for a small
  // B, a C that is an input, or a residual Add of another value.
  for (const int threads : {1, 2}) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    FusionCase c(threads, onednn::ThreadChoice::kBySize);
    c.input("features", random({1, 2048}, 1));
    c.constant("fc", random({1000, 2048}, 2));  // transposed, 4.1 MFLOP: split over threads
    c.constant("fc_bias", random({1000}, 3));
    c.node("Gemm", {"features", "fc", "fc_bias"}, "logits",
           {attr("transB", int64_t{1}), attr("alpha", 0.5f), attr("beta", 2.0f)});
    c.node("HardSwish", {"logits"}, "head", {}, 14);
    c.input("token", random({1, 1, 300}, 4));
    c.constant("w_in", random({300, 257}, 5));  // a last panel of one column
    c.constant("b_in", random({257}, 6));
    c.node("MatMul", {"token", "w_in"}, "projected");
    c.node("Add", {"projected", "b_in"}, "biased");
    c.node("Relu", {"biased"}, "hidden");
    c.constant("w_out", random({257, 300}, 7));
    c.node("MatMul", {"hidden", "w_out"}, "back");
    c.node("Swish", {"back"}, "silu", {}, 1, "ai.edgerun");  // by our swish kernel, last
    c.constant("w_mix", random({300, 300}, 10));
    c.node("MatMul", {"silu", "w_mix"}, "mixed");
    c.node("Add", {"mixed", "token"}, "residual");  // another value: oneDNN's matmul
    c.constant("small", random({300, 50}, 8));
    c.node("MatMul", {"residual", "small"}, "narrow");  // 59 KiB of B: oneDNN's
    c.input("c", random({1, 1000}, 9));
    c.node("Gemm", {"features", "fc", "c"}, "with_input_c", {attr("transB", int64_t{1})});
    // Four rows with a C of one value per row: oneDNN's, and C is not read as a row of 1000.
    c.input("rows", random({4, 2048}, 10));
    c.constant("row_c", random({4, 1}, 11));
    c.node("Gemm", {"rows", "fc", "row_c"}, "four_rows", {attr("transB", int64_t{1})});
    c.output("head");
    c.output("narrow");
    c.output("with_input_c");
    c.output("four_rows");
    EXPECT_EQ(c.run_and_compare(), (Chains{{"logits", "head"},
                                           {"projected", "biased", "hidden"},
                                           {"back", "silu"},
                                           {"mixed", "residual"}}));
    const bool own = onednn::best_vector_isa() != onednn::VectorIsa::kNone;
    // The head and the first two projections.
    EXPECT_EQ(c.own_kernel_nodes("one-row products"), own ? 3u : 0u);
    EXPECT_EQ(c.concurrent_mismatches(2, 3), 0);
  }
}

// The ways edgerun's own kernels share a node's work: one thread, two OpenMP threads, a team of
// two.
struct ThreadMode {
  int threads;
  onednn::ThreadChoice choice;
};
constexpr ThreadMode kThreadModes[] = {{1, onednn::ThreadChoice::kBySize},
                                       {2, onednn::ThreadChoice::kBySize},
                                       {2, onednn::ThreadChoice::kTeam}};

TEST(OneDnnFusion, OnePixelConvolutionsRunAsOneRowProducts) {
  // A squeeze-excitation block: 1x1 convolutions of the pooled pixel, with bias and Relu, then
  // bias and HardSigmoid, on our kernel (256 x 320 weights: 320 KiB) reading the pooling's
  // channels-last result as it is. A padded one (a 3x3 result), one with weights that are an
  // input and a small one (64 x 64) stay oneDNN's. On one thread, over OpenMP threads and over
  // a team. The layers' weights are small, as trained ones are: with weights of magnitude 1
  // the gate of a channel whose sum cancels differs from the reference's by more than the
  // tolerance whenever the sums run in another order.
  const auto small_weights = [](Shape shape, uint32_t seed) {
    Tensor t = random(std::move(shape), seed);
    for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] *= 0.1f;
    return t;
  };
  for (const ThreadMode mode : kThreadModes) {
    SCOPED_TRACE(std::to_string(mode.threads) + " threads");
    FusionCase c(mode.threads, mode.choice);
    c.input("x", random({1, 8, 40, 40}, 1));
    c.constant("w", random({256, 8, 5, 5}, 2));  // not 3x3: channels last, not Winograd's
    c.node("Conv", {"x", "w"}, "conv", {attr("pads", Ints{2, 2, 2, 2})});
    c.node("GlobalAveragePool", {"conv"}, "pooled");
    c.constant("w1", small_weights({320, 256, 1, 1}, 3));
    c.constant("b1", random({320}, 4));
    c.node("Conv", {"pooled", "w1", "b1"}, "fc1");
    c.node("Relu", {"fc1"}, "act1");
    c.constant("w2", small_weights({256, 320, 1, 1}, 5));
    c.constant("b2", random({256}, 6));
    c.node("Conv", {"act1", "w2", "b2"}, "fc2");
    c.node("HardSigmoid", {"fc2"}, "gate");
    c.node("Mul", {"conv", "gate"}, "scaled");
    c.output("scaled");
    c.node("Conv", {"pooled", "w1"}, "padded", {attr("pads", Ints{1, 1, 1, 1})});
    c.output("padded");
    c.input("w_input", random({320, 256, 1, 1}, 7));
    c.node("Conv", {"pooled", "w_input"}, "from_input");
    c.output("from_input");
    c.constant("w_small", random({64, 64, 1, 1}, 8));
    c.constant("first_64", Tensor::from_vector<int64_t>({1}, {64}));
    c.constant("zero", Tensor::from_vector<int64_t>({1}, {0}));
    c.constant("axis", Tensor::from_vector<int64_t>({1}, {1}));
    c.node("Slice", {"pooled", "zero", "first_64", "axis"}, "narrow");
    c.node("Conv", {"narrow", "w_small"}, "small");
    c.output("small");
    EXPECT_EQ(c.run_and_compare(), (Chains{{"fc1", "act1"}, {"fc2", "gate"}}));
    const bool own = onednn::best_vector_isa() != onednn::VectorIsa::kNone;
    EXPECT_EQ(c.own_kernel_nodes("one-row products"), own ? 2u : 0u);
    EXPECT_EQ(c.concurrent_mismatches(2, 2), 0);
  }
}

namespace {

// `activate` (x, y) adds an activation of x named y to a case.
using Activate = std::function<void(const std::string&, const std::string&)>;

// Adds to `c` a 1x1 expansion of `in` to `channels` with bias, `activate`, a `window` x
// `window` depthwise convolution of `stride` with bias, then `after` unless names[3] is empty;
// the nodes are named `names`, their constants after them.
void add_inverted_block(FusionCase& c, const std::string& in, int64_t in_channels,
                        int64_t channels, int64_t stride, const Activate& activate,
                        const Activate& after, const std::array<std::string, 4>& names,
                        uint32_t seed, int64_t window = 3) {
  const int64_t pad = window / 2;
  const auto& [expand, expanded, depthwise, activated] = names;
  c.constant(expand + "_w", random({channels, in_channels, 1, 1}, seed));
  c.constant(expand + "_b", random({channels}, seed + 1));
  c.node("Conv", {in, expand + "_w", expand + "_b"}, expand);
  activate(expand, expanded);
  c.constant(depthwise + "_w", random({channels, 1, window, window}, seed + 2));
  c.constant(depthwise + "_b", random({channels}, seed + 3));
  c.node("Conv", {expanded, depthwise + "_w", depthwise + "_b"}, depthwise,
         {attr("group", channels), attr("pads", Ints{pad, pad, pad, pad}),
          attr("strides", Ints{stride, stride})});
  if (!activated.empty()) after(depthwise, activated);
}

}  // namespace

TEST(OneDnnFusion, DepthwiseConvolutionsFuseWithTheExpansionsBeforeThem) {
  // Inverted residual blocks' first halves: 1x1 expansions to 96 channels at 112x112 (4.8 MB)
  // with Relu6 and a depthwise convolution of stride 2 (MobileNet-V2), with Swish (EfficientNet)
  // or Relu and stride 1; one to 24 channels at 56x56 with no activation after; one with a 5x5
  // window and HardSwish; one with LeakyRelu. Where this CPU runs our kernel, it runs all but
  // the LeakyRelu block, on any number of threads; that one (and elsewhere the 3x3 ones with
  // Relu or Clip) becomes oneDNN's depthwise post-op on one thread and stays apart on two (a
  // team splits rows).
  for (const ThreadMode mode : kThreadModes) {
    SCOPED_TRACE(std::to_string(mode.threads) + " threads");
    FusionCase c(mode.threads, mode.choice);
    // The expansions' input: 16 channels, channels-last, which a fused node reads as its blocks
    // of 16 without converting.
    c.input("image", random({1, 8, 112, 112}, 1));
    c.constant("w0", random({16, 8, 1, 1}, 19));
    c.node("Conv", {"image", "w0"}, "x");
    c.constant("lo", Tensor::scalar(0.0f));
    c.constant("hi", Tensor::scalar(6.0f));
    const Activate relu6 = [&](const std::string& x, const std::string& y) {
      c.node("Clip", {x, "lo", "hi"}, y, {}, 13);
    };
    const Activate swish = [&](const std::string& x, const std::string& y) {
      c.node("Swish", {x}, y, {}, 1, "ai.edgerun");
    };
    const Activate relu = [&](const std::string& x, const std::string& y) {
      c.node("Relu", {x}, y);
    };
    const Activate leaky = [&](const std::string& x, const std::string& y) {
      c.node("LeakyRelu", {x}, y, {attr("alpha", 0.1f)});
    };
    add_inverted_block(c, "x", 16, 96, 2, relu6, relu6,
                       {"expand", "relu6", "depthwise", "relu6_after"}, 2);
    c.output("relu6_after");
    add_inverted_block(c, "x", 16, 96, 1, swish, swish,
                       {"expand_swish", "swish", "depthwise_swish", "swish_after"}, 6);
    c.output("swish_after");
    add_inverted_block(c, "x", 16, 96, 1, relu, relu,
                       {"expand_relu", "relu", "depthwise_relu", "relu_after"}, 15);
    // A squeeze-excitation's scaling of the fused result (blocks of 16 channels after oneDNN's
    // fusion, where oneDNN's binary op has only its reference code) runs on our channels-last
    // kernel.
    c.node("GlobalAveragePool", {"relu_after"}, "pooled");
    c.node("Sigmoid", {"pooled"}, "gate");
    c.node("Mul", {"relu_after", "gate"}, "scaled");
    c.output("scaled");
    add_inverted_block(c, "x", 16, 96, 1, leaky, leaky,
                       {"expand_leaky", "leaky", "depthwise_leaky", "leaky_after"}, 20);
    c.output("leaky_after");
    c.input("small_x", random({1, 8, 56, 56}, 10));
    add_inverted_block(c, "small_x", 8, 24, 1, relu, relu,
                       {"small", "small_relu", "small_depthwise", ""}, 11);
    c.output("small_depthwise");
    const Activate hard_swish = [&](const std::string& x, const std::string& y) {
      c.node("HardSwish", {x}, y, {}, 14);
    };
    add_inverted_block(c, "small_x", 8, 40, 2, hard_swish, hard_swish,
                       {"wide", "wide_hs", "wide_depthwise", "wide_after"}, 30, 5);
    c.output("wide_after");
    const Chains fused = c.run_and_compare();
    const bool own = onednn::best_vector_isa() != onednn::VectorIsa::kNone;
    const bool one = mode.threads == 1;
    // Per run: the two inputs to channels-last (small_x once for each of its two readers) and
    // the six outputs to plain. Where oneDNN fuses the Relu block, also its result to
    // channels-last for the scaling and the gate pooled from it to plain. Nothing else.
    EXPECT_EQ(c.layout_stats().conversions, 2u * (!own && one ? 11u : 9u));
    const Chains leaky_chains =
        one ? Chains{{"expand_leaky", "leaky", "depthwise_leaky", "leaky_after"}}
            : Chains{{"expand_leaky", "leaky"}, {"depthwise_leaky", "leaky_after"}};
    Chains want;
    if (own) {
      want = {{"expand", "relu6", "depthwise", "relu6_after"},
              {"expand_swish", "swish", "depthwise_swish", "swish_after"},
              {"expand_relu", "relu", "depthwise_relu", "relu_after"}};
      want.insert(want.end(), leaky_chains.begin(), leaky_chains.end());
      want.push_back({"small", "small_relu", "small_depthwise"});
      want.push_back({"wide", "wide_hs", "wide_depthwise", "wide_after"});
    } else if (one) {
      want = {{"expand", "relu6", "depthwise", "relu6_after"},
              {"expand_swish", "swish"},
              {"depthwise_swish", "swish_after"},
              {"expand_relu", "relu", "depthwise_relu", "relu_after"}};
      want.insert(want.end(), leaky_chains.begin(), leaky_chains.end());
      want.push_back({"small", "small_relu"});
      want.push_back({"wide", "wide_hs"});
      want.push_back({"wide_depthwise", "wide_after"});
    } else {
      want = {{"expand", "relu6"},      {"depthwise", "relu6_after"},
              {"expand_swish", "swish"}, {"depthwise_swish", "swish_after"},
              {"expand_relu", "relu"},   {"depthwise_relu", "relu_after"}};
      want.insert(want.end(), leaky_chains.begin(), leaky_chains.end());
      want.push_back({"small", "small_relu"});
      want.push_back({"wide", "wide_hs"});
      want.push_back({"wide_depthwise", "wide_after"});
    }
    EXPECT_EQ(fused, want);
    EXPECT_EQ(c.own_kernel_nodes("expansions with their depthwise convolutions"), own ? 5u : 0u);
    EXPECT_EQ(c.depthwise_post_op_nodes(), (own ? 5u : one ? 2u : 0u) + (one ? 1u : 0u));
    EXPECT_EQ(c.own_kernel_nodes("channel scalings"), own ? 1u : 0u);
    EXPECT_EQ(c.concurrent_mismatches(2, 2), 0);
  }
}

TEST(OneDnnFusion, ImageConvolutionsFuseWithTheDepthwiseConvolutionAfterThem) {
  // A CNN's first layer, 3x3 of stride 2 over an RGB image into 32 channels with Relu6, then a
  // 3x3 depthwise convolution with Relu6 (MobileNet-V2's): our kernel runs the pair where this
  // CPU runs it; into 16 channels (MobileNet-V3-small's) the two stay apart, as they do on
  // oneDNN, whose depthwise post-op follows 1x1 convolutions only.
  for (const ThreadMode mode : kThreadModes) {
    SCOPED_TRACE(std::to_string(mode.threads) + " threads");
    FusionCase c(mode.threads, mode.choice);
    c.constant("lo", Tensor::scalar(0.0f));
    c.constant("hi", Tensor::scalar(6.0f));
    const Activate relu6 = [&](const std::string& x, const std::string& y) {
      c.node("Clip", {x, "lo", "hi"}, y, {}, 13);
    };
    c.input("image", random({1, 3, 63, 62}, 1));
    for (const auto& [name, channels] : {std::pair<std::string, int64_t>{"wide", 32},
                                         std::pair<std::string, int64_t>{"narrow", 16}}) {
      c.constant(name + "_w", random({channels, 3, 3, 3}, 2));
      c.constant(name + "_b", random({channels}, 3));
      c.node("Conv", {"image", name + "_w", name + "_b"}, name,
             {attr("pads", Ints{1, 1, 1, 1}), attr("strides", Ints{2, 2})});
      relu6(name, name + "_relu6");
      c.constant(name + "_dw_w", random({channels, 1, 3, 3}, 4));
      c.constant(name + "_dw_b", random({channels}, 5));
      c.node("Conv", {name + "_relu6", name + "_dw_w", name + "_dw_b"}, name + "_dw",
             {attr("group", channels), attr("pads", Ints{1, 1, 1, 1})});
      relu6(name + "_dw", name + "_after");
      c.output(name + "_after");
    }
    const bool own = onednn::best_vector_isa() != onednn::VectorIsa::kNone;
    Chains want = own ? Chains{{"wide", "wide_relu6", "wide_dw", "wide_after"}}
                      : Chains{{"wide", "wide_relu6"}, {"wide_dw", "wide_after"}};
    want.push_back({"narrow", "narrow_relu6"});
    want.push_back({"narrow_dw", "narrow_after"});
    EXPECT_EQ(c.run_and_compare(), want);
    EXPECT_EQ(c.own_kernel_nodes("expansions with their depthwise convolutions"), own ? 1u : 0u);
    EXPECT_EQ(c.concurrent_mismatches(2, 2), 0);
  }
}

TEST(OneDnnFusion, ExpansionsAtFewPixelsOrWithLongerChainsStayApart) {
  // A block at 14x14 (below our kernel's 28x28 and oneDNN's 4 MiB), and one at 56x56 with two
  // activations after its depthwise convolution (our kernel takes one): both run apart.
  for (const ThreadMode mode : kThreadModes) {
    SCOPED_TRACE(std::to_string(mode.threads) + " threads");
    FusionCase c(mode.threads, mode.choice);
    const Activate relu = [&](const std::string& x, const std::string& y) {
      c.node("Relu", {x}, y);
    };
    const Activate relu_then_clip = [&](const std::string& x, const std::string& y) {
      c.node("Relu", {x}, y + "_relu");
      c.node("Clip", {y + "_relu"}, y, {attr("min", -1.0f), attr("max", 2.0f)}, 6);
    };
    c.input("tiny_x", random({1, 16, 14, 14}, 1));
    add_inverted_block(c, "tiny_x", 16, 96, 1, relu, relu,
                       {"tiny", "tiny_relu", "tiny_depthwise", "tiny_after"}, 2);
    c.output("tiny_after");
    c.input("x", random({1, 16, 56, 56}, 3));
    add_inverted_block(c, "x", 16, 32, 1, relu, relu_then_clip,
                       {"expand", "relu", "depthwise", "after"}, 4);
    c.output("after");
    EXPECT_EQ(c.run_and_compare(), (Chains{{"tiny", "tiny_relu"},
                                           {"tiny_depthwise", "tiny_after"},
                                           {"expand", "relu"},
                                           {"depthwise", "after_relu", "after"}}));
    EXPECT_EQ(c.depthwise_post_op_nodes(), 0u);
  }
}

TEST(OneDnnFusion, SqueezeExcitationScalingsRunOnOurKernel) {
  // A channels-last convolution's result times a gate of one value per channel: 24 channels (a
  // vector and a masked tail of 8), in place or not, on one thread, over OpenMP threads and
  // over a team. A factor of another shape stays oneDNN's.
  for (const ThreadMode mode : kThreadModes) {
    SCOPED_TRACE(std::to_string(mode.threads) + " threads");
    FusionCase c(mode.threads, mode.choice);
    c.input("x", random({1, 8, 90, 90}, 1));
    c.constant("w", random({24, 8, 5, 5}, 2));  // not 3x3: channels last, not Winograd's nChw16c
    c.node("Conv", {"x", "w"}, "conv", {attr("pads", Ints{2, 2, 2, 2})});
    c.node("GlobalAveragePool", {"conv"}, "pooled");
    c.node("Sigmoid", {"pooled"}, "gate");
    c.node("Mul", {"conv", "gate"}, "scaled");    // conv dies here: may be scaled in place
    c.node("Mul", {"gate", "scaled"}, "twice");   // the gate first: the operands swap
    c.constant("rows", random({1, 1, 90, 1}, 3));
    c.node("Mul", {"twice", "rows"}, "by_rows");  // not one value per channel
    c.output("by_rows");
    c.run_and_compare();
    const bool own = onednn::best_vector_isa() != onednn::VectorIsa::kNone;
    EXPECT_EQ(c.own_kernel_nodes("channel scalings"), own ? 2u : 0u);
    EXPECT_EQ(c.concurrent_mismatches(2, 2), 0);
  }
}

TEST(OneDnnFusion, GlobalAveragePoolsOfChannelsLastDataRunOnOurKernel) {
  // A channels-last convolution's result averaged per channel: 40 channels (two vectors and a
  // masked tail of 8), of one image large enough to split (two parts at two threads) and of a
  // batch of three, each image split on its own. On one thread, over OpenMP threads and over a
  // team. A plain input (the graph's own) stays oneDNN's.
  for (const ThreadMode mode : kThreadModes) {
    SCOPED_TRACE(std::to_string(mode.threads) + " threads");
    FusionCase c(mode.threads, mode.choice);
    c.input("x", random({1, 8, 70, 70}, 1));
    c.constant("w", random({40, 8, 5, 5}, 2));  // not 3x3: channels last, not Winograd's nChw16c
    c.node("Conv", {"x", "w"}, "conv", {attr("pads", Ints{2, 2, 2, 2})});
    c.node("GlobalAveragePool", {"conv"}, "pooled");
    c.node("Sigmoid", {"pooled"}, "gate");
    c.node("Mul", {"conv", "gate"}, "scaled");
    c.output("scaled");
    c.input("batch", random({3, 8, 30, 30}, 3));
    c.node("Conv", {"batch", "w"}, "batch_conv", {attr("pads", Ints{2, 2, 2, 2})});
    c.node("GlobalAveragePool", {"batch_conv"}, "batch_pooled");
    c.output("batch_pooled");
    c.node("GlobalAveragePool", {"x"}, "input_pooled");
    c.output("input_pooled");
    c.run_and_compare();
    const bool own = onednn::best_vector_isa() != onednn::VectorIsa::kNone;
    EXPECT_EQ(c.own_kernel_nodes("channel means"), own ? 2u : 0u);
    EXPECT_EQ(c.concurrent_mismatches(2, 2), 0);
  }
}

TEST(OneDnnFusion, ConcatenationsOfPlainInputsRunOnOurCopies) {
  // Plain inputs join by our own block copies: one round of long blocks (a detection head's
  // join, split into ranges of each block at two threads), many rounds (split by rounds), a
  // small join (one part), and blocks that are no whole number of cache lines. On one thread,
  // over OpenMP threads and over a team.
  for (const ThreadMode mode : kThreadModes) {
    SCOPED_TRACE(std::to_string(mode.threads) + " threads");
    FusionCase c(mode.threads, mode.choice);
    c.input("x", random({1, 8, 60, 60}, 1));
    c.constant("w", random({24, 8, 5, 5}, 2));  // a team splits it, so the partition runs on one
    c.node("Conv", {"x", "w"}, "conv", {attr("pads", Ints{2, 2, 2, 2})});
    c.constant("shape", Tensor::from_vector<int64_t>({3}, {1, 3600, 24}));
    c.node("Reshape", {"conv", "shape"}, "boxes");
    c.input("more", random({1, 3001, 24}, 3));
    c.node("Concat", {"boxes", "more"}, "joined", {attr("axis", int64_t{1})});
    c.constant("rows_shape", Tensor::from_vector<int64_t>({2}, {480, 180}));
    c.node("Reshape", {"conv", "rows_shape"}, "table");
    c.input("b", random({480, 37}, 5));
    c.node("Concat", {"table", "b"}, "rows", {attr("axis", int64_t{-1})});
    c.node("GlobalAveragePool", {"conv"}, "pooled");
    c.node("Flatten", {"pooled"}, "flat");
    c.node("Concat", {"flat", "flat"}, "small", {attr("axis", int64_t{1})});
    c.output("joined");
    c.output("rows");
    c.output("small");
    c.run_and_compare();
    EXPECT_EQ(c.own_kernel_nodes("concatenations"), 3u);
    EXPECT_EQ(c.concurrent_mismatches(2, 2), 0);
  }
}

TEST(OneDnnExecutable, TeamSplitsPoolingsByRows) {
  // Each slice reads the input rows its windows cover, padded only at the input's own edges:
  // padding inside would add -inf rows to a max, or change an average's divisor.
  FusionCase c(2, onednn::ThreadChoice::kTeam);
  c.input("x", random({1, 8, 66, 66}, 1));
  // 56 MFLOP, channels last (a 3x3 one would run by Winograd over channel blocks).
  c.constant("w", random({32, 8, 5, 5}, 2));
  c.node("Conv", {"x", "w"}, "conv", {attr("pads", Ints{2, 2, 2, 2})});
  c.node("MaxPool", {"conv"}, "max",
         {attr("kernel_shape", Ints{3, 3}), attr("strides", Ints{2, 2}),
          attr("pads", Ints{1, 1, 1, 1})});
  c.node("AveragePool", {"conv"}, "mean",
         {attr("kernel_shape", Ints{3, 3}), attr("strides", Ints{2, 2}),
          attr("pads", Ints{1, 1, 1, 1})});
  c.node("AveragePool", {"conv"}, "mean_with_pads",
         {attr("kernel_shape", Ints{3, 2}), attr("pads", Ints{2, 0, 1, 1}),
          attr("count_include_pad", int64_t{1})});
  c.output("max");
  c.output("mean");
  c.output("mean_with_pads");
  c.run_and_compare();
  EXPECT_EQ(c.team_split_nodes(), 4u);
  EXPECT_EQ(c.concurrent_mismatches(2, 3), 0);
}

TEST(OneDnnExecutable, TeamSlicesEndingInSwishEachRunItOverTheirOwnPart) {
  // Our swish kernel runs after each slice's primitive over that slice's part of the result:
  // rows of channels-last data, channel blocks of blocked data (20 channels: the last block is
  // padding), columns of a one-row product. A missed or doubled part differs from the reference.
  FusionCase c(2, onednn::ThreadChoice::kTeam);
  c.input("x", random({1, 8, 40, 40}, 1));
  c.constant("w1", random({20, 8, 3, 3}, 2));  // 4.6 MFLOP
  c.constant("wd", random({20, 1, 5, 5}, 3));  // depthwise: 1.6 MFLOP
  c.constant("fc", random({20000, 20}, 4));    // one row: 0.8 MFLOP
  c.node("Conv", {"x", "w1"}, "conv1", {attr("pads", Ints{1, 1, 1, 1})});
  c.node("Swish", {"conv1"}, "s1", {}, 1, "ai.edgerun");
  c.node("Conv", {"s1", "wd"}, "dw", {attr("pads", Ints{2, 2, 2, 2}), attr("group", int64_t{20})});
  c.node("Swish", {"dw"}, "s2", {attr("alpha", 1.702f)}, 1, "ai.edgerun");
  c.node("GlobalAveragePool", {"s2"}, "pooled");
  c.node("Flatten", {"pooled"}, "flat");
  c.node("Gemm", {"flat", "fc"}, "logits", {attr("transB", int64_t{1})});
  c.node("Swish", {"logits"}, "out", {}, 1, "ai.edgerun");
  c.output("s2");
  c.output("out");
  EXPECT_EQ(c.run_and_compare(), (Chains{{"conv1", "s1"}, {"dw", "s2"}, {"logits", "out"}}));
  EXPECT_EQ(c.team_split_nodes(), 3u);
  EXPECT_EQ(c.concurrent_mismatches(2, 3), 0);
}

TEST(OneDnnExecutable, TeamLeavesSmallConvolutionsAndOtherOpsOnOneThread) {
  FusionCase c(2, onednn::ThreadChoice::kTeam);
  c.input("x", random({1, 16, 32, 32}, 1));
  c.constant("w", random({16, 16, 3, 3}, 2));   // 4.7 MFLOP: split
  c.constant("ws", random({4, 16, 1, 1}, 3));   // 0.07 MFLOP: too small to split
  c.node("Conv", {"x", "w"}, "conv", {attr("pads", Ints{1, 1, 1, 1})});
  c.node("MaxPool", {"conv"}, "pool",
         {attr("kernel_shape", Ints{2, 2}), attr("strides", Ints{2, 2})});
  c.node("Conv", {"pool", "ws"}, "small");
  c.output("small");
  c.run_and_compare();
  EXPECT_EQ(c.team_split_nodes(), 1u);
  EXPECT_EQ(c.single_thread_nodes(), 2u);
}

TEST(OneDnnExecutable, TeamIsNotUsedWhereProductsDoTheWork) {
  // A transformer-like partition: oneDNN's own threads split its products better.
  FusionCase c(2, onednn::ThreadChoice::kTeam);
  c.input("x", random({1, 16, 40, 40}, 1));
  c.constant("w", random({16, 16, 3, 3}, 2));   // 7.4 MFLOP of convolution
  c.constant("fc", random({40, 400}, 3));       // 2 x 640 x 40 x 400: 20 MFLOP of product
  c.node("Conv", {"x", "w"}, "conv", {attr("pads", Ints{1, 1, 1, 1})});
  c.node("MatMul", {"conv", "fc"}, "y");
  c.output("y");
  c.run_and_compare();
  EXPECT_EQ(c.team_split_nodes(), 0u);
  EXPECT_GT(c.thread_choice_stats().timed, 0u);  // measured as with ThreadChoice::kMeasured
}

TEST(OneDnnExecutable, TeamSplitsLargeConvolutionsToo) {
  // ResNet-50-sized convolutions: the team saves oneDNN's wake-up at every node.
  FusionCase c(2, onednn::ThreadChoice::kTeam);
  c.input("x", random({1, 32, 48, 48}, 1));
  c.constant("w", random({64, 32, 3, 3}, 2));  // 85 MFLOP
  c.node("Conv", {"x", "w"}, "y", {attr("pads", Ints{1, 1, 1, 1})});
  c.output("y");
  c.run_and_compare();
  EXPECT_EQ(c.team_split_nodes(), 1u);
  EXPECT_EQ(c.single_thread_nodes(), 0u);
}

TEST(OneDnnExecutable, TeamSplitsWeightHeavyConvolutionsByOutputChannels) {
  // Weights far larger than the activations and than a core's cache (a CNN's late layers):
  // over channels-last data each slice computes whole 16-channel blocks of every pixel (120
  // channels: 64 and 56), staged in its thread's scratch and copied into place, the residual's
  // part copied in first, the swish run over the staged part. A slice that wrote or added the
  // wrong channels differs from the reference.
  FusionCase c(2, onednn::ThreadChoice::kTeam);
  c.input("x", random({1, 96, 3, 3}, 1));
  c.constant("w0", scaled_weights({256, 96, 1, 1}, 2));   // 0.4 MFLOP, 24576: split by rows
  c.constant("wa", scaled_weights({256, 256, 3, 3}, 3));  // 10.6 MFLOP, 589824 weights
  c.constant("ba", random({256}, 4));
  c.constant("wb", scaled_weights({120, 256, 3, 3}, 5));  // 5.0 MFLOP, 276480 weights
  c.constant("wc", scaled_weights({64, 120, 3, 3}, 6));   // strided: 0.6 MFLOP
  const Ints pads = {1, 1, 1, 1};
  c.node("Conv", {"x", "w0"}, "h");
  c.node("Conv", {"h", "wa", "ba"}, "conv_a", {attr("pads", pads)});
  c.node("Add", {"conv_a", "h"}, "sum");
  c.node("Relu", {"sum"}, "relu");
  c.node("Conv", {"relu", "wb"}, "conv_b", {attr("pads", pads)});
  c.node("Swish", {"conv_b"}, "swish", {}, 1, "ai.edgerun");
  c.node("Conv", {"swish", "wc"}, "y", {attr("pads", Ints{0, 1, 2, 0}),
                                        attr("strides", Ints{2, 1})});
  c.output("y");
  EXPECT_EQ(c.run_and_compare(), (Chains{{"conv_a", "sum", "relu"}, {"conv_b", "swish"}}));
  EXPECT_EQ(c.team_split_nodes(), 4u);
  EXPECT_EQ(c.concurrent_mismatches(2, 3), 0);
}

TEST(OneDnnExecutable, SizeRuleTimesNothing) {
  FusionCase c(2, onednn::ThreadChoice::kBySize);
  c.input("x", random({64, 256}, 1));
  c.constant("w", random({256, 256}, 2));  // 8.4 MFLOP: split by the size rule
  c.node("MatMul", {"x", "w"}, "y");
  c.output("y");
  c.run_and_compare();
  EXPECT_EQ(c.thread_choice_stats().timed, 0u);
  EXPECT_EQ(c.single_thread_nodes(), 0u);
}

TEST(OneDnnExecutable, TinyNodesRunOnTheCallingThreadAlone) {
  FusionCase c;
  c.input("big", random({64, 256}, 1));
  c.input("tiny", random({1, 8}, 2));
  c.constant("w_big", random({256, 256}, 3));  // 64 x 256 x 256 multiply-adds: 8.4 MFLOP
  c.constant("w_tiny", random({8, 8}, 4));     // 128 FLOPs
  c.node("MatMul", {"big", "w_big"}, "y_big");
  c.node("MatMul", {"tiny", "w_tiny"}, "y_tiny");
  c.node("Relu", {"y_tiny"}, "z_tiny");
  c.output("y_big");
  c.output("z_tiny");
  EXPECT_EQ(c.run_and_compare(), (Chains{{"y_tiny", "z_tiny"}}));
  // The big product is split over the threads; the tiny chain is not worth waking them for.
  EXPECT_EQ(c.single_thread_nodes(), 1u);
}

// ---- Resize (nearest), claimed where a probe proves oneDNN picks the same elements ------------

OpCall resize(const Tensor& x, const std::vector<float>& scales, const std::string& coord,
              const std::string& rounding) {
  return op("Resize", {x, Tensor(), Tensor::from_vector<float>({4}, scales)},
            {attr("mode", std::string("nearest")),
             attr("coordinate_transformation_mode", coord), attr("nearest_mode", rounding)},
            13);
}

TEST(OneDnnResize, NearestUpsamplingRunsOnOneDnn) {
  const Tensor x = random({1, 3, 5, 4}, 1);
  expect_matches_reference(resize(x, {1, 1, 2, 2}, "asymmetric", "floor"), {1, 2});
  expect_matches_reference(resize(x, {1, 1, 2, 3}, "half_pixel", "round_prefer_floor"), {1, 2});
  expect_matches_reference(
      op("Resize", {x, Tensor(), Tensor(), Tensor::from_vector<int64_t>({4}, {1, 3, 10, 8})},
         {attr("mode", std::string("nearest"))}, 13),
      {1, 2, 3});
}

TEST(OneDnnResize, ModesOneDnnDoesNotMatchRunOnTheReference) {
  // asymmetric + round_prefer_ceil picks element 1 for output 1 of a 3x upsampling, where
  // oneDNN's centred sampling picks element 0: the probe sees it, the reference runs the node.
  expect_matches_reference(resize(random({1, 2, 4, 4}, 1), {1, 1, 3, 3}, "asymmetric",
                                  "round_prefer_ceil"),
                           {1, 2}, /*falls_back=*/true);
  // Linear weights are not claimed at all; nor are scales that arrive at run time.
  OneDnnCase linear(op("Resize", {random({1, 2, 4, 4}, 1), Tensor(),
                                  Tensor::from_vector<float>({4}, {1, 1, 2, 2})},
                       {attr("mode", std::string("linear"))}, 13),
                    {1, 2});
  EXPECT_FALSE(linear.claimed());
  EXPECT_NE(linear.why_not().find("only nearest mode"), std::string::npos) << linear.why_not();
  OneDnnCase runtime_scales(resize(random({1, 2, 4, 4}, 1), {1, 1, 2, 2}, "asymmetric", "floor"),
                            {});
  EXPECT_FALSE(runtime_scales.claimed());
}

// ---- data movement, reductions and Pow --------------------------------------------------------

TEST(OneDnnDataMovement, TransposeIsAnExactStridedCopy) {
  const Tensor x = random({2, 3, 4, 5}, 1);
  expect_matches_reference(op("Transpose", {x}, {attr("perm", Ints{0, 2, 1, 3})}));
  expect_matches_reference(op("Transpose", {x}, {attr("perm", Ints{3, 0, 2, 1})}));
  expect_matches_reference(op("Transpose", {random({6, 7}, 2)}));  // default: reversed dims
}

TEST(OneDnnDataMovement, SliceWithClampedNegativeAndStridedBounds) {
  const Tensor x = random({4, 6, 8}, 1);
  auto ints = [](std::vector<int64_t> v) {
    return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
  };
  expect_matches_reference(op("Slice", {x, ints({1, 2}), ints({3, 100}), ints({0, 2})}, {}, 13),
                           {1, 2, 3});
  expect_matches_reference(
      op("Slice", {x, ints({-3, 0}), ints({-1, 6}), ints({2, 1}), ints({1, 2})}, {}, 13),
      {1, 2, 3, 4});
  expect_matches_reference(op("Slice", {x}, {attr("starts", Ints{1}), attr("ends", Ints{3}),
                                             attr("axes", Ints{1})},
                              1));
  // Negative steps are left to the reference kernel.
  expect_matches_reference(
      op("Slice", {x, ints({5}), ints({0}), ints({1}), ints({-2})}, {}, 13), {1, 2, 3, 4},
      /*falls_back=*/true);
  // Bounds that arrive at run time are not claimed.
  OneDnnCase runtime(op("Slice", {x, ints({1}), ints({3})}, {}, 13), {});
  EXPECT_FALSE(runtime.claimed());
}

TEST(OneDnnReduce, MeanSumMaxMinOverAxes) {
  const Tensor x = random({3, 4, 5}, 1);
  for (const char* name : {"ReduceMean", "ReduceMax", "ReduceMin"}) {
    SCOPED_TRACE(name);
    expect_matches_reference(op(name, {x}, {attr("axes", Ints{-1})}, 13));
    expect_matches_reference(op(name, {x}, {attr("axes", Ints{0, 2}), attr("keepdims", int64_t{0})}, 13));
    expect_matches_reference(op(name, {x}, {}, 13));  // every axis
  }
  expect_matches_reference(
      op("ReduceSum", {x, Tensor::from_vector<int64_t>({1}, {1})}, {}, 13), {1});
  expect_matches_reference(
      op("ReduceMean", {x, Tensor::from_vector<int64_t>({2}, {0, 1})},
         {attr("keepdims", int64_t{0})}, 18),
      {1});
}

TEST(OneDnnEltwise, GeluExactAndTanhAlsoAfterAMatMul) {
  const Tensor x = random({4, 9}, 1);
  expect_matches_reference(op("Gelu", {x}, {}, 20));
  expect_matches_reference(op("Gelu", {x}, {attr("approximate", std::string("tanh"))}, 20));
  FusionCase c;
  c.input("a", random({3, 8}, 2));
  c.constant("b", random({8, 5}, 3));
  c.node("MatMul", {"a", "b"}, "m");
  c.node("Gelu", {"m"}, "y", {}, 20);
  c.output("y");
  EXPECT_EQ(c.run_and_compare(), (Chains{{"m", "y"}}));
}

// ---- Swish (ai.edgerun, internal; built by opt/fuse_swish) -----------------------------------

OpCall swish(Tensor x, std::vector<ir::Attribute> attrs = {}) {
  OpCall call = op("Swish", {std::move(x)}, std::move(attrs), 1);
  call.domain = "ai.edgerun";
  return call;
}

TEST(OneDnnEltwise, SwishWithDefaultAndScaledAlpha) {
  // Wide values reach both saturated ends, where x * sigmoid(x) tends to x and to 0.
  Tensor x = random({2, 3, 5, 7}, 1);
  for (int64_t i = 0; i < x.size(); ++i) x.data<float>()[i] *= 40.0f;
  expect_matches_reference(swish(x));
  expect_matches_reference(swish(x, {attr("alpha", 1.702f)}));
  expect_matches_reference(swish(random({4, 9}, 2), {attr("alpha", 0.5f)}));
}

TEST(OneDnnFusion, SwishFusesAfterConvGemmAndMatMul) {
  FusionCase c;
  c.input("x", random({1, 3, 9, 9}, 1));
  c.constant("w", random({6, 3, 3, 3}, 2));
  c.constant("b", random({6}, 3));
  c.node("Conv", {"x", "w", "b"}, "conv", {attr("pads", std::vector<int64_t>{1, 1, 1, 1})});
  c.node("Swish", {"conv"}, "y", {}, 1, "ai.edgerun");
  c.output("y");
  c.input("a", random({4, 8}, 4));
  c.constant("gw", random({8, 5}, 5));
  c.node("Gemm", {"a", "gw"}, "gemm");
  c.node("Swish", {"gemm"}, "g", {attr("alpha", 1.702f)}, 1, "ai.edgerun");
  c.output("g");
  c.input("m", random({2, 3, 8}, 6));
  c.constant("mw", random({8, 4}, 7));
  c.node("MatMul", {"m", "mw"}, "mm");
  c.node("Swish", {"mm"}, "h", {}, 1, "ai.edgerun");
  c.output("h");
  EXPECT_EQ(c.run_and_compare(), (Chains{{"conv", "y"}, {"gemm", "g"}, {"mm", "h"}}));
}

TEST(OneDnnMatMul, SharedWeightsRunAsOneProductWithFusedAdds) {
  // [seq, 1, K] x [K, N], as a sequence-first attention projection writes it: one product of
  // seq rows, with a bias row and a full-shape residual fused.
  expect_matches_reference_both_ways(op("MatMul", {random({6, 1, 7}, 1), random({7, 3}, 2)}));
  FusionCase c;
  c.input("a", random({6, 2, 7}, 1));
  c.input("residual", random({6, 2, 3}, 2));
  c.constant("b", random({7, 3}, 3));
  c.constant("bias", random({3}, 4));
  c.node("MatMul", {"a", "b"}, "m");
  c.node("Add", {"m", "bias"}, "biased");
  c.node("Add", {"residual", "biased"}, "y");
  c.output("y");
  EXPECT_EQ(c.run_and_compare(), (Chains{{"m", "biased", "y"}}));
}

TEST(OneDnnEltwise, PowWithAConstantExponentOfTwoOrOne) {
  const Tensor x = random({3, 5}, 1);
  expect_matches_reference(op("Pow", {x, Tensor::scalar(2.0f)}), {1});
  expect_matches_reference(op("Pow", {x, Tensor::scalar(1.0f)}), {1});
  // Other exponents are claimed by the rule (constant) but left to the reference at lowering.
  expect_matches_reference(op("Pow", {positive({3, 5}), Tensor::scalar(0.5f)}), {1}, true);
  OneDnnCase runtime(op("Pow", {x, Tensor::scalar(2.0f)}), {});
  EXPECT_FALSE(runtime.claimed());
}

}  // namespace
}  // namespace edgerun::testing
