// Elementwise op cases: hand-computed expectations, legacy opset semantics and error paths.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ops/op_test.h"

namespace edgerun::testing {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

// ---- Unary --------------------------------------------------------------------------------

TEST(ElementwiseUnary, MathFunctions) {
  const Tensor x = make<float>({4}, {-2.0f, -0.5f, 0.25f, 4.0f});
  EXPECT_TRUE(tensors_close(run1(op("Abs", {x})), make<float>({4}, {2.0f, 0.5f, 0.25f, 4.0f})));
  EXPECT_TRUE(tensors_close(run1(op("Neg", {x})), make<float>({4}, {2.0f, 0.5f, -0.25f, -4.0f})));
  EXPECT_TRUE(
      tensors_close(run1(op("Reciprocal", {x})), make<float>({4}, {-0.5f, -2.0f, 4.0f, 0.25f})));
  EXPECT_TRUE(tensors_close(run1(op("Ceil", {x})), make<float>({4}, {-2.0f, -0.0f, 1.0f, 4.0f})));
  EXPECT_TRUE(tensors_close(run1(op("Floor", {x})), make<float>({4}, {-2.0f, -1.0f, 0.0f, 4.0f})));
  EXPECT_TRUE(tensors_close(run1(op("Sign", {x})), make<float>({4}, {-1.0f, -1.0f, 1.0f, 1.0f})));
  EXPECT_TRUE(tensors_close(run1(op("Sqrt", {make<double>({2}, {4.0, 2.25})})),
                            make<double>({2}, {2.0, 1.5})));
  EXPECT_TRUE(tensors_close(run1(op("Exp", {make<float>({2}, {0.0f, 1.0f})})),
                            make<float>({2}, {1.0f, 2.7182817f})));
}

TEST(ElementwiseUnary, RoundHalfToEven) {
  EXPECT_TRUE(tensors_close(
      run1(op("Round", {make<float>({6}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.6f})})),
      make<float>({6}, {0.0f, 2.0f, 2.0f, -0.0f, -2.0f, 3.0f})));
}

TEST(ElementwiseUnary, IntegerAbsNegWrap) {
  const Tensor x = make<int8_t>({3}, {-128, -5, 7});
  EXPECT_TRUE(tensors_close(run1(op("Abs", {x})), make<int8_t>({3}, {-128, 5, 7})));
  EXPECT_TRUE(tensors_close(run1(op("Neg", {x})), make<int8_t>({3}, {-128, 5, -7})));
}

TEST(ElementwiseUnary, Float16ComputesInFloat) {
  const Tensor x = make<float16_t>({2}, {float16_t(-1.0f), float16_t(4.0f)});
  EXPECT_TRUE(tensors_close(run1(op("Relu", {x})),
                            make<float16_t>({2}, {float16_t(0.0f), float16_t(4.0f)})));
}

TEST(ElementwiseUnary, Predicates) {
  const Tensor x = make<float>({4}, {1.0f, kNaN, kInf, -kInf});
  EXPECT_TRUE(tensors_close(run1(op("IsNaN", {x})), make<bool>({4}, {false, true, false, false})));
  EXPECT_TRUE(tensors_close(run1(op("IsInf", {x}, {attr("detect_negative", int64_t{0})})),
                            make<bool>({4}, {false, false, true, false})));
  EXPECT_TRUE(tensors_close(run1(op("Not", {make<bool>({2}, {true, false})})),
                            make<bool>({2}, {false, true})));
}

// Swish (ai.edgerun, internal): x * sigmoid(alpha * x), SiLU at the default alpha 1.
OpCall swish(Tensor x, std::vector<ir::Attribute> attrs = {}) {
  OpCall call = op("Swish", {std::move(x)}, std::move(attrs), 1);
  call.domain = "ai.edgerun";
  return call;
}

