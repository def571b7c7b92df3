// Tensor storage: zero-filled or not, small or large enough for huge pages, always aligned; and
// the allocation it shares with the arena and packed weights (memory::allocate_hinted).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "edgerun/tensor.hpp"
#include "memory/page_hints.h"

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

TEST(HintedAllocation, SmallBuffersTakeTheirAlignmentLargeOnesStartOnAHugePage) {
  // Sizes not a multiple of the alignment: aligned_alloc needs them rounded up.
  for (const size_t bytes : {size_t{1}, size_t{100}, memory::kHugePage - 1, memory::kHugePage,
                             memory::kHugePage * 3 + 5}) {
    void* p = memory::allocate_hinted(bytes, 64);
    ASSERT_NE(p, nullptr) << bytes;
    const size_t alignment = bytes >= memory::kHugePage ? memory::kHugePage : 64;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % alignment, 0u) << bytes;
    std::memset(p, 0x5a, bytes);  // all of it is writable (ASan checks the bounds)
    std::free(p);
  }
}

}  // namespace
}  // namespace edgerun
