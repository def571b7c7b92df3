// Windowed ops: Conv, ConvTranspose and pooling. Conv chooses its activation layout freely
// (oneDNN's blocked layouts are where its fast kernels are) whenever its input arrives blocked
// or its output stays inside the partition; pooling takes whatever layout its input has.
#include <algorithm>
#include <functional>
#include <numeric>
#include <optional>
#include <utility>

#include "backends/onednn/channel_mean.h"
#include "backends/onednn/lower_ops.h"
#include "backends/onednn/one_row_product.h"
#include "backends/onednn/sliced_node.h"
#include "backends/onednn/vector_kernels.h"
#include "backends/reference/shape_util.h"
#include "ir/conv_transpose_shape.h"
#include "memory/page_hints.h"

namespace edgerun::onednn::lower {
namespace {

struct Window {
  Dims kernel, strides, dilations, pad_begin, pad_end, out;
};

// Resolves ONNX window attributes (kernel, strides, dilations, pads, auto_pad) for the spatial
// dims `in`; ceil_mode is refused at claim time.
Result<Window> resolve_window(const ir::Node& node, const Dims& in, const Dims& kernel) {
  const size_t n = in.size();
  Window w;
  w.kernel = kernel;
  const std::vector<int64_t> strides = node.attr_ints("strides", std::vector<int64_t>(n, 1));
  const std::vector<int64_t> dilations = node.attr_ints("dilations", std::vector<int64_t>(n, 1));
  const std::vector<int64_t> pads = node.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
  if (strides.size() != n || dilations.size() != n || pads.size() != 2 * n) {
    return unsupported_shapes("window attributes do not match the input's rank");
  }
  const std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  for (size_t i = 0; i < n; ++i) {
    if (strides[i] < 1 || dilations[i] < 1 || kernel[i] < 1) {
      return unsupported_shapes("non-positive kernel, stride or dilation");
    }
    const int64_t effective = (kernel[i] - 1) * dilations[i] + 1;
    int64_t begin = pads[i], end = pads[i + n];
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t out = (in[i] + strides[i] - 1) / strides[i];
      const int64_t total = std::max<int64_t>(0, (out - 1) * strides[i] + effective - in[i]);
      begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      end = total - begin;
    } else if (auto_pad == "VALID") {
      begin = end = 0;
    }
    if (begin < 0 || end < 0) return unsupported_shapes("negative pads");
    const int64_t span = in[i] + begin + end - effective;
    if (span < 0) return unsupported_shapes("the window is larger than the padded input");
    w.strides.push_back(strides[i]);
    w.dilations.push_back(dilations[i] - 1);  // oneDNN counts dilation from 0
    w.pad_begin.push_back(begin);
    w.pad_end.push_back(end);
    w.out.push_back(span / strides[i] + 1);
  }
  return w;
}

// Binds convolution weights: constant ones are reordered into the primitive's layout now (once),
// others are reordered per run by the executable.
void bind_weights(PrimitiveNode& node, const LoweringContext& cx, const NodeInput& weights,
                  const memory::desc& user, const memory::desc& preferred) {
  if (weights.constant != nullptr) {
    node.bind_held(DNNL_ARG_WEIGHTS, reorder_now(*cx.engine, *weights.constant, user, preferred));
  } else {
    node.bind_input(DNNL_ARG_WEIGHTS, 1, user, preferred);
  }
}

// The channel block of `desc` (4-D, batch 1) when a range of its channels that starts on a
// multiple of the block is one contiguous piece of memory: 1 for nchw, 8 for nChw8c, 16 for
// nChw16c; 0 for any other layout.
int64_t channel_block(const memory::desc& desc) {
  const Dims d = desc.dims();
  if (d.size() != 4 || d[0] != 1) return 0;
  constexpr std::pair<memory::format_tag, int64_t> kLayouts[] = {
      {memory::format_tag::nchw, 1}, {memory::format_tag::nChw8c, 8},
      {memory::format_tag::nChw16c, 16}};
  for (const auto& [tag, block] : kLayouts) {
    if (desc == memory::desc(d, kF32, tag)) return block;
  }
  return 0;
}

memory::desc channel_blocked(const Dims& dims, int64_t block) {
  const memory::format_tag tag = block == 16  ? memory::format_tag::nChw16c
                                 : block == 8 ? memory::format_tag::nChw8c
                                              : memory::format_tag::nchw;
  return memory::desc(dims, kF32, tag);
}

// What a convolution needs to be split (see SlicedNode).
struct SliceRequest {
  const dnnl::convolution_forward::primitive_desc* whole = nullptr;
  const dnnl::primitive_attr* attr = nullptr;  // the whole's post-ops and scratchpad mode
  const Window* window = nullptr;
  const Tensor* weights = nullptr;  // constant, ONNX layout [M, C/group, kH, kW]
  bool depthwise = false;           // one input channel per output channel
  bool has_bias = false;
  dnnl::algorithm algorithm = dnnl::algorithm::convolution_direct;  // the whole's
};

// One slice's primitive descriptor over `src` -> `dst` with the whole's attributes, or nullopt
// when oneDNN cannot build it or would run another kernel than the whole's (a slower kernel for
// the narrower shape would lose what the split gains).
std::optional<dnnl::convolution_forward::primitive_desc> slice_pd(
    const dnnl::engine& engine, const SliceRequest& r, const memory::desc& src,
    const memory::desc& weights, const memory::desc& bias, const memory::desc& dst,
    const Dims& pad_begin, const Dims& pad_end) {
  const Window& w = *r.window;
  std::optional<dnnl::convolution_forward::primitive_desc> pd;
  try {
    if (r.has_bias) {
      pd.emplace(dnnl::convolution_forward::desc(
                     dnnl::prop_kind::forward_inference, r.algorithm, src, weights, bias, dst,
                     w.strides, w.dilations, pad_begin, pad_end),
                 *r.attr, engine);
    } else {
      pd.emplace(dnnl::convolution_forward::desc(
                     dnnl::prop_kind::forward_inference, r.algorithm, src, weights, dst,
                     w.strides, w.dilations, pad_begin, pad_end),
                 *r.attr, engine);
    }
  } catch (const dnnl::error&) {
    return std::nullopt;
  }
  if (std::string(pd->impl_info_str()) != r.whole->impl_info_str()) return std::nullopt;
  return pd;
}

// A convolution slice: `pd` reading the node's input 0 from `src_offset` and its bias (input 2,
// when `bias` is not empty) from `bias_offset`, with `weights` of its own; its output is the
// caller's to add.
Slice conv_slice_inputs(const dnnl::convolution_forward::primitive_desc& pd,
                        const memory::desc& src, size_t src_offset, const memory& weights,
                        const memory::desc& bias, size_t bias_offset) {
  Slice slice;
  slice.primitive = dnnl::convolution_forward(pd);
  slice.scratchpad = pd.scratchpad_desc();
  slice.args.push_back(SliceArg{DNNL_ARG_SRC, 0, -1, src, src_offset, {}});
  slice.args.push_back(SliceArg{DNNL_ARG_WEIGHTS, -1, -1, {}, 0, weights});
  if (bias.get_size() > 0) {
    slice.args.push_back(SliceArg{DNNL_ARG_BIAS, 2, -1, bias, bias_offset, {}});
  }
  return slice;
}

// conv_slice_inputs writing output 0 from `dst_offset`, where it also adds onto its part of a
// sum addend.
Slice conv_slice(const dnnl::convolution_forward::primitive_desc& pd, const memory::desc& src,
                 size_t src_offset, const memory& weights, const memory::desc& bias,
                 size_t bias_offset, const memory::desc& dst, size_t dst_offset) {
  Slice slice = conv_slice_inputs(pd, src, src_offset, weights, bias, bias_offset);
  slice.args.push_back(SliceArg{DNNL_ARG_DST, -1, 0, dst, dst_offset, {}});
  slice.sum_offset = dst_offset;
  slice.sum_bytes = dst.get_size();
  return slice;
}

// The input rows a window reads for output rows [first, last) of an input of `rows` rows, and
// the padding a slice over them needs: the whole's where its edges are the input's, none
// inside.
struct WindowRows {
  int64_t first = 0, last = 0;
  Dims pad_begin, pad_end;
};
std::optional<WindowRows> window_rows(const Window& w, int64_t rows, int64_t first, int64_t last) {
  const int64_t extent = (w.kernel[0] - 1) * (w.dilations[0] + 1) + 1;
  // Before clipping to the input; what lies outside is the slice's padding.
  const int64_t top = first * w.strides[0] - w.pad_begin[0];
  const int64_t bottom = (last - 1) * w.strides[0] - w.pad_begin[0] + extent;
  const int64_t in_first = std::max<int64_t>(0, top), in_last = std::min(rows, bottom);
  if (in_last <= in_first) return std::nullopt;  // a slice inside the padding alone
  return WindowRows{in_first, in_last, {in_first - top, w.pad_begin[1]},
                    {bottom - in_last, w.pad_end[1]}};
}

// Channels last: the output's rows split into `slices` ranges. A slice reads the input rows its
// window covers, with the padding of its own edges, and shares the whole's packed weights.
std::shared_ptr<SlicedNode> slice_rows(const dnnl::engine& engine, const SliceRequest& r,
                                       int slices) {
  const memory::desc src_whole = r.whole->src_desc(), dst_whole = r.whole->dst_desc();
  const Dims sd = src_whole.dims(), dd = dst_whole.dims();
  if (!row_range(src_whole, 0, 1) || !row_range(dst_whole, 0, 1)) return nullptr;
  const auto ranges = block_ranges(dd[2], 1, slices);
  if (ranges.size() < 2) return nullptr;
  struct Part {
    dnnl::convolution_forward::primitive_desc pd;
    RowRange src, dst;
  };
  // The slices with `weights` of one layout for all (they share one packed copy), or none.
  auto plan = [&](const memory::desc& weights) {
    std::vector<Part> planned;
    for (const auto& [first, last] : ranges) {
      const std::optional<WindowRows> rows = window_rows(*r.window, sd[2], first, last);
      if (!rows) return std::vector<Part>{};
      const RowRange src = *row_range(src_whole, rows->first, rows->last);
      const RowRange dst = *row_range(dst_whole, first, last);
      const memory::desc bias = r.has_bias ? plain({dd[1]}) : memory::desc();
      auto pd = slice_pd(engine, r, src.desc, weights, bias, dst.desc, rows->pad_begin,
                         rows->pad_end);
      if (!pd || (!planned.empty() && pd->weights_desc() != planned[0].pd.weights_desc())) {
        return std::vector<Part>{};
      }
      planned.push_back(Part{*pd, src, dst});
    }
    return planned;
  };
  // The whole's weights layout where the slices take it (the kernel tuned for the whole's
  // shape), else theirs: fewer output rows may want another blocking (ResNet-50's layer3
  // downsample, whose slices refuse the whole's).
  std::vector<Part> planned = plan(r.whole->weights_desc());
  if (planned.empty()) {
    planned = plan(memory::desc(r.whole->weights_desc().dims(), kF32, memory::format_tag::any));
  }
  if (planned.empty()) return nullptr;
  // Every slice takes these shapes: the weights are packed once, for all of them.
  const memory::desc weights_desc = planned[0].pd.weights_desc();
  const memory weights = reorder_now(engine, *r.weights, plain(weights_desc.dims()), weights_desc);
  const memory::desc bias = r.has_bias ? plain({dd[1]}) : memory::desc();
  std::vector<Slice> parts;
  for (const Part& p : planned) {
    parts.push_back(conv_slice(p.pd, p.src.desc, p.src.offset, weights, bias, 0, p.dst.desc,
                               p.dst.offset));
  }
  return std::make_shared<SlicedNode>(engine, std::move(parts));
}

// Winograd F(2x2 or 4x4, 3x3) for a 3x3 convolution of stride 1 without dilation: on this
// project's AVX-512 machine oneDNN's Winograd kernels took 0.38-0.65 ms on one thread where its
// direct kernels took 1.0-1.1 (64 channels at 56x56, 128 at 28x28, 256 at 14x14), within
// 2e-6 of the exact result relative to the largest output (the direct kernels: 3e-7). Its
// kernels read and write channel-blocked data (nChw16c), which the neighbouring nodes convert
// from and to, and hold the weights transformed (16 or 36 values per 9). Below 14x14 outputs
// the gain shrinks (512 channels at 7x7: 0.77 against 0.90 ms) while the weights are largest,
// so those stay direct.
struct WinogradLayouts {
  memory::desc src, dst;
};
std::optional<WinogradLayouts> winograd_layouts(const dnnl::engine& engine, int64_t group,
                                                const Window& w, const Dims& src_dims,
                                                const Dims& dst_dims,
                                                const memory::desc& any_weights) {
  constexpr int64_t kMinSide = 14;
  const bool shape = group == 1 && w.kernel == Dims{3, 3} && w.strides == Dims{1, 1} &&
                     w.dilations == Dims{0, 0} && dst_dims.size() == 4 &&
                     dst_dims[2] >= kMinSide && dst_dims[3] >= kMinSide;
  if (!shape) return std::nullopt;
  const WinogradLayouts layouts{channel_blocked(src_dims, 16), channel_blocked(dst_dims, 16)};
  try {
    const dnnl::convolution_forward::primitive_desc pd(
        dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                        dnnl::algorithm::convolution_winograd, layouts.src,
                                        any_weights, layouts.dst, w.strides, w.dilations,
                                        w.pad_begin, w.pad_end),
        user_scratchpad(), engine);
    if (std::string(pd.impl_info_str()).find("wino") == std::string::npos) return std::nullopt;
  } catch (const dnnl::error&) {
    return std::nullopt;
  }
  return layouts;
}

