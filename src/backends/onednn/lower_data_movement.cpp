// Transpose and Slice as oneDNN reorders: the input is read through a strided (and offset) view
// and copied into a plain result, so the values are exact.
#include "backends/onednn/lower_ops.h"
#include "backends/reference/shape_util.h"

namespace edgerun::onednn::lower {
namespace {

std::shared_ptr<const PreparedNode> strided_copy(const LoweringContext& cx, size_t num_inputs,
                                                 const memory::desc& view, const Shape& out_shape) {
  const memory::desc dst = plain(dims_of(out_shape));
  dnnl::reorder::primitive_desc pd(*cx.engine, view, *cx.engine, dst, user_scratchpad());
  auto result = std::make_shared<PrimitiveNode>(*cx.engine, dnnl::reorder(pd),
                                                pd.scratchpad_desc());
  result->reserve_inputs(num_inputs);
  result->bind_input(DNNL_ARG_FROM, 0, view, view);
  result->bind_output(DNNL_ARG_TO, dst, out_shape);
  return result;
}

// A constant integer parameter (Slice's starts, ends, axes, steps), or nullopt when absent.
Result<std::optional<std::vector<int64_t>>> constant_ints(std::span<const NodeInput> in,
                                                          size_t i) {
  if (i >= in.size() || !in[i].present) return std::optional<std::vector<int64_t>>();
  const Tensor* t = in[i].constant;
  if (t == nullptr) return unsupported_shapes("Slice parameters must be constant");
  std::vector<int64_t> values;
  for (int64_t k = 0; k < t->size(); ++k) {
    if (t->dtype() == DType::kInt64) {
      values.push_back(t->data<int64_t>()[k]);
    } else if (t->dtype() == DType::kInt32) {
      values.push_back(t->data<int32_t>()[k]);
    } else {
      return unsupported_shapes("Slice parameters must be int32 or int64");
    }
  }
  return std::optional<std::vector<int64_t>>(std::move(values));
}

}  // namespace

Lowered lower_transpose(const ir::Node& node, const LoweringContext& cx,
                        std::span<const NodeInput> in) {
  const Shape& xs = in[0].shape;
  const size_t rank = xs.size();
  if (rank == 0 || rank > DNNL_MAX_NDIMS) return unsupported_shapes("Transpose rank");
  std::vector<int64_t> perm = node.attr_ints("perm");
  if (perm.empty()) {
    for (size_t i = rank; i-- > 0;) perm.push_back(static_cast<int64_t>(i));
  }
  if (perm.size() != rank) return unsupported_shapes("perm does not match the rank");
  std::vector<bool> seen(rank, false);
  std::vector<int> to_output(rank);  // input axis j is output axis to_output[j]
  Dims out_dims;
  for (size_t i = 0; i < rank; ++i) {
    int64_t p = perm[i];
    if (p < 0) p += static_cast<int64_t>(rank);
    if (p < 0 || p >= static_cast<int64_t>(rank) || seen[static_cast<size_t>(p)]) {
      return unsupported_shapes("perm is not a permutation");  // the reference reports it
    }
    seen[static_cast<size_t>(p)] = true;
    to_output[static_cast<size_t>(p)] = static_cast<int>(i);
    out_dims.push_back(xs[static_cast<size_t>(p)]);
  }
  const Shape out_shape(out_dims.begin(), out_dims.end());
  // The input's bytes, in the layout they arrive in (a producer's blocked or channels-last one,
  // read as it is rather than converted to plain first), seen with the output's axes.
  const memory::desc arrival = cx.plain_only ? plain(dims_of(xs)) : arrival_layout(in[0]);
  const memory::desc permuted = arrival.permute_axes(to_output);
  // A 4-D result whose bytes are then in channels-last order (NHWC data turned NCHW, as models
  // exported channels-first around channels-last ops do: ConvNeXt's blocks) stays in that
  // layout where oneDNN nodes read it: the copy is a straight one, and the convolutions,
  // binary ops and pools after it take channels-last data as it is.
  const bool channels_last =
      rank == 4 && permuted == memory::desc(out_dims, kF32, memory::format_tag::nhwc);
  const memory::desc dst =
      channels_last && cx.blocked_output_ok && !cx.plain_only ? permuted : plain(out_dims);
  dnnl::reorder::primitive_desc pd(*cx.engine, permuted, *cx.engine, dst, user_scratchpad());
  auto result =
      std::make_shared<PrimitiveNode>(*cx.engine, dnnl::reorder(pd), pd.scratchpad_desc());
  result->reserve_inputs(in.size());
  result->bind_input_read_as(DNNL_ARG_FROM, 0, plain(dims_of(xs)), arrival, permuted);
  result->bind_output(DNNL_ARG_TO, dst, out_shape);
  return std::shared_ptr<const PreparedNode>(std::move(result));
}

Lowered lower_slice(const ir::Node& node, const LoweringContext& cx,
                    std::span<const NodeInput> in) {
  const Shape& xs = in[0].shape;
  const size_t rank = xs.size();
  if (rank == 0 || rank > DNNL_MAX_NDIMS) return unsupported_shapes("Slice rank");
  std::vector<int64_t> starts, ends, axes, steps;
  if (node.opset < 10) {
    starts = node.attr_ints("starts");
    ends = node.attr_ints("ends");
    axes = node.attr_ints("axes");
  } else {
    ER_ASSIGN_OR_RETURN(auto s, constant_ints(in, 1));
    ER_ASSIGN_OR_RETURN(auto e, constant_ints(in, 2));
    ER_ASSIGN_OR_RETURN(auto a, constant_ints(in, 3));
    ER_ASSIGN_OR_RETURN(auto st, constant_ints(in, 4));
    if (!s || !e) return unsupported_shapes("Slice needs starts and ends");
    starts = *s;
    ends = *e;
    if (a) axes = *a;
    if (st) steps = *st;
  }
  if (axes.empty()) {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size()) {
    return unsupported_shapes("starts, ends, axes and steps differ in length");
  }
  const Dims in_strides = row_major_strides(dims_of(xs));
  Dims out_dims(xs.begin(), xs.end()), view_strides = in_strides;
  int64_t offset = 0;
  std::vector<bool> seen(rank, false);
  for (size_t k = 0; k < starts.size(); ++k) {
    int64_t axis = axes[k] < 0 ? axes[k] + static_cast<int64_t>(rank) : axes[k];
    if (axis < 0 || axis >= static_cast<int64_t>(rank) || seen[static_cast<size_t>(axis)]) {
      return unsupported_shapes("bad Slice axes");  // the reference reports it
    }
    seen[static_cast<size_t>(axis)] = true;
    if (steps[k] <= 0) return unsupported_shapes("only positive Slice steps are lowered");
    const auto a = static_cast<size_t>(axis);
    const reference::SliceAxis s = reference::slice_axis(starts[k], ends[k], steps[k], xs[a]);
    if (s.count <= 0) return unsupported_shapes("empty result");
    out_dims[a] = s.count;
    view_strides[a] = in_strides[a] * s.step;
    offset += s.first * in_strides[a];
  }
  memory::desc view(out_dims, kF32, view_strides);
  view.data.offset0 = offset;
  // The view must name the whole input (its size is checked against the tensor's).
  if (view.get_size() > static_cast<size_t>(shape_size(xs)) * sizeof(float)) {
    return internal_error("Slice view reaches past its input");
  }
  auto node_ptr = strided_copy(cx, in.size(), view, Shape(out_dims.begin(), out_dims.end()));
  return node_ptr;
}

}  // namespace edgerun::onednn::lower
