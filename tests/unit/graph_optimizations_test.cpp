// PrepareOptions::optimize: on, constant subgraphs are folded and the exported GELU fused before
// placement; off, the model runs node for node as written. Both give the same outputs.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace edgerun
