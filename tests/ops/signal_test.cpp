// Signal family: DFT, STFT, Hann/Hamming/Blackman windows, MelWeightMatrix.
#include <string>

#include "ops/op_test.h"

// The cases brace-initialise OpCall and leave its trailing fields (outputs, domain) defaulted.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace edgerun::testing {
namespace {

// The call fails and its message contains `needle`.
::testing::AssertionResult fails_with(const OpCall& call, const std::string& needle) {
  auto r = run_op(call);
  if (r.is_ok()) return ::testing::AssertionFailure() << call.op_type << " succeeded";
  const std::string message = r.status().message();
  if (message.find(needle) == std::string::npos) {
    return ::testing::AssertionFailure() << "message \"" << message << "\" lacks \"" << needle
                                         << "\"";
  }
  return ::testing::AssertionSuccess();
}

Tensor scalar64(int64_t v) { return make<int64_t>({}, {v}); }

// [1, 4, 1]: the real signal 1, 2, 3, 4.
const Tensor kReal4 = make<float>({1, 4, 1}, {1, 2, 3, 4});

TEST(SignalDft, RealForward) {
  OpCall c{"DFT", {kReal4}, {}, 17};
  EXPECT_TRUE(tensors_close(run1(c), make<float>({1, 4, 2}, {10, 0, -2, 2, -2, 0, -2, -2})));
}

TEST(SignalDft, Onesided) {
  OpCall c{"DFT", {kReal4}, {attr("onesided", int64_t{1})}, 17};
  EXPECT_TRUE(tensors_close(run1(c), make<float>({1, 3, 2}, {10, 0, -2, 2, -2, 0})));
}

TEST(SignalDft, InverseUndoesForward) {
  const Tensor spectrum = make<double>({1, 4, 2}, {10, 0, -2, 2, -2, 0, -2, -2});
  OpCall c{"DFT", {spectrum}, {attr("inverse", int64_t{1})}, 17};
  EXPECT_TRUE(tensors_close(run1(c), make<double>({1, 4, 2}, {1, 0, 2, 0, 3, 0, 4, 0}), 1e-12,
                            1e-12));
}

TEST(SignalDft, DftLengthTruncatesAndPads) {
  // The first two samples only: [1, 2] -> [3, -1].
  OpCall truncated{"DFT", {kReal4, scalar64(2)}, {}, 17};
  EXPECT_TRUE(tensors_close(run1(truncated), make<float>({1, 2, 2}, {3, 0, -1, 0})));
  // [1, 2, 0, 0] -> 1 + 2 * exp(-i*pi*k/2).
  OpCall padded{"DFT", {make<float>({1, 2, 1}, {1, 2}), make<int32_t>({1}, {4})}, {}, 17};
  EXPECT_TRUE(tensors_close(run1(padded), make<float>({1, 4, 2}, {3, 0, 1, -2, -1, 0, 1, 2})));
}

TEST(SignalDft, AxisSelectsTheTransformedDim) {
  const Tensor x = make<float>({1, 2, 2, 1}, {1, 2, 3, 4});
  // Along axis 2 (= -2): rows [1, 2] and [3, 4].
  OpCall rows{"DFT", {x}, {attr("axis", int64_t{-2})}, 17};
  EXPECT_TRUE(tensors_close(run1(rows), make<float>({1, 2, 2, 2}, {3, 0, -1, 0, 7, 0, -1, 0})));
  // Along axis 1: columns [1, 3] and [2, 4].
  OpCall cols{"DFT", {x}, {attr("axis", int64_t{1})}, 17};
  EXPECT_TRUE(tensors_close(run1(cols), make<float>({1, 2, 2, 2}, {4, 0, 6, 0, -2, 0, -2, 0})));
}

TEST(SignalDft, BadInputs) {
  EXPECT_TRUE(fails_with({"DFT", {make<float>({4}, {1, 2, 3, 4})}, {}, 17}, "rank >= 2"));
  EXPECT_TRUE(fails_with({"DFT", {make<float>({1, 1, 3}, {1, 2, 3})}, {}, 17},
                         "last dim to be 1 (real) or 2 (complex), got shape [1, 1, 3]"));
  EXPECT_TRUE(fails_with({"DFT", {kReal4}, {attr("axis", int64_t{-1})}, 17}, "got -1"));
  EXPECT_TRUE(fails_with({"DFT", {kReal4}, {attr("axis", int64_t{2})}, 17}, "[0, 1]"));
  EXPECT_TRUE(fails_with({"DFT", {kReal4, scalar64(0)}, {}, 17}, "dft_length must be >= 1, got 0"));
  EXPECT_TRUE(
      fails_with({"DFT", {kReal4, make<int64_t>({2}, {2, 2})}, {}, 17}, "must be a scalar"));
  EXPECT_TRUE(fails_with({"DFT", {make<float>({1, 2, 2}, {1, 0, 0, 0})},
                          {attr("onesided", int64_t{1})}, 17},
                         "needs a real input"));
  EXPECT_TRUE(fails_with({"DFT", {make<int32_t>({1, 2, 1}, {1, 2})}, {}, 17}, "got int32"));
  EXPECT_TRUE(fails_with({"DFT", {make<float>({1, 0, 1}, {})}, {}, 17}, "non-empty signal"));
}

TEST(SignalStft, FramesWithoutWindow) {
  // Frames [1, 2] and [3, 4].
  OpCall c{"STFT", {kReal4, scalar64(2), Tensor(), scalar64(2)}, {}, 17};
  EXPECT_TRUE(
      tensors_close(run1(c), make<float>({1, 2, 2, 2}, {3, 0, -1, 0, 7, 0, -1, 0})));
}

TEST(SignalStft, WindowGivesFrameLength) {
  // Windowed frames [0.5, 2], [1, 3] and [1.5, 4].
  const Tensor window = make<float>({2}, {0.5f, 1.0f});
  OpCall c{"STFT", {kReal4, scalar64(1), window}, {}, 17};
  EXPECT_TRUE(tensors_close(
      run1(c), make<float>({1, 3, 2, 2}, {2.5, 0, -1.5, 0, 4, 0, -2, 0, 5.5, 0, -2.5, 0})));
}

TEST(SignalStft, ComplexSignalTwoSided) {
  // One frame [1 + i, 1 + i]: a constant, so everything lands in bin 0.
  const Tensor signal = make<double>({1, 2, 2}, {1, 1, 1, 1});
  OpCall c{"STFT", {signal, scalar64(1), Tensor(), scalar64(2)}, {attr("onesided", int64_t{0})},
           17};
  EXPECT_TRUE(tensors_close(run1(c), make<double>({1, 1, 2, 2}, {2, 2, 0, 0}), 1e-12, 1e-12));
}

TEST(SignalStft, BadInputs) {
  const Tensor step = scalar64(1);
  const Tensor two = scalar64(2);
  EXPECT_TRUE(fails_with({"STFT", {make<float>({1, 4}, {1, 2, 3, 4}), step, Tensor(), two}, {}, 17},
                         "[batch, signal_length, 1 or 2], got shape [1, 4]"));
  EXPECT_TRUE(fails_with({"STFT", {make<float>({1, 1, 3}, {1, 2, 3}), step, Tensor(), two}, {}, 17},
                         "got shape [1, 1, 3]"));
  EXPECT_TRUE(fails_with({"STFT", {kReal4, scalar64(0), Tensor(), two}, {}, 17},
                         "frame_step must be >= 1, got 0"));
  EXPECT_TRUE(fails_with({"STFT", {kReal4, step}, {}, 17}, "window or a frame_length"));
  EXPECT_TRUE(fails_with({"STFT", {kReal4, step, make<float>({3}, {1, 1, 1}), two}, {}, 17},
                         "window length must equal frame_length 2, got a window of shape [3]"));
  EXPECT_TRUE(fails_with({"STFT", {kReal4, step, make<float>({1, 2}, {1, 1})}, {}, 17},
                         "1-D [window_length]"));
  EXPECT_TRUE(fails_with({"STFT", {kReal4, step, make<double>({2}, {1, 1})}, {}, 17},
                         "signal's dtype float32, got float64"));
  EXPECT_TRUE(fails_with({"STFT", {kReal4, step, Tensor(), scalar64(5)}, {}, 17},
                         "frame_length 5 must not exceed the signal length"));
  EXPECT_TRUE(fails_with({"STFT", {kReal4, step, Tensor(), scalar64(0)}, {}, 17},
                         "frame_length must be >= 1, got 0"));
  EXPECT_TRUE(
      fails_with({"STFT", {make<float>({1, 2, 2}, {1, 1, 1, 1}), step, Tensor(), two}, {}, 17},
                 "needs a real signal"));
}

TEST(SignalWindow, Hann) {
  EXPECT_TRUE(tensors_close(run1({"HannWindow", {scalar64(4)}, {}, 17}),
                            make<float>({4}, {0, 0.5f, 1, 0.5f})));
  EXPECT_TRUE(tensors_close(
      run1({"HannWindow", {make<int32_t>({}, {3})}, {attr("periodic", int64_t{0})}, 17}),
      make<float>({3}, {0, 1, 0})));
}

TEST(SignalWindow, Hamming) {
  const float edge = 4.0f / 46.0f;
  const float mid = 25.0f / 46.0f;
  EXPECT_TRUE(tensors_close(run1({"HammingWindow", {scalar64(4)}, {}, 17}),
                            make<float>({4}, {edge, mid, 1, mid})));
}

TEST(SignalWindow, BlackmanAsDouble) {
  OpCall c{"BlackmanWindow", {scalar64(4)}, {attr("output_datatype", int64_t{11})}, 17};
  EXPECT_TRUE(tensors_close(run1(c), make<double>({4}, {0, 0.34, 1, 0.34}), 1e-12, 1e-12));
}

TEST(SignalWindow, SymmetricSingleSampleIsOne) {
  for (const char* op : {"HannWindow", "HammingWindow", "BlackmanWindow"}) {
    OpCall c{op, {scalar64(1)}, {attr("periodic", int64_t{0})}, 17};
    EXPECT_TRUE(tensors_close(run1(c), make<float>({1}, {1}))) << op;
  }
}

TEST(SignalWindow, BadSizes) {
  EXPECT_TRUE(fails_with({"HannWindow", {scalar64(0)}, {}, 17}, "size must be >= 1, got 0"));
  EXPECT_TRUE(fails_with({"HammingWindow", {scalar64(-3)}, {}, 17}, "size must be >= 1, got -3"));
  EXPECT_TRUE(fails_with({"BlackmanWindow", {make<int64_t>({2}, {4, 4})}, {}, 17},
                         "must be a scalar, got shape [2]"));
  EXPECT_TRUE(fails_with({"HannWindow", {make<float>({}, {4})}, {}, 17}, "int32 or int64"));
}

// sample_rate 16 and dft_length 16 put the three mel edges at about 0, 2.67 and 5.33 Hz, i.e.
// DFT bins 0, 2 and 5: one triangle rising over bins 0..2 and falling over bins 2..5.
TEST(SignalMel, SingleTriangle) {
  OpCall c{"MelWeightMatrix",
           {scalar64(1), scalar64(16), scalar64(16), make<float>({}, {0}), make<float>({}, {8})},
           {attr("output_datatype", int64_t{11})},
           17};
  EXPECT_TRUE(tensors_close(run1(c),
                            make<double>({9, 1}, {0, 0.5, 1, 2.0 / 3, 1.0 / 3, 0, 0, 0, 0}),
                            1e-12, 1e-12));
}

TEST(SignalMel, BadInputs) {
  const Tensor zero = make<float>({}, {0});
  const Tensor eight = make<float>({}, {8});
  const Tensor n16 = scalar64(16);
  EXPECT_TRUE(fails_with({"MelWeightMatrix", {scalar64(0), n16, n16, zero, eight}, {}, 17},
                         "must be >= 1, got 0, 16, 16"));
  EXPECT_TRUE(fails_with({"MelWeightMatrix", {scalar64(2), n16, n16, zero, make<float>({}, {9})},
                          {}, 17},
                         "upper_edge_hertz <= sample_rate / 2"));
  EXPECT_TRUE(fails_with({"MelWeightMatrix", {scalar64(2), n16, n16, eight, eight}, {}, 17},
                         "lower_edge_hertz < upper_edge_hertz"));
  EXPECT_TRUE(fails_with({"MelWeightMatrix", {scalar64(2), n16, n16, zero, scalar64(8)}, {}, 17},
                         "must be a float tensor, got int64"));
}

}  // namespace
}  // namespace edgerun::testing