// The weights of output channels [first, ...) (contiguous in ONNX's layout), as many as `want`
// holds, packed into `want`: a slice's own part.
memory pack_output_channels(const dnnl::engine& engine, const Tensor& weights, int64_t first,
                            const memory::desc& want) {
  const Shape& ws = weights.shape();
  const int64_t per_output = ws[1] * ws[2] * ws[3];
  const float* data = static_cast<const float*>(weights.raw_data()) + first * per_output;
  return pack(engine, data, plain(want.dims()), want);
}

// Plain or channel-blocked: the output channels split into `slices` ranges of whole blocks,
// each slice with its part of the weights (and, depthwise, of the input).
std::shared_ptr<SlicedNode> slice_channels(const dnnl::engine& engine, const SliceRequest& r,
                                           int slices) {
  const memory::desc src_whole = r.whole->src_desc(), dst_whole = r.whole->dst_desc();
  const int64_t dst_block = channel_block(dst_whole);
  const int64_t src_block = r.depthwise ? channel_block(src_whole) : 1;
  if (dst_block == 0 || src_block == 0) return nullptr;
  const int64_t block = std::max(dst_block, src_block);  // each of 1, 8, 16 divides the next
  const Dims sd = src_whole.dims(), dd = dst_whole.dims();
  const auto ranges = block_ranges(dd[1], block, slices);
  if (ranges.size() < 2) return nullptr;
  const Shape& ws = r.weights->shape();
  std::vector<Slice> parts;
  for (const auto& [first, last] : ranges) {
    const int64_t n = last - first;
    const memory::desc dst = channel_blocked({1, n, dd[2], dd[3]}, dst_block);
    const memory::desc src =
        r.depthwise ? channel_blocked({1, n, sd[2], sd[3]}, src_block) : src_whole;
    const memory::desc bias = r.has_bias ? plain({n}) : memory::desc();
    const Dims w_dims = r.depthwise ? Dims{n, 1, 1, ws[2], ws[3]} : Dims{n, ws[1], ws[2], ws[3]};
    auto pd = slice_pd(engine, r, src, memory::desc(w_dims, kF32, memory::format_tag::any), bias,
                       dst, r.window->pad_begin, r.window->pad_end);
    if (!pd) return nullptr;
    const memory packed = pack_output_channels(engine, *r.weights, first, pd->weights_desc());
    const size_t src_offset =
        r.depthwise ? static_cast<size_t>(first * sd[2] * sd[3]) * sizeof(float) : 0;
    parts.push_back(conv_slice(*pd, src, src_offset, packed, bias,
                               static_cast<size_t>(first) * sizeof(float), dst,
                               static_cast<size_t>(first * dd[2] * dd[3]) * sizeof(float)));
  }
  // The weights now live in the slices; the original is read again only by a reference fallback.
  edgerun::memory::page_out(r.weights->raw_data(), r.weights->nbytes());
  return std::make_shared<SlicedNode>(engine, std::move(parts));
}