TEST(ElementwiseUnary, SwishIsSiluAndTakesAlpha) {
  const Tensor x = make<float>({3}, {-1.0f, 0.0f, 2.0f});
  EXPECT_TRUE(tensors_close(run1(swish(x)), make<float>({3}, {-0.26894142f, 0.0f, 1.7615942f})));
  EXPECT_TRUE(tensors_close(run1(swish(x, {attr("alpha", 1.702f)})),
                            make<float>({3}, {-0.15420423f, 0.0f, 1.9356586f})));
  EXPECT_TRUE(tensors_close(run1(swish(make<double>({1}, {-1.0}))),
                            make<double>({1}, {-0.2689414213699951}), 1e-12, 0));
  const Tensor half = make<float16_t>({2}, {float16_t(-1.0f), float16_t(2.0f)});
  EXPECT_TRUE(tensors_close(run1(swish(half)),
                            make<float16_t>({2}, {float16_t(-0.26894142f), float16_t(1.7615942f)}),
                            1e-3, 0));
}

TEST(ElementwiseUnary, SwishSaturatesWithoutOverflowOrNaN) {
  // exp never overflows; where the sigmoid underflows the result is a signed 0, even at -inf
  // (where the unfused x * sigmoid(x) would be -inf * 0 = NaN).
  const Tensor x = make<float>({7}, {-80.0f, -30.0f, -200.0f, 200.0f, -kInf, kInf, kNaN});
  const Tensor y = run1(swish(x));
  EXPECT_TRUE(tensors_close(y, make<float>({7}, {-1.4438811e-33f, -2.8072869e-12f, -0.0f, 200.0f,
                                                 -0.0f, kInf, kNaN}),
                            1e-6, 0));
  ASSERT_EQ(y.size(), 7);
  EXPECT_TRUE(std::signbit(y.data<float>()[2]));
  EXPECT_TRUE(std::signbit(y.data<float>()[4]));
  // A negative alpha flips the saturation: +inf * sigmoid(-inf) is +0.
  const Tensor flipped = run1(swish(make<float>({2}, {kInf, -kInf}), {attr("alpha", -1.0f)}));
  EXPECT_TRUE(tensors_close(flipped, make<float>({2}, {0.0f, -kInf}), 0, 0));
}

TEST(ElementwiseUnary, SwishRejectsIntegers) {
  const Status status = run_status(swish(make<int32_t>({2}, {1, 2})));
  EXPECT_EQ(status.code(), StatusCode::kUnsupported);
  EXPECT_NE(status.message().find("Swish does not support dtype int32"), std::string::npos)
      << status.message();
}

TEST(ElementwiseUnary, Activations) {
  const Tensor x = make<float>({3}, {-1.0f, 0.0f, 2.0f});
  EXPECT_TRUE(tensors_close(run1(op("LeakyRelu", {x}, {attr("alpha", 0.1f)})),
                            make<float>({3}, {-0.1f, 0.0f, 2.0f})));
  EXPECT_TRUE(tensors_close(run1(op("Elu", {x})),
                            make<float>({3}, {std::expm1(-1.0f), 0.0f, 2.0f})));
  EXPECT_TRUE(tensors_close(run1(op("Sigmoid", {x})),
                            make<float>({3}, {0.26894142f, 0.5f, 0.8807971f})));
  EXPECT_TRUE(tensors_close(run1(op("HardSigmoid", {x})), make<float>({3}, {0.3f, 0.5f, 0.9f})));
  EXPECT_TRUE(tensors_close(run1(op("HardSwish", {x})),
                            make<float>({3}, {-1.0f / 3.0f, 0.0f, 2.0f * 5.0f / 6.0f})));
  // Gelu(-1) = -0.5 (1 + erf(-1/sqrt 2)) = -0.15865525; tanh form: -0.15880801.
  EXPECT_TRUE(tensors_close(run1(op("Gelu", {x}, {}, 20)),
                            make<float>({3}, {-0.15865525f, 0.0f, 1.9544997f})));
  EXPECT_TRUE(tensors_close(run1(op("Gelu", {x}, {attr("approximate", std::string("tanh"))}, 20)),
                            make<float>({3}, {-0.15880801f, 0.0f, 1.9545977f})));
  EXPECT_NE(run_status(op("Gelu", {x}, {attr("approximate", std::string("cubic"))}, 20))
                .message()
                .find("approximate 'cubic'"),
            std::string::npos);
  EXPECT_TRUE(tensors_close(run1(op("Softsign", {x})), make<float>({3}, {-0.5f, 0.0f, 2.0f / 3.0f})));
  EXPECT_TRUE(tensors_close(run1(op("ThresholdedRelu", {x})), make<float>({3}, {0.0f, 0.0f, 2.0f})));
  EXPECT_TRUE(tensors_close(run1(op("Shrink", {x}, {attr("lambd", 0.5f), attr("bias", 0.5f)})),
                            make<float>({3}, {-0.5f, 0.0f, 1.5f})));
  // Softplus must not overflow for large inputs.
  EXPECT_TRUE(tensors_close(run1(op("Softplus", {make<float>({1}, {100.0f})})),
                            make<float>({1}, {100.0f})));
}

