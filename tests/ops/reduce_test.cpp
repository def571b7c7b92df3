// Reduce family: reductions, ArgMax/ArgMin, TopK, CumSum, Resize/Upsample, losses.
#include <cmath>
#include <limits>

#include "ops/op_test.h"

// The cases brace-initialise OpCall and leave its trailing fields (outputs, domain) defaulted.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace edgerun::testing {
namespace {

const Tensor kX23 = make<float>({2, 3}, {1, 2, 3, 4, 5, 6});

TEST(ReduceOps, SumAxesAttributeKeepdims) {
  OpCall c{"ReduceSum", {kX23}, {attr("axes", std::vector<int64_t>{1})}, 11};
  EXPECT_TRUE(tensors_close(run1(c), make<float>({2, 1}, {6, 15})));
}

TEST(ReduceOps, SumAxesInputNoKeepdims) {
  OpCall c{"ReduceSum", {kX23, make<int64_t>({1}, {-2})}, {attr("keepdims", int64_t{0})}, 13};
  EXPECT_TRUE(tensors_close(run1(c), make<float>({3}, {5, 7, 9})));
}

TEST(ReduceOps, SumAllAxesByDefault) {
  OpCall c{"ReduceSum", {make<int32_t>({2, 2}, {1, 2, 3, -4})}, {}, 13};
  EXPECT_TRUE(tensors_close(run1(c), make<int32_t>({1, 1}, {2})));
}

TEST(ReduceOps, NoopWithEmptyAxes) {
  OpCall c{"ReduceSum", {kX23, make<int64_t>({0}, {})}, {attr("noop_with_empty_axes", int64_t{1})},
           13};
  EXPECT_TRUE(tensors_close(run1(c), kX23));
}

TEST(ReduceOps, MeanMaxMinProd) {
  std::vector<ir::Attribute> a{attr("axes", std::vector<int64_t>{0}),
                               attr("keepdims", int64_t{0})};
  EXPECT_TRUE(
      tensors_close(run1({"ReduceMean", {kX23}, a, 13}), make<float>({3}, {2.5, 3.5, 4.5})));
  EXPECT_TRUE(tensors_close(run1({"ReduceMax", {kX23}, a, 13}), make<float>({3}, {4, 5, 6})));
  EXPECT_TRUE(tensors_close(run1({"ReduceMin", {kX23}, a, 13}), make<float>({3}, {1, 2, 3})));
  EXPECT_TRUE(tensors_close(run1({"ReduceProd", {kX23}, a, 13}), make<float>({3}, {4, 10, 18})));
}

TEST(ReduceOps, NormsAndLogs) {
  const Tensor x = make<double>({3}, {3, -4, 0});
  std::vector<ir::Attribute> a{attr("keepdims", int64_t{0})};
  EXPECT_TRUE(tensors_close(run1({"ReduceL1", {x}, a, 13}), make<double>({}, {7})));
  EXPECT_TRUE(tensors_close(run1({"ReduceL2", {x}, a, 13}), make<double>({}, {5})));
  EXPECT_TRUE(tensors_close(run1({"ReduceSumSquare", {x}, a, 13}), make<double>({}, {25})));
  EXPECT_TRUE(tensors_close(run1({"ReduceLogSum", {make<double>({2}, {1, 2})}, a, 13}),
                            make<double>({}, {std::log(3.0)})));
  // 1000 would overflow exp() without the max shift.
  EXPECT_TRUE(tensors_close(run1({"ReduceLogSumExp", {make<double>({2}, {1000, 1000})}, a, 13}),
                            make<double>({}, {1000 + std::log(2.0)})));
}

TEST(ReduceOps, EmptyReductionGivesIdentity) {
  const Tensor x = make<float>({0, 2}, {});
  std::vector<ir::Attribute> a{attr("axes", std::vector<int64_t>{0}),
                               attr("keepdims", int64_t{0})};
  EXPECT_TRUE(tensors_close(run1({"ReduceSum", {x}, a, 11}), make<float>({2}, {0, 0})));
  EXPECT_TRUE(tensors_close(run1({"ReduceProd", {x}, a, 11}), make<float>({2}, {1, 1})));
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(tensors_close(run1({"ReduceMax", {x}, a, 11}), make<float>({2}, {-inf, -inf})));
  EXPECT_TRUE(tensors_close(run1({"ReduceLogSumExp", {x}, a, 11}),
                            make<float>({2}, {-inf, -inf})));
}

TEST(ReduceOps, AxesInputFromOpset18) {
  OpCall c{"ReduceMax", {kX23, make<int64_t>({1}, {1})}, {}, 18};
  EXPECT_TRUE(tensors_close(run1(c), make<float>({2, 1}, {3, 6})));
}

TEST(ReduceOps, Float16) {
  OpCall c{"ReduceSum",
           {make<float16_t>({2}, {float16_t(1.5f), float16_t(2.25f)})},
           {attr("keepdims", int64_t{0})},
           13};
  EXPECT_TRUE(tensors_close(run1(c), make<float16_t>({}, {float16_t(3.75f)})));
}

TEST(ReduceOps, BadAxisIsAnError) {
  auto r = run_op({"ReduceSum", {kX23}, {attr("axes", std::vector<int64_t>{2})}, 11});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("out of range"), std::string::npos);
  EXPECT_FALSE(run_op({"ReduceMean", {kX23}, {attr("axes", std::vector<int64_t>{0, -2})}, 13})
                   .is_ok());
}

