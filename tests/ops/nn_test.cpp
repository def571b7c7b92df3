// nn op cases (matmul, conv, pool, norm, softmax, einsum): hand-computed expectations, legacy
// opset semantics and error paths.
#include <cmath>
#include <string>
#include <vector>

#include "ops/op_test.h"

namespace edgerun::testing {
namespace {

using Ints = std::vector<int64_t>;

// ---- MatMul / Gemm / Det --------------------------------------------------------------------

TEST(NnMatMul, BatchedBroadcastAndVectors) {
  // (2, 1, 2) x (2, 1): the right operand broadcasts over the batch.
  EXPECT_TRUE(tensors_close(run1(op("MatMul", {make<float>({2, 1, 2}, {1, 2, 3, 4}),
                                               make<float>({2, 1}, {1, 1})})),
                            make<float>({2, 1, 1}, {3, 7})));
  // A 1-D left operand is a row vector whose dim disappears.
  EXPECT_TRUE(tensors_close(run1(op("MatMul", {make<float>({2}, {1, 2}),
                                               make<float>({2, 3}, {1, 2, 3, 4, 5, 6})})),
                            make<float>({3}, {9, 12, 15})));
  EXPECT_TRUE(tensors_close(
      run1(op("MatMul", {make<int32_t>({2}, {1, 2}), make<int32_t>({2}, {3, 4})})),
      make<int32_t>({}, {11})));
}

TEST(NnMatMul, InnerDimMismatchIsAnError) {
  Status s = run_status(op("MatMul", {make<float>({2, 3}, {1, 2, 3, 4, 5, 6}),
                                      make<float>({2, 2}, {1, 2, 3, 4})}));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("inner dims"), std::string::npos) << s.message();
}

TEST(NnGemm, AlphaBetaTransposeAndBroadcastC) {
  const Tensor b = make<float>({3, 2}, {1, 0, 0, 1, 1, 1});
  const Tensor c = make<float>({2}, {10, 20});
  const Tensor expected = make<float>({2, 2}, {13, 20, 25, 32});
  EXPECT_TRUE(tensors_close(run1(op("Gemm", {make<float>({2, 3}, {1, 2, 3, 4, 5, 6}), b, c},
                                    {attr("alpha", 2.0f), attr("beta", 0.5f)})),
                            expected));
  EXPECT_TRUE(tensors_close(
      run1(op("Gemm", {make<float>({3, 2}, {1, 4, 2, 5, 3, 6}), b, c},
              {attr("alpha", 2.0f), attr("beta", 0.5f), attr("transA", int64_t{1})})),
      expected));
  // Without C (opset 11+) only alpha * A * B remains.
  EXPECT_TRUE(tensors_close(run1(op("Gemm", {make<float>({1, 2}, {1, 2}),
                                             make<float>({2, 1}, {3, 4}), Tensor()})),
                            make<float>({1, 1}, {11})));
}

TEST(NnGemm, LegacyBroadcastAttribute) {
  const Tensor a = make<float>({1, 2}, {1, 2});
  const Tensor b = make<float>({2, 2}, {1, 0, 0, 1});
  const Tensor c = make<float>({2}, {1, 1});
  // Opset 6 broadcasts C only with broadcast=1.
  EXPECT_TRUE(tensors_close(run1(op("Gemm", {a, b, c}, {attr("broadcast", int64_t{1})}, 6)),
                            make<float>({1, 2}, {2, 3})));
  EXPECT_EQ(run_status(op("Gemm", {a, b, c}, {}, 6)).code(), StatusCode::kInvalidArgument);
}

TEST(NnDet, BatchedDeterminants) {
  EXPECT_TRUE(tensors_close(run1(op("Det", {make<float>({2, 2, 2}, {1, 2, 3, 4, 2, 0, 0, 3})})),
                            make<float>({2}, {-2, 6})));
  EXPECT_TRUE(tensors_close(
      run1(op("Det", {make<double>({3, 3}, {0, 2, 1, 1, 0, 0, 0, 1, 3})})),
      make<double>({}, {-5})));
  EXPECT_EQ(run_status(op("Det", {make<float>({2, 3}, {1, 2, 3, 4, 5, 6})})).code(),
            StatusCode::kInvalidArgument);
}

// ---- Einsum ---------------------------------------------------------------------------------

TEST(NnEinsum, ExplicitImplicitDiagonalEllipsis) {
  const Tensor a = make<float>({2, 2}, {1, 2, 3, 4});
  const Tensor b = make<float>({2, 2}, {5, 6, 7, 8});
  const Tensor ab = make<float>({2, 2}, {19, 22, 43, 50});
  auto eq = [](const char* e) { return attr("equation", std::string(e)); };
  EXPECT_TRUE(tensors_close(run1(op("Einsum", {a, b}, {eq("ij,jk->ik")})), ab));
  EXPECT_TRUE(tensors_close(run1(op("Einsum", {a, b}, {eq("ij, jk")})), ab));
  EXPECT_TRUE(tensors_close(run1(op("Einsum", {a}, {attr("equation", std::string("ii->i"))})),
                            make<float>({2}, {1, 4})));
  EXPECT_TRUE(tensors_close(run1(op("Einsum", {a}, {attr("equation", std::string("ij->"))})),
                            make<float>({}, {10})));
  // Implicit output orders labels alphabetically: "ba" transposes.
  EXPECT_TRUE(tensors_close(
      run1(op("Einsum", {make<float>({2, 3}, {1, 2, 3, 4, 5, 6})},
              {attr("equation", std::string("ba"))})),
      make<float>({3, 2}, {1, 4, 2, 5, 3, 6})));
  // Ellipsis dims broadcast: (2, 1, 2) against (2,).
  EXPECT_TRUE(tensors_close(
      run1(op("Einsum", {make<int64_t>({2, 1, 2}, {1, 2, 3, 4}), make<int64_t>({2}, {10, 1})},
              {attr("equation", std::string("...j,j->..."))})),
      make<int64_t>({2, 1}, {12, 34})));
}

TEST(NnEinsum, OperandCountMismatchIsAnError) {
  Status s = run_status(op("Einsum", {make<float>({2}, {1, 2})},
                           {attr("equation", std::string("i,i->"))}));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_status(op("Einsum", {make<float>({2}, {1, 2})},
                          {attr("equation", std::string("ij->i"))}))
                .code(),
            StatusCode::kInvalidArgument);
}