TEST(ElementwiseUnary, ClipAttributesAndInputs) {
  const Tensor x = make<float>({4}, {-3.0f, -1.0f, 1.0f, 3.0f});
  // Opset 6: bounds are attributes.
  OpCall legacy = op("Clip", {x}, {attr("min", -2.0f), attr("max", 2.0f)}, 6);
  EXPECT_TRUE(tensors_close(run1(legacy), make<float>({4}, {-2.0f, -1.0f, 1.0f, 2.0f})));
  // Opset 11+: optional inputs; omitted min.
  OpCall modern = op("Clip", {x, Tensor(), Tensor::scalar<float>(0.5f)});
  EXPECT_TRUE(tensors_close(run1(modern), make<float>({4}, {-3.0f, -1.0f, 0.5f, 0.5f})));
  OpCall ints = op("Clip", {make<int8_t>({3}, {-100, 5, 100}), Tensor::scalar<int8_t>(-10),
                       Tensor::scalar<int8_t>(10)});
  EXPECT_TRUE(tensors_close(run1(ints), make<int8_t>({3}, {-10, 5, 10})));
}

TEST(ElementwiseUnary, Errors) {
  // Clip bounds must be scalars of the input's dtype.
  OpCall bad_shape = op("Clip", {make<float>({2}, {1, 2}), make<float>({2}, {0, 1})});
  EXPECT_EQ(run_status(bad_shape).code(), StatusCode::kInvalidArgument);
  OpCall bad_dtype = op("Clip", {make<float>({2}, {1, 2}), Tensor::scalar<double>(0.0)});
  EXPECT_EQ(run_status(bad_dtype).code(), StatusCode::kInvalidArgument);
  // Float-only ops reject integers.
  EXPECT_EQ(run_status(op("Exp", {make<int32_t>({1}, {1})})).code(), StatusCode::kUnsupported);
  EXPECT_EQ(run_status(op("Celu", {make<float>({1}, {1})}, {attr("alpha", 0.0f)})).code(),
            StatusCode::kInvalidArgument);
}

// ---- Binary -------------------------------------------------------------------------------

TEST(ElementwiseBinary, ArithmeticBroadcast) {
  const Tensor a = make<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor b = make<float>({3}, {10, 20, 30});
  EXPECT_TRUE(tensors_close(run1(op("Add", {a, b})), make<float>({2, 3}, {11, 22, 33, 14, 25, 36})));
  EXPECT_TRUE(
      tensors_close(run1(op("Sub", {b, a})), make<float>({2, 3}, {9, 18, 27, 6, 15, 24})));
  const Tensor col = make<float>({2, 1}, {2, 3});
  EXPECT_TRUE(tensors_close(run1(op("Mul", {a, col})), make<float>({2, 3}, {2, 4, 6, 12, 15, 18})));
  EXPECT_TRUE(tensors_close(run1(op("Div", {a, Tensor::scalar<float>(2)})),
                            make<float>({2, 3}, {0.5f, 1, 1.5f, 2, 2.5f, 3})));
}

