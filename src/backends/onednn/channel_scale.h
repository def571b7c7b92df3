// A Mul of channels-last data by one value per channel (a squeeze-excitation's scaling), run by
// our own kernel (scale_channels_last, vector_kernels.h says why) instead of oneDNN's binary
// primitive, its pixels split over the available threads (split_work.h).
#pragma once

#include "backends/onednn/lower_ops.h"

namespace edgerun::onednn::lower {

class ChannelScale final : public PreparedNode {
 public:
  // Input `data` ([N, C, H, W], read channels-last) times input `scale` (C values, plain),
  // into output 0 in the data's layout.
  ChannelScale(size_t data, size_t scale, const Dims& dims);

  // Whether the kernel runs on this CPU.
  static bool available();

  void execute(dnnl::stream& stream, std::span<const memory> in,
               std::span<const memory> out) const override;

 private:
  size_t data_ = 0, scale_ = 0;
  size_t pixels_ = 0, channels_ = 0;  // pixels of all images
};

}  // namespace edgerun::onednn::lower