// Channels last, by output channels: each slice computes a range of whole 16-channel blocks
// (a cache line, so no two slices write into one) of every pixel from all of the input, with
// its part of the weights, staged (StagedChannels) since its part is not contiguous.
std::shared_ptr<SlicedNode> slice_channels_last(const dnnl::engine& engine,
                                                const SliceRequest& r, int slices) {
  constexpr int64_t kBlock = 16;
  const memory::desc src_whole = r.whole->src_desc(), dst_whole = r.whole->dst_desc();
  if (r.depthwise || !row_range(src_whole, 0, 1) || !row_range(dst_whole, 0, 1)) return nullptr;
  const Dims dd = dst_whole.dims();
  const auto ranges = block_ranges(dd[1], kBlock, slices);
  if (ranges.size() < 2) return nullptr;
  const Shape& ws = r.weights->shape();
  std::vector<Slice> parts;
  for (const auto& [first, last] : ranges) {
    const int64_t n = last - first;
    const memory::desc dst({1, n, dd[2], dd[3]}, kF32, memory::format_tag::nhwc);
    const memory::desc bias = r.has_bias ? plain({n}) : memory::desc();
    const Dims w_dims = {n, ws[1], ws[2], ws[3]};
    auto pd = slice_pd(engine, r, src_whole, memory::desc(w_dims, kF32, memory::format_tag::any),
                       bias, dst, r.window->pad_begin, r.window->pad_end);
    if (!pd) return nullptr;
    const memory packed = pack_output_channels(engine, *r.weights, first, pd->weights_desc());
    Slice slice = conv_slice_inputs(*pd, src_whole, 0, packed, bias,
                                    static_cast<size_t>(first) * sizeof(float));
    slice.staged = StagedChannels{dst, static_cast<size_t>(first), static_cast<size_t>(n),
                                  static_cast<size_t>(dd[1]),
                                  static_cast<size_t>(dd[2] * dd[3])};
    parts.push_back(std::move(slice));
  }
  edgerun::memory::page_out(r.weights->raw_data(), r.weights->nbytes());
  return std::make_shared<SlicedNode>(engine, std::move(parts));
}

