// ReduceMean, ReduceSum, ReduceMax and ReduceMin on oneDNN's reduction primitive. Max and Min
// are exact; Sum and Mean add in another order than the reference, within the fp32 budget.
#include "backends/onednn/lower_ops.h"

namespace edgerun::onednn::lower {

Lowered lower_reduce(const ir::Node& node, const LoweringContext& cx,
                     std::span<const NodeInput> in) {
  const Shape& xs = in[0].shape;
  const size_t rank = xs.size();
  if (rank == 0 || rank > DNNL_MAX_NDIMS) return unsupported_shapes("reduction rank");
  // Axes: an attribute, or (ReduceSum from opset 13, the others from 18) a constant input.
  const bool axes_from_input = node.opset >= (*node.op == ir::Op::ReduceSum ? 13 : 18);
  std::vector<int64_t> axes;
  if (!axes_from_input) {
    axes = node.attr_ints("axes");
  } else if (in.size() > 1 && in[1].present) {
    const Tensor* t = in[1].constant;
    if (t == nullptr || t->dtype() != DType::kInt64) {
      return unsupported_shapes("the axes must be a constant int64 tensor");
    }
    axes.assign(t->data<int64_t>(), t->data<int64_t>() + t->size());
  }
  if (axes.empty() && node.attr_int("noop_with_empty_axes", 0) != 0) {
    return unsupported_shapes("noop_with_empty_axes is left to the reference");
  }
  std::vector<bool> reduced(rank, axes.empty());
  for (int64_t a : axes) {
    const int64_t axis = a < 0 ? a + static_cast<int64_t>(rank) : a;
    if (axis < 0 || axis >= static_cast<int64_t>(rank) || reduced[static_cast<size_t>(axis)]) {
      return unsupported_shapes("bad axes");  // the reference reports it
    }
    reduced[static_cast<size_t>(axis)] = true;
  }
  const bool keepdims = node.attr_int("keepdims", 1) != 0;
  Dims kept;
  Shape out_shape;
  for (size_t i = 0; i < rank; ++i) {
    kept.push_back(reduced[i] ? 1 : xs[i]);
    if (!reduced[i] || keepdims) out_shape.push_back(reduced[i] ? 1 : xs[i]);
  }
  dnnl::algorithm alg = dnnl::algorithm::reduction_sum;
  switch (*node.op) {
    case ir::Op::ReduceMean: alg = dnnl::algorithm::reduction_mean; break;
    case ir::Op::ReduceSum: alg = dnnl::algorithm::reduction_sum; break;
    case ir::Op::ReduceMax: alg = dnnl::algorithm::reduction_max; break;
    case ir::Op::ReduceMin: alg = dnnl::algorithm::reduction_min; break;
    default: return internal_error("not a lowered reduction: " + node.describe());
  }
  const memory::desc src = plain(dims_of(xs)), dst = plain(kept);
  if (src == dst) return unsupported_shapes("nothing to reduce");  // oneDNN refuses it
  dnnl::reduction::desc d(alg, src, dst, 0.0f, 0.0f);
  dnnl::reduction::primitive_desc pd(d, user_scratchpad(), *cx.engine);
  auto result =
      std::make_shared<PrimitiveNode>(*cx.engine, dnnl::reduction(pd), pd.scratchpad_desc());
  result->reserve_inputs(in.size());
  result->bind_input(DNNL_ARG_SRC, 0, src, src);
  result->bind_output(DNNL_ARG_DST, dst, std::move(out_shape));
  return std::shared_ptr<const PreparedNode>(std::move(result));
}

}  // namespace edgerun::onednn::lower
