// Training family (ai.onnx.preview.training): Adagrad, Adam, Momentum.
#include <string>

#include "ops/op_test.h"

namespace edgerun::testing {
namespace {

const std::string kTraining = "ai.onnx.preview.training";

OpCall training_call(std::string op, std::vector<Tensor> inputs,
                     std::vector<ir::Attribute> attributes, size_t num_outputs) {
  return OpCall{std::move(op), std::move(inputs), std::move(attributes), 1, num_outputs,
                kTraining};
}

Tensor rate(float r) { return make<float>({}, {r}); }
Tensor step(int64_t t) { return make<int64_t>({}, {t}); }

// Expects the call to fail with a message that contains `text`.
void expect_error(const OpCall& call, const std::string& text) {
  auto r = run_op(call);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find(text), std::string::npos) << r.status().message();
}

TEST(TrainingOps, AdagradTwoTensors) {
  // The learning rate decays to 0.1 / (1 + 3 * 0.5); the gradient gets 0.01 * X added.
  OpCall c = training_call("Adagrad",
                           {rate(0.1f), step(3), make<float>({1}, {1}), make<float>({1, 1}, {-2}),
                            make<float>({1}, {-1}), make<float>({1, 1}, {0.5}),
                            make<float>({1}, {2}), make<float>({1, 1}, {0})},
                           {attr("decay_factor", 0.5f), attr("epsilon", 1e-5f),
                            attr("norm_coefficient", 0.01f)},
                           4);
  auto r = run_op(c);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_TRUE(tensors_close(r.value()[0], make<float>({1}, {1.0229391f})));
  EXPECT_TRUE(tensors_close(r.value()[1], make<float>({1, 1}, {-2.0399992f})));
  EXPECT_TRUE(tensors_close(r.value()[2], make<float>({1}, {2.9801f})));
  EXPECT_TRUE(tensors_close(r.value()[3], make<float>({1, 1}, {0.2304f})));
}

TEST(TrainingOps, MomentumStandardAndNesterov) {
  const std::vector<Tensor> tensors{make<double>({2}, {1, 2}), make<double>({2}, {-1, 3}),
                                    make<double>({2}, {2, 1})};
  auto inputs = [&](int64_t t) {
    std::vector<Tensor> in{make<float>({}, {0.1f}), step(t)};
    in.insert(in.end(), tensors.begin(), tensors.end());
    return in;
  };
  auto attrs = [](std::string mode) {
    return std::vector<ir::Attribute>{attr("alpha", 0.9f), attr("beta", 0.1f),
                                      attr("norm_coefficient", 0.0f), attr("mode", mode)};
  };
  // T == 0: the whole gradient enters the momentum (beta is ignored).
  auto first = run_op(training_call("Momentum", inputs(0), attrs("standard"), 2));
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_TRUE(tensors_close(first.value()[0], make<double>({2}, {0.92, 1.61})));
  EXPECT_TRUE(tensors_close(first.value()[1], make<double>({2}, {0.8, 3.9})));
  auto later = run_op(training_call("Momentum", inputs(5), attrs("standard"), 2));
  ASSERT_TRUE(later.is_ok()) << later.status().to_string();
  EXPECT_TRUE(tensors_close(later.value()[0], make<double>({2}, {0.83, 1.88})));
  EXPECT_TRUE(tensors_close(later.value()[1], make<double>({2}, {1.7, 1.2})));
  auto nesterov = run_op(training_call("Momentum", inputs(5), attrs("nesterov"), 2));
  ASSERT_TRUE(nesterov.is_ok()) << nesterov.status().to_string();
  EXPECT_TRUE(tensors_close(nesterov.value()[0], make<double>({2}, {0.947, 1.592}), 1e-5));
  EXPECT_TRUE(tensors_close(nesterov.value()[1], make<double>({2}, {1.7, 1.2})));
}

TEST(TrainingOps, AdamBiasCorrectionAndPostDecay) {
  OpCall c = training_call("Adam",
                           {rate(0.1f), step(2), make<float>({2}, {1, 2}),
                            make<float>({2}, {-1, 3}), make<float>({2}, {2, 1}),
                            make<float>({2}, {0.5, 4})},
                           {attr("norm_coefficient_post", 0.1f)}, 3);
  auto r = run_op(c);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_TRUE(tensors_close(r.value()[0], make<float>({2}, {0.84910893f, 1.7873008f})));
  EXPECT_TRUE(tensors_close(r.value()[1], make<float>({2}, {1.7f, 1.2f})));
  EXPECT_TRUE(tensors_close(r.value()[2], make<float>({2}, {0.5005f, 4.005f})));
}

TEST(TrainingOps, Errors) {
  const Tensor x = make<float>({2}, {1, 2});
  // Adagrad needs X, G and H for every tensor: 2 + 3N inputs.
  expect_error(training_call("Adagrad", {rate(0.1f), step(0), x, x}, {}, 2),
               "3 equally long lists (X, G, H), got 4 inputs");
  expect_error(training_call("Adagrad", {make<float>({2}, {0.1f, 0.2f}), step(0), x, x, x}, {}, 2),
               "R must be a float or double scalar, got float32 of shape [2]");
  expect_error(training_call("Adagrad", {rate(0.1f), make<int32_t>({}, {0}), x, x, x}, {}, 2),
               "T must be an int64 scalar, got int32");
  expect_error(
      training_call("Adam", {rate(0.1f), step(0), x, make<float>({3}, {1, 2, 3}), x, x}, {}, 3),
      "match the dtype and shape of its tensor X1 (float32 [2]), got float32 [3]");
  expect_error(training_call("Momentum", {rate(0.1f), step(0), x, x, x},
                             {attr("alpha", 0.9f), attr("beta", 0.1f),
                              attr("norm_coefficient", 0.0f), attr("mode", std::string("heavy"))},
                             2),
               "got 'heavy'");
  expect_error(training_call("Momentum", {rate(0.1f), step(0), make<int64_t>({1}, {1}),
                                          make<int64_t>({1}, {1}), make<int64_t>({1}, {1})},
                             {}, 2),
               "float or double tensors, got int64");
}

}  // namespace
}  // namespace edgerun::testing
