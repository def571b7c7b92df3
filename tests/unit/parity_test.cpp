// Divergence metrics and budgets behind `edgerun parity`.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ops/op_test.h"
#include "runtime/parity.h"

namespace edgerun {
namespace {

using testing::make;

TEST(Parity, IdenticalTensorsHaveNoDivergence) {
  const Tensor t = make<float>({3}, {1, -2, 3});
  Result<Divergence> d = measure_divergence(t, t);
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ(d->max_abs, 0);
  EXPECT_EQ(d->rmse, 0);
  EXPECT_DOUBLE_EQ(d->cosine, 1);
  EXPECT_EQ(d->ref_max_abs, 3);
  EXPECT_EQ(budget_violation(*d, fp32_budget()), "");
}

TEST(Parity, MetricsOfAKnownDifference) {
  Result<Divergence> d =
      measure_divergence(make<float>({4}, {1, 2, 3, 4.5f}), make<float>({4}, {1, 2, 3, 4}));
  ASSERT_TRUE(d.is_ok());
  EXPECT_DOUBLE_EQ(d->max_abs, 0.5);
  EXPECT_DOUBLE_EQ(d->rmse, 0.25);          // sqrt(0.25 / 4)
  EXPECT_DOUBLE_EQ(d->max_rel, 0.125);      // 0.5 / 4
  EXPECT_LT(d->cosine, 1.0);
  EXPECT_NE(budget_violation(*d, fp32_budget()).find("L-inf 0.5 exceeds the fp32 budget 0.004"),
            std::string::npos)
      << budget_violation(*d, fp32_budget());
}

TEST(Parity, BudgetsScaleWithTheReferenceMagnitude) {
  // 0.05 off on values near 100 is within fp16's 1e-2 * 100 but not fp32's 1e-3 * 100.
  Result<Divergence> d = measure_divergence(make<float>({2}, {100.05f, 50}),
                                            make<float>({2}, {100, 50}));
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ(budget_violation(*d, fp16_budget()), "");
  EXPECT_NE(budget_violation(*d, fp32_budget()), "");
}

TEST(Parity, NonFiniteValuesMustAgree) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  Result<Divergence> same = measure_divergence(make<float>({2}, {nan, inf}), make<float>({2}, {nan, inf}));
  ASSERT_TRUE(same.is_ok());
  EXPECT_EQ(same->mismatched_nan, 0);
  Result<Divergence> differ = measure_divergence(make<float>({2}, {nan, 1}), make<float>({2}, {0, 1}));
  ASSERT_TRUE(differ.is_ok());
  EXPECT_EQ(differ->mismatched_nan, 1);
  EXPECT_NE(budget_violation(*differ, int8_budget()).find("NaN/Inf on one side"), std::string::npos);
}

TEST(Parity, IntegersAndMismatchedLayouts) {
  Result<Divergence> ints =
      measure_divergence(make<int64_t>({2}, {3, 7}), make<int64_t>({2}, {3, 5}));
  ASSERT_TRUE(ints.is_ok());
  EXPECT_EQ(ints->max_abs, 2);
  Result<Divergence> dtype = measure_divergence(make<float>({2}, {1, 2}), make<double>({2}, {1, 2}));
  ASSERT_FALSE(dtype.is_ok());
  EXPECT_NE(dtype.status().message().find("dtype float32 differs from the reference's float64"),
            std::string::npos);
  Result<Divergence> shape = measure_divergence(make<float>({2}, {1, 2}), make<float>({1, 2}, {1, 2}));
  ASSERT_FALSE(shape.is_ok());
  EXPECT_NE(shape.status().message().find("shape [2] differs"), std::string::npos);
}

}  // namespace
}  // namespace edgerun
