// A convolution split by output channels into slices, each a primitive planned for one thread,
// that the calling thread's open Team runs side by side (team.h): two threads then share a
// small convolution without an OpenMP region, which costs more than such a node's work.
//
// The slices read and write the whole node's memories at offsets. With batch 1, a range of
// output channels is one contiguous piece of the output in the plain layout (nchw) and in the
// channel-blocked ones (nChw8c, nChw16c) when the range starts on a block boundary; a
// depthwise convolution reads the same range of its input, a dense one all of it. Each slice
// holds its own part of the weights (packed at lowering), so the split costs no memory.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "backends/onednn/lower_ops.h"

namespace edgerun::onednn::lower {

struct ConvSlice {
  dnnl::primitive primitive;
  memory::desc scratchpad;
  memory::desc src, dst, bias;  // the slice's own (dense) layouts; bias empty when none
  memory weights;               // this slice's weights, in the primitive's layout
  size_t src_offset = 0;        // bytes into the node's input, output and bias
  size_t dst_offset = 0;
  size_t bias_offset = 0;
};

class SlicedConv final : public PreparedNode {
 public:
  // `bias_input`: the node input the bias arrives in (plain, of all output channels), if any.
  // The caller fills `inputs`, `outputs` and `sum_input` as for the whole convolution.
  SlicedConv(const dnnl::engine& engine, std::vector<ConvSlice> slices,
             std::optional<size_t> bias_input);

  size_t slice_count() const { return slices_.size(); }

  void execute(dnnl::stream& stream, std::span<const memory> in,
               std::span<const memory> out) const override;

 private:
  void run_slice(size_t k, std::span<const memory> in, std::span<const memory> out) const;

  dnnl::engine engine_;
  std::vector<ConvSlice> slices_;
  std::optional<size_t> bias_input_;
  uint64_t id_;  // names this node's per-thread memories (see run_slice)
};

}  // namespace edgerun::onednn::lower