TEST(ReduceOps, ArgMaxArgMin) {
  const Tensor x = make<float>({2, 3}, {1, 5, 5, 7, 0, 7});
  EXPECT_TRUE(tensors_close(run1({"ArgMax", {x}, {attr("axis", int64_t{1})}, 13}),
                            make<int64_t>({2, 1}, {1, 0})));
  EXPECT_TRUE(tensors_close(run1({"ArgMax",
                                  {x},
                                  {attr("axis", int64_t{1}), attr("select_last_index", int64_t{1}),
                                   attr("keepdims", int64_t{0})},
                                  13}),
                            make<int64_t>({2}, {2, 2})));
  EXPECT_TRUE(tensors_close(run1({"ArgMin", {x}, {}, 13}), make<int64_t>({1, 3}, {0, 1, 0})));
  EXPECT_FALSE(run_op({"ArgMin", {x}, {attr("axis", int64_t{3})}, 13}).is_ok());
}

TEST(ReduceOps, TopKLargestWithTies) {
  const Tensor x = make<float>({2, 4}, {3, 1, 3, 2, 0, 9, 8, 9});
  auto r = run_op({"TopK", {x, make<int64_t>({1}, {2})}, {}, 11, 2});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_TRUE(tensors_close(r.value()[0], make<float>({2, 2}, {3, 3, 9, 9})));
  EXPECT_TRUE(tensors_close(r.value()[1], make<int64_t>({2, 2}, {0, 2, 1, 3})));
}

TEST(ReduceOps, TopKSmallestAlongAxis0AndLegacyAttribute) {
  const Tensor x = make<int32_t>({3, 2}, {5, 1, 2, 6, 4, 0});
  auto r = run_op({"TopK", {x, make<int64_t>({1}, {1})},
                   {attr("axis", int64_t{0}), attr("largest", int64_t{0})}, 11, 2});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_TRUE(tensors_close(r.value()[0], make<int32_t>({1, 2}, {2, 0})));
  EXPECT_TRUE(tensors_close(r.value()[1], make<int64_t>({1, 2}, {1, 2})));
  auto legacy = run_op({"TopK", {x}, {attr("k", int64_t{2})}, 1, 2});
  ASSERT_TRUE(legacy.is_ok()) << legacy.status().to_string();
  EXPECT_TRUE(tensors_close(legacy.value()[0], make<int32_t>({3, 2}, {5, 1, 6, 2, 4, 0})));
}

TEST(ReduceOps, TopKBadK) {
  auto r = run_op({"TopK", {kX23, make<int64_t>({1}, {4})}, {}, 11, 2});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("got 4"), std::string::npos);
}

