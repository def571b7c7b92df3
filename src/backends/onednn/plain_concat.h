// A Concat of plain (row-major) tensors, run as block copies of our own instead of oneDNN's
// concat primitive.
//
// oneDNN 2.6's concat of plain inputs ("simple:any") copies slowly where the part after the
// axis is short: ssdlite's classification head joins [1, n, 91] scores along n (1.2 MB in all)
// in 436-472 us on one thread of this project's AMD EPYC VM, where ONNX Runtime takes 93. A
// Concat of plain data is `outer` rounds of one contiguous block per input, each block landing
// next to the previous one in the output, so it is memcpy's work: every byte read and written
// once.
#pragma once

#include <vector>

#include "backends/onednn/lower_ops.h"

namespace edgerun::onednn::lower {

class PlainConcat final : public PreparedNode {
 public:
  // `outer`: the product of the dims before the axis; `block_bytes[i]`: input i's bytes per
  // round (its dims from the axis on, times the element size).
  PlainConcat(size_t outer, std::vector<size_t> block_bytes);

  void execute(dnnl::stream& stream, std::span<const memory> in,
               std::span<const memory> out) const override;

 private:
  size_t outer_ = 0;
  std::vector<size_t> block_bytes_;
  size_t row_bytes_ = 0;  // the output's bytes per round: the sum of block_bytes_
};

}  // namespace edgerun::onednn::lower
