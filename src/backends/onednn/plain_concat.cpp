#include "backends/onednn/plain_concat.h"

#include <cstring>
#include <numeric>

#include "backends/onednn/split_work.h"

namespace edgerun::onednn::lower {

PlainConcat::PlainConcat(size_t outer, std::vector<size_t> block_bytes)
    : outer_(outer),
      block_bytes_(std::move(block_bytes)),
      row_bytes_(std::accumulate(block_bytes_.begin(), block_bytes_.end(), size_t{0})) {
  shares_team = true;
  own_kernel = "concatenations";
}

void PlainConcat::execute(dnnl::stream& /*stream*/, std::span<const memory> in,
                          std::span<const memory> out) const {
  std::vector<const char*> src(block_bytes_.size());
  for (size_t i = 0; i < src.size(); ++i) {
    src[i] = static_cast<const char*>(in[i].get_data_handle());
  }
  char* dst = static_cast<char*>(out[0].get_data_handle());
  // Parts of at least 256 KiB: a copy that size takes about 10 us, well above what handing out
  // a part costs. Many rounds split by rounds; fewer rounds than parts (a detection head's join
  // is one round) split each block into ranges of whole cache lines.
  constexpr size_t kMinPart = size_t{256} << 10, kLine = 64;
  const size_t max_parts = std::max<size_t>(1, outer_ * row_bytes_ / kMinPart);
  split_over_threads(max_parts, [&](int p, int parts) {
    if (outer_ >= static_cast<size_t>(parts)) {
      const auto [first, last] = part_range(outer_, p, parts);
      for (size_t o = first; o < last; ++o) {
        char* row = dst + o * row_bytes_;
        for (size_t i = 0; i < src.size(); ++i) {
          if (block_bytes_[i] == 0) continue;
          std::memcpy(row, src[i] + o * block_bytes_[i], block_bytes_[i]);
          row += block_bytes_[i];
        }
      }
      return;
    }
    for (size_t o = 0; o < outer_; ++o) {
      size_t offset = o * row_bytes_;
      for (size_t i = 0; i < src.size(); ++i) {
        const size_t bytes = block_bytes_[i];
        const auto [first, last] = part_range(bytes / kLine, p, parts);
        const size_t begin = first * kLine, end = p + 1 == parts ? bytes : last * kLine;
        if (end > begin) {
          std::memcpy(dst + offset + begin, src[i] + o * bytes + begin, end - begin);
        }
        offset += bytes;
      }
    }
  });
}

}  // namespace edgerun::onednn::lower
