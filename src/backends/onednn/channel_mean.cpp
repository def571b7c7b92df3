#include "backends/onednn/channel_mean.h"

#include "backends/onednn/split_work.h"
#include "backends/onednn/vector_kernels.h"
#include "backends/reference/shape_util.h"

namespace edgerun::onednn::lower {

ChannelMean::ChannelMean(const Dims& dims)
    : images_(static_cast<size_t>(dims[0])),
      pixels_(static_cast<size_t>(reference::dims_product(dims, 2, dims.size()))),
      channels_(static_cast<size_t>(dims[1])) {
  shares_team = true;
  own_kernel = "channel means";
}

bool ChannelMean::available() { return best_vector_isa() != VectorIsa::kNone; }

void ChannelMean::execute(dnnl::stream& /*stream*/, std::span<const memory> in,
                          std::span<const memory> out) const {
  const float* x = static_cast<const float*>(in[0].get_data_handle());
  float* y = static_cast<float*>(out[0].get_data_handle());
  const VectorIsa isa = best_vector_isa();
  // Parts of at least 8K values, as for ChannelScale. Part 0 sums into y, part p > 0 into row
  // p - 1 of the calling thread's scratch; the calling thread then adds those rows in order (so
  // a thread count always gives the same result) and divides by the pixel count.
  constexpr size_t kMinPart = 8192;
  const size_t max_parts = std::max<size_t>(1, pixels_ * channels_ / kMinPart);
  const int parts = parts_over_threads(max_parts);
  float* partial =
      static_cast<float*>(thread_scratchpad(static_cast<size_t>(parts - 1) * channels_ *
                                            sizeof(float)));
  const float count = static_cast<float>(pixels_);
  for (size_t image = 0; image < images_; ++image) {
    const float* xi = x + image * pixels_ * channels_;
    float* yi = y + image * channels_;
    split_over_threads(max_parts, [&](int p, int n) {
      const auto [first, last] = part_range(pixels_, p, n);
      float* sums = p == 0 ? yi : partial + static_cast<size_t>(p - 1) * channels_;
      sum_channels_last(xi + first * channels_, last - first, channels_, sums, isa);
    });
    for (int p = 1; p < parts; ++p) {
      const float* sums = partial + static_cast<size_t>(p - 1) * channels_;
      for (size_t c = 0; c < channels_; ++c) yi[c] += sums[c];
    }
    for (size_t c = 0; c < channels_; ++c) yi[c] /= count;
  }
}

}  // namespace edgerun::onednn::lower
