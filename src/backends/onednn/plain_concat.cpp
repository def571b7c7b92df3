#include "backends/onednn/plain_concat.h"

#include <cstring>
#include <numeric>
#include <utility>

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
  char* dst = static_cast<char*>(out[0].get_data_handle());
  // Parts of at least 256 KiB: a copy that size takes about 10 us, well above what handing out
  // a part costs. Many rounds split by rounds; fewer rounds than parts (a detection head's join
  // is one round) split each block into ranges of whole cache lines.
  constexpr size_t kMinPart = size_t{256} << 10, kLine = 64;
  const size_t max_parts = std::max<size_t>(1, outer_ * row_bytes_ / kMinPart);
  split_over_threads(max_parts, [&](int p, int parts) {
    const bool by_rounds = outer_ >= static_cast<size_t>(parts);
    const auto [first_round, last_round] =
        by_rounds ? part_range(outer_, p, parts) : std::pair<size_t, size_t>{0, outer_};
    size_t offset = 0;  // of input i's block in a round of the output
    for (size_t i = 0; i < block_bytes_.size(); ++i) {
      const size_t bytes = block_bytes_[i];
      const char* src = static_cast<const char*>(in[i].get_data_handle());
      size_t begin = 0, end = bytes;  // the part of each block this part copies
      if (!by_rounds) {
        const auto [first, last] = part_range(bytes / kLine, p, parts);
        begin = first * kLine;
        end = p + 1 == parts ? bytes : last * kLine;
      }
      if (end > begin) {
        for (size_t o = first_round; o < last_round; ++o) {
          std::memcpy(dst + o * row_bytes_ + offset + begin, src + o * bytes + begin,
                      end - begin);
        }
      }
      offset += bytes;
    }
  });
}

}  // namespace edgerun::onednn::lower
