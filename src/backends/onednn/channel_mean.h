// A GlobalAveragePool of channels-last data (a squeeze-excitation's squeeze, a CNN's pooling
// before its head), run by our own kernel (sum_channels_last) with its pixels split over the
// available threads (split_work.h).
//
// oneDNN's pooling primitive runs on one thread where a team runs the partition, and there it
// reads the half of its input that the other thread's slice of the convolution before left in
// that core's cache: in MobileNetV3-small at two threads its ten poolings took 29 us per run,
// more than the 26 they take at one. Split by pixels the way the convolution before was split
// by rows, each thread sums the rows it wrote.
#pragma once

#include "backends/onednn/lower_ops.h"

namespace edgerun::onednn::lower {

class ChannelMean final : public PreparedNode {
 public:
  // Input 0 ([N, C, spatial...], read channels-last) into output 0 ([N, C, 1...], whose bytes
  // are the same in any layout).
  ChannelMean(const Dims& dims);

  // Whether the kernel runs on this CPU.
  static bool available();

  void execute(dnnl::stream& stream, std::span<const memory> in,
               std::span<const memory> out) const override;

 private:
  size_t images_ = 0, pixels_ = 0, channels_ = 0;  // pixels of one image
};

}  // namespace edgerun::onednn::lower