TEST(ElementwiseBinary, IntegerDivisionTruncatesAndWraps) {
  EXPECT_TRUE(tensors_close(run1(op("Div", {make<int32_t>({3}, {7, -7, std::numeric_limits<int32_t>::min()}),
                                          make<int32_t>({3}, {2, 2, -1})})),
                            make<int32_t>({3}, {3, -3, std::numeric_limits<int32_t>::min()})));
  EXPECT_TRUE(tensors_close(run1(op("Add", {make<uint8_t>({1}, {250}), make<uint8_t>({1}, {10})})),
                            make<uint8_t>({1}, {4})));
  EXPECT_EQ(run_status(op("Div", {make<int32_t>({1}, {1}), make<int32_t>({1}, {0})})).code(),
            StatusCode::kInvalidArgument);
}

TEST(ElementwiseBinary, LegacyBroadcastAxis) {
  const Tensor a = make<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor b = make<float>({2}, {10, 20});
  OpCall call = op("Add", {a, b}, {attr("broadcast", int64_t{1}), attr("axis", int64_t{0})}, 6);
  EXPECT_TRUE(tensors_close(run1(call), make<float>({2, 3}, {11, 12, 13, 24, 25, 26})));
  // Without broadcast=1 the shapes must match.
  OpCall no_bcast = op("Add", {a, b}, {}, 6);
  EXPECT_EQ(run_status(no_bcast).code(), StatusCode::kInvalidArgument);
  // A trailing-dim mismatch is an error too.
  OpCall bad = op("Add", {a, b}, {attr("broadcast", int64_t{1})}, 6);
  EXPECT_EQ(run_status(bad).code(), StatusCode::kInvalidArgument);
}

TEST(ElementwiseBinary, PowMixedTypes) {
  EXPECT_TRUE(tensors_close(
      run1(op("Pow", {make<float>({3}, {2, 3, 4}), make<int64_t>({3}, {3, 2, -1})})),
      make<float>({3}, {8, 9, 0.25f})));
  EXPECT_TRUE(tensors_close(
      run1(op("Pow", {make<int64_t>({2}, {3, 2}), make<int64_t>({2}, {4, 40})})),
      make<int64_t>({2}, {81, int64_t{1} << 40})));
  EXPECT_TRUE(tensors_close(run1(op("Pow", {make<int32_t>({2}, {2, 9}), make<float>({2}, {3, 0.5f})})),
                            make<int32_t>({2}, {8, 3})));
}

TEST(ElementwiseBinary, ModSignSemantics) {
  const Tensor a = make<int32_t>({4}, {-7, 7, -7, 7});
  const Tensor b = make<int32_t>({4}, {3, -3, -3, 3});
  EXPECT_TRUE(tensors_close(run1(op("Mod", {a, b})), make<int32_t>({4}, {2, -2, -1, 1})));
  EXPECT_TRUE(tensors_close(run1(op("Mod", {a, b}, {attr("fmod", int64_t{1})})),
                            make<int32_t>({4}, {-1, 1, -1, 1})));
  EXPECT_TRUE(tensors_close(run1(op("Mod", {make<float>({2}, {-7.5f, 7.5f}),
                                          make<float>({2}, {2, 2})},
                                  {attr("fmod", int64_t{1})})),
                            make<float>({2}, {-1.5f, 1.5f})));
  EXPECT_EQ(run_status(op("Mod", {a, make<int32_t>({1}, {0})})).code(),
            StatusCode::kInvalidArgument);
}

