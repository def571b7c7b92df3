// PrepareOptions::optimize: on, constant subgraphs are folded and the exported GELU and SiLU fused
// before placement; off, the model runs node for node as written. Both give the same outputs.
#include <gtest/gtest.h>

#include <utility>

#include "edgerun/edgerun.hpp"
#include "ops/op_test.h"
#include "unit/model_builder.h"

namespace edgerun {
namespace {

TEST(GraphOptimizations, FoldAndFuseOnlyWhenAskedAndChangeNoResult) {
  Tensor x(DType::kFloat32, {2, 4});
  for (int64_t i = 0; i < x.size(); ++i) x.data<float>()[i] = 0.3f * static_cast<float>(i) - 1.0f;
  Engine engine;
  std::map<bool, Tensor> results;
  for (bool optimize : {true, false}) {
    SCOPED_TRACE(optimize ? "optimised" : "as written");
    PrepareOptions options;
    options.optimize = optimize;
    options.backends = {"reference"};
    auto model =
        engine.prepare(ModelArtifact::from_bytes(testing::exported_gelu_model().bytes()), options);
    ASSERT_TRUE(model.is_ok()) << model.status().to_string();
    // Optimised: the Transpose folded into a constant, the five GELU nodes one Gelu.
    EXPECT_EQ(model->capabilities().node_count, optimize ? 2u : 7u);
    auto out = model->run({{"x", x}});
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    results[optimize] = out->at("y");
  }
  EXPECT_TRUE(testing::tensors_close(results[true], results[false], 1e-6, 1e-7));
}

// An EfficientNet block as PyTorch exports it: Conv, SiLU as x * Sigmoid(x), then a
// squeeze-and-excitation gate a * Sigmoid(Conv(pool(a))). The SiLU becomes one Swish, which
// oneDNN runs as the convolution's post-op; the gate is no Swish and stays as it is.
TEST(GraphOptimizations, SiluBecomesSwishAndTheSqueezeExcitationGateStays) {
  testing::ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {1, 4, 6, 6});
  std::vector<float> w(4 * 4 * 3 * 3), w2(4 * 4);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.05f * static_cast<float>(i % 13) - 0.3f;
  for (size_t i = 0; i < w2.size(); ++i) w2[i] = 0.2f * static_cast<float>(i % 7) - 0.6f;
  b.initializer("w", {4, 4, 3, 3}, w);
  b.initializer("w2", {4, 4, 1, 1}, w2);
  b.node("Conv", {"x", "w"}, {"c"});
  b.node("Sigmoid", {"c"}, {"s"});
  b.node("Mul", {"c", "s"}, {"a"});
  b.node("GlobalAveragePool", {"a"}, {"p"});
  b.node("Conv", {"p", "w2"}, {"f"});
  b.node("Sigmoid", {"f"}, {"g"});
  b.node("Mul", {"a", "g"}, {"y"});
  b.output("y");
  Tensor x(DType::kFloat32, {1, 4, 6, 6});
  for (int64_t i = 0; i < x.size(); ++i) {
    x.data<float>()[i] = 0.07f * static_cast<float>(i % 29) - 1.0f;
  }
  Engine engine;
  std::map<std::pair<bool, bool>, Tensor> results;
  for (bool optimize : {true, false}) {
    for (bool reference_only : {true, false}) {
      SCOPED_TRACE(std::string(optimize ? "optimised" : "as written") +
                   (reference_only ? ", reference" : ", oneDNN"));
      PrepareOptions options;
      options.optimize = optimize;
      if (reference_only) options.backends = {"reference"};
      auto model = engine.prepare(ModelArtifact::from_bytes(b.bytes()), options);
      ASSERT_TRUE(model.is_ok()) << model.status().to_string();
      EXPECT_EQ(model->capabilities().node_count, optimize ? 6u : 7u);
      size_t swish = 0, sigmoid = 0;
      for (const NodePlacement& p : model->capabilities().placements) {
        swish += p.op == "Swish" ? 1 : 0;
        sigmoid += p.op == "Sigmoid" ? 1 : 0;
      }
      EXPECT_EQ(swish, optimize ? 1u : 0u);
      EXPECT_EQ(sigmoid, optimize ? 1u : 2u);  // the gate's Sigmoid always stays
      auto out = model->run({{"x", x}});
      ASSERT_TRUE(out.is_ok()) << out.status().to_string();
      results[{optimize, reference_only}] = out->at("y");
    }
  }
  // On the reference, fused or not, the results are the same bits; oneDNN is within its fp32
  // tolerance.
  EXPECT_TRUE(testing::tensors_close(results[{true, true}], results[{false, true}], 0, 0));
  EXPECT_TRUE(testing::tensors_close(results[{true, false}], results[{false, true}], 1e-4, 1e-5));
  EXPECT_TRUE(testing::tensors_close(results[{false, false}], results[{false, true}], 1e-4, 1e-5));
}

}  // namespace
}  // namespace edgerun