// ---- Conv / ConvTranspose -------------------------------------------------------------------

TEST(NnConv, PadsStridesBias) {
  const Tensor x = make<float>({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const Tensor w = make<float>({1, 1, 2, 2}, {1, 1, 1, 1});
  EXPECT_TRUE(tensors_close(run1(op("Conv", {x, w})), make<float>({1, 1, 2, 2}, {12, 16, 24, 28})));
  EXPECT_TRUE(tensors_close(
      run1(op("Conv", {x, w, make<float>({1}, {1})},
              {attr("pads", Ints{1, 1, 1, 1}), attr("strides", Ints{2, 2})})),
      make<float>({1, 1, 2, 2}, {2, 6, 12, 29})));
  // SAME_UPPER with stride 1 keeps the spatial size; the odd pad element goes at the end.
  EXPECT_TRUE(tensors_close(
      run1(op("Conv", {x, w}, {attr("auto_pad", std::string("SAME_UPPER"))})),
      make<float>({1, 1, 3, 3}, {12, 16, 9, 24, 28, 15, 15, 17, 9})));
}

TEST(NnConv, DepthwiseGroups) {
  EXPECT_TRUE(tensors_close(
      run1(op("Conv", {make<float>({1, 2, 1, 2}, {1, 2, 3, 4}), make<float>({2, 1, 1, 1}, {2, 3})},
              {attr("group", int64_t{2})})),
      make<float>({1, 2, 1, 2}, {2, 4, 9, 12})));
}

TEST(NnConv, WrongWeightChannelsIsAnError) {
  Status s = run_status(op("Conv", {make<float>({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}),
                                    make<float>({1, 1, 1, 1}, {1})}));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("C/group"), std::string::npos) << s.message();
}

TEST(NnConvTranspose, StridesOutputPaddingPads) {
  const Tensor x = make<float>({1, 1, 2}, {1, 2});
  const Tensor w = make<float>({1, 1, 3}, {1, 1, 1});
  EXPECT_TRUE(tensors_close(run1(op("ConvTranspose", {x, w}, {attr("strides", Ints{2})})),
                            make<float>({1, 1, 5}, {1, 1, 3, 2, 2})));
  EXPECT_TRUE(tensors_close(
      run1(op("ConvTranspose", {x, w},
              {attr("strides", Ints{2}), attr("output_padding", Ints{1})})),
      make<float>({1, 1, 6}, {1, 1, 3, 2, 2, 0})));
  EXPECT_TRUE(tensors_close(
      run1(op("ConvTranspose", {x, w}, {attr("strides", Ints{2}), attr("pads", Ints{1, 1})})),
      make<float>({1, 1, 3}, {1, 3, 2})));
  // output_shape fixes the size; the trimmed padding goes to the beginning first.
  EXPECT_TRUE(tensors_close(
      run1(op("ConvTranspose", {x, w},
              {attr("strides", Ints{2}), attr("output_shape", Ints{4})})),
      make<float>({1, 1, 4}, {1, 3, 2, 2})));
  // Two output channels per group.
  EXPECT_TRUE(tensors_close(
      run1(op("ConvTranspose", {make<float>({1, 1, 1}, {2}), make<float>({1, 2, 1}, {1, 3})})),
      make<float>({1, 2, 1}, {2, 6})));
}

// ---- Pools ----------------------------------------------------------------------------------

TEST(NnPool, MaxPoolIndicesAndStorageOrder) {
  const Tensor x = make<float>({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  auto out = run_all(op("MaxPool", {x}, {attr("kernel_shape", Ints{2, 2})}, 12, 2));
  EXPECT_TRUE(tensors_close(out[0], make<float>({1, 1, 2, 2}, {5, 6, 8, 9})));
  EXPECT_TRUE(tensors_close(out[1], make<int64_t>({1, 1, 2, 2}, {4, 5, 7, 8})));
  out = run_all(op("MaxPool", {x},
               {attr("kernel_shape", Ints{2, 2}), attr("storage_order", int64_t{1})}, 12, 2));
  EXPECT_TRUE(tensors_close(out[1], make<int64_t>({1, 1, 2, 2}, {4, 7, 5, 8})));
  // ceil_mode keeps the partial last window.
  EXPECT_TRUE(tensors_close(
      run1(op("MaxPool", {x},
              {attr("kernel_shape", Ints{2, 2}), attr("strides", Ints{2, 2}),
               attr("ceil_mode", int64_t{1})})),
      make<float>({1, 1, 2, 2}, {5, 6, 8, 9})));
  EXPECT_TRUE(tensors_close(
      run1(op("MaxPool", {make<uint8_t>({1, 1, 3}, {7, 200, 3})}, {attr("kernel_shape", Ints{2})})),
      make<uint8_t>({1, 1, 2}, {200, 200})));
}

TEST(NnPool, AveragePoolCountIncludePad) {
  const Tensor x = make<float>({1, 1, 3}, {1, 2, 3});
  EXPECT_TRUE(tensors_close(
      run1(op("AveragePool", {x}, {attr("kernel_shape", Ints{2}), attr("pads", Ints{1, 1})})),
      make<float>({1, 1, 4}, {1, 1.5f, 2.5f, 3})));
  EXPECT_TRUE(tensors_close(
      run1(op("AveragePool", {x},
              {attr("kernel_shape", Ints{2}), attr("pads", Ints{1, 1}),
               attr("count_include_pad", int64_t{1})})),
      make<float>({1, 1, 4}, {0.5f, 1.5f, 2.5f, 1.5f})));
}

TEST(NnPool, LpAndGlobalPools) {
  EXPECT_TRUE(tensors_close(
      run1(op("LpPool", {make<float>({1, 1, 2}, {3, 4})}, {attr("kernel_shape", Ints{2})})),
      make<float>({1, 1, 1}, {5})));
  const Tensor x = make<float>({1, 2, 2}, {1, 3, -1, 5});
  EXPECT_TRUE(tensors_close(run1(op("GlobalAveragePool", {x})), make<float>({1, 2, 1}, {2, 2})));
  EXPECT_TRUE(tensors_close(run1(op("GlobalMaxPool", {x})), make<float>({1, 2, 1}, {3, 5})));
  EXPECT_TRUE(tensors_close(run1(op("GlobalLpPool", {x})),
                            make<float>({1, 2, 1}, {std::sqrt(10.0f), std::sqrt(26.0f)})));
}

TEST(NnPool, MaxRoiPool) {
  const Tensor x = make<float>({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  // The roi covers rows/cols 0..1; one bin per pixel.
  EXPECT_TRUE(tensors_close(
      run1(op("MaxRoiPool", {x, make<float>({1, 5}, {0, 0, 0, 1, 1})},
              {attr("pooled_shape", Ints{2, 2})})),
      make<float>({1, 1, 2, 2}, {1, 2, 4, 5})));
  EXPECT_EQ(run_status(op("MaxRoiPool", {x, make<float>({1, 5}, {3, 0, 0, 1, 1})},
                          {attr("pooled_shape", Ints{1, 1})}))
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(NnPool, MissingKernelOrTooSmallInputIsAnError) {
  const Tensor x = make<float>({1, 1, 3}, {1, 2, 3});
  EXPECT_EQ(run_status(op("MaxPool", {x})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_status(op("AveragePool", {x}, {attr("kernel_shape", Ints{4})})).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(run_status(op("AveragePool", {make<float>({3}, {1, 2, 3})},
                          {attr("kernel_shape", Ints{1})}))
                .code(),
            StatusCode::kInvalidArgument);
}

// ---- Normalisation --------------------------------------------------------------------------

TEST(NnNorm, BatchNormInferenceAndTraining) {
  EXPECT_TRUE(tensors_close(
      run1(op("BatchNormalization",
              {make<float>({1, 2, 1, 1}, {1, 2}), make<float>({2}, {1, 1}),
               make<float>({2}, {0, 0}), make<float>({2}, {0, 1}), make<float>({2}, {1, 4})},
              {attr("epsilon", 0.0f)})),
      make<float>({1, 2, 1, 1}, {1, 0.5f})));
  auto out = run_all(op("BatchNormalization",
                    {make<float>({2, 1, 1, 1}, {1, 3}), make<float>({1}, {1}),
                     make<float>({1}, {0}), make<float>({1}, {0}), make<float>({1}, {1})},
                    {attr("epsilon", 0.0f), attr("training_mode", int64_t{1})}, 15, 3));
  EXPECT_TRUE(tensors_close(out[0], make<float>({2, 1, 1, 1}, {-1, 1})));
  EXPECT_TRUE(tensors_close(out[1], make<float>({1}, {0.2f})));
  EXPECT_TRUE(tensors_close(out[2], make<float>({1}, {1.0f})));
  EXPECT_EQ(run_status(op("BatchNormalization",
                          {make<float>({1, 2, 1, 1}, {1, 2}), make<float>({3}, {1, 1, 1}),
                           make<float>({2}, {0, 0}), make<float>({2}, {0, 1}),
                           make<float>({2}, {1, 4})}))
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(NnNorm, InstanceGroupMvn) {
  EXPECT_TRUE(tensors_close(
      run1(op("InstanceNormalization",
              {make<float>({1, 1, 2}, {0, 2}), make<float>({1}, {3}), make<float>({1}, {1})},
              {attr("epsilon", 0.0f)})),
      make<float>({1, 1, 2}, {-2, 4})));
  EXPECT_TRUE(tensors_close(
      run1(op("GroupNormalization",
              {make<float>({1, 2, 1}, {0, 2}), make<float>({1}, {2}), make<float>({1}, {0})},
              {attr("num_groups", int64_t{1}), attr("epsilon", 0.0f)})),
      make<float>({1, 2, 1}, {-2, 2})));
  EXPECT_TRUE(tensors_close(
      run1(op("MeanVarianceNormalization", {make<float>({1, 2, 1, 2}, {0, 2, 5, 5})})),
      make<float>({1, 2, 1, 2}, {-1, 1, 0, 0})));
}

TEST(NnNorm, LayerNormWithStatistics) {
  auto out = run_all(op("LayerNormalization",
                    {make<float>({1, 4}, {1, 2, 3, 4}), make<float>({4}, {2, 2, 2, 2}),
                     make<float>({4}, {1, 1, 1, 1})},
                    {attr("epsilon", 0.0f)}, 17, 3));
  const float k = 1.0f / std::sqrt(1.25f);
  EXPECT_TRUE(tensors_close(out[0], make<float>({1, 4}, {1 - 3 * k, 1 - k, 1 + k, 1 + 3 * k})));
  EXPECT_TRUE(tensors_close(out[1], make<float>({1, 1}, {2.5f})));
  EXPECT_TRUE(tensors_close(out[2], make<float>({1, 1}, {k})));
  EXPECT_EQ(run_status(op("LayerNormalization",
                          {make<float>({1, 4}, {1, 2, 3, 4}), make<float>({4}, {1, 1, 1, 1})},
                          {attr("axis", int64_t{2})}, 17))
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(NnNorm, Lrn) {
  EXPECT_TRUE(tensors_close(
      run1(op("LRN", {make<float>({1, 3, 1, 1}, {1, 2, 3})},
              {attr("size", int64_t{3}), attr("alpha", 3.0f), attr("beta", 1.0f)})),
      make<float>({1, 3, 1, 1}, {1.0f / 6, 2.0f / 15, 3.0f / 14})));
}

// ---- Softmax family -------------------------------------------------------------------------

TEST(NnSoftmax, AxisSemanticsByOpset) {
  const Tensor x = make<float>({1, 2, 2}, {0, 0, 0, 0});
  // Opset 13 normalises along axis 1 only; opset 11 flattens everything from axis 1 on.
  EXPECT_TRUE(tensors_close(run1(op("Softmax", {x}, {attr("axis", int64_t{1})}, 13)),
                            make<float>({1, 2, 2}, {0.5f, 0.5f, 0.5f, 0.5f})));
  EXPECT_TRUE(tensors_close(run1(op("Softmax", {x}, {attr("axis", int64_t{1})}, 11)),
                            make<float>({1, 2, 2}, {0.25f, 0.25f, 0.25f, 0.25f})));
  EXPECT_TRUE(tensors_close(run1(op("LogSoftmax", {make<float>({2}, {1000, 1000})})),
                            make<float>({2}, {-std::log(2.0f), -std::log(2.0f)})));
  EXPECT_TRUE(tensors_close(run1(op("Hardmax", {make<float>({2, 3}, {1, 3, 3, 0, -1, -2})})),
                            make<float>({2, 3}, {0, 1, 0, 1, 0, 0})));
}

TEST(NnSoftmax, BadAxisIsAnError) {
  EXPECT_EQ(run_status(op("Softmax", {make<float>({2}, {1, 2})}, {attr("axis", int64_t{3})}))
                .code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace edgerun::testing
