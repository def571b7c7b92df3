// TopK: the k largest (or smallest) elements along an axis, with their indices.
#include <algorithm>
#include <numeric>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/reduce_util.h"

namespace edgerun::reference {

Status kernel_TopK(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() == 0) return invalid_argument("TopK needs an input of rank >= 1, got a scalar");
  int64_t k = 0;
  if (ctx.opset() >= 10) {
    if (!ctx.has_input(1)) return invalid_argument("TopK needs the K input from opset 10");
    ER_ASSIGN_OR_RETURN(std::vector<int64_t> kv, read_ints(ctx.input(1), "K"));
    if (kv.size() != 1) {
      return invalid_argument("K must hold exactly one value, got " + std::to_string(kv.size()));
    }
    k = kv[0];
  } else {
    if (!ctx.has_attr("k")) return invalid_argument("TopK before opset 10 needs the k attribute");
    k = ctx.attr_int("k", 0);
  }
  ER_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(ctx.attr_int("axis", -1), x.rank()));
  const bool largest = ctx.opset() < 11 || ctx.attr_int("largest", 1) != 0;
  const int64_t len = x.dim(axis);
  if (k < 0 || k > len) {
    return invalid_argument("K must be in 0.." + std::to_string(len) + " (the size of axis " +
                            std::to_string(axis) + "), got " + std::to_string(k));
  }
  int64_t outer = 1;
  int64_t inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x.dim(i);
  for (int64_t i = axis + 1; i < x.rank(); ++i) inner *= x.dim(i);
  Shape out_shape = x.shape();
  out_shape[axis] = k;
  Tensor values(x.dtype(), out_shape);
  Tensor indices(DType::kInt64, out_shape);
  int64_t* idx_out = indices.data<int64_t>();
  ER_RETURN_IF_ERROR(dispatch<NumericTypes>(x.dtype(), "TopK", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    using C = compute_t<T>;
    const T* in = x.data<T>();
    T* val_out = values.data<T>();
    std::vector<int64_t> order(static_cast<size_t>(len));
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const T* base = in + o * len * inner + i;
        // NaN ranks above every number (and equal to other NaNs) so the ordering stays a
        // strict weak ordering; ties keep the lower index first thanks to the stable sort.
        auto before = [&](int64_t a, int64_t b) {
          const C va = static_cast<C>(base[a * inner]);
          const C vb = static_cast<C>(base[b * inner]);
          const bool na = is_nan_value(va);
          const bool nb = is_nan_value(vb);
          if (na || nb) return largest ? (na && !nb) : (!na && nb);
          return largest ? va > vb : va < vb;
        };
        std::iota(order.begin(), order.end(), int64_t{0});
        std::stable_sort(order.begin(), order.end(), before);
        for (int64_t j = 0; j < k; ++j) {
          const int64_t dst = (o * k + j) * inner + i;
          val_out[dst] = base[order[j] * inner];
          idx_out[dst] = order[j];
        }
      }
    }
    return Status::ok();
  }));
  ctx.set_output(0, values);
  ctx.set_output(1, indices);
  return Status::ok();
}

}  // namespace edgerun::reference