// Whether splitting `r.whole` over output channels moves fewer bytes than splitting it over
// rows. Over two slices, rows read the weights W twice and the input I and output O once (and
// a sum addend once); channels read W once and I twice, and stage O: written, then read and
// written into place (the addend's part staged too). So channels win where W > I + 2 O (+ O
// with a sum), and where W is more than one core's L2 cache holds (1 MiB on this project's
// AMD EPYC; smaller weights are read twice from cache: MobileNetV3's 0.2 MiB 1x1 layers ran no
// faster split by channels): the weight-heavy late layers of a CNN, like ResNet-50's 7x7 ones
// (4-9 MiB of weights against 0.1-0.4 MiB of activations), not its early ones.
bool weights_outweigh_activations(const SliceRequest& r, bool sum) {
  constexpr int64_t kCacheFloats = int64_t{1} << 18;
  const auto elements = [](const memory::desc& d) {
    const Dims dims = d.dims();
    return reference::dims_product(dims, 0, dims.size());
  };
  const int64_t w = r.weights->size();
  const int64_t i = elements(r.whole->src_desc()), o = elements(r.whole->dst_desc());
  return w >= kCacheFloats && w > i + (sum ? 3 : 2) * o;
}

// `r.whole` as `slices` one-thread primitives over parts of its output, or null when its
// layouts do not split into parts.
std::shared_ptr<SlicedNode> slice_conv(const dnnl::engine& engine, const SliceRequest& r,
                                       int slices, bool sum) {
  const bool channels_first = weights_outweigh_activations(r, sum);
  if (channels_first) {
    if (auto by_channels = slice_channels_last(engine, r, slices)) return by_channels;
  }
  if (std::shared_ptr<SlicedNode> by_rows = slice_rows(engine, r, slices)) return by_rows;
  if (!channels_first) {
    if (auto by_channels = slice_channels_last(engine, r, slices)) return by_channels;
  }
  return slice_channels(engine, r, slices);
}

