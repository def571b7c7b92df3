// Ops that read or change only a tensor's shape: Shape, Size, Reshape, Flatten,
// Squeeze, Unsqueeze. The reshaping ones share the input's storage, which is
// safe because no kernel writes into its inputs.
#include <algorithm>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/shape_util.h"

namespace edgerun::reference {

namespace {

// Axes come from an attribute up to opset 12 and from an optional int input
// from opset 13.
Result<std::vector<int64_t>> axes_attr_or_input(KernelContext& ctx, size_t input_index,
                                                bool* given) {
  if (ctx.opset() < 13) {
    *given = ctx.has_attr("axes");
    return ctx.attr_ints("axes");
  }
  *given = ctx.has_input(input_index);
  if (!*given) return std::vector<int64_t>{};
  return read_ints(ctx.input(input_index), "axes");
}

}  // namespace

Status kernel_Shape(KernelContext& ctx) {
  const Shape& shape = ctx.input(0).shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  int64_t start = 0;
  int64_t end = rank;
  if (ctx.opset() >= 15) {
    // Out-of-range start/end are clamped, not rejected (spec).
    auto clamp_axis = [rank](int64_t a) {
      return std::clamp(a < 0 ? a + rank : a, int64_t{0}, rank);
    };
    start = clamp_axis(ctx.attr_int("start", 0));
    if (ctx.has_attr("end")) end = clamp_axis(ctx.attr_int("end", rank));
  }
  const int64_t n = std::max<int64_t>(end - start, 0);
  std::vector<int64_t> dims(shape.begin() + start, shape.begin() + start + n);
  ctx.set_output(0, Tensor::from_vector<int64_t>({n}, dims));
  return Status::ok();
}

Status kernel_Size(KernelContext& ctx) {
  ctx.set_output(0, Tensor::scalar<int64_t>(ctx.input(0).size()));
  return Status::ok();
}

Status kernel_Reshape(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  std::vector<int64_t> requested;
  if (ctx.opset() < 5) {
    if (!ctx.has_attr("shape")) return invalid_model("Reshape-1 needs a 'shape' attribute");
    requested = ctx.attr_ints("shape");
  } else {
    if (!ctx.has_input(1)) return invalid_model("Reshape needs a shape input");
    ER_ASSIGN_OR_RETURN(requested, read_ints(ctx.input(1), "Reshape shape"));
  }
  const bool allow_zero = ctx.opset() >= 14 && ctx.attr_int("allowzero", 0) != 0;

  ER_ASSIGN_OR_RETURN(Shape out, reshape_output_shape(data.shape(), requested, allow_zero));
  ctx.set_output(0, data.reshaped(out));
  return Status::ok();
}

Status kernel_Flatten(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const int64_t rank = data.rank();
  int64_t axis = ctx.attr_int("axis", 1);
  // axis == rank is valid here (everything goes into the first dim), unlike
  // most ops.
  const int64_t lo = ctx.opset() >= 11 ? -rank : 0;
  if (axis < lo || axis > rank) {
    return invalid_argument("Flatten axis " + std::to_string(axis) + " is out of range for rank " +
                            std::to_string(rank) + " (expected " + std::to_string(lo) + ".." +
                            std::to_string(rank) + ")");
  }
  if (axis < 0) axis += rank;
  const Shape& s = data.shape();
  const size_t a = static_cast<size_t>(axis);
  ctx.set_output(0, data.reshaped({dims_product(s, 0, a), dims_product(s, a, s.size())}));
  return Status::ok();
}

Status kernel_Squeeze(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  bool given = false;
  std::vector<int64_t> axes;
  ER_ASSIGN_OR_RETURN(axes, axes_attr_or_input(ctx, 1, &given));
  Shape out;
  if (!given || axes.empty()) {
    for (int64_t d : data.shape()) {
      if (d != 1) out.push_back(d);
    }
  } else {
    ER_ASSIGN_OR_RETURN(axes, normalize_axes(axes, data.rank(), "Squeeze"));
    std::vector<bool> drop(static_cast<size_t>(data.rank()), false);
    for (int64_t a : axes) {
      if (data.dim(a) != 1) {
        return invalid_argument("Squeeze axis " + std::to_string(a) + " of " +
                                shape_to_string(data.shape()) + " has dim " +
                                std::to_string(data.dim(a)) + " (expected 1)");
      }
      drop[static_cast<size_t>(a)] = true;
    }
    for (int64_t i = 0; i < data.rank(); ++i) {
      if (!drop[static_cast<size_t>(i)]) out.push_back(data.dim(i));
    }
  }
  ctx.set_output(0, data.reshaped(out));
  return Status::ok();
}

Status kernel_Unsqueeze(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  bool given = false;
  std::vector<int64_t> axes;
  ER_ASSIGN_OR_RETURN(axes, axes_attr_or_input(ctx, 1, &given));
  if (!given) return invalid_model("Unsqueeze needs axes");
  const int64_t out_rank = data.rank() + static_cast<int64_t>(axes.size());
  ER_ASSIGN_OR_RETURN(axes, normalize_axes(axes, out_rank, "Unsqueeze"));
  std::vector<bool> inserted(static_cast<size_t>(out_rank), false);
  for (int64_t a : axes) inserted[static_cast<size_t>(a)] = true;
  Shape out;
  size_t next = 0;
  for (int64_t i = 0; i < out_rank; ++i) {
    out.push_back(inserted[static_cast<size_t>(i)] ? 1 : data.shape()[next++]);
  }
  ctx.set_output(0, data.reshaped(out));
  return Status::ok();
}

}  // namespace edgerun::reference
