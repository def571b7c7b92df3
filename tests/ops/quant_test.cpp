// Quantised op cases: hand-computed expectations (rounding ties, saturation, per-axis /
// per-row / per-channel parameters, legacy opsets) and error paths.
#include <string>
#include <vector>

#include "ops/op_test.h"

namespace edgerun::testing {
namespace {

Tensor f32(float v) { return Tensor::scalar<float>(v); }

// ---- QuantizeLinear / DequantizeLinear ------------------------------------------------------

TEST(QuantLinear, QuantizeSaturatesUint8) {
  const Tensor x = make<float>({6}, {0, 2, 3, 1000, -254, -1000});
  EXPECT_TRUE(
      tensors_close(run1(op("QuantizeLinear", {x, f32(2), Tensor::scalar<uint8_t>(128)}, {}, 10)),
                    make<uint8_t>({6}, {128, 129, 130, 255, 1, 0})));
}

TEST(QuantLinear, QuantizeRoundsHalfToEven) {
  // x / 2 = 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5 -> 0, 2, 2, 0, -2, -2, 4.
  const Tensor x = make<float>({7}, {1, 3, 5, -1, -3, -5, 7});
  EXPECT_TRUE(tensors_close(run1(op("QuantizeLinear", {x, f32(2), Tensor::scalar<int8_t>(0)})),
                            make<int8_t>({7}, {0, 2, 2, 0, -2, -2, 4})));
}

TEST(QuantLinear, QuantizeWithoutZeroPointIsUint8) {
  const Tensor x = make<float>({3}, {-1.0f, 0.4f, 300.0f});
  EXPECT_TRUE(
      tensors_close(run1(op("QuantizeLinear", {x, f32(1)})), make<uint8_t>({3}, {0, 0, 255})));
}

TEST(QuantLinear, QuantizeInt32Input) {
  // 10 / 4 = 2.5 -> 2, -7 / 4 = -1.75 -> -2; then + 10.
  const Tensor x = make<int32_t>({2}, {10, -7});
  EXPECT_TRUE(
      tensors_close(run1(op("QuantizeLinear", {x, f32(4), Tensor::scalar<uint8_t>(10)}, {}, 13)),
                    make<uint8_t>({2}, {12, 8})));
}

TEST(QuantLinear, QuantizePerAxis) {
  const Tensor x = make<float>({2, 2}, {1, 2, 3, 4});
  const Tensor scale = make<float>({2}, {1, 2});
  const Tensor zp = make<int8_t>({2}, {0, -1});
  // Default axis 1: column 1 is x / 2 - 1 -> [0, 1].
  EXPECT_TRUE(tensors_close(run1(op("QuantizeLinear", {x, scale, zp}, {}, 13)),
                            make<int8_t>({2, 2}, {1, 0, 3, 1})));
  // axis -2 (rows): row 1 is x / 2 - 1 = 1.5 -> 2 -> 1, 2 -> 1.
  EXPECT_TRUE(
      tensors_close(run1(op("QuantizeLinear", {x, scale, zp}, {attr("axis", int64_t{-2})}, 13)),
                    make<int8_t>({2, 2}, {1, 2, 1, 1})));
}

TEST(QuantLinear, QuantizeErrors) {
  const Tensor x = make<float>({2, 2}, {1, 2, 3, 4});
  const Tensor scale = make<float>({2}, {1, 2});
  // Opset 10 has no per-axis form.
  EXPECT_EQ(run_status(op("QuantizeLinear", {x, scale}, {}, 10)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(run_status(op("QuantizeLinear", {x, scale}, {attr("axis", int64_t{2})}, 13)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(run_status(op("QuantizeLinear", {x, make<float>({3}, {1, 2, 3})}, {}, 13)).code(),
            StatusCode::kInvalidArgument);
  // Zero point shape must match the scale's.
  EXPECT_EQ(run_status(op("QuantizeLinear", {x, f32(1), make<uint8_t>({2}, {1, 2})})).code(),
            StatusCode::kInvalidArgument);
}

TEST(QuantLinear, Dequantize) {
  const Tensor x = make<uint8_t>({4}, {0, 3, 128, 255});
  EXPECT_TRUE(
      tensors_close(run1(op("DequantizeLinear", {x, f32(2), Tensor::scalar<uint8_t>(128)}, {}, 10)),
                    make<float>({4}, {-256, -250, 0, 254})));
  // Per-axis int8 along axis 0.
  const Tensor xi = make<int8_t>({2, 2}, {-128, 127, 5, -5});
  EXPECT_TRUE(tensors_close(
      run1(op("DequantizeLinear", {xi, make<float>({2}, {0.5f, 2}), make<int8_t>({2}, {0, 5})},
              {attr("axis", int64_t{0})}, 13)),
      make<float>({2, 2}, {-64, 63.5f, 0, -20})));
  // int32 (bias-like) data without zero point.
  EXPECT_TRUE(
      tensors_close(run1(op("DequantizeLinear", {make<int32_t>({2}, {100, -4}), f32(0.5f)})),
                    make<float>({2}, {50, -2})));
}

TEST(QuantLinear, DequantizeErrors) {
  EXPECT_EQ(run_status(op("DequantizeLinear",
                          {make<int32_t>({2}, {100, -4}), f32(0.5f), Tensor::scalar<int32_t>(3)}))
                .code(),
            StatusCode::kInvalidArgument);
  // Zero point dtype must match x.
  EXPECT_EQ(run_status(op("DequantizeLinear",
                          {make<uint8_t>({1}, {1}), f32(1), Tensor::scalar<int8_t>(0)}))
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(run_status(op("DequantizeLinear", {make<float>({1}, {1}), f32(1)})).code(),
            StatusCode::kUnsupported);
}

// ---- DynamicQuantizeLinear ------------------------------------------------------------------

TEST(QuantLinear, DynamicQuantize) {
  OpCall call = op("DynamicQuantizeLinear", {make<float>({6}, {0, 2, -3, -2.5f, 1.34f, 0.5f})});
  call.num_outputs = 3;
  auto r = run_op(call);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  // Range [-3, 2]: scale 5 / 255, zero point 3 / scale = 153.
  EXPECT_TRUE(tensors_close((*r)[0], make<uint8_t>({6}, {153, 255, 0, 26, 221, 179})));
  EXPECT_TRUE(tensors_close((*r)[1], f32(5.0f / 255.0f), 0, 0));
  EXPECT_TRUE(tensors_close((*r)[2], Tensor::scalar<uint8_t>(153)));
}

TEST(QuantLinear, DynamicQuantizeAllZero) {
  OpCall call = op("DynamicQuantizeLinear", {make<float>({2, 2}, {0, 0, 0, 0})});
  call.num_outputs = 3;
  auto r = run_op(call);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_TRUE(tensors_close((*r)[0], make<uint8_t>({2, 2}, {0, 0, 0, 0})));
  EXPECT_TRUE(tensors_close((*r)[1], f32(1.0f / 255.0f), 0, 0));
  EXPECT_TRUE(tensors_close((*r)[2], Tensor::scalar<uint8_t>(0)));
}

TEST(QuantLinear, DynamicQuantizeRejectsDouble) {
  OpCall call = op("DynamicQuantizeLinear", {make<double>({1}, {1.0})});
  call.num_outputs = 3;
  EXPECT_EQ(run_status(call).code(), StatusCode::kUnsupported);
}

// ---- MatMulInteger / QLinearMatMul ----------------------------------------------------------

TEST(QuantMatMul, MatMulIntegerPerTensor) {
  const Tensor a = make<uint8_t>({4, 3}, {11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0});
  const Tensor b = make<uint8_t>({3, 2}, {1, 4, 2, 5, 3, 6});
  EXPECT_TRUE(tensors_close(
      run1(op("MatMulInteger", {a, b, make<uint8_t>({1}, {12}), make<uint8_t>({1}, {0})}, {}, 10)),
      make<int32_t>({4, 2}, {-38, -83, -44, -98, -50, -113, -56, -128})));
}

TEST(QuantMatMul, MatMulIntegerPerRowAndColumn) {
  // A - [1, 2] per row = [[0, 1], [1, 2]]; B - [0, 1] per column = [[1, -1], [0, 0]].
  const Tensor a = make<uint8_t>({2, 2}, {1, 2, 3, 4});
  const Tensor b = make<int8_t>({2, 2}, {1, 0, 0, 1});
  EXPECT_TRUE(tensors_close(
      run1(op("MatMulInteger", {a, b, make<uint8_t>({2}, {1, 2}), make<int8_t>({2}, {0, 1})})),
      make<int32_t>({2, 2}, {0, 0, 1, -1})));
  // The same zero points written as [M, 1] and [1, N].
  EXPECT_TRUE(tensors_close(run1(op("MatMulInteger", {a, b, make<uint8_t>({2, 1}, {1, 2}),
                                                      make<int8_t>({1, 2}, {0, 1})})),
                            make<int32_t>({2, 2}, {0, 0, 1, -1})));
}

TEST(QuantMatMul, MatMulIntegerVectorsAndBatches) {
  // 1-D a: [K] @ [K, N] -> [N].
  EXPECT_TRUE(tensors_close(
      run1(op("MatMulInteger", {make<int8_t>({2}, {-1, 2}), make<int8_t>({2, 2}, {3, 4, 5, 6})})),
      make<int32_t>({2}, {7, 8})));
  // Batch of 2 a's against one shared b.
  const Tensor a = make<uint8_t>({2, 1, 2}, {1, 2, 3, 4});
  const Tensor b = make<uint8_t>({2, 1}, {1, 1});
  EXPECT_TRUE(tensors_close(run1(op("MatMulInteger", {a, b})), make<int32_t>({2, 1, 1}, {3, 7})));
  // Accumulation stays exact in int32: 1000 * (-128 * -128) = 16384000.
  std::vector<int8_t> ones(1000, -128);
  EXPECT_TRUE(tensors_close(
      run1(op("MatMulInteger", {make<int8_t>({1, 1000}, ones), make<int8_t>({1000, 1}, ones)})),
      make<int32_t>({1, 1}, {16384000})));
}

TEST(QuantMatMul, MatMulIntegerErrors) {
  EXPECT_EQ(run_status(op("MatMulInteger", {make<uint8_t>({2, 3}, {1, 2, 3, 4, 5, 6}),
                                            make<uint8_t>({2, 2}, {1, 2, 3, 4})}))
                .code(),
            StatusCode::kInvalidArgument);
  // A per-row zero point of the wrong length.
  EXPECT_EQ(run_status(op("MatMulInteger",
                          {make<uint8_t>({2, 2}, {1, 2, 3, 4}), make<uint8_t>({2, 2}, {1, 2, 3, 4}),
                           make<uint8_t>({3}, {1, 2, 3})}))
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      run_status(op("MatMulInteger", {make<int32_t>({1, 1}, {1}), make<uint8_t>({1, 1}, {1})}))
          .code(),
      StatusCode::kInvalidArgument);
}

TEST(QuantMatMul, QLinearMatMulOnnxExample) {
  const Tensor a = make<uint8_t>({2, 4}, {208, 236, 0, 238, 3, 214, 255, 29});
  const Tensor b = make<uint8_t>({4, 3}, {152, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247});
  EXPECT_TRUE(tensors_close(run1(op("QLinearMatMul",
                                    {a, make<float>({1}, {0.0066f}), make<uint8_t>({1}, {113}), b,
                                     make<float>({1}, {0.00705f}), make<uint8_t>({1}, {114}),
                                     make<float>({1}, {0.0107f}), make<uint8_t>({1}, {118})},
                                    {}, 10)),
                            make<uint8_t>({2, 3}, {168, 115, 255, 1, 66, 151})));
}

TEST(QuantMatMul, QLinearMatMulPerColumnInt8) {
  // a - 1 = [[1, 2]]; b = [[1, 1], [1, -1]] with scales [1, 0.25]:
  // acc = [3, -1]; * (0.5 * [1, 0.25] / 1) = [1.5, -0.125] -> [2, 0]; + zp -3 -> [-1, -3].
  const Tensor a = make<int8_t>({1, 2}, {2, 3});
  const Tensor b = make<int8_t>({2, 2}, {1, 1, 1, -1});
  EXPECT_TRUE(tensors_close(
      run1(op("QLinearMatMul",
              {a, f32(0.5f), Tensor::scalar<int8_t>(1), b, make<float>({2}, {1, 0.25f}),
               make<int8_t>({2}, {0, 0}), f32(1), Tensor::scalar<int8_t>(-3)})),
      make<int8_t>({1, 2}, {-1, -3})));
}

TEST(QuantMatMul, QLinearMatMulErrors) {
  const Tensor a = make<uint8_t>({1, 1}, {1});
  EXPECT_EQ(run_status(op("QLinearMatMul", {a, f32(1), Tensor::scalar<uint8_t>(0), a, f32(1),
                                            Tensor::scalar<uint8_t>(0), make<float>({2}, {1, 1}),
                                            make<uint8_t>({2}, {0, 0})}))
                .code(),
            StatusCode::kInvalidArgument);
  // Zero point dtype must match its operand.
  EXPECT_EQ(run_status(op("QLinearMatMul",
                          {a, f32(1), Tensor::scalar<int8_t>(0), a, f32(1),
                           Tensor::scalar<uint8_t>(0), f32(1), Tensor::scalar<uint8_t>(0)}))
                .code(),
            StatusCode::kInvalidArgument);
}

// ---- ConvInteger / QLinearConv --------------------------------------------------------------

const Tensor kConvX = make<uint8_t>({1, 1, 3, 3}, {2, 3, 4, 5, 6, 7, 8, 9, 10});
const Tensor kConvW = make<uint8_t>({1, 1, 2, 2}, {1, 1, 1, 1});

TEST(QuantConv, ConvIntegerPadding) {
  const Tensor zp = Tensor::scalar<uint8_t>(1);
  EXPECT_TRUE(tensors_close(run1(op("ConvInteger", {kConvX, kConvW, zp}, {}, 10)),
                            make<int32_t>({1, 1, 2, 2}, {12, 16, 24, 28})));
  // Padding stands for the zero point, so it contributes nothing.
  EXPECT_TRUE(tensors_close(
      run1(op("ConvInteger", {kConvX, kConvW, zp}, {attr("pads", std::vector<int64_t>{1, 1, 1, 1})},
              10)),
      make<int32_t>({1, 1, 4, 4}, {1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9})));
  // SAME_UPPER with stride 2: out 2x2, total pad 1 per dim, all at the end.
  EXPECT_TRUE(tensors_close(run1(op("ConvInteger", {kConvX, kConvW, zp},
                                    {attr("auto_pad", std::string("SAME_UPPER")),
                                     attr("strides", std::vector<int64_t>{2, 2})})),
                            make<int32_t>({1, 1, 2, 2}, {12, 3 + 6, 7 + 8, 9})));
  // SAME_LOWER puts the pad at the beginning.
  EXPECT_TRUE(tensors_close(run1(op("ConvInteger", {kConvX, kConvW, zp},
                                    {attr("auto_pad", std::string("SAME_LOWER")),
                                     attr("strides", std::vector<int64_t>{2, 2})})),
                            make<int32_t>({1, 1, 2, 2}, {1, 2 + 3, 4 + 7, 5 + 6 + 8 + 9})));
}

TEST(QuantConv, ConvIntegerGroupsDilationPerChannelZeroPoint) {
  // Two groups of one channel each, 1-D, dilation 2: y[m][o] = (x[m][o] - 0) * w0 + x[m][o+2]*w1.
  const Tensor x = make<int8_t>({1, 2, 4}, {1, 2, 3, 4, -1, -2, -3, -4});
  const Tensor w = make<int8_t>({2, 1, 2}, {3, 2, 1, 1});
  // w - [1, 0] per output channel = [[2, 1], [1, 1]].
  EXPECT_TRUE(tensors_close(
      run1(op("ConvInteger", {x, w, Tensor(), make<int8_t>({2}, {1, 0})},
              {attr("group", int64_t{2}), attr("dilations", std::vector<int64_t>{2})})),
      make<int32_t>({1, 2, 2}, {2 + 3, 4 + 4, -1 - 3, -2 - 4})));
}

TEST(QuantConv, ConvIntegerErrors) {
  EXPECT_EQ(run_status(op("ConvInteger", {kConvX, make<uint8_t>({1, 1, 2}, {1, 1})})).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(run_status(op("ConvInteger", {kConvX, kConvW}, {attr("group", int64_t{2})})).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(run_status(op("ConvInteger",
                          {kConvX, make<uint8_t>({1, 1, 4, 4}, std::vector<uint8_t>(16, 1))}))
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      run_status(op("ConvInteger", {kConvX, kConvW, Tensor(), make<uint8_t>({2}, {1, 1})})).code(),
      StatusCode::kInvalidArgument);
}

TEST(QuantConv, QLinearConvPerChannelWithBias) {
  // x - 10 = [0, 10, 20, 30]; w - zp = [2, -2]; multipliers 0.5 * [1, 0.25] / 1 = [0.5, 0.125].
  // Channel 0: (2x' + 1) * 0.5 = 0.5, 10.5, 20.5, 30.5 -> 0, 10, 20, 30 (ties to even).
  // Channel 1: -2x' * 0.125 = 0, -2.5, -5, -7.5 -> 0, -2, -5, -8.
  const Tensor x = make<uint8_t>({1, 1, 2, 2}, {10, 20, 30, 40});
  const Tensor w = make<int8_t>({2, 1, 1, 1}, {2, -1});
  EXPECT_TRUE(tensors_close(run1(op("QLinearConv",
                                    {x, f32(0.5f), Tensor::scalar<uint8_t>(10), w,
                                     make<float>({2}, {1, 0.25f}), make<int8_t>({2}, {0, 1}),
                                     f32(1), Tensor::scalar<int8_t>(0), make<int32_t>({2}, {1, 0})},
                                    {}, 10)),
                            make<int8_t>({1, 2, 2, 2}, {0, 10, 20, 30, 0, -2, -5, -8})));
}

TEST(QuantConv, QLinearConvSaturates) {
  const Tensor x = make<uint8_t>({1, 1, 1, 2}, {0, 255});
  const Tensor w = make<uint8_t>({1, 1, 1, 1}, {255});
  // (x - 128) * 127 * 1 + 128 saturates at both ends of uint8.
  EXPECT_TRUE(tensors_close(
      run1(op("QLinearConv", {x, f32(1), Tensor::scalar<uint8_t>(128), w, f32(1),
                              Tensor::scalar<uint8_t>(128), f32(1), Tensor::scalar<uint8_t>(128)})),
      make<uint8_t>({1, 1, 1, 2}, {0, 255})));
}

TEST(QuantConv, QLinearConvErrors) {
  const Tensor x = make<uint8_t>({1, 1, 2, 2}, {10, 20, 30, 40});
  const Tensor w = make<uint8_t>({2, 1, 1, 1}, {2, 1});
  const Tensor zp = Tensor::scalar<uint8_t>(0);
  // Bias of the wrong length.
  EXPECT_EQ(run_status(op("QLinearConv", {x, f32(1), zp, w, f32(1), zp, f32(1), zp,
                                          make<int32_t>({3}, {1, 2, 3})}))
                .code(),
            StatusCode::kInvalidArgument);
  // w_scale with neither 1 nor M values.
  EXPECT_EQ(
      run_status(op("QLinearConv", {x, f32(1), zp, w, make<float>({3}, {1, 1, 1}), zp, f32(1), zp}))
          .code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(run_status(op("QLinearConv", {x, f32(1), zp, w, f32(1), zp, f32(1), zp},
                          {attr("auto_pad", std::string("SAME"))}))
                .code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace edgerun::testing
