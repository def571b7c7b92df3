// Tensor storage: zero-filled or not, small or large enough for huge pages, always aligned.
#include <gtest/gtest.h>

#include <cstdint>

#include "edgerun/tensor.hpp"

namespace edgerun {
namespace {

TEST(TensorStorage, LargeTensorsOfAnySizeAreZeroedAlignedAndWritable) {
  // Over 2 MiB and not a multiple of it: the huge-page path must still allocate legally.
  for (int64_t count : {int64_t{524289}, int64_t{1 << 20} + 3}) {
    Tensor t(DType::kFloat32, {count});
    ASSERT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % 64, 0u);
    const float* p = t.data<float>();
    EXPECT_EQ(p[0], 0.0f);
    EXPECT_EQ(p[count - 1], 0.0f);
    t.data<float>()[count - 1] = 1.5f;
    EXPECT_EQ(t.data<float>()[count - 1], 1.5f);
  }
}

TEST(TensorStorage, UninitialisedTensorsHaveTheirShapeAndAlignment) {
  Tensor small = Tensor::uninitialized(DType::kInt64, {3, 5});
  EXPECT_EQ(small.size(), 15);
  EXPECT_EQ(small.nbytes(), 120u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small.raw_data()) % 64, 0u);
  Tensor large = Tensor::uninitialized(DType::kFloat32, {600000});
  large.data<float>()[599999] = 2.0f;
  EXPECT_EQ(large.data<float>()[599999], 2.0f);
  Tensor strings = Tensor::uninitialized(DType::kString, {2});
  EXPECT_TRUE(strings.data<std::string>()[1].empty());
}

}  // namespace
}  // namespace edgerun
