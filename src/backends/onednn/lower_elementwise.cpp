// Lowerings that keep the data's layout: activations, binary ops, normalisations, softmax and
// Concat (of plain inputs by our own copies, plain_concat.h). Those that work in any layout
// take their input's (so a blocked chain stays blocked).
#include <algorithm>
#include <functional>
#include <numeric>
#include <optional>
#include <string>

#include "backends/onednn/channel_scale.h"
#include "backends/onednn/lower_ops.h"
#include "backends/onednn/plain_concat.h"
#include "backends/onednn/sliced_node.h"

namespace edgerun::onednn::lower {
namespace {

// The layout an op that works in any layout reads input `i` in.
memory::desc layout_for(const LoweringContext& cx, const NodeInput& input) {
  return cx.plain_only ? plain(dims_of(input.shape)) : arrival_layout(input);
}

std::shared_ptr<PrimitiveNode> make_node(const LoweringContext& cx, dnnl::primitive p,
                                         const memory::desc& scratchpad, size_t num_inputs) {
  auto node = std::make_shared<PrimitiveNode>(*cx.engine, std::move(p), scratchpad);
  node->reserve_inputs(num_inputs);
  return node;
}

// A binary op over channels-last data of batch 1 as `slices` ops over ranges of rows; src1 is
// read whole where it broadcasts along the rows. Null when the layouts do not split by rows or
// oneDNN would run a slice on another kernel than the whole's.
std::shared_ptr<SlicedNode> slice_binary(const dnnl::engine& engine,
                                         const dnnl::binary::primitive_desc& whole,
                                         dnnl::algorithm alg, const dnnl::primitive_attr& attr,
                                         size_t first_input, size_t second_input, int slices) {
  const memory::desc src0 = whole.src_desc(0), src1 = whole.src_desc(1), dst = whole.dst_desc();
  const Dims d0 = src0.dims(), d1 = src1.dims();
  const bool broadcast_rows = d1.size() == 4 && d1[2] == 1;
  if (!row_range(src0, 0, 1) || !row_range(dst, 0, 1) || (!broadcast_rows && src1 != src0)) {
    return nullptr;
  }
  const auto ranges = block_ranges(d0[2], 1, slices);
  if (ranges.size() < 2) return nullptr;
  std::vector<Slice> parts;
  for (const auto& [first, last] : ranges) {
    const RowRange a = *row_range(src0, first, last), y = *row_range(dst, first, last);
    const RowRange b = broadcast_rows ? RowRange{src1, 0} : a;
    std::optional<dnnl::binary::primitive_desc> pd;
    try {
      pd.emplace(dnnl::binary::desc(alg, a.desc, b.desc, y.desc), attr, engine);
    } catch (const dnnl::error&) {
      return nullptr;
    }
    if (std::string(pd->impl_info_str()) != whole.impl_info_str()) return nullptr;
    Slice slice;
    slice.primitive = dnnl::binary(*pd);
    slice.scratchpad = pd->scratchpad_desc();
    slice.args.push_back(SliceArg{DNNL_ARG_SRC_0, static_cast<int>(first_input), -1, a.desc,
                                  a.offset, {}});
    slice.args.push_back(SliceArg{DNNL_ARG_SRC_1, static_cast<int>(second_input), -1, b.desc,
                                  b.offset, {}});
    slice.args.push_back(SliceArg{DNNL_ARG_DST, -1, 0, y.desc, y.offset, {}});
    parts.push_back(std::move(slice));
  }
  return std::make_shared<SlicedNode>(engine, std::move(parts));
}

}  // namespace

Lowered lower_eltwise(const ir::Node& node, const LoweringContext& cx,
                      std::span<const NodeInput> in) {
  ER_ASSIGN_OR_RETURN(std::vector<EltwiseStep> steps, eltwise_steps(node, in));
  const memory::desc view = plain(dims_of(in[0].shape));
  const memory::desc md = layout_for(cx, in[0]);
  auto primitive_for = [&](const EltwiseStep& step) {
    dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, step.algorithm, md,
                                  step.alpha, step.beta);
    return dnnl::eltwise_forward::primitive_desc(d, user_scratchpad(), *cx.engine);
  };
  const auto first = primitive_for(steps[0]);
  auto result = make_node(cx, dnnl::eltwise_forward(first), first.scratchpad_desc(), in.size());
  result->bind_input(DNNL_ARG_SRC, 0, view, md);
  result->bind_output(DNNL_ARG_DST, first.dst_desc(), in[0].shape);
  for (size_t s = 1; s < steps.size(); ++s) {
    const auto next = primitive_for(steps[s]);
    result->then_in_place(dnnl::eltwise_forward(next), next.scratchpad_desc());
  }
  return std::shared_ptr<const PreparedNode>(std::move(result));
}

