// Ops that create tensors from shapes and scalars: ConstantOfShape, Range,
// EyeLike, OneHot.
#include <cmath>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/shape_util.h"

namespace edgerun::reference {

Status kernel_ConstantOfShape(KernelContext& ctx) {
  std::vector<int64_t> shape;
  ER_ASSIGN_OR_RETURN(shape, read_ints(ctx.input(0), "ConstantOfShape shape"));
  for (int64_t d : shape) {
    if (d < 0) {
      return invalid_argument("ConstantOfShape shape " + ints_to_string(shape) +
                              " has a negative dim");
    }
  }
  // Without a value attribute the spec fills float32 zeros.
  Tensor value = Tensor::from_vector<float>({1}, {0.0f});
  if (const ir::Attribute* a = ctx.node().find_attr("value"); a != nullptr) {
    if (a->type != ir::AttrType::kTensor || a->t.size() != 1) {
      return invalid_argument("ConstantOfShape value must be a one-element tensor");
    }
    value = a->t;
  }
  Tensor out(value.dtype(), shape);
  const ElementCopier copier(value, out);
  for (int64_t i = 0; i < out.size(); ++i) copier.copy(i, 0);
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

Status kernel_Range(KernelContext& ctx) {
  const Tensor& start_t = ctx.input(0);
  const Tensor& limit_t = ctx.input(1);
  const Tensor& delta_t = ctx.input(2);
  for (const Tensor* t : {&start_t, &limit_t, &delta_t}) {
    if (t->size() != 1 || t->dtype() != start_t.dtype()) {
      return invalid_argument(
          "Range start, limit and delta must be scalars of one dtype, got " +
          shape_to_string(start_t.shape()) + " " + std::string(dtype_name(start_t.dtype())) + ", " +
          shape_to_string(limit_t.shape()) + " " + std::string(dtype_name(limit_t.dtype())) + ", " +
          shape_to_string(delta_t.shape()) + " " + std::string(dtype_name(delta_t.dtype())));
    }
  }
  using RangeTypes = TypeList<float, double, int16_t, int32_t, int64_t>;
  return dispatch<RangeTypes>(start_t.dtype(), "Range", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T start = start_t.data<T>()[0];
    const T limit = limit_t.data<T>()[0];
    const T delta = delta_t.data<T>()[0];
    if (delta == T(0)) return invalid_argument("Range delta is 0");
    int64_t n = 0;
    if constexpr (std::is_floating_point_v<T>) {
      n = static_cast<int64_t>(std::max(
          0.0, std::ceil((static_cast<double>(limit) - start) / static_cast<double>(delta))));
    } else {
      // Exact integer ceil division; int64 avoids overflow of the narrower
      // types.
      const int64_t diff = static_cast<int64_t>(limit) - static_cast<int64_t>(start);
      const int64_t d = delta;
      if ((diff > 0 && d > 0) || (diff < 0 && d < 0)) n = (diff + d - (d > 0 ? 1 : -1)) / d;
    }
    std::vector<T> values(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      values[static_cast<size_t>(i)] = static_cast<T>(start + static_cast<T>(i) * delta);
    }
    ctx.set_output(0, Tensor::from_vector<T>({n}, values));
    return Status::ok();
  });
}

Status kernel_EyeLike(KernelContext& ctx) {
  const Tensor& like = ctx.input(0);
  if (like.rank() != 2) {
    return invalid_argument("EyeLike expects a rank-2 input, got " + shape_to_string(like.shape()));
  }
  DType dtype = like.dtype();
  if (ctx.has_attr("dtype")) dtype = static_cast<DType>(ctx.attr_int("dtype", 0));
  const int64_t k = ctx.attr_int("k", 0);
  Tensor out(dtype, like.shape());
  ER_RETURN_IF_ERROR(dispatch<NumericBoolTypes>(dtype, "EyeLike", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    T* o = out.data<T>();
    const int64_t rows = like.dim(0), cols = like.dim(1);
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t j = i + k;
      if (j >= 0 && j < cols) o[i * cols + j] = static_cast<T>(static_cast<compute_t<T>>(1));
    }
    return Status::ok();
  }));
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

Status kernel_OneHot(KernelContext& ctx) {
  const Tensor& indices = ctx.input(0);
  const Tensor& values = ctx.input(2);
  std::vector<double> index_values, depth_values;
  ER_ASSIGN_OR_RETURN(index_values, read_doubles(indices, "OneHot indices"));
  ER_ASSIGN_OR_RETURN(depth_values, read_doubles(ctx.input(1), "OneHot depth"));
  if (depth_values.size() != 1 || depth_values[0] < 1) {
    return invalid_argument(
        "OneHot depth must be one value >= 1, got " + std::to_string(depth_values.size()) +
        " values" +
        (depth_values.empty() ? "" : " starting with " + std::to_string(depth_values[0])));
  }
  if (values.size() != 2) {
    return invalid_argument("OneHot values must hold [off_value, on_value], got " +
                            std::to_string(values.size()) + " elements");
  }
  const int64_t depth = static_cast<int64_t>(depth_values[0]);
  const int64_t out_rank = indices.rank() + 1;
  int64_t axis = 0;
  ER_ASSIGN_OR_RETURN(axis, normalize_axis(ctx.attr_int("axis", -1), out_rank));
  const Shape& is = indices.shape();
  Shape out_shape(is.begin(), is.begin() + axis);
  out_shape.push_back(depth);
  out_shape.insert(out_shape.end(), is.begin() + axis, is.end());
  const int64_t outer = dims_product(is, 0, static_cast<size_t>(axis));
  const int64_t inner = dims_product(is, static_cast<size_t>(axis), is.size());
  Tensor out(values.dtype(), out_shape);
  const ElementCopier copier(values, out);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t d = 0; d < depth; ++d) {
      for (int64_t i = 0; i < inner; ++i) {
        const double v = index_values[static_cast<size_t>(o * inner + i)];
        // Negative indices count from the end; anything still outside [0, depth) is all-off
        // (including NaN and values too large for int64, which must not reach the cast).
        int64_t idx = -1;
        if (v >= -static_cast<double>(depth) && v < static_cast<double>(depth)) {
          idx = static_cast<int64_t>(v);
          if (idx < 0) idx += depth;
        }
        copier.copy((o * depth + d) * inner + i, idx == d ? 1 : 0);
      }
    }
  }
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

}  // namespace edgerun::reference
