// Shape-family (data movement) op cases: hand-computed expectations, legacy opset semantics
// and error paths.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ops/op_test.h"

namespace edgerun::testing {
namespace {

OpCall call_of(std::string type, std::vector<Tensor> inputs, std::vector<ir::Attribute> attrs = {},
               int64_t opset = 18, size_t outputs = 1) {
  OpCall call;
  call.op_type = std::move(type);
  call.inputs = std::move(inputs);
  call.attributes = std::move(attrs);
  call.opset = opset;
  call.num_outputs = outputs;
  return call;
}

// The error message of a call expected to fail ("" if it succeeded).
std::string error_of(const OpCall& call) {
  auto r = run_op(call);
  EXPECT_FALSE(r.is_ok()) << call.op_type << " unexpectedly succeeded";
  return r.is_ok() ? "" : r.status().message();
}

Tensor ints(std::vector<int64_t> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return make<int64_t>({n}, std::move(v));
}

Tensor iota(Shape shape) {
  std::vector<float> v(static_cast<size_t>(shape_size(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  return make<float>(std::move(shape), v);
}

::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

// ---- Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze ----------------------------------

TEST(ShapeOpsInfo, ShapeWithStartEnd) {
  const Tensor x = iota({2, 3, 4});
  EXPECT_TRUE(tensors_close(run1(call_of("Shape", {x})), ints({2, 3, 4})));
  EXPECT_TRUE(tensors_close(run1(call_of("Shape", {x}, {attr("start", int64_t{-1})})), ints({4})));
  EXPECT_TRUE(tensors_close(
      run1(call_of("Shape", {x}, {attr("start", int64_t{1}), attr("end", int64_t{10})})),
      ints({3, 4})));
  // Before opset 15 start/end did not exist.
  EXPECT_TRUE(
      tensors_close(run1(call_of("Shape", {x}, {attr("start", int64_t{1})}, 13)), ints({2, 3, 4})));
  EXPECT_TRUE(tensors_close(run1(call_of("Size", {x})), Tensor::scalar<int64_t>(24)));
}

TEST(ShapeOpsInfo, Reshape) {
  const Tensor x = iota({2, 3, 4});
  EXPECT_EQ(run1(call_of("Reshape", {x, ints({4, 0, -1})})).shape(), (Shape{4, 3, 2}));
  EXPECT_EQ(run1(call_of("Reshape", {x, ints({-1})})).shape(), (Shape{24}));
  EXPECT_EQ(run1(call_of("Reshape", {x}, {attr("shape", std::vector<int64_t>{6, 4})}, 1)).shape(),
            (Shape{6, 4}));
  // allowzero keeps a literal 0, so an empty tensor reshapes to a zero dim.
  const Tensor empty = make<float>({0, 3}, {});
  EXPECT_EQ(
      run1(call_of("Reshape", {empty, ints({3, 0})}, {attr("allowzero", int64_t{1})})).shape(),
      (Shape{3, 0}));
  EXPECT_TRUE(contains(error_of(call_of("Reshape", {x, ints({5, 5})})), "expected 24 elements"));
  EXPECT_TRUE(contains(error_of(call_of("Reshape", {x, ints({-1, -1})})), "more than one -1"));
  EXPECT_TRUE(contains(error_of(call_of("Reshape", {x, ints({7, -1})})), "cannot infer"));
}

TEST(ShapeOpsInfo, FlattenSqueezeUnsqueeze) {
  const Tensor x = iota({2, 1, 3, 1});
  EXPECT_EQ(run1(call_of("Flatten", {x}, {attr("axis", int64_t{2})})).shape(), (Shape{2, 3}));
  EXPECT_EQ(run1(call_of("Flatten", {x}, {attr("axis", int64_t{0})})).shape(), (Shape{1, 6}));
  EXPECT_EQ(run1(call_of("Flatten", {x}, {attr("axis", int64_t{-1})})).shape(), (Shape{6, 1}));
  EXPECT_TRUE(contains(error_of(call_of("Flatten", {x}, {attr("axis", int64_t{5})})), "axis 5"));

  EXPECT_EQ(run1(call_of("Squeeze", {x})).shape(), (Shape{2, 3}));
  EXPECT_EQ(run1(call_of("Squeeze", {x, ints({-1})})).shape(), (Shape{2, 1, 3}));
  EXPECT_EQ(run1(call_of("Squeeze", {x}, {attr("axes", std::vector<int64_t>{1})}, 11)).shape(),
            (Shape{2, 3, 1}));
  EXPECT_TRUE(contains(error_of(call_of("Squeeze", {x, ints({0})})), "expected 1"));

  const Tensor y = iota({3, 4});
  EXPECT_EQ(run1(call_of("Unsqueeze", {y, ints({0, -1})})).shape(), (Shape{1, 3, 4, 1}));
  EXPECT_EQ(run1(call_of("Unsqueeze", {y}, {attr("axes", std::vector<int64_t>{1})}, 11)).shape(),
            (Shape{3, 1, 4}));
  EXPECT_TRUE(contains(error_of(call_of("Unsqueeze", {y, ints({1, 1})})), "twice"));
}

// ---- Transpose, DepthToSpace, SpaceToDepth ----------------------------------------------

TEST(ShapeOpsTranspose, PermAndDefault) {
  const Tensor x = iota({2, 3});
  EXPECT_TRUE(
      tensors_close(run1(call_of("Transpose", {x})), make<float>({3, 2}, {0, 3, 1, 4, 2, 5})));
  const Tensor y = iota({2, 2, 2});
  EXPECT_TRUE(
      tensors_close(run1(call_of("Transpose", {y}, {attr("perm", std::vector<int64_t>{1, 2, 0})})),
                    make<float>({2, 2, 2}, {0, 4, 1, 5, 2, 6, 3, 7})));
  const Tensor s = make<std::string>({2, 2}, {"a", "b", "c", "d"});
  EXPECT_TRUE(tensors_close(run1(call_of("Transpose", {s})),
                            make<std::string>({2, 2}, {"a", "c", "b", "d"})));
  EXPECT_TRUE(
      contains(error_of(call_of("Transpose", {y}, {attr("perm", std::vector<int64_t>{0, 0, 1})})),
               "not a permutation"));
}

TEST(ShapeOpsTranspose, DepthToSpaceRoundTrip) {
  const Tensor x = iota({1, 4, 1, 2});
  // DCR: output(c, h*b+i, w*b+j) = input((i*b+j)*C' + c, h, w)
  const Tensor dcr = run1(call_of("DepthToSpace", {x}, {attr("blocksize", int64_t{2})}));
  EXPECT_TRUE(tensors_close(dcr, make<float>({1, 1, 2, 4}, {0, 2, 1, 3, 4, 6, 5, 7})));
  const Tensor crd = run1(call_of(
      "DepthToSpace", {x}, {attr("blocksize", int64_t{2}), attr("mode", std::string("CRD"))}));
  EXPECT_TRUE(tensors_close(crd, make<float>({1, 1, 2, 4}, {0, 2, 1, 3, 4, 6, 5, 7})));
  const Tensor back = run1(call_of("SpaceToDepth", {dcr}, {attr("blocksize", int64_t{2})}));
  EXPECT_TRUE(tensors_close(back, x));
  EXPECT_TRUE(contains(
      error_of(call_of("DepthToSpace", {iota({1, 3, 1, 1})}, {attr("blocksize", int64_t{2})})),
      "not divisible"));
  EXPECT_TRUE(
      contains(error_of(call_of("SpaceToDepth", {iota({1, 3})}, {attr("blocksize", int64_t{2})})),
               "rank-4"));
}

// ---- Concat, Split ------------------------------------------------------------------------

TEST(ShapeOpsConcatSplit, Concat) {
  const Tensor a = iota({2, 2});
  const Tensor b = make<float>({2, 1}, {10, 11});
  EXPECT_TRUE(tensors_close(run1(call_of("Concat", {a, b}, {attr("axis", int64_t{-1})})),
                            make<float>({2, 3}, {0, 1, 10, 2, 3, 11})));
  // Concat-1 defaults to axis 1.
  EXPECT_TRUE(tensors_close(run1(call_of("Concat", {a, b}, {}, 1)),
                            make<float>({2, 3}, {0, 1, 10, 2, 3, 11})));
  EXPECT_TRUE(
      contains(error_of(call_of("Concat", {a, b}, {attr("axis", int64_t{0})})), "does not match"));
}

TEST(ShapeOpsConcatSplit, Split) {
  const Tensor x = iota({2, 5});
  std::vector<Tensor> parts =
      run_all(call_of("Split", {x, ints({2, 3})}, {attr("axis", int64_t{1})}, 18, 2));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_TRUE(tensors_close(parts[0], make<float>({2, 2}, {0, 1, 5, 6})));
  EXPECT_TRUE(tensors_close(parts[1], make<float>({2, 3}, {2, 3, 4, 7, 8, 9})));
  // Opset 2..12 takes the lengths from an attribute.
  parts = run_all(call_of(
      "Split", {x}, {attr("axis", int64_t{1}), attr("split", std::vector<int64_t>{4, 1})}, 11, 2));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].shape(), (Shape{2, 4}));
  // Opset 18 num_outputs: ceil-sized chunks, the last one shorter.
  parts = run_all(
      call_of("Split", {x}, {attr("axis", int64_t{1}), attr("num_outputs", int64_t{3})}, 18, 3));
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].shape(), (Shape{2, 2}));
  EXPECT_TRUE(tensors_close(parts[2], make<float>({2, 1}, {4, 9})));
  EXPECT_TRUE(
      contains(error_of(call_of("Split", {x}, {attr("axis", int64_t{1})}, 13, 2)), "equal parts"));
  EXPECT_TRUE(
      contains(error_of(call_of("Split", {x, ints({2, 2})}, {attr("axis", int64_t{1})}, 13, 2)),
               "sum to 4"));
}

// ---- Slice --------------------------------------------------------------------------------

TEST(ShapeOpsSlice, StepsClampingAndLegacy) {
  const Tensor x = iota({3, 4});
  const int64_t big = std::numeric_limits<int64_t>::max();
  EXPECT_TRUE(tensors_close(run1(call_of("Slice", {x, ints({1, 0}), ints({big, 3})})),
                            make<float>({2, 3}, {4, 5, 6, 8, 9, 10})));
  // Negative step walks backwards; INT64_MIN end means "through index 0".
  EXPECT_TRUE(tensors_close(
      run1(call_of("Slice", {x, ints({-1}), ints({std::numeric_limits<int64_t>::min()}), ints({1}),
                             ints({-2})})),
      make<float>({3, 2}, {3, 1, 7, 5, 11, 9})));
  EXPECT_TRUE(tensors_close(
      run1(call_of("Slice", {x},
                   {attr("starts", std::vector<int64_t>{2}), attr("ends", std::vector<int64_t>{3}),
                    attr("axes", std::vector<int64_t>{1})},
                   1)),
      make<float>({3, 1}, {2, 6, 10})));
  EXPECT_EQ(run1(call_of("Slice", {x, ints({5}), ints({9})})).shape(), (Shape{0, 4}));
  EXPECT_TRUE(contains(error_of(call_of("Slice", {x, ints({0}), ints({1}), ints({0}), ints({0})})),
                       "step"));
  EXPECT_TRUE(contains(error_of(call_of("Slice", {x, ints({0}), ints({1}), ints({2})})), "axis 2"));
}

// ---- Gather / Scatter ---------------------------------------------------------------------

TEST(ShapeOpsGather, GatherAxesAndNegativeIndices) {
  const Tensor x = iota({3, 2});
  EXPECT_TRUE(tensors_close(run1(call_of("Gather", {x, ints({2, -3})})),
                            make<float>({2, 2}, {4, 5, 0, 1})));
  EXPECT_TRUE(tensors_close(
      run1(call_of("Gather", {x, Tensor::scalar<int64_t>(1)}, {attr("axis", int64_t{1})})),
      make<float>({3}, {1, 3, 5})));
  const std::string e = error_of(call_of("Gather", {x, ints({3})}));
  EXPECT_TRUE(contains(e, "index 3"));
  EXPECT_TRUE(contains(e, "axis 0"));
  EXPECT_TRUE(contains(e, "dim 3"));
  // int32 indices, a rank-3 result (2 x [2, 1] indices over axis 1), and indices of a float type.
  EXPECT_TRUE(tensors_close(
      run1(call_of("Gather", {x, make<int32_t>({2, 1}, {1, -2})}, {attr("axis", int64_t{1})})),
      make<float>({3, 2, 1}, {1, 0, 3, 2, 5, 4})));
  EXPECT_TRUE(contains(error_of(call_of("Gather", {x, make<float>({1}, {0})})),
                       "Gather indices must be int32 or int64, got float32"));
}

TEST(ShapeOpsGather, GatherElementsAndND) {
  const Tensor x = make<float>({2, 2}, {1, 2, 3, 4});
  EXPECT_TRUE(
      tensors_close(run1(call_of("GatherElements", {x, make<int64_t>({2, 2}, {0, 0, 1, -2})},
                                 {attr("axis", int64_t{1})})),
                    make<float>({2, 2}, {1, 1, 4, 3})));
  EXPECT_TRUE(contains(error_of(call_of("GatherElements", {x, make<int64_t>({1, 1}, {2})})),
                       "index 2 is out of range for axis 0 with dim 2"));

  const Tensor d = iota({2, 2, 2});
  EXPECT_TRUE(tensors_close(run1(call_of("GatherND", {d, make<int64_t>({2, 2}, {0, 1, 1, 0})})),
                            make<float>({2, 2}, {2, 3, 4, 5})));
  EXPECT_TRUE(tensors_close(run1(call_of("GatherND", {d, make<int64_t>({2, 1}, {1, 0})},
                                         {attr("batch_dims", int64_t{1})})),
                            make<float>({2, 2}, {2, 3, 4, 5})));
  EXPECT_TRUE(
      contains(error_of(call_of("GatherND", {d, make<int64_t>({1, 2}, {0, -3})})), "axis 1"));
}

TEST(ShapeOpsScatter, ElementsWithReductions) {
  const Tensor data = make<float>({1, 4}, {1, 2, 3, 4});
  const Tensor idx = make<int64_t>({1, 2}, {1, -3});
  const Tensor upd = make<float>({1, 2}, {10, 20});
  EXPECT_TRUE(
      tensors_close(run1(call_of("ScatterElements", {data, idx, upd}, {attr("axis", int64_t{1})})),
                    make<float>({1, 4}, {1, 20, 3, 4})));
  EXPECT_TRUE(tensors_close(
      run1(call_of("ScatterElements", {data, idx, upd},
                   {attr("axis", int64_t{1}), attr("reduction", std::string("add"))})),
      make<float>({1, 4}, {1, 32, 3, 4})));
  EXPECT_TRUE(tensors_close(
      run1(call_of("ScatterElements", {data, idx, upd},
                   {attr("axis", int64_t{1}), attr("reduction", std::string("min"))})),
      make<float>({1, 4}, {1, 2, 3, 4})));
  EXPECT_TRUE(
      tensors_close(run1(call_of("Scatter", {data, idx, upd}, {attr("axis", int64_t{1})}, 9)),
                    make<float>({1, 4}, {1, 20, 3, 4})));
  EXPECT_TRUE(
      contains(error_of(call_of("ScatterElements",
                                {data, make<int64_t>({1, 1}, {4}), make<float>({1, 1}, {0})},
                                {attr("axis", int64_t{1})})),
               "index 4 is out of range for axis 1 with dim 4"));
}

TEST(ShapeOpsScatter, ND) {
  const Tensor data = iota({2, 2});
  EXPECT_TRUE(tensors_close(
      run1(call_of("ScatterND", {data, make<int64_t>({1, 1}, {1}), make<float>({1, 2}, {7, 8})})),
      make<float>({2, 2}, {0, 1, 7, 8})));
  EXPECT_TRUE(tensors_close(
      run1(call_of("ScatterND",
                   {data, make<int64_t>({2, 2}, {0, 0, 0, 0}), make<float>({2}, {5, 6})},
                   {attr("reduction", std::string("mul"))})),
      make<float>({2, 2}, {0, 1, 2, 3})));
  EXPECT_TRUE(contains(error_of(call_of("ScatterND", {data, make<int64_t>({1, 1}, {1}),
                                                      make<float>({1, 3}, {7, 8, 9})})),
                       "must have shape [1, 2]"));
}

// ---- Expand, Tile, Pad ------------------------------------------------------------------

TEST(ShapeOpsRepeat, ExpandAndTile) {
  const Tensor x = make<int32_t>({2, 1}, {1, 2});
  EXPECT_TRUE(tensors_close(run1(call_of("Expand", {x, ints({2, 3})})),
                            make<int32_t>({2, 3}, {1, 1, 1, 2, 2, 2})));
  EXPECT_EQ(run1(call_of("Expand", {x, ints({3, 1, 1})})).shape(), (Shape{3, 2, 1}));
  EXPECT_TRUE(contains(error_of(call_of("Expand", {x, ints({3, 3})})), "do not broadcast"));

  EXPECT_TRUE(tensors_close(run1(call_of("Tile", {x, ints({2, 2})})),
                            make<int32_t>({4, 2}, {1, 1, 2, 2, 1, 1, 2, 2})));
  EXPECT_TRUE(tensors_close(
      run1(call_of("Tile", {x, Tensor::scalar<int64_t>(2), Tensor::scalar<int64_t>(1)}, {}, 1)),
      make<int32_t>({2, 2}, {1, 1, 2, 2})));
  EXPECT_TRUE(contains(error_of(call_of("Tile", {x, ints({2})})), "rank 2"));
}

TEST(ShapeOpsRepeat, PadModes) {
  const Tensor x = make<float>({1, 3}, {1, 2, 3});
  const Tensor pads = ints({0, 2, 0, 1});
  EXPECT_TRUE(tensors_close(run1(call_of("Pad", {x, pads, Tensor::scalar<float>(9.0f)})),
                            make<float>({1, 6}, {9, 9, 1, 2, 3, 9})));
  EXPECT_TRUE(tensors_close(run1(call_of("Pad", {x, pads}, {attr("mode", std::string("reflect"))})),
                            make<float>({1, 6}, {3, 2, 1, 2, 3, 2})));
  EXPECT_TRUE(tensors_close(run1(call_of("Pad", {x, pads}, {attr("mode", std::string("edge"))})),
                            make<float>({1, 6}, {1, 1, 1, 2, 3, 3})));
  EXPECT_TRUE(tensors_close(run1(call_of("Pad", {x, pads}, {attr("mode", std::string("wrap"))})),
                            make<float>({1, 6}, {2, 3, 1, 2, 3, 1})));
  // Opset 18 axes input; negative pads crop.
  EXPECT_TRUE(tensors_close(run1(call_of("Pad", {x, ints({-1, 1}), Tensor(), ints({-1})})),
                            make<float>({1, 3}, {2, 3, 0})));
  // Opset 2..10 attributes.
  EXPECT_TRUE(tensors_close(
      run1(call_of("Pad", {x},
                   {attr("pads", std::vector<int64_t>{1, 0, 0, 0}), attr("value", 5.0f)}, 2)),
      make<float>({2, 3}, {5, 5, 5, 1, 2, 3})));
  EXPECT_TRUE(contains(error_of(call_of("Pad", {x, ints({1, 1})})), "expected 4"));
}

// ---- Generators ---------------------------------------------------------------------------

TEST(ShapeOpsGenerate, ConstantOfShapeRangeEyeLikeOneHot) {
  const Tensor c =
      run1(call_of("ConstantOfShape", {ints({2, 2})}, {attr("value", make<int32_t>({1}, {7}))}));
  EXPECT_TRUE(tensors_close(c, make<int32_t>({2, 2}, {7, 7, 7, 7})));
  EXPECT_TRUE(
      tensors_close(run1(call_of("ConstantOfShape", {ints({3})})), make<float>({3}, {0, 0, 0})));

  EXPECT_TRUE(
      tensors_close(run1(call_of("Range", {Tensor::scalar<int32_t>(10), Tensor::scalar<int32_t>(4),
                                           Tensor::scalar<int32_t>(-3)})),
                    make<int32_t>({2}, {10, 7})));
  EXPECT_TRUE(
      tensors_close(run1(call_of("Range", {Tensor::scalar<float>(1.0f), Tensor::scalar<float>(2.0f),
                                           Tensor::scalar<float>(0.25f)})),
                    make<float>({4}, {1.0f, 1.25f, 1.5f, 1.75f})));
  EXPECT_TRUE(
      contains(error_of(call_of("Range", {Tensor::scalar<int64_t>(0), Tensor::scalar<int64_t>(4),
                                          Tensor::scalar<int64_t>(0)})),
               "delta is 0"));

  EXPECT_TRUE(tensors_close(run1(call_of("EyeLike", {make<float>({2, 3}, {9, 9, 9, 9, 9, 9})},
                                         {attr("k", int64_t{1}), attr("dtype", int64_t{7})})),
                            make<int64_t>({2, 3}, {0, 1, 0, 0, 0, 1})));

  const Tensor on_off = make<float>({2}, {0, 5});
  EXPECT_TRUE(tensors_close(
      run1(call_of("OneHot", {make<int64_t>({3}, {0, -1, 7}), Tensor::scalar<int64_t>(3), on_off})),
      make<float>({3, 3}, {5, 0, 0, 0, 0, 5, 0, 0, 0})));
  EXPECT_TRUE(tensors_close(
      run1(call_of("OneHot", {make<int64_t>({2}, {1, 0}), Tensor::scalar<float>(2.0f), on_off},
                   {attr("axis", int64_t{0})})),
      make<float>({2, 2}, {0, 5, 5, 0})));
  EXPECT_TRUE(contains(error_of(call_of("OneHot", {ints({0}), Tensor::scalar<int64_t>(2), on_off},
                                        {attr("axis", int64_t{3})})),
                       "axis 3"));
}

// ---- Compress, NonZero, Trilu, ReverseSequence, Dropout -----------------------------------

TEST(ShapeOpsSelect, CompressNonZeroTrilu) {
  const Tensor x = iota({3, 2});
  const Tensor cond = make<bool>({2}, {false, true});
  EXPECT_TRUE(tensors_close(run1(call_of("Compress", {x, cond}, {attr("axis", int64_t{1})})),
                            make<float>({3, 1}, {1, 3, 5})));
  EXPECT_TRUE(tensors_close(run1(call_of("Compress", {x, cond})), make<float>({1}, {1})));
  EXPECT_TRUE(contains(error_of(call_of("Compress", {x, make<bool>({3}, {true, true, true})},
                                        {attr("axis", int64_t{1})})),
                       "3 entries"));

  EXPECT_TRUE(tensors_close(run1(call_of("NonZero", {make<int32_t>({2, 2}, {0, 3, 4, 0})})),
                            make<int64_t>({2, 2}, {0, 1, 1, 0})));

  const Tensor m = iota({3, 3});
  EXPECT_TRUE(
      tensors_close(run1(call_of("Trilu", {m})), make<float>({3, 3}, {0, 1, 2, 0, 4, 5, 0, 0, 8})));
  EXPECT_TRUE(tensors_close(
      run1(call_of("Trilu", {m, Tensor::scalar<int64_t>(-1)}, {attr("upper", int64_t{0})})),
      make<float>({3, 3}, {0, 0, 0, 3, 0, 0, 6, 7, 0})));
  EXPECT_TRUE(contains(error_of(call_of("Trilu", {make<float>({3}, {1, 2, 3})})), "rank >= 2"));
}

TEST(ShapeOpsSelect, ReverseSequenceAndDropout) {
  // time x batch = 3 x 2
  const Tensor x = make<float>({3, 2}, {0, 1, 2, 3, 4, 5});
  EXPECT_TRUE(tensors_close(run1(call_of("ReverseSequence", {x, ints({3, 2})})),
                            make<float>({3, 2}, {4, 3, 2, 1, 0, 5})));
  EXPECT_TRUE(contains(error_of(call_of("ReverseSequence", {x, ints({4, 1})})), "outside 0..3"));

  std::vector<Tensor> out = run_all(call_of("Dropout", {x}, {}, 13, 2));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(tensors_close(out[0], x));
  EXPECT_TRUE(tensors_close(out[1], make<bool>({3, 2}, {true, true, true, true, true, true})));
  EXPECT_TRUE(tensors_close(
      run1(call_of("Dropout", {x, Tensor::scalar<float>(0.0f), Tensor::scalar<bool>(true)})), x));
  const auto r =
      run_op(call_of("Dropout", {x, Tensor::scalar<float>(0.5f), Tensor::scalar<bool>(true)}));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
}

}  // namespace
}  // namespace edgerun::testing
