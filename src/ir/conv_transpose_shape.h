// ConvTranspose's output geometry per the ONNX spec, shared by every backend that runs it so that
// they agree on the output size and on where the trimmed padding goes.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace edgerun::ir {

struct TransposedExtent {
  int64_t full = 0;       // the untrimmed result: stride * (in - 1) + output_padding + span
  int64_t out = 0;        // the output size
  int64_t pad_begin = 0;  // elements trimmed from the beginning of `full` (negative extends)
};

// One spatial dim. `output_size` is that dim of the output_shape attribute when given; pads
// apply when auto_pad is NOTSET and no output_size is given.
TransposedExtent conv_transpose_extent(int64_t in, int64_t kernel, int64_t stride,
                                       int64_t dilation, int64_t output_padding,
                                       int64_t pad_begin, int64_t pad_end,
                                       std::optional<int64_t> output_size,
                                       std::string_view auto_pad);

}  // namespace edgerun::ir