TEST(ElementwiseBinary, BitOps) {
  const Tensor a = make<uint8_t>({3}, {1, 0x80, 0xF0});
  const Tensor s = make<uint8_t>({3}, {3, 1, 8});
  EXPECT_TRUE(tensors_close(run1(op("BitShift", {a, s}, {attr("direction", std::string("LEFT"))})),
                            make<uint8_t>({3}, {8, 0, 0})));
  EXPECT_TRUE(tensors_close(run1(op("BitShift", {a, s}, {attr("direction", std::string("RIGHT"))})),
                            make<uint8_t>({3}, {0, 0x40, 0})));
  EXPECT_EQ(run_status(op("BitShift", {a, s}, {attr("direction", std::string("UP"))})).code(),
            StatusCode::kInvalidArgument);
  const Tensor x = make<int32_t>({2}, {0b1100, -1});
  const Tensor y = make<int32_t>({2}, {0b1010, 5});
  EXPECT_TRUE(tensors_close(run1(op("BitwiseAnd", {x, y})), make<int32_t>({2}, {0b1000, 5})));
  EXPECT_TRUE(tensors_close(run1(op("BitwiseOr", {x, y})), make<int32_t>({2}, {0b1110, -1})));
  EXPECT_TRUE(tensors_close(run1(op("BitwiseXor", {x, y})), make<int32_t>({2}, {0b0110, -6})));
  EXPECT_TRUE(tensors_close(run1(op("BitwiseNot", {x})), make<int32_t>({2}, {~0b1100, 0})));
}

TEST(ElementwiseBinary, LogicAndComparisons) {
  const Tensor p = make<bool>({4}, {true, true, false, false});
  const Tensor q = make<bool>({4}, {true, false, true, false});
  EXPECT_TRUE(tensors_close(run1(op("And", {p, q})), make<bool>({4}, {true, false, false, false})));
  EXPECT_TRUE(tensors_close(run1(op("Or", {p, q})), make<bool>({4}, {true, true, true, false})));
  EXPECT_TRUE(tensors_close(run1(op("Xor", {p, q})), make<bool>({4}, {false, true, true, false})));
  const Tensor a = make<float>({3}, {1, 2, 3});
  const Tensor two = Tensor::scalar<float>(2);
  EXPECT_TRUE(tensors_close(run1(op("Greater", {a, two})), make<bool>({3}, {false, false, true})));
  EXPECT_TRUE(tensors_close(run1(op("LessOrEqual", {a, two})), make<bool>({3}, {true, true, false})));
  EXPECT_TRUE(tensors_close(run1(op("Equal", {make<std::string>({2}, {"a", "b"}),
                                            make<std::string>({1}, {"b"})})),
                            make<bool>({2}, {false, true})));
  EXPECT_EQ(run_status(op("Less", {a, make<double>({1}, {1})})).code(),
            StatusCode::kInvalidArgument);
}

