// A 1x1 convolution with strides and no padding reads only every s-th row and column of its
// input. It runs as a copy of those pixels into a compact buffer (part of the calling thread's
// scratch) and a stride-1 convolution over it: the copy costs the output's bytes, and oneDNN's
// stride-1 1x1 kernel is never slower than its strided one and sometimes much faster (ResNet-50's
// layer3 downsample, 512 -> 1024 channels from 28x28: 1.76 ms strided, 0.01 + 1.07 ms so).
#pragma once

#include <cstdint>

#include "backends/onednn/lower_ops.h"

namespace edgerun::onednn::lower {

class SubsampledConv final : public PreparedNode {
 public:
  // `strided`: the kept pixels, as a strided view of the input's memory; `compact`: the buffer
  // they are copied into, which `conv` (with `scratchpad`) reads as its source. `weights` are
  // packed; the bias, when `has_bias`, is input 2.
  SubsampledConv(const dnnl::engine& engine, const memory::desc& strided,
                 const memory::desc& compact, dnnl::primitive conv, memory::desc scratchpad,
                 memory weights, bool has_bias);

  void execute(dnnl::stream& stream, std::span<const memory> inputs,
               std::span<const memory> outputs) const override;

 private:
  dnnl::engine engine_;
  memory::desc strided_, compact_;
  dnnl::reorder copy_;
  dnnl::primitive conv_;
  memory::desc scratchpad_;
  memory weights_;
  bool has_bias_;
  uint64_t key_;  // names this node's per-thread memories
};

// `full` (a plain layout of an [N, C, H, W] input: nchw or nhwc) read at `strides`: the strided
// view of the pixels a 1x1 convolution with those strides and no padding reads, and the compact
// layout of the same order they are copied into. nullopt for any other layout, and for views
// oneDNN cannot describe (it takes nhwc ones; nchw ones mostly not).
struct SubsampledLayouts {
  memory::desc strided;
  memory::desc compact;
};
std::optional<SubsampledLayouts> subsampled_layouts(const memory::desc& full, const Dims& strides,
                                                    const Dims& out);

}  // namespace edgerun::onednn::lower