// The pixels a 1x1 convolution with `strides` and no padding reads from an [N, C, H, W] input
// in layout `full` (nchw or nhwc): a strided view of them, and the compact layout of the same
// order they are copied into. nullopt for other layouts, and for views oneDNN cannot describe:
// it takes nhwc ones, and refuses most nchw ones (a dim's extent, stride * size, may not pass
// the next larger stride, as every other column of nchw rows does).
struct SubsampledLayouts {
  memory::desc strided;
  memory::desc compact;
};
std::optional<SubsampledLayouts> subsampled_layouts(const memory::desc& full, const Dims& strides,
                                                    const Dims& out) {
  const Dims d = full.dims();
  if (d.size() != 4 || strides.size() != 2 || out.size() != 2) return std::nullopt;
  const Dims compact_dims = {d[0], d[1], out[0], out[1]};
  for (const memory::format_tag tag : {memory::format_tag::nchw, memory::format_tag::nhwc}) {
    if (full != memory::desc(d, kF32, tag)) continue;
    const bool nchw = tag == memory::format_tag::nchw;
    const Dims f = row_major_strides(nchw ? d : Dims{d[0], d[2], d[3], d[1]});
    // Strides of (n, c, h, w) in the full layout, then every s-th row and column.
    Dims s = nchw ? f : Dims{f[0], f[3], f[1], f[2]};
    s[2] *= strides[0];
    s[3] *= strides[1];
    try {
      return SubsampledLayouts{memory::desc(compact_dims, kF32, s),
                               memory::desc(compact_dims, kF32, tag)};
    } catch (const dnnl::error&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// A strided 1x1 convolution without padding runs as a copy of the pixels it reads into the
// thread's scratch (a transformed input) and a stride-1 convolution over them: the copy costs
// the output's bytes, and oneDNN's stride-1 1x1 kernel is never slower than its strided one and
// sometimes much faster (ResNet-50's layer3 downsample, 512 -> 1024 channels from 28x28: 1.76
// ms strided, 0.01 + 1.07 ms so). Null when `whole` is not such a convolution over channels-last
// input (or plain, where oneDNN can view it).
std::shared_ptr<PrimitiveNode> subsampled(
    const dnnl::engine& engine, std::span<const NodeInput> in, const Window& w,
    const dnnl::convolution_forward::primitive_desc& whole, const dnnl::primitive_attr& attr,
    const memory::desc& user_w) {
  const auto all = [](const Dims& d, memory::dim value) {
    return std::all_of(d.begin(), d.end(), [value](memory::dim x) { return x == value; });
  };
  if (!all(w.kernel, 1) || all(w.strides, 1) || !all(w.pad_begin, 0) || !all(w.pad_end, 0) ||
      in[1].constant == nullptr) {
    return nullptr;
  }
  const std::optional<SubsampledLayouts> layouts =
      subsampled_layouts(whole.src_desc(), w.strides, w.out);
  if (!layouts) return nullptr;
  const bool has_bias = in.size() > 2 && in[2].present;
  const Dims ones(w.strides.size(), 1), zeros(w.strides.size(), 0);
  const memory::desc any_w(user_w.dims(), kF32, memory::format_tag::any);
  std::optional<dnnl::convolution_forward::primitive_desc> pd;
  try {
    const auto desc =
        has_bias ? dnnl::convolution_forward::desc(
                       dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                       layouts->compact, any_w, whole.bias_desc(), whole.dst_desc(), ones, zeros,
                       zeros, zeros)
                 : dnnl::convolution_forward::desc(
                       dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                       layouts->compact, any_w, whole.dst_desc(), ones, zeros, zeros, zeros);
    pd.emplace(desc, attr, engine);
  } catch (const dnnl::error&) {
    return nullptr;
  }
  if (pd->dst_desc() != whole.dst_desc() || is_reference_impl(pd->impl_info_str())) return nullptr;
  auto node = std::make_shared<PrimitiveNode>(engine, dnnl::convolution_forward(*pd),
                                              pd->scratchpad_desc());
  node->reserve_inputs(in.size());
  const dnnl::reorder copy(
      dnnl::reorder::primitive_desc(engine, layouts->strided, engine, layouts->compact));
  node->bind_transformed_input(DNNL_ARG_SRC, 0, plain(whole.src_desc().dims()), whole.src_desc(),
                               copy, layouts->compact, layouts->strided);
  node->bind_held(DNNL_ARG_WEIGHTS,
                  reorder_now(engine, *in[1].constant, user_w, pd->weights_desc()));
  if (has_bias) node->bind_input(DNNL_ARG_BIAS, 2, whole.bias_desc(), whole.bias_desc());
  const Dims out = pd->dst_desc().dims();
  node->bind_output(DNNL_ARG_DST, pd->dst_desc(), Shape(out.begin(), out.end()));
  return node;
}

// A 1x1 convolution of one pixel with constant weights (a squeeze-excitation's fully connected
// layers, a head after global pooling) is y = W x + b: a one-row product on our own kernel
// (one_row_product.h) where it pays, split over the team by panels of W's rows. Null otherwise.
std::shared_ptr<OneRowProduct> one_pixel_product(const LoweringContext& cx,
                                                 std::span<const NodeInput> in, const Window& w,
                                                 int64_t group, const FusedChain* chain,
                                                 const Shape& out_shape) {
  const Shape& xs = in[0].shape;
  const Shape& ws = in[1].shape;
  const auto all_ones = [](auto first, auto last) {
    return std::all_of(first, last, [](int64_t v) { return v == 1; });
  };
  const auto all_zeros = [](const Dims& d) {
    return std::all_of(d.begin(), d.end(), [](int64_t v) { return v == 0; });
  };
  const bool has_bias = in.size() > 2 && in[2].present;
  if (group != 1 || xs[0] != 1 || !all_ones(xs.begin() + 2, xs.end()) ||
      !all_ones(ws.begin() + 2, ws.end()) || !all_zeros(w.pad_begin) || !all_zeros(w.pad_end) ||
      in[1].constant == nullptr || (has_bias && in[2].constant == nullptr)) {
    return nullptr;
  }
  const memory::desc dst = plain(dims_of(out_shape));
  dnnl::post_ops ops;
  std::vector<ChainAddend> addends;
  std::optional<float> swish_after;
  if (!append_chain(chain, out_shape, dims_of(out_shape), dst, false, ops, addends, swish_after)
           .is_ok()) {
    return nullptr;
  }
  std::vector<float> bias;
  if (has_bias) bias = in[2].constant->to_vector<float>();
  // W is [N, K] row-major: B = W transposed.
  const OneRow r{1, ws[1], ws[0], true, 1.0f, std::move(bias), &ops, 0, &addends, swish_after};
  auto own =
      own_one_row_product(cx, in[1].constant, flat_inputs(chain, in), r, dst);
  if (own == nullptr) return nullptr;
  // The kernel reads the pixel's channels in order: any layout of the same bytes will do (a
  // channels-last pooling's result, say), so none is converted.
  const memory::desc view = plain(dims_of(xs));
  const memory::desc want = in[0].layout && same_bytes(*in[0].layout, view) ? *in[0].layout : view;
  own->inputs.resize(in.size());
  own->inputs[0] = InputLayout{true, view, want};
  own->outputs.push_back(OutputLayout{dst, out_shape});
  return own;
}

// The layout of a 1x1 convolution with a depthwise post-op: oneDNN 2.6's kernel for the fusion
// takes `any` to mean its reference code, and computes wrong results over channels-last data
// (a probe against the two convolutions run apart: 60 % of the values off, by up to the Relu6
// bound); over blocks of 16 channels (8 without AVX-512) it matches them exactly.
memory::desc depthwise_fusion_layout(const Dims& dims) {
  return channel_blocked(dims, best_vector_isa() == VectorIsa::kAvx512 ? 16 : 8);
}

// Binds the depthwise post-op's weights (reordered once into the layout the fused kernel reads)
// and bias, and returns the fused node's result shape: the depthwise convolution's, 3x3 with
// pads of 1 over the 1x1 convolution's result of dims `mid`.
Result<Shape> bind_depthwise(PrimitiveNode& node, const LoweringContext& cx,
                             const FusedChain& chain, const PostOpNode& link,
                             const dnnl::convolution_forward::primitive_desc& pd, const Dims& mid) {
  const NodeInput& weights = chain.inputs[link.first_input];
  const NodeInput& bias = chain.inputs[link.first_input + 1];
  const int64_t channels = mid[1];
  const std::vector<int64_t> strides = link.node->attr_ints("strides", {1, 1});
  Dims out = mid;
  for (size_t d = 2; d < out.size(); ++d) out[d] = (mid[d] - 1) / strides[0] + 1;
  if (pd.dst_desc().dims() != out) {
    return unsupported_shapes("the depthwise post-op's result differs from " +
                              link.node->describe() + "'s");
  }
  if (weights.constant == nullptr || weights.shape != Shape{channels, 1, 3, 3} || !bias.present ||
      bias.shape != Shape{channels}) {
    return unsupported_shapes("a depthwise post-op needs constant 3x3 weights and a bias");
  }
  const memory::desc want =
      pd.query_md(dnnl::query::exec_arg_md, DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS);
  node.bind_held(DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS,
                 reorder_now(*cx.engine, *weights.constant, plain({channels, 1, 1, 3, 3}), want));
  node.bind_input(DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS, link.first_input + 1,
                  plain({channels}), plain({channels}));
  return Shape(out.begin(), out.end());
}

}  // namespace

Lowered lower_conv(const ir::Node& node, const LoweringContext& cx, std::span<const NodeInput> in,
                   const FusedChain* chain) {
  const Shape& xs = in[0].shape;
  const Shape& ws = in[1].shape;
  if (xs.size() < 3 || xs.size() > 5 || ws.size() != xs.size()) {
    return unsupported_shapes("Conv needs 1 to 3 spatial dims and weights of the same rank");
  }
  const int64_t group = node.attr_int("group", 1);
  const int64_t channels = xs[1], out_channels = ws[0];
  if (group < 1 || ws[1] * group != channels || out_channels % group != 0) {
    return unsupported_shapes("channels do not match the group count");
  }
  const bool has_bias = in.size() > 2 && in[2].present;
  if (has_bias && in[2].shape != Shape{out_channels}) {
    return unsupported_shapes("bias is not of shape [M]");
  }
  const Dims spatial(xs.begin() + 2, xs.end());
  const Dims kernel(ws.begin() + 2, ws.end());
  const std::vector<int64_t> kernel_attr = node.attr_ints("kernel_shape", kernel);
  if (kernel_attr != kernel) return unsupported_shapes("kernel_shape differs from the weights");
  ER_ASSIGN_OR_RETURN(Window w, resolve_window(node, spatial, kernel));

  Dims y_dims = {xs[0], out_channels};
  y_dims.insert(y_dims.end(), w.out.begin(), w.out.end());
  // A depthwise link runs on our kernel where it takes the chain, else on oneDNN's 1x1 kernel
  // with its depthwise post-op: no other path takes the link.
  const PostOpNode* depthwise_post_op =
      chain != nullptr ? depthwise_link(chain->links) : nullptr;
  if (depthwise_post_op != nullptr) {
    std::vector<const ir::Node*> links;
    for (const PostOpNode& link : chain->links) links.push_back(link.node);
    if (own_expand_depthwise_takes(links, Shape(y_dims.begin(), y_dims.end()))) {
      return lower_expand_depthwise(node, in, *chain);
    }
  } else {
    if (auto own =
            one_pixel_product(cx, in, w, group, chain, Shape(y_dims.begin(), y_dims.end()))) {
      return std::shared_ptr<const PreparedNode>(std::move(own));
    }
  }
  Dims w_dims;
  if (group > 1)
    w_dims = {group, out_channels / group, ws[1]};
  else
    w_dims = {out_channels, ws[1]};
  w_dims.insert(w_dims.end(), kernel.begin(), kernel.end());
  const memory::desc src_view = plain(dims_of(xs)), user_w = plain(w_dims);
  const bool choose_layout = !cx.plain_only && (in[0].layout || cx.blocked_output_ok);
  const memory::desc any_w(w_dims, kF32, memory::format_tag::any);
  const memory::desc bias = plain({out_channels});
  Shape out_shape(y_dims.begin(), y_dims.end());
  std::vector<ChainAddend> addends;
  std::optional<float> swish_after;
  std::optional<dnnl::convolution_forward::primitive_desc> pd;
  dnnl::primitive_attr attr;
  bool by_winograd = false;
  // Winograd first where it may run (winograd_layouts), else, or when it refuses the fusion or
  // a team's split, the direct algorithm. Only for constant weights, which are transformed
  // once here rather than on every run.
  const std::optional<WinogradLayouts> winograd =
      choose_layout && in[1].constant != nullptr && depthwise_post_op == nullptr
          ? winograd_layouts(*cx.engine, group, w, src_view.dims(), y_dims, any_w)
          : std::nullopt;
  const bool depthwise = group > 1 && group == channels && out_channels == channels;
  for (const bool use_winograd : {true, false}) {
    if (use_winograd && !winograd) continue;
    const dnnl::algorithm alg = use_winograd ? dnnl::algorithm::convolution_winograd
                                             : dnnl::algorithm::convolution_direct;
    const memory::desc any(src_view.dims(), kF32, memory::format_tag::any);
    const memory::desc src = use_winograd ? winograd->src
                             : depthwise_post_op != nullptr
                                 ? depthwise_fusion_layout(src_view.dims())
                             : choose_layout ? any
                                             : src_view;
    const memory::desc dst_any =
        use_winograd                    ? winograd->dst
        : depthwise_post_op != nullptr ? depthwise_fusion_layout(y_dims)
        : choose_layout                 ? memory::desc(y_dims, kF32, memory::format_tag::any)
                                        : plain(y_dims);
    auto conv_desc = [&](const memory::desc& dst) {
      return has_bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, alg,
                                                        src, any_w, bias, dst, w.strides,
                                                        w.dilations, w.pad_begin, w.pad_end)
                      : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, alg,
                                                        src, any_w, dst, w.strides, w.dilations,
                                                        w.pad_begin, w.pad_end);
    };
    // The layout oneDNN prefers for the result, found without post-ops; a residual Add then
    // reads its operand in that layout.
    memory::desc dst = dst_any;
    if (choose_layout && !use_winograd) {
      dst = dnnl::convolution_forward::primitive_desc(conv_desc(dst_any), *cx.engine).dst_desc();
    }
    // A residual Add fuses as a sum post-op where an optimised kernel takes that, else as a
    // binary post-op; when only oneDNN's reference code would run the fusion (far slower than
    // the nodes one by one), the chain is refused and runs unfused.
    for (const bool use_sum : {true, false}) {
      dnnl::post_ops ops;
      addends.clear();
      ER_RETURN_IF_ERROR(
          append_chain(chain, out_shape, y_dims, dst, use_sum, ops, addends, swish_after));
      attr = user_scratchpad();
      attr.set_post_ops(ops);
      try {
        pd.emplace(conv_desc(dst), attr, *cx.engine);
      } catch (const dnnl::error&) {
        pd.reset();
        continue;
      }
      if (chain == nullptr || !is_reference_impl(pd->impl_info_str())) break;
      pd.reset();
    }
    if (!pd) continue;
    const bool only_sums = std::all_of(addends.begin(), addends.end(),
                                       [](const ChainAddend& a) { return a.sum; });
    if (cx.slices > 1 && xs.size() == 4 && xs[0] == 1 && (group == 1 || depthwise) &&
        in[1].constant != nullptr && only_sums && depthwise_post_op == nullptr) {
      const SliceRequest request{&*pd, &attr, &w, in[1].constant, depthwise, has_bias, alg};
      std::shared_ptr<SlicedNode> sliced =
          slice_conv(*cx.engine, request, cx.slices, !addends.empty());
      if (sliced && (!swish_after || sliced->then_swish(*swish_after))) {
        sliced->inputs.resize(in.size());
        sliced->inputs[0] = InputLayout{true, src_view, pd->src_desc()};
        if (has_bias) sliced->inputs[2] = InputLayout{true, bias, bias};
        for (const ChainAddend& a : addends) {
          // The addend's index counts the chain's flat inputs, after the convolution's own.
          if (a.input >= sliced->inputs.size()) sliced->inputs.resize(a.input + 1);
          sliced->inputs[a.input] = InputLayout{true, a.view, a.want};
          sliced->sum_input = a.input;
        }
        sliced->outputs.push_back(OutputLayout{pd->dst_desc(), std::move(out_shape)});
        sliced->winograd = use_winograd;
        return std::shared_ptr<const PreparedNode>(std::move(sliced));
      }
      // A team runs an unsplit node on one thread: direct slices beat a whole Winograd node
      // (Winograd over channel blocks too narrow for its kernel, e.g.).
      if (use_winograd) {
        pd.reset();
        continue;
      }
    }
    by_winograd = use_winograd;
    break;
  }
  if (!pd) return unsupported_shapes("no optimised implementation of this fusion");
  if (addends.empty() && group == 1 && depthwise_post_op == nullptr) {
    if (auto node = subsampled(*cx.engine, in, w, *pd, attr, user_w)) {
      if (swish_after) node->then_swish(*swish_after);
      return std::shared_ptr<const PreparedNode>(std::move(node));
    }
  }
  auto result = std::make_shared<PrimitiveNode>(*cx.engine, dnnl::convolution_forward(*pd),
                                                pd->scratchpad_desc());
  result->reserve_inputs(in.size());
  result->bind_input(DNNL_ARG_SRC, 0, src_view, pd->src_desc());
  bind_weights(*result, cx, in[1], user_w, pd->weights_desc());
  if (has_bias) result->bind_input(DNNL_ARG_BIAS, 2, bias, bias);
  bind_addends(*result, addends);
  if (depthwise_post_op != nullptr) {
    ER_ASSIGN_OR_RETURN(out_shape,
                        bind_depthwise(*result, cx, *chain, *depthwise_post_op, *pd, y_dims));
    result->reserve_inputs(chain->inputs.size());
  }
  result->bind_output(DNNL_ARG_DST, pd->dst_desc(), std::move(out_shape));
  if (swish_after) result->then_swish(*swish_after);
  result->winograd = by_winograd;
  return std::shared_ptr<const PreparedNode>(std::move(result));
}

