#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "edgerun/half.hpp"

namespace edgerun {
namespace {

TEST(Float16, RoundTripsExactValues) {
  for (float v : {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f}) {
    EXPECT_EQ(static_cast<float>(float16_t(v)), v) << v;
  }
}

TEST(Float16, RoundsToNearestEven) {
  // 1 + 2^-11 lies halfway between 1 and the next half (1 + 2^-10): ties go to even (1).
  EXPECT_EQ(float16_t(1.0f + 0.00048828125f).bits, 0x3c00);
  EXPECT_EQ(float16_t(1.0f + 0.00048828126f * 1.5f).bits, 0x3c01);
  EXPECT_EQ(float16_t(70000.0f).bits, 0x7c00);  // overflow to +Inf
  EXPECT_TRUE(std::isnan(static_cast<float>(float16_t(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(BFloat16, RoundsToNearestEven) {
  EXPECT_EQ(bfloat16_t(1.0f).bits, 0x3f80);
  EXPECT_EQ(static_cast<float>(bfloat16_t(3.140625f)), 3.140625f);
  EXPECT_TRUE(std::isnan(static_cast<float>(bfloat16_t(std::numeric_limits<float>::quiet_NaN()))));
}

}  // namespace
}  // namespace edgerun