Lowered lower_binary(const ir::Node& node, const LoweringContext& cx,
                     std::span<const NodeInput> in) {
  const Shape& sa = in[0].shape;
  const Shape& sb = in[1].shape;
  const size_t rank = std::max<size_t>({sa.size(), sb.size(), 1});
  Dims a = pad_left(sa, rank), b = pad_left(sb, rank), y(rank);
  for (size_t i = 0; i < rank; ++i) {
    if (a[i] != b[i] && a[i] != 1 && b[i] != 1) {
      return unsupported_shapes("shapes do not broadcast");  // the reference reports it
    }
    y[i] = a[i] == 1 ? b[i] : a[i];
  }
  Shape out_shape(y.begin(), y.end());
  if (sa.empty() && sb.empty()) out_shape.clear();
  // oneDNN 2.6 broadcasts src1 only: src0 must have the output's shape. Add and Mul swap their
  // operands; Sub computes -(b - a), exact since negation is.
  bool swapped = false;
  const bool swappable =
      *node.op == ir::Op::Add || *node.op == ir::Op::Mul || *node.op == ir::Op::Sub;
  if (a != y) {
    if (b != y || !swappable) {
      return unsupported_shapes("the first input broadcasts, which oneDNN 2.6 cannot do");
    }
    std::swap(a, b);
    swapped = true;
  }
  dnnl::algorithm alg = dnnl::algorithm::binary_add;
  switch (*node.op) {
    case ir::Op::Add: alg = dnnl::algorithm::binary_add; break;
    case ir::Op::Sub: alg = dnnl::algorithm::binary_sub; break;
    case ir::Op::Mul: alg = dnnl::algorithm::binary_mul; break;
    case ir::Op::Div: alg = dnnl::algorithm::binary_div; break;
    default: return internal_error("not a binary op: " + node.op_type);
  }
  const size_t first = swapped ? 1 : 0, second = swapped ? 0 : 1;
  const memory::desc view0 = plain(a), view1 = plain(b);
  // Operands of one shape run in the layout of the first (a blocked one if either arrives
  // blocked); a broadcast operand is plain, read against src0 in whatever layout it has.
  memory::desc want0 = view0, want1 = view1;
  if (!cx.plain_only && a == b && sa.size() == sb.size()) {
    want0 = in[first].layout ? *in[first].layout
                             : (in[second].layout ? *in[second].layout : view0);
    want1 = want0;
  } else if (!cx.plain_only && in[first].shape.size() == rank && in[first].layout) {
    want0 = *in[first].layout;
  }
  dnnl::primitive_attr attr = user_scratchpad();
  if (swapped && *node.op == ir::Op::Sub) {
    dnnl::post_ops negate;
    negate.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, -1.0f, 0.0f);
    attr.set_post_ops(negate);
  }
  std::optional<dnnl::binary::primitive_desc> pd;
  while (true) {
    // Channels-last data times one value per channel: our own kernel.
    const bool channels_last =
        y.size() == 4 && want0 == memory::desc(y, kF32, memory::format_tag::nhwc);
    if (*node.op == ir::Op::Mul && channels_last && b == Dims{1, y[1], 1, 1} &&
        ChannelScale::available()) {
      auto scaled = std::make_shared<ChannelScale>(first, second, y);
      scaled->inputs.resize(in.size());
      scaled->inputs[first] = InputLayout{true, view0, want0};
      scaled->inputs[second] = InputLayout{true, view1, want1};
      scaled->outputs.push_back(OutputLayout{want0, std::move(out_shape)});
      return std::shared_ptr<const PreparedNode>(std::move(scaled));
    }
    pd.emplace(
        dnnl::binary::desc(alg, want0, want1, memory::desc(y, kF32, memory::format_tag::any)),
        attr, *cx.engine);
    // Over a blocked layout with a broadcast operand oneDNN may have only its reference code,
    // hundreds of times slower than converting the operand first (a squeeze-excitation's
    // scaling of 96 x 56 x 56 values in blocks of 16: 17.8 ms): then channels-last, then plain.
    if (!is_reference_impl(pd->impl_info_str()) || want0 == view0) break;
    const bool to_channels_last = y.size() == 4 && !channels_last;
    want0 = to_channels_last ? memory::desc(y, kF32, memory::format_tag::nhwc) : view0;
    if (a == b && sa.size() == sb.size()) want1 = want0;
  }
  if (cx.slices > 1) {
    if (std::shared_ptr<SlicedNode> sliced =
            slice_binary(*cx.engine, *pd, alg, attr, first, second, cx.slices)) {
      sliced->inputs.resize(in.size());
      sliced->inputs[first] = InputLayout{true, view0, want0};
      sliced->inputs[second] = InputLayout{true, view1, want1};
      sliced->outputs.push_back(OutputLayout{pd->dst_desc(), std::move(out_shape)});
      return std::shared_ptr<const PreparedNode>(std::move(sliced));
    }
  }
  auto result = make_node(cx, dnnl::binary(*pd), pd->scratchpad_desc(), in.size());
  result->bind_input(DNNL_ARG_SRC_0, first, view0, want0);
  result->bind_input(DNNL_ARG_SRC_1, second, view1, want1);
  result->bind_output(DNNL_ARG_DST, pd->dst_desc(), std::move(out_shape));
  return std::shared_ptr<const PreparedNode>(std::move(result));
}

