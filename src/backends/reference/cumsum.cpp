// CumSum: running sums along one axis, optionally exclusive and/or reversed.
#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/reduce_util.h"

namespace edgerun::reference {

Status kernel_CumSum(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (!ctx.has_input(1)) return invalid_argument("CumSum needs the axis input");
  ER_ASSIGN_OR_RETURN(std::vector<int64_t> axis_v, read_ints(ctx.input(1), "axis"));
  if (axis_v.size() != 1 || ctx.input(1).rank() > 1) {
    return invalid_argument("CumSum axis must be a scalar, got shape " +
                            shape_to_string(ctx.input(1).shape()));
  }
  if (x.rank() == 0) return invalid_argument("CumSum needs an input of rank >= 1, got a scalar");
  ER_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_v[0], x.rank()));
  const bool exclusive = ctx.attr_int("exclusive", 0) != 0;
  const bool reverse = ctx.attr_int("reverse", 0) != 0;
  const int64_t len = x.dim(axis);
  int64_t outer = 1;
  int64_t inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x.dim(i);
  for (int64_t i = axis + 1; i < x.rank(); ++i) inner *= x.dim(i);
  Tensor out(x.dtype(), x.shape());
  ER_RETURN_IF_ERROR(dispatch<NumericTypes>(x.dtype(), "CumSum", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    using C = compute_t<T>;
    const T* in = x.data<T>();
    T* dst = out.data<T>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t base = o * len * inner + i;
        C sum = C(0);
        for (int64_t s = 0; s < len; ++s) {
          const int64_t at = base + (reverse ? len - 1 - s : s) * inner;
          const C v = static_cast<C>(in[at]);
          if (!exclusive) sum = static_cast<C>(sum + v);
          dst[at] = T(sum);
          if (exclusive) sum = static_cast<C>(sum + v);
        }
      }
    }
    return Status::ok();
  }));
  ctx.set_output(0, out);
  return Status::ok();
}

}  // namespace edgerun::reference
