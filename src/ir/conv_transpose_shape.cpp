#include "ir/conv_transpose_shape.h"

namespace edgerun::ir {

TransposedExtent conv_transpose_extent(int64_t in, int64_t kernel, int64_t stride,
                                       int64_t dilation, int64_t output_padding,
                                       int64_t pad_begin, int64_t pad_end,
                                       std::optional<int64_t> output_size,
                                       std::string_view auto_pad) {
  TransposedExtent e;
  const int64_t span = (kernel - 1) * dilation + 1;
  e.full = stride * (in - 1) + output_padding + span;
  const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
  if (output_size || same) {
    e.out = output_size ? *output_size : in * stride;
    // The padding that trims the full result to the requested size; SAME_UPPER trims the odd
    // element at the end, everything else at the beginning. A negative total (an output larger
    // than the full result) extends the output with zeros; halving rounds towards -inf so that
    // the extension goes to the end.
    const int64_t total = e.full - e.out;
    const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
    e.pad_begin = auto_pad == "SAME_UPPER" ? half : total - half;
  } else if (auto_pad == "VALID") {
    e.out = e.full;
  } else {
    e.out = e.full - pad_begin - pad_end;
    e.pad_begin = pad_begin;
  }
  return e;
}

}  // namespace edgerun::ir