Lowered lower_conv_transpose(const ir::Node& node, const LoweringContext& cx,
                             std::span<const NodeInput> in) {
  const Shape& xs = in[0].shape;
  const Shape& ws = in[1].shape;
  if (xs.size() < 3 || xs.size() > 5 || ws.size() != xs.size()) {
    return unsupported_shapes("ConvTranspose needs 1 to 3 spatial dims and weights of that rank");
  }
  const size_t nd = xs.size() - 2;
  const int64_t group = node.attr_int("group", 1);
  const int64_t channels = xs[1];
  if (group < 1 || ws[0] != channels || channels % group != 0) {
    return unsupported_shapes("channels do not match the weights and group count");
  }
  const int64_t out_channels = ws[1] * group;
  const bool has_bias = in.size() > 2 && in[2].present;
  if (has_bias && in[2].shape != Shape{out_channels}) {
    return unsupported_shapes("bias is not of shape [M]");
  }
  const Dims kernel(ws.begin() + 2, ws.end());
  if (node.attr_ints("kernel_shape", kernel) != kernel) {
    return unsupported_shapes("kernel_shape differs from the weights");
  }
  const auto spatial_attr = [&](const char* name, int64_t fallback, size_t count) {
    return node.attr_ints(name, std::vector<int64_t>(count, fallback));
  };
  const std::vector<int64_t> strides = spatial_attr("strides", 1, nd);
  const std::vector<int64_t> dilations = spatial_attr("dilations", 1, nd);
  const std::vector<int64_t> output_padding = spatial_attr("output_padding", 0, nd);
  const std::vector<int64_t> pads = spatial_attr("pads", 0, 2 * nd);
  std::vector<int64_t> output_shape = node.attr_ints("output_shape");
  if (output_shape.size() == nd + 2) {
    output_shape.erase(output_shape.begin(), output_shape.begin() + 2);  // names N and C too
  }
  if (strides.size() != nd || dilations.size() != nd || output_padding.size() != nd ||
      pads.size() != 2 * nd || (!output_shape.empty() && output_shape.size() != nd)) {
    return unsupported_shapes("window attributes do not match the input's rank");
  }
  const std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  Dims out(nd), pad_begin(nd), pad_end(nd), dilation(nd);
  for (size_t d = 0; d < nd; ++d) {
    if (strides[d] < 1 || dilations[d] < 1 || kernel[d] < 1 || output_padding[d] < 0) {
      return unsupported_shapes("non-positive kernel, stride or dilation");
    }
    // The geometry the reference uses; oneDNN then has to express it with paddings.
    const std::optional<int64_t> size =
        output_shape.empty() ? std::nullopt : std::optional<int64_t>(output_shape[d]);
    const ir::TransposedExtent e =
        ir::conv_transpose_extent(xs[d + 2], kernel[d], strides[d], dilations[d],
                                  output_padding[d], pads[d], pads[d + nd], size, auto_pad);
    out[d] = e.out;
    pad_begin[d] = e.pad_begin;
    // oneDNN: out = (in - 1) * stride + span - pad_begin - pad_end; output_padding extends
    // the end, which a smaller end padding expresses. An output larger than the full result
    // (a negative padding) is left to the reference.
    pad_end[d] = e.full - output_padding[d] - pad_begin[d] - out[d];
    if (out[d] < 1 || pad_begin[d] < 0 || pad_end[d] < 0) {
      return unsupported_shapes("an output beyond the full result needs negative padding");
    }
    dilation[d] = dilations[d] - 1;
  }
  // ONNX weights are (C, M/group, k...) = (group, C/group, M/group, k...); oneDNN reads
  // (group, M/group, C/group, k...): the same bytes with the two channel strides swapped.
  const int64_t k_size = std::accumulate(kernel.begin(), kernel.end(), int64_t{1},
                                         std::multiplies<int64_t>());
  const int64_t cg = channels / group, mg = ws[1];
  const Dims k_strides = row_major_strides(kernel);
  Dims w_dims, w_strides;
  if (group > 1) {
    w_dims = {group, mg, cg};
    w_strides = {cg * mg * k_size, k_size, mg * k_size};
  } else {
    w_dims = {mg, cg};
    w_strides = {k_size, mg * k_size};
  }
  w_dims.insert(w_dims.end(), kernel.begin(), kernel.end());
  w_strides.insert(w_strides.end(), k_strides.begin(), k_strides.end());
  Dims y_dims = {xs[0], out_channels};
  y_dims.insert(y_dims.end(), out.begin(), out.end());
  const memory::desc src = plain(dims_of(xs)), dst = plain(y_dims);
  const memory::desc user_w(w_dims, kF32, w_strides);
  const memory::desc any_w(w_dims, kF32, memory::format_tag::any);
  const memory::desc bias = plain({out_channels});
  auto d = has_bias ? dnnl::deconvolution_forward::desc(
                          dnnl::prop_kind::forward_inference,
                          dnnl::algorithm::deconvolution_direct, src, any_w, bias, dst, strides,
                          dilation, pad_begin, pad_end)
                    : dnnl::deconvolution_forward::desc(
                          dnnl::prop_kind::forward_inference,
                          dnnl::algorithm::deconvolution_direct, src, any_w, dst, strides,
                          dilation, pad_begin, pad_end);
  dnnl::deconvolution_forward::primitive_desc pd(d, user_scratchpad(), *cx.engine);
  auto result = std::make_shared<PrimitiveNode>(*cx.engine, dnnl::deconvolution_forward(pd),
                                                pd.scratchpad_desc());
  result->reserve_inputs(in.size());
  result->bind_input(DNNL_ARG_SRC, 0, src, src);
  bind_weights(*result, cx, in[1], user_w, pd.weights_desc());
  if (has_bias) result->bind_input(DNNL_ARG_BIAS, 2, bias, bias);
  result->bind_output(DNNL_ARG_DST, dst, Shape(y_dims.begin(), y_dims.end()));
  return std::shared_ptr<const PreparedNode>(std::move(result));
}