Lowered lower_softmax(const ir::Node& node, const LoweringContext& cx,
                      std::span<const NodeInput> in) {
  const Shape& shape = in[0].shape;
  const int64_t rank = static_cast<int64_t>(shape.size());
  if (rank == 0) return unsupported_shapes("softmax of a scalar");
  const bool new_semantics = node.opset >= 13;
  int64_t axis = node.attr_int("axis", new_semantics ? -1 : 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return unsupported_shapes("axis out of range");
  Dims dims;
  int softmax_axis = 0;
  if (new_semantics) {
    dims = dims_of(shape);
    softmax_axis = static_cast<int>(axis);
  } else {
    // Before opset 13 the input is coerced to 2D at `axis` and normalised over the second dim.
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= shape[static_cast<size_t>(i)];
    dims = {outer, inner};
    softmax_axis = 1;
  }
  const memory::desc md = plain(dims);
  const dnnl::algorithm alg = *node.op == ir::Op::LogSoftmax ? dnnl::algorithm::softmax_log
                                                             : dnnl::algorithm::softmax_accurate;
  dnnl::softmax_v2_forward::desc d(dnnl::prop_kind::forward_inference, alg, md, md, softmax_axis);
  dnnl::softmax_v2_forward::primitive_desc pd(d, user_scratchpad(), *cx.engine);
  auto result = make_node(cx, dnnl::softmax_v2_forward(pd), pd.scratchpad_desc(), in.size());
  result->bind_input(DNNL_ARG_SRC, 0, md, md);
  result->bind_output(DNNL_ARG_DST, md, shape);
  return std::shared_ptr<const PreparedNode>(std::move(result));
}

Lowered lower_batch_norm(const ir::Node& node, const LoweringContext& cx,
                         std::span<const NodeInput> in) {
  const Shape& xs = in[0].shape;
  if (xs.size() < 2 || xs.size() > 5) return unsupported_shapes("BatchNormalization rank");
  for (size_t i = 1; i < 5; ++i) {
    if (in.size() <= i || !in[i].present || in[i].shape != Shape{xs[1]}) {
      return unsupported_shapes("scale, bias, mean and var must be of shape [C]");
    }
  }
  const memory::desc view = plain(dims_of(xs)), data = layout_for(cx, in[0]);
  const memory::desc channel = plain({xs[1]});
  const auto flags = dnnl::normalization_flags::use_global_stats |
                     dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
  dnnl::batch_normalization_forward::desc d(dnnl::prop_kind::forward_inference, data,
                                            node.attr_float("epsilon", 1e-5f), flags);
  dnnl::batch_normalization_forward::primitive_desc pd(d, user_scratchpad(), *cx.engine);
  auto result =
      make_node(cx, dnnl::batch_normalization_forward(pd), pd.scratchpad_desc(), in.size());
  result->bind_input(DNNL_ARG_SRC, 0, view, data);
  result->bind_input(DNNL_ARG_SCALE, 1, channel, channel);
  result->bind_input(DNNL_ARG_SHIFT, 2, channel, channel);
  result->bind_input(DNNL_ARG_MEAN, 3, channel, channel);
  result->bind_input(DNNL_ARG_VARIANCE, 4, channel, channel);
  result->bind_output(DNNL_ARG_DST, pd.dst_desc(), xs);
  return std::shared_ptr<const PreparedNode>(std::move(result));
}

Lowered lower_layer_norm(const ir::Node& node, const LoweringContext& cx,
                         std::span<const NodeInput> in) {
  const Shape& xs = in[0].shape;
  const int64_t rank = static_cast<int64_t>(xs.size());
  if (rank == 0) return unsupported_shapes("LayerNormalization of a scalar");
  int64_t axis = node.attr_int("axis", -1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return unsupported_shapes("axis out of range");
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= xs[static_cast<size_t>(i)];
  // oneDNN takes one scale and one shift per normalised element: Scale and B must cover the
  // whole normalised tail (leading 1s allowed), not broadcast within it.
  const bool has_bias = in.size() > 2 && in[2].present;
  for (size_t i = 1; i < (has_bias ? 3u : 2u); ++i) {
    if (in.size() <= i || !in[i].present) return unsupported_shapes("Scale is missing");
    const Shape& ps = in[i].shape;
    if (ps.size() > xs.size()) return unsupported_shapes("Scale or B has a higher rank than X");
    const Dims padded = pad_left(ps, xs.size());
    for (int64_t d = 0; d < rank; ++d) {
      const int64_t want = d < axis ? 1 : xs[static_cast<size_t>(d)];
      if (padded[static_cast<size_t>(d)] != want) {
        return unsupported_shapes("Scale or B broadcasts within the normalised dims");
      }
    }
  }
  const memory::desc data = plain({outer, inner}), param = plain({inner});
  auto flags = dnnl::normalization_flags::use_scale;
  if (has_bias) flags = flags | dnnl::normalization_flags::use_shift;
  dnnl::layer_normalization_forward::desc d(dnnl::prop_kind::forward_inference, data,
                                            node.attr_float("epsilon", 1e-5f), flags);
  dnnl::layer_normalization_forward::primitive_desc pd(d, user_scratchpad(), *cx.engine);
  auto result =
      make_node(cx, dnnl::layer_normalization_forward(pd), pd.scratchpad_desc(), in.size());
  result->bind_input(DNNL_ARG_SRC, 0, data, data);
  result->bind_input(DNNL_ARG_SCALE, 1, param, param);
  if (has_bias) result->bind_input(DNNL_ARG_SHIFT, 2, param, param);
  result->bind_output(DNNL_ARG_DST, data, xs);
  return std::shared_ptr<const PreparedNode>(std::move(result));
}

Lowered lower_concat(const ir::Node& node, const LoweringContext& cx,
                     std::span<const NodeInput> in) {
  if (in.empty() || !in[0].present) return unsupported_shapes("Concat without inputs");
  const Shape& first = in[0].shape;
  const int64_t rank = static_cast<int64_t>(first.size());
  if (rank == 0) return unsupported_shapes("Concat of scalars");
  if (rank > DNNL_MAX_NDIMS) return unsupported_shapes("rank above oneDNN's limit");
  int64_t axis = node.attr_int("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return unsupported_shapes("axis out of range");
  Shape out_shape = first;
  out_shape[static_cast<size_t>(axis)] = 0;
  std::vector<memory::desc> srcs;
  bool any_blocked = false;
  for (const NodeInput& t : in) {
    if (!t.present || t.shape.size() != first.size()) {
      return unsupported_shapes("inputs of different ranks");  // the reference reports it
    }
    for (int64_t d = 0; d < rank; ++d) {
      if (d != axis && t.shape[static_cast<size_t>(d)] != first[static_cast<size_t>(d)]) {
        return unsupported_shapes("inputs differ outside the axis");
      }
    }
    out_shape[static_cast<size_t>(axis)] += t.shape[static_cast<size_t>(axis)];
    srcs.push_back(layout_for(cx, t));
    any_blocked |= !is_plain(srcs.back());
  }
  if (!any_blocked) {
    // Plain inputs: block copies of our own (plain_concat.h says why).
    const size_t outer = static_cast<size_t>(
        std::accumulate(first.begin(), first.begin() + axis, int64_t{1}, std::multiplies<>()));
    std::vector<size_t> block_bytes;
    for (const NodeInput& t : in) {
      block_bytes.push_back(static_cast<size_t>(std::accumulate(
                                t.shape.begin() + axis, t.shape.end(), int64_t{1},
                                std::multiplies<>())) *
                            sizeof(float));
    }
    auto joined = std::make_shared<PlainConcat>(outer, std::move(block_bytes));
    for (size_t i = 0; i < in.size(); ++i) {
      const memory::desc view = plain(dims_of(in[i].shape));
      joined->inputs.push_back(InputLayout{true, view, view});
    }
    joined->outputs.push_back(OutputLayout{plain(dims_of(out_shape)), std::move(out_shape)});
    return std::shared_ptr<const PreparedNode>(std::move(joined));
  }
  // With blocked inputs oneDNN picks the result's layout.
  const dnnl::concat::primitive_desc pd(static_cast<int>(axis), srcs, *cx.engine,
                                        user_scratchpad());
  auto result = make_node(cx, dnnl::concat(pd), pd.scratchpad_desc(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    result->bind_input(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), i,
                       plain(dims_of(in[i].shape)), srcs[i]);
  }
  result->bind_output(DNNL_ARG_DST, pd.dst_desc(), std::move(out_shape));
  return std::shared_ptr<const PreparedNode>(std::move(result));
}

}  // namespace edgerun::onednn::lower
