// edgerun's own kernel for the first half of an inverted residual block (MobileNet-V2/V3,
// EfficientNet, SSDlite): a 1x1 convolution that expands the channels, its activation, a 3x3 or
// 5x5 depthwise convolution (pads of 1 or 2, stride 1 or 2) and its activation, over one
// channels-last image, computed row by row so the expanded tensor never reaches memory. The
// "expansion" may also be a CNN's first convolution over an image (a square window over a few
// channels) when a depthwise convolution follows it.
//
// Why: the expansion's result is the largest tensor of these networks (MobileNet-V2's 16 -> 96
// at 112x112 is 4.8 MB). Apart, the 1x1 convolution writes it past the caches and the depthwise
// convolution reads it back: on this project's AVX-512 machine oneDNN took 587 + 287 us for that
// pair with cold caches against 267 + 114 warm. oneDNN 2.6's own fusion of the two (its
// depthwise post-op) computes wrong results over channels-last data, runs on one thread only
// and computes Swish twice (bench/README.md, stop 18).
//
// How: the expanded rows the depthwise window needs live in a ring of as many rows as the
// window has, in the calling thread's scratch (with zero columns each side for the padding).
// Each expanded row is a register tile product (6 pixels by up to 64 channels on AVX-512, 12 by
// 32 for 32 channels or fewer, 6 by 16 on AVX2) over the input pixels' channels, or over an
// image's windows read from a ring of zero-padded input rows; each output row then reads the
// ring's rows. A part of the output rows recomputes the few expanded rows it shares with the
// part before it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "backends/onednn/vector_kernels.h"

namespace edgerun::onednn {

// The activation after either convolution: min(max(x, lo), hi) (Relu, Clip, none), HardSwish
// x * min(max(x + 3, 0), 6) / 6, or Swish x * sigmoid(alpha * x).
struct BlockActivation {
  enum class Kind { kClip, kHardSwish, kSwish };
  Kind kind = Kind::kClip;
  float lo = -std::numeric_limits<float>::infinity();
  float hi = std::numeric_limits<float>::infinity();
  float alpha = 1.0f;
};

struct ExpandDepthwiseGeometry {
  int64_t height = 0, width = 0;  // of the expanded tensor
  int64_t in_channels = 0;
  // The expansion: 1x1 (in_height and in_width then equal height and width), or a square
  // convolution of expand_kernel with expand_stride and pads of expand_pad on every side over an
  // input of in_height x in_width (a CNN's first layer over an image).
  int64_t expand_kernel = 1, expand_stride = 1, expand_pad = 0;
  int64_t in_height = 0, in_width = 0;
  int64_t channels = 0;  // expanded, and of the result
  int64_t stride = 1;    // of the depthwise convolution: 1 or 2
  int64_t window = 3;    // its K x K window: 3 or 5, with pads of K / 2
  BlockActivation expand_activation, depthwise_activation;

  int64_t pad() const { return window / 2; }
  // Values per expanded pixel's window over the input.
  int64_t expand_patch() const { return expand_kernel * expand_kernel * in_channels; }
  // Pixels of an input row with its pads: what the windows of the expanded row read.
  int64_t padded_in_width() const {
    return std::max(in_width + 2 * expand_pad, (width - 1) * expand_stride + expand_kernel);
  }
  int64_t out_height() const { return (height - 1) / stride + 1; }
  int64_t out_width() const { return (width - 1) / stride + 1; }
  // channels rounded up to 16: the packed weights' and the ring's channel count.
  int64_t padded_channels() const { return (channels + 15) / 16 * 16; }
};

// The weights and biases packed once for the kernel: expand [expand_patch()][padded] (index
// (ky * expand_kernel + kx) * in_channels + ci), expand_bias [padded], depthwise [K * K][padded]
// (tap ky * K + kx), depthwise_bias [padded]; padding zeros.
struct ExpandDepthwiseWeights {
  std::vector<float> expand, expand_bias, depthwise, depthwise_bias;
};

// From ONNX's layouts: expand [channels][in_channels][expand_kernel][expand_kernel], depthwise
// [channels][K * K]; either bias may be null (zeros).
ExpandDepthwiseWeights pack_expand_depthwise(const ExpandDepthwiseGeometry& g, const float* expand,
                                             const float* expand_bias, const float* depthwise,
                                             const float* depthwise_bias);

// Floats of scratch expand_depthwise_rows needs (64-byte aligned).
size_t expand_depthwise_scratch_floats(const ExpandDepthwiseGeometry& g);

// Whether this CPU runs the kernel (AVX-512, or AVX2 with FMA).
bool expand_depthwise_runs_here();

// Output rows [first_row, last_row) of the block: x is [in_height][in_width][in_channels], y
// [out_height][out_width][channels], both dense channels-last; `scratch` holds
// expand_depthwise_scratch_floats(g) floats, 64-byte aligned. With `isa`'s code, which this
// CPU must run (tests compare the paths), on the calling thread.
void expand_depthwise_rows(const ExpandDepthwiseGeometry& g, const ExpandDepthwiseWeights& w,
                           const float* x, float* y, int64_t first_row, int64_t last_row,
                           float* scratch, VectorIsa isa);
void expand_depthwise_rows(const ExpandDepthwiseGeometry& g, const ExpandDepthwiseWeights& w,
                           const float* x, float* y, int64_t first_row, int64_t last_row,
                           float* scratch);

}  // namespace edgerun::onednn