// Pooling over channels-last data of batch 1 as `slices` poolings over ranges of output rows,
// each reading the input rows its windows cover; null where the layouts do not split by rows or
// oneDNN would run a slice on another kernel than the whole's.
std::shared_ptr<SlicedNode> slice_pool(const dnnl::engine& engine,
                                       const dnnl::pooling_v2_forward::primitive_desc& whole,
                                       dnnl::algorithm alg, const Window& w, int slices) {
  const memory::desc src_whole = whole.src_desc(), dst_whole = whole.dst_desc();
  if (!row_range(src_whole, 0, 1) || !row_range(dst_whole, 0, 1)) return nullptr;
  const Dims sd = src_whole.dims(), dd = dst_whole.dims();
  const auto ranges = block_ranges(dd[2], 1, slices);
  if (ranges.size() < 2) return nullptr;
  std::vector<Slice> parts;
  for (const auto& [first, last] : ranges) {
    const std::optional<WindowRows> rows = window_rows(w, sd[2], first, last);
    if (!rows) return nullptr;
    const RowRange src = *row_range(src_whole, rows->first, rows->last);
    const RowRange dst = *row_range(dst_whole, first, last);
    std::optional<dnnl::pooling_v2_forward::primitive_desc> pd;
    try {
      pd.emplace(dnnl::pooling_v2_forward::desc(dnnl::prop_kind::forward_inference, alg,
                                                src.desc, dst.desc, w.strides, w.kernel,
                                                w.dilations, rows->pad_begin, rows->pad_end),
                 user_scratchpad(), engine);
    } catch (const dnnl::error&) {
      return nullptr;
    }
    if (std::string(pd->impl_info_str()) != whole.impl_info_str()) return nullptr;
    Slice slice;
    slice.primitive = dnnl::pooling_v2_forward(*pd);
    slice.scratchpad = pd->scratchpad_desc();
    slice.args.push_back(SliceArg{DNNL_ARG_SRC, 0, -1, src.desc, src.offset, {}});
    slice.args.push_back(SliceArg{DNNL_ARG_DST, -1, 0, dst.desc, dst.offset, {}});
    parts.push_back(std::move(slice));
  }
  return std::make_shared<SlicedNode>(engine, std::move(parts));
}

