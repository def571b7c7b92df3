// A node split into slices, each a primitive planned for one thread that computes part of the
// node's output, which the calling thread's open Team runs side by side (team.h): two threads
// then share a small node without an OpenMP region, which costs more than such a node's work.
//
// The slices read and write the whole node's memories at offsets, so the node's inputs and
// outputs keep the layouts (and arena places) of the unsplit node. Which parts are contiguous
// depends on the layout: with batch 1, a range of rows in channels-last data (nhwc), a range of
// channel blocks in plain or channel-blocked data (nchw, nChw8c, nChw16c), a range of columns
// of a one-row product. A range of channels of channels-last data is not contiguous; such a
// slice is staged (StagedChannels). Slices hold their own part of constant weights (packed at
// lowering), so a split costs no weight memory.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "backends/onednn/lower_ops.h"

namespace edgerun::onednn::lower {

// How a slice's primitive gets one argument: the bytes of one of the node's inputs or outputs
// from `offset` on, read as `desc`; or memory of the slice's own (`held`).
struct SliceArg {
  int arg = 0;
  int input = -1;
  int output = -1;
  memory::desc desc;
  size_t offset = 0;
  memory held;
};

// A slice's part of channels-last output 0 that is a range of channels of every pixel, so not
// one contiguous piece (oneDNN's optimised kernels write dense layouts only): the primitive
// writes it dense into the thread's scratch as `desc`, from where it is copied into place after
// (and, with a sum post-op, the addend's part copied in before).
struct StagedChannels {
  memory::desc desc;    // [1, count, H, W], nhwc
  size_t first = 0;     // the part's first channel
  size_t count = 0;     // its channels
  size_t channels = 0;  // of the whole output
  size_t pixels = 0;    // H * W
};

struct Slice {
  dnnl::primitive primitive;
  memory::desc scratchpad;
  std::vector<SliceArg> args;  // a staged slice's DST is not among them
  // With a sum post-op (PreparedNode::sum_input), the part of the addend this slice adds onto:
  // copied into output 0 at the same offset first, unless the two are one memory.
  size_t sum_offset = 0;
  size_t sum_bytes = 0;
  std::optional<StagedChannels> staged;
};

class SlicedNode final : public PreparedNode {
 public:
  // The caller fills `inputs`, `outputs` and `sum_input` as for the unsplit node.
  SlicedNode(const dnnl::engine& engine, std::vector<Slice> slices);

  void execute(dnnl::stream& stream, std::span<const memory> in,
               std::span<const memory> out) const override;
  // Swish with `alpha` over each slice's part of output 0 (its DST argument, or its staged
  // part), in place, by our own kernel (vector_kernels.h) on the slice's thread after its
  // primitive. False (and nothing set) when a part is not one dense piece: the kernel would
  // reach into another slice's.
  bool then_swish(float alpha);

 private:
  void run_slice(size_t k, std::span<const memory> in, std::span<const memory> out) const;
  // Copies between a staged part (dense, `stage`) and its channels of `whole`, both ways.
  static void gather(const StagedChannels& part, const float* whole, float* stage);
  static void scatter(const StagedChannels& part, const float* stage, float* whole);

  dnnl::engine engine_;
  std::vector<Slice> slices_;
  std::optional<float> swish_alpha_;
  // Per slice: byte offset in output 0, floats; a staged slice's part is its whole stage.
  std::vector<std::pair<size_t, size_t>> swish_parts_;
  uint64_t id_;  // names this node's per-thread memories (see run_slice)
};

// `size` elements (rows, channels, columns) cut into up to `slices` ranges [first, last) of
// whole `block`s (the last may end inside its block), as even as blocks allow; fewer than two
// ranges when there is not enough to split.
std::vector<std::pair<int64_t, int64_t>> block_ranges(int64_t size, int64_t block, int slices);

// Rows [first, last) of `desc` when it is 4-D, batch 1 and channels last (nhwc), where they are
// one contiguous piece: their own dense descriptor and their byte offset; nullopt otherwise.
struct RowRange {
  memory::desc desc;
  size_t offset = 0;
};
std::optional<RowRange> row_range(const memory::desc& desc, int64_t first, int64_t last);

}  // namespace edgerun::onednn::lower