TEST(ReduceOps, CumSumVariants) {
  const Tensor x = make<float>({4}, {1, 2, 3, 4});
  const Tensor axis = make<int32_t>({}, {0});
  EXPECT_TRUE(tensors_close(run1({"CumSum", {x, axis}, {}, 14}), make<float>({4}, {1, 3, 6, 10})));
  EXPECT_TRUE(tensors_close(run1({"CumSum", {x, axis}, {attr("exclusive", int64_t{1})}, 14}),
                            make<float>({4}, {0, 1, 3, 6})));
  EXPECT_TRUE(tensors_close(run1({"CumSum", {x, axis}, {attr("reverse", int64_t{1})}, 14}),
                            make<float>({4}, {10, 9, 7, 4})));
  EXPECT_TRUE(tensors_close(
      run1({"CumSum", {kX23, make<int64_t>({}, {-1})},
            {attr("reverse", int64_t{1}), attr("exclusive", int64_t{1})}, 14}),
      make<float>({2, 3}, {5, 3, 0, 11, 6, 0})));
  EXPECT_FALSE(run_op({"CumSum", {x, make<int64_t>({}, {1})}, {}, 14}).is_ok());
}

TEST(ReduceOps, ResizeNearestUpsample) {
  const Tensor x = make<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  OpCall c{"Resize", {x, Tensor(), make<float>({4}, {1, 1, 2, 2})}, {}, 13};
  EXPECT_TRUE(tensors_close(run1(c), make<float>({1, 1, 4, 4}, {1, 1, 2, 2, 1, 1, 2, 2,
                                                               3, 3, 4, 4, 3, 3, 4, 4})));
}

TEST(ReduceOps, ResizeLinearHalfPixelAndAlignCorners) {
  const Tensor x = make<float>({1, 2}, {0, 10});
  const Tensor sizes = make<int64_t>({2}, {1, 4});
  OpCall half{"Resize", {x, Tensor(), Tensor(), sizes}, {attr("mode", std::string("linear"))}, 13};
  // half_pixel: x_orig = (j + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 (edges clamp).
  EXPECT_TRUE(tensors_close(run1(half), make<float>({1, 4}, {0, 2.5, 7.5, 10})));
  OpCall corners = half;
  corners.attributes.push_back(
      attr("coordinate_transformation_mode", std::string("align_corners")));
  EXPECT_TRUE(tensors_close(run1(corners), make<float>({1, 4}, {0, 10.0f / 3, 20.0f / 3, 10})));
}

TEST(ReduceOps, ResizeCubicKeepsConstants) {
  const Tensor x = make<float>({3, 3}, {2, 2, 2, 2, 2, 2, 2, 2, 2});
  OpCall c{"Resize", {x, Tensor(), make<float>({2}, {1.5f, 0.7f})},
           {attr("mode", std::string("cubic"))}, 13};
  const Tensor y = run1(c);
  EXPECT_TRUE(tensors_close(y, make<float>({4, 2}, {2, 2, 2, 2, 2, 2, 2, 2})));
}

TEST(ReduceOps, ResizeAntialiasAveragesWhenShrinking) {
  // Halving [0, 4, 8, 12] with an antialiased linear (triangle, width 2) filter: output 0 sits
  // at x = 0.5 and takes weights 1/4, 3/4, 3/4, 1/4 (normalised) over -1..2.
  const Tensor x = make<float>({4}, {0, 4, 8, 12});
  OpCall c{"Resize", {x, Tensor(), make<float>({1}, {0.5f})},
           {attr("mode", std::string("linear")), attr("antialias", int64_t{1})}, 18};
  EXPECT_TRUE(tensors_close(run1(c), make<float>({2}, {2.5, 9.5})));
}

TEST(ReduceOps, ResizeAxesAndTfCropExtrapolation) {
  const Tensor x = make<float>({2, 2}, {1, 2, 3, 4});
  OpCall c{"Resize", {x, make<float>({2}, {0.5f, 1.5f}), Tensor(), make<int64_t>({1}, {3})},
           {attr("mode", std::string("linear")), attr("axes", std::vector<int64_t>{1}),
            attr("coordinate_transformation_mode", std::string("tf_crop_and_resize")),
            attr("extrapolation_value", 9.0f)},
           18};
  // Along axis 1 the samples sit at 0.5, 1.0 and 1.5; the last is outside the input.
  EXPECT_TRUE(tensors_close(run1(c), make<float>({2, 3}, {1.5, 2, 9, 3.5, 4, 9})));
}

