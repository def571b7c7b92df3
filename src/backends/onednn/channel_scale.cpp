#include "backends/onednn/channel_scale.h"

#include "backends/onednn/split_work.h"
#include "backends/onednn/vector_kernels.h"

namespace edgerun::onednn::lower {

ChannelScale::ChannelScale(size_t data, size_t scale, const Dims& dims)
    : data_(data),
      scale_(scale),
      pixels_(static_cast<size_t>(dims[0] * dims[2] * dims[3])),
      channels_(static_cast<size_t>(dims[1])) {
  shares_team = true;
  own_kernel = "channel scalings";
}

bool ChannelScale::available() { return best_vector_isa() != VectorIsa::kNone; }

void ChannelScale::execute(dnnl::stream& /*stream*/, std::span<const memory> in,
                           std::span<const memory> out) const {
  const float* x = static_cast<const float*>(in[data_].get_data_handle());
  const float* scale = static_cast<const float*>(in[scale_].get_data_handle());
  float* y = static_cast<float*>(out[0].get_data_handle());
  const VectorIsa isa = best_vector_isa();
  // Parts of at least 8K values: below that, handing out a part costs about what it saves.
  constexpr size_t kMinPart = 8192;
  const size_t max_parts = std::max<size_t>(1, pixels_ * channels_ / kMinPart);
  split_over_threads(max_parts, [&](int p, int parts) {
    const auto [first, last] = part_range(pixels_, p, parts);
    scale_channels_last(x + first * channels_, scale, y + first * channels_, last - first,
                        channels_, isa);
  });
}

}  // namespace edgerun::onednn::lower