TEST(ElementwiseBinary, Variadic) {
  const Tensor a = make<float>({2, 2}, {1, 2, 3, 4});
  const Tensor b = make<float>({2}, {10, 20});
  const Tensor c = make<float>({1}, {-1});
  EXPECT_TRUE(tensors_close(run1(op("Sum", {a, b, c})), make<float>({2, 2}, {10, 21, 12, 23})));
  EXPECT_TRUE(tensors_close(run1(op("Mean", {a, b})), make<float>({2, 2}, {5.5f, 11, 6.5f, 12})));
  EXPECT_TRUE(tensors_close(run1(op("Max", {a, make<float>({2}, {2, kNaN})})),
                            make<float>({2, 2}, {2, kNaN, 3, kNaN})));
  EXPECT_TRUE(tensors_close(run1(op("Min", {make<int64_t>({2}, {5, -5}), make<int64_t>({2}, {1, 1})})),
                            make<int64_t>({2}, {1, -5})));
  EXPECT_TRUE(tensors_close(run1(op("Max", {a})), a));
  // Before opset 8 shapes had to match.
  EXPECT_EQ(run_status(op("Sum", {a, b}, {}, 6)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_status(op("Sum", {a, make<double>({1}, {1})})).code(),
            StatusCode::kInvalidArgument);
}

TEST(ElementwiseBinary, WhereAndPRelu) {
  const Tensor cond = make<bool>({2, 1}, {true, false});
  const Tensor x = make<std::string>({2}, {"a", "b"});
  const Tensor y = make<std::string>({1}, {"z"});
  EXPECT_TRUE(tensors_close(run1(op("Where", {cond, x, y})),
                            make<std::string>({2, 2}, {"a", "b", "z", "z"})));
  EXPECT_EQ(run_status(op("Where", {make<int32_t>({1}, {1}), x, y})).code(),
            StatusCode::kInvalidArgument);

  const Tensor v = make<float>({1, 2, 2}, {-1, 1, -2, 2});
  const Tensor slope = make<float>({2, 1}, {0.5f, 0.25f});
  EXPECT_TRUE(tensors_close(run1(op("PRelu", {v, slope})),
                            make<float>({1, 2, 2}, {-0.5f, 1, -0.5f, 2})));
  // Opset 6 channel-wise slope on axis 1.
  EXPECT_TRUE(tensors_close(run1(op("PRelu", {v, make<float>({2}, {0.5f, 0.25f})}, {}, 6)),
                            make<float>({1, 2, 2}, {-0.5f, 1, -0.5f, 2})));
  // The slope must broadcast to X, not the other way round.
  EXPECT_EQ(run_status(op("PRelu", {make<float>({2}, {1, 2}), make<float>({2, 2}, {1, 1, 1, 1})}))
                .code(),
            StatusCode::kInvalidArgument);
}

// ---- Cast ---------------------------------------------------------------------------------

TEST(ElementwiseCast, Numeric) {
  const Tensor x = make<float>({4}, {-1.7f, 0.0f, 2.5f, 300.0f});
  EXPECT_TRUE(tensors_close(run1(op("Cast", {x}, {attr("to", int64_t{6})})),
                            make<int32_t>({4}, {-1, 0, 2, 300})));
  EXPECT_TRUE(tensors_close(run1(op("Cast", {x}, {attr("to", int64_t{9})})),
                            make<bool>({4}, {true, false, true, true})));
  EXPECT_TRUE(tensors_close(run1(op("Cast", {make<int64_t>({2}, {257, -1})}, {attr("to", int64_t{2})})),
                            make<uint8_t>({2}, {1, 255})));
  EXPECT_TRUE(tensors_close(run1(op("Cast", {x}, {attr("to", int64_t{10})})),
                            make<float16_t>({4}, {float16_t(-1.7f), float16_t(0.0f),
                                                  float16_t(2.5f), float16_t(300.0f)})));
  // Opset 1 named the type with a string.
  EXPECT_TRUE(tensors_close(run1(op("Cast", {x}, {attr("to", std::string("DOUBLE"))}, 1)),
                            make<double>({4}, {-1.7f, 0.0f, 2.5f, 300.0f})));
  EXPECT_TRUE(tensors_close(run1(op("CastLike", {make<int32_t>({1}, {3}), make<double>({1}, {0})})),
                            make<double>({1}, {3})));
}

TEST(ElementwiseCast, Strings) {
  const Tensor x = make<float>({6}, {0.1f, 100.0f, 1.5e-5f, -kInf, kNaN, 1e16f});
  EXPECT_TRUE(tensors_close(
      run1(op("Cast", {x}, {attr("to", int64_t{8})})),
      make<std::string>({6}, {"0.1", "100.0", "1.5e-05", "-inf", "nan", "1e+16"})));
  EXPECT_TRUE(tensors_close(run1(op("Cast", {make<int64_t>({2}, {-42, 7})}, {attr("to", int64_t{8})})),
                            make<std::string>({2}, {"-42", "7"})));
  const Tensor s = make<std::string>({4}, {"1.5", "+INF", " -2 ", "NaN"});
  EXPECT_TRUE(tensors_close(run1(op("Cast", {s}, {attr("to", int64_t{1})})),
                            make<float>({4}, {1.5f, kInf, -2.0f, kNaN})));
  EXPECT_TRUE(tensors_close(
      run1(op("Cast", {make<std::string>({2}, {"12", "-3"})}, {attr("to", int64_t{7})})),
      make<int64_t>({2}, {12, -3})));
  EXPECT_EQ(run_status(op("Cast", {make<std::string>({1}, {"abc"})}, {attr("to", int64_t{1})}))
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(run_status(op("Cast", {x}, {attr("to", int64_t{99})})).code(),
            StatusCode::kUnsupported);
}

}  // namespace
}  // namespace edgerun::testing