TEST(ReduceOps, ResizeErrors) {
  const Tensor x = make<float>({2, 2}, {1, 2, 3, 4});
  EXPECT_FALSE(run_op({"Resize", {x, Tensor(), make<float>({1}, {2})}, {}, 13}).is_ok());
  EXPECT_FALSE(run_op({"Resize", {x, Tensor(), make<float>({2}, {2, 2}),
                       make<int64_t>({2}, {4, 4})}, {}, 13}).is_ok());
  EXPECT_FALSE(run_op({"Resize", {x, Tensor(), make<float>({2}, {2, -1})}, {}, 13}).is_ok());
}

TEST(ReduceOps, UpsampleAttributeAndInputScales) {
  const Tensor x = make<int32_t>({1, 2}, {1, 2});
  const Tensor want = make<int32_t>({2, 6}, {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2});
  EXPECT_TRUE(tensors_close(run1({"Upsample", {x}, {attr("scales", std::vector<float>{2, 3})}, 7}),
                            want));
  EXPECT_TRUE(tensors_close(run1({"Upsample", {x, make<float>({2}, {2, 3})}, {}, 9}), want));
  const Tensor lin = make<float>({2}, {0, 10});
  EXPECT_TRUE(tensors_close(run1({"Upsample", {lin, make<float>({1}, {2})},
                                  {attr("mode", std::string("linear"))}, 9}),
                            make<float>({4}, {0, 5, 10, 10})));
}

TEST(ReduceOps, NllLossReductionsAndIgnoreIndex) {
  const Tensor logp = make<float>({2, 3}, {-1, -2, -3, -4, -5, -6});
  const Tensor target = make<int64_t>({2}, {2, 0});
  const Tensor weight = make<float>({3}, {1, 1, 0.5});
  auto none = run1({"NegativeLogLikelihoodLoss", {logp, target, weight},
                    {attr("reduction", std::string("none"))}, 13});
  EXPECT_TRUE(tensors_close(none, make<float>({2}, {1.5, 4})));
  auto mean = run1({"NegativeLogLikelihoodLoss", {logp, target, weight}, {}, 13});
  EXPECT_TRUE(tensors_close(mean, make<float>({}, {5.5f / 1.5f})));
  auto ignored = run1({"NegativeLogLikelihoodLoss", {logp, target},
                       {attr("ignore_index", int64_t{2}), attr("reduction", std::string("sum"))},
                       13});
  EXPECT_TRUE(tensors_close(ignored, make<float>({}, {4})));
}

TEST(ReduceOps, NllLossErrors) {
  const Tensor logp = make<float>({2, 3}, {-1, -2, -3, -4, -5, -6});
  EXPECT_FALSE(run_op({"NegativeLogLikelihoodLoss", {logp, make<int64_t>({2}, {3, 0})}, {}, 13})
                   .is_ok());
  EXPECT_FALSE(run_op({"NegativeLogLikelihoodLoss", {logp, make<int64_t>({3}, {0, 0, 0})}, {}, 13})
                   .is_ok());
}

TEST(ReduceOps, SoftmaxCrossEntropyWithLogProb) {
  const Tensor scores = make<double>({1, 2}, {0, std::log(3.0)});
  auto r = run_op({"SoftmaxCrossEntropyLoss", {scores, make<int32_t>({1}, {1})}, {}, 13, 2});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  // softmax = [1/4, 3/4].
  EXPECT_TRUE(tensors_close(r.value()[0], make<double>({}, {-std::log(0.75)})));
  EXPECT_TRUE(tensors_close(r.value()[1], make<double>({1, 2}, {std::log(0.25), std::log(0.75)})));
}

}  // namespace
}  // namespace edgerun::testing
