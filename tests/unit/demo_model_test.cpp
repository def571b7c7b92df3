// The bundled demo model (models/demo_cnn.onnx) gives the output that numpy computed for it
// independently (models/make_demo_model.py), so the README's main job shows correct numbers.
#include <gtest/gtest.h>

#include <string>

#include "core/npy.h"
#include "edgerun/edgerun.hpp"
#include "ops/op_test.h"

namespace edgerun {
namespace {

TEST(DemoModel, MatchesNumpyForwardPass) {
  const std::string dir = std::string(EDGERUN_SOURCE_DIR) + "/models/";
  Engine engine;
  Result<PreparedModel> model =
      engine.prepare(ModelArtifact::from_file(dir + "demo_cnn.onnx"), PrepareOptions{});
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  Result<Tensor> image = read_npy(dir + "demo_cnn.input.npy");
  Result<Tensor> expected = read_npy(dir + "demo_cnn.expected.npy");
  ASSERT_TRUE(image.is_ok()) << image.status().to_string();
  ASSERT_TRUE(expected.is_ok()) << expected.status().to_string();

  Result<TensorMap> out = model->run({{"image", *image}});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_TRUE(testing::tensors_close(out->at("probabilities"), *expected, 1e-5, 1e-6));
}

}  // namespace
}  // namespace edgerun
