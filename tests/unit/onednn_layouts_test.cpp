// The layout arithmetic of the oneDNN lowerings: which strided layouts read the same bytes, and
// how a Reshape sees data that stays in its producer's layout.
#include <gtest/gtest.h>

#include "backends/onednn/lower_ops.h"

namespace edgerun::onednn::lower {
namespace {

using Tag = memory::format_tag;

Dims strides_of(const memory::desc& desc) {
  const auto& blocking = desc.data.format_desc.blocking;
  return Dims(blocking.strides, blocking.strides + desc.data.ndims);
}

TEST(SameBytes, IgnoresTheStridesOfDimsOfOneOnly) {
  const memory::desc nhwc({1, 64, 1, 1}, kF32, Tag::nhwc);
  EXPECT_TRUE(same_bytes(nhwc, plain({1, 64, 1, 1})));
  EXPECT_TRUE(same_bytes(plain({2, 3}), plain({2, 3})));
  EXPECT_FALSE(same_bytes(memory::desc({1, 64, 2, 1}, kF32, Tag::nhwc), plain({1, 64, 2, 1})));
  EXPECT_FALSE(same_bytes(plain({1, 64, 1, 1}), plain({1, 64, 1})));  // other dims
  // Channel blocks put channels 16 apart in another order.
  EXPECT_FALSE(same_bytes(memory::desc({1, 32, 1, 1}, kF32, Tag::nChw16c), plain({1, 32, 1, 1})));
}

TEST(SameBytes, OneBlockThatSpansItsDimIsChannelsLast) {
  const memory::desc nhwc({1, 16, 5, 7}, kF32, Tag::nhwc);
  EXPECT_TRUE(same_bytes(memory::desc({1, 16, 5, 7}, kF32, Tag::nChw16c), nhwc));
  EXPECT_TRUE(same_bytes(nhwc, memory::desc({1, 16, 5, 7}, kF32, Tag::nChw16c)));
  EXPECT_TRUE(same_bytes(memory::desc({1, 8, 5, 7}, kF32, Tag::nChw8c),
                         memory::desc({1, 8, 5, 7}, kF32, Tag::nhwc)));
  // Two blocks, a padded block, or a block of 8 over 16 channels are other orders.
  EXPECT_FALSE(same_bytes(memory::desc({1, 32, 5, 7}, kF32, Tag::nChw16c),
                          memory::desc({1, 32, 5, 7}, kF32, Tag::nhwc)));
  EXPECT_FALSE(same_bytes(memory::desc({1, 12, 5, 7}, kF32, Tag::nChw16c),
                          memory::desc({1, 12, 5, 7}, kF32, Tag::nhwc)));
  EXPECT_FALSE(same_bytes(memory::desc({1, 16, 5, 7}, kF32, Tag::nChw8c), nhwc));
  // A batch: both put the images 16 * H * W apart.
  EXPECT_TRUE(same_bytes(memory::desc({2, 16, 5, 7}, kF32, Tag::nChw16c),
                         memory::desc({2, 16, 5, 7}, kF32, Tag::nhwc)));
}

TEST(ReshapedLayout, SplitsAndMergesDimsThatAreOneBlockOfMemory) {
  // A detection head's scores: channels-last [1, 546, 20, 20] seen as [1, 6, 91, 20, 20]
  // splits the channels, which stay innermost.
  const memory::desc nhwc({1, 546, 20, 20}, kF32, Tag::nhwc);
  const auto split = reshaped_layout(nhwc, {1, 6, 91, 20, 20});
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(strides_of(*split), (Dims{218400, 91, 1, 10920, 546}));
  // Its transpose to [1, 20, 20, 6, 91] is then plain data (the very descriptor).
  EXPECT_EQ(split->permute_axes({0, 3, 4, 1, 2}), plain({1, 20, 20, 6, 91}));
  // H and W merge (they are adjacent in memory), and dims of one come and go.
  const auto merged = reshaped_layout(nhwc, {546, 1, 400});
  ASSERT_TRUE(merged.has_value());
  EXPECT_EQ(strides_of(*merged), (Dims{1, 218400, 546}));
  // A pooled pixel flattens to a plain row.
  const auto flat = reshaped_layout(memory::desc({1, 64, 1, 1}, kF32, Tag::nhwc), {1, 64});
  ASSERT_TRUE(flat.has_value());
  EXPECT_TRUE(same_bytes(*flat, plain({1, 64})));
  // Plain data reshapes to plain data.
  const auto plain_again = reshaped_layout(plain({2, 3, 4}), {6, 2, 2});
  ASSERT_TRUE(plain_again.has_value());
  EXPECT_EQ(*plain_again, plain({6, 2, 2}));
}

TEST(ReshapedLayout, RefusesWhatNoStridesRead) {
  const memory::desc nhwc({1, 8, 4, 5}, kF32, Tag::nhwc);
  EXPECT_FALSE(reshaped_layout(nhwc, {1, 32, 5}).has_value());   // C and H are not adjacent
  EXPECT_FALSE(reshaped_layout(nhwc, {1, 160, 1}).has_value());  // C with H and W
  const auto rows = reshaped_layout(nhwc, {1, 8, 20});           // H and W are
  ASSERT_TRUE(rows.has_value());
  EXPECT_EQ(strides_of(*rows), (Dims{160, 1, 8}));
  EXPECT_FALSE(reshaped_layout(memory::desc({1, 32, 4, 4}, kF32, Tag::nChw16c), {1, 512})
                   .has_value());                                // inner blocks
  EXPECT_FALSE(reshaped_layout(nhwc, {1, 8, 4, 4}).has_value());  // another element count
}

}  // namespace
}  // namespace edgerun::onednn::lower