Lowered lower_pool(const ir::Node& node, const LoweringContext& cx,
                   std::span<const NodeInput> in) {
  const Shape& xs = in[0].shape;
  if (xs.size() < 3 || xs.size() > 5) return unsupported_shapes("pooling needs 1 to 3 spatial dims");
  const Dims spatial(xs.begin() + 2, xs.end());
  const bool global = *node.op == ir::Op::GlobalAveragePool || *node.op == ir::Op::GlobalMaxPool;
  Window w;
  if (global) {
    w.kernel = spatial;
    w.strides = Dims(spatial.size(), 1);
    w.dilations = w.pad_begin = w.pad_end = Dims(spatial.size(), 0);
    w.out = Dims(spatial.size(), 1);
  } else {
    const std::vector<int64_t> kernel = node.attr_ints("kernel_shape");
    if (kernel.size() != spatial.size()) return unsupported_shapes("kernel_shape rank mismatch");
    ER_ASSIGN_OR_RETURN(w, resolve_window(node, spatial, kernel));
  }
  dnnl::algorithm alg = dnnl::algorithm::pooling_max;
  if (*node.op == ir::Op::AveragePool || *node.op == ir::Op::GlobalAveragePool) {
    alg = node.attr_int("count_include_pad", 0) != 0 ? dnnl::algorithm::pooling_avg_include_padding
                                                     : dnnl::algorithm::pooling_avg_exclude_padding;
  }
  Dims y_dims = {xs[0], xs[1]};
  y_dims.insert(y_dims.end(), w.out.begin(), w.out.end());
  const memory::desc view = plain(dims_of(xs));
  const memory::desc src = cx.plain_only ? view : arrival_layout(in[0]);
  // The result takes the input's layout family (oneDNN picks it from `any`).
  const memory::desc dst = src == view ? plain(y_dims)
                                       : memory::desc(y_dims, kF32, memory::format_tag::any);
  const memory::desc channels_last =
      xs.size() == 4 ? memory::desc(dims_of(xs), kF32, memory::format_tag::nhwc) : memory::desc();
  if (*node.op == ir::Op::GlobalAveragePool && xs.size() == 4 && src == channels_last &&
      ChannelMean::available()) {
    // Our own kernel (channel_mean.h says why); its result is written channels-last, as
    // oneDNN's would be.
    auto mean = std::make_shared<ChannelMean>(dims_of(xs));
    mean->inputs.push_back(InputLayout{true, view, src});
    mean->outputs.push_back(OutputLayout{memory::desc(y_dims, kF32, memory::format_tag::nhwc),
                                         Shape(y_dims.begin(), y_dims.end())});
    return std::shared_ptr<const PreparedNode>(std::move(mean));
  }
  dnnl::pooling_v2_forward::desc d(dnnl::prop_kind::forward_inference, alg, src, dst, w.strides,
                                   w.kernel, w.dilations, w.pad_begin, w.pad_end);
  dnnl::pooling_v2_forward::primitive_desc pd(d, user_scratchpad(), *cx.engine);
  if (cx.slices > 1 && !global && xs.size() == 4 && xs[0] == 1) {
    if (std::shared_ptr<SlicedNode> sliced = slice_pool(*cx.engine, pd, alg, w, cx.slices)) {
      sliced->inputs.push_back(InputLayout{true, view, src});
      sliced->outputs.push_back(OutputLayout{pd.dst_desc(), Shape(y_dims.begin(), y_dims.end())});
      return std::shared_ptr<const PreparedNode>(std::move(sliced));
    }
  }
  auto result = std::make_shared<PrimitiveNode>(*cx.engine, dnnl::pooling_v2_forward(pd),
                                                pd.scratchpad_desc());
  result->reserve_inputs(in.size());
  result->bind_input(DNNL_ARG_SRC, 0, view, src);
  result->bind_output(DNNL_ARG_DST, pd.dst_desc(), Shape(y_dims.begin(), y_dims.end()));
  return std::shared_ptr<const PreparedNode>(std::move(result));
}

}  // namespace edgerun::onednn::lower
