// Detection/sampling op cases (NonMaxSuppression, RoiAlign, GridSample, MaxUnpool):
// hand-computed expectations and error paths.
#include <string>
#include <vector>

#include "ops/op_test.h"

namespace edgerun::testing {
namespace {

// Box 1 overlaps box 0 with IoU 0.9 / 1.1; box 2 is far away.
const Tensor kBoxes = make<float>({1, 3, 4}, {0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, 10, 1, 11});
const Tensor kScores = make<float>({1, 1, 3}, {0.9f, 0.95f, 0.5f});

TEST(DetectNms, SuppressesOverlapsInScoreOrder) {
  const Tensor got = run1(op("NonMaxSuppression",
                             {kBoxes, kScores, make<int64_t>({1}, {3}),
                              make<float>({1}, {0.5f}), make<float>({1}, {0.0f})},
                             {}, 11));
  EXPECT_TRUE(tensors_close(got, make<int64_t>({2, 3}, {0, 0, 1, 0, 0, 2})));
}

TEST(DetectNms, ScoreThresholdAndLimit) {
  const Tensor by_score = run1(op("NonMaxSuppression",
                                  {kBoxes, kScores, make<int64_t>({1}, {3}),
                                   make<float>({1}, {0.5f}), make<float>({1}, {0.6f})},
                                  {}, 11));
  EXPECT_TRUE(tensors_close(by_score, make<int64_t>({1, 3}, {0, 0, 1})));
  // Without max_output_boxes_per_class nothing is selected.
  const Tensor none = run1(op("NonMaxSuppression", {kBoxes, kScores}, {}, 11));
  EXPECT_TRUE(tensors_close(none, make<int64_t>({0, 3}, {})));
}

TEST(DetectNms, CenterPointBoxes) {
  // Centres 0.5 and 0.6 apart by 0.1 on x with unit size: IoU 0.9/1.1 again.
  const Tensor boxes = make<float>({1, 2, 4}, {0.5f, 0.5f, 1, 1, 0.6f, 0.5f, 1, 1});
  const Tensor scores = make<float>({1, 1, 2}, {0.4f, 0.8f});
  const Tensor got = run1(op("NonMaxSuppression",
                             {boxes, scores, make<int64_t>({1}, {5}), make<float>({1}, {0.5f})},
                             {attr("center_point_box", int64_t{1})}, 11));
  EXPECT_TRUE(tensors_close(got, make<int64_t>({1, 3}, {0, 0, 1})));
}

TEST(DetectNms, RejectsBadShapes) {
  auto r = run_op(op("NonMaxSuppression", {make<float>({3, 4}, std::vector<float>(12)), kScores},
                     {}, 11));
  EXPECT_FALSE(r.is_ok());
  auto bad_iou = run_op(op("NonMaxSuppression", {kBoxes, kScores, make<int64_t>({1}, {3}),
                                                 make<float>({1}, {1.5f})},
                           {}, 11));
  EXPECT_FALSE(bad_iou.is_ok());
}

Tensor iota4x4() {
  std::vector<float> v(16);
  for (int i = 0; i < 16; ++i) v[i] = static_cast<float>(i);
  return make<float>({1, 1, 4, 4}, v);
}

TEST(DetectRoiAlign, AvgWithAndWithoutHalfPixel) {
  const Tensor rois = make<float>({1, 4}, {0, 0, 3, 3});
  const Tensor idx = make<int64_t>({1}, {0});
  const std::vector<ir::Attribute> attrs = {attr("sampling_ratio", int64_t{1})};
  // Opset 10: one sample at the roi centre (1.5, 1.5) = mean of 5, 6, 9, 10.
  EXPECT_TRUE(tensors_close(run1(op("RoiAlign", {iota4x4(), rois, idx}, attrs, 10)),
                            make<float>({1, 1, 1, 1}, {7.5f})));
  // Opset 16 default half_pixel shifts the roi by -0.5: the sample lands on pixel (1, 1).
  EXPECT_TRUE(tensors_close(run1(op("RoiAlign", {iota4x4(), rois, idx}, attrs, 16)),
                            make<float>({1, 1, 1, 1}, {5.0f})));
}

TEST(DetectRoiAlign, MaxModeTakesLargestWeightedCorner) {
  const Tensor got = run1(op("RoiAlign",
                             {iota4x4(), make<float>({1, 4}, {0, 0, 3, 3}),
                              make<int64_t>({1}, {0})},
                             {attr("sampling_ratio", int64_t{1}), attr("mode", std::string("max"))},
                             10));
  EXPECT_TRUE(tensors_close(got, make<float>({1, 1, 1, 1}, {2.5f})));
}

TEST(DetectRoiAlign, RejectsBatchIndexOutOfRange) {
  auto r = run_op(op("RoiAlign", {iota4x4(), make<float>({1, 4}, {0, 0, 3, 3}),
                                  make<int64_t>({1}, {1})}));
  EXPECT_FALSE(r.is_ok());
}

const Tensor kImage = make<float>({1, 1, 2, 2}, {1, 2, 3, 4});

TEST(DetectGridSample, BilinearCentreAndPadding) {
  const Tensor centre = make<float>({1, 1, 1, 2}, {0, 0});
  EXPECT_TRUE(tensors_close(run1(op("GridSample", {kImage, centre})),
                            make<float>({1, 1, 1, 1}, {2.5f})));
  // (-1, -1) maps to pixel (-0.5, -0.5): a quarter of pixel (0, 0) with zero padding.
  const Tensor corner = make<float>({1, 1, 1, 2}, {-1, -1});
  EXPECT_TRUE(tensors_close(run1(op("GridSample", {kImage, corner})),
                            make<float>({1, 1, 1, 1}, {0.25f})));
  EXPECT_TRUE(tensors_close(
      run1(op("GridSample", {kImage, corner}, {attr("padding_mode", std::string("border"))})),
      make<float>({1, 1, 1, 1}, {1.0f})));
  // With align_corners the extremes are pixel centres.
  EXPECT_TRUE(tensors_close(run1(op("GridSample", {kImage, make<float>({1, 1, 1, 2}, {1, -1})},
                                    {attr("align_corners", int64_t{1})})),
                            make<float>({1, 1, 1, 1}, {2.0f})));
}

TEST(DetectGridSample, NearestAndBicubicOnConstantImage) {
  const Tensor grid = make<float>({1, 1, 2, 2}, {0.3f, -0.2f, 0.9f, 0.9f});
  EXPECT_TRUE(tensors_close(
      run1(op("GridSample", {kImage, grid}, {attr("mode", std::string("nearest"))})),
      make<float>({1, 1, 1, 2}, {2.0f, 4.0f})));
  // Bicubic weights sum to one, so a constant image stays constant with border padding.
  const Tensor flat = make<float>({1, 1, 2, 2}, {7, 7, 7, 7});
  EXPECT_TRUE(tensors_close(run1(op("GridSample", {flat, grid},
                                    {attr("mode", std::string("bicubic")),
                                     attr("padding_mode", std::string("border"))})),
                            make<float>({1, 1, 1, 2}, {7.0f, 7.0f})));
}

TEST(DetectGridSample, RejectsBadGrid) {
  auto r = run_op(op("GridSample", {kImage, make<float>({1, 1, 1, 3}, {0, 0, 0})}));
  EXPECT_FALSE(r.is_ok());
  auto m = run_op(op("GridSample", {kImage, make<float>({1, 1, 1, 2}, {0, 0})},
                     {attr("mode", std::string("cubic"))}));
  EXPECT_FALSE(m.is_ok());
}

TEST(DetectMaxUnpool, ScattersAndPadsToOutputShape) {
  const Tensor x = make<float>({1, 1, 2, 2}, {5, 6, 7, 8});
  const Tensor i = make<int64_t>({1, 1, 2, 2}, {5, 7, 13, 15});
  const std::vector<ir::Attribute> attrs = {attr("kernel_shape", std::vector<int64_t>{2, 2}),
                                            attr("strides", std::vector<int64_t>{2, 2})};
  std::vector<float> want(16, 0.0f);
  want[5] = 5, want[7] = 6, want[13] = 7, want[15] = 8;
  EXPECT_TRUE(tensors_close(run1(op("MaxUnpool", {x, i}, attrs, 11)),
                            make<float>({1, 1, 4, 4}, want)));
  std::vector<float> padded(25, 0.0f);
  padded[6] = 5, padded[8] = 6, padded[16] = 7, padded[18] = 8;
  EXPECT_TRUE(tensors_close(
      run1(op("MaxUnpool", {x, i, make<int64_t>({4}, {1, 1, 5, 5})}, attrs, 11)),
      make<float>({1, 1, 5, 5}, padded)));
}

TEST(DetectMaxUnpool, RejectsIndexOutOfRange) {
  auto r = run_op(op("MaxUnpool", {make<float>({1, 1, 1, 1}, {1}), make<int64_t>({1, 1, 1, 1}, {4})},
                     {attr("kernel_shape", std::vector<int64_t>{2, 2}),
                      attr("strides", std::vector<int64_t>{2, 2})},
                     11));
  EXPECT_FALSE(r.is_ok());
}

}  // namespace
}  // namespace edgerun::testing
