// Reductions over axes (ReduceSum, ReduceMean, ...) and ArgMax / ArgMin.
#include <algorithm>
#include <cmath>
#include <limits>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/reduce_util.h"

namespace edgerun::reference {
namespace {

enum class ReduceKind {
  kSum, kMean, kMax, kMin, kProd, kL1, kL2, kLogSum, kLogSumExp, kSumSquare
};

struct ReducePlan {
  std::vector<bool> reduced;  // per input axis
  Shape kept_shape;           // the output shape with reduced axes kept as 1
  Shape out_shape;            // what the op returns (keepdims applied)
};

// Works out which axes are reduced. `axes_input_since` is the opset from which the axes come
// from the optional second input instead of the attribute.
Result<ReducePlan> plan_reduction(const KernelContext& ctx, int64_t axes_input_since) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> axes;
  if (ctx.opset() >= axes_input_since) {
    if (ctx.has_input(1)) {
      ER_ASSIGN_OR_RETURN(axes, read_ints(ctx.input(1), "axes"));
    }
  } else {
    axes = ctx.attr_ints("axes");
  }
  const bool keepdims = ctx.attr_int("keepdims", 1) != 0;
  // Reducing over no axes at all keeps every element on its own (x for Sum, x*x for
  // SumSquare, ...), which is what noop_with_empty_axes asks for.
  const bool noop = axes.empty() && ctx.attr_int("noop_with_empty_axes", 0) != 0;
  ReducePlan plan;
  const int64_t rank = x.rank();
  plan.reduced.assign(static_cast<size_t>(rank), axes.empty() && !noop);
  for (int64_t a : axes) {
    ER_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(a, rank));
    if (plan.reduced[axis]) {
      return invalid_argument("axes lists axis " + std::to_string(a) + " twice");
    }
    plan.reduced[axis] = true;
  }
  for (int64_t i = 0; i < rank; ++i) {
    if (plan.reduced[i]) {
      plan.kept_shape.push_back(1);
      if (keepdims) plan.out_shape.push_back(1);
    } else {
      plan.kept_shape.push_back(x.dim(i));
      plan.out_shape.push_back(x.dim(i));
    }
  }
  return plan;
}

// Calls f(in_offset, out_offset) for every input element in row-major order, where out_offset
// is the element of the kept-dims output it reduces into.
template <class F>
void for_each_element(const Shape& in_shape, const Shape& kept_shape, F&& f) {
  const int64_t total = shape_size(in_shape);
  if (total == 0) return;
  const std::vector<int64_t> out_strides = broadcast_strides(kept_shape, in_shape);
  const size_t rank = in_shape.size();
  std::vector<int64_t> index(rank, 0);
  int64_t out = 0;
  for (int64_t i = 0; i < total; ++i) {
    f(i, out);
    for (size_t k = rank; k-- > 0;) {
      if (++index[k] < in_shape[k]) {
        out += out_strides[k];
        break;
      }
      out -= out_strides[k] * (in_shape[k] - 1);
      index[k] = 0;
    }
  }
}

// Exact accumulators: int64/uint64 for integers, double for floats.
template <class T>
using acc_t = std::conditional_t<kIsFloatLike<T>, double,
                                 std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>;

template <class T>
Status reduce_typed(ReduceKind kind, const Tensor& x, const ReducePlan& plan, Tensor& out) {
  using A = acc_t<T>;
  const T* in = x.data<T>();
  T* dst = out.data<T>();
  const int64_t n_out = out.size();
  const int64_t count = n_out == 0 ? 0 : x.size() / n_out;
  auto val = [&](int64_t i) -> A {
    if constexpr (kIsFloatLike<T>) {
      return to_double(in[i]);
    } else {
      return static_cast<A>(in[i]);
    }
  };
  switch (kind) {
    case ReduceKind::kSum:
    case ReduceKind::kMean:
    case ReduceKind::kL1:
    case ReduceKind::kSumSquare:
    case ReduceKind::kProd: {
      std::vector<A> acc(static_cast<size_t>(n_out), kind == ReduceKind::kProd ? A(1) : A(0));
      for_each_element(x.shape(), plan.kept_shape, [&](int64_t i, int64_t o) {
        const A v = val(i);
        switch (kind) {
          case ReduceKind::kProd: acc[o] *= v; break;
          case ReduceKind::kSumSquare: acc[o] += v * v; break;
          case ReduceKind::kL1:
            if constexpr (std::is_unsigned_v<A>) {
              acc[o] += v;
            } else {
              acc[o] += v < 0 ? -v : v;
            }
            break;
          default: acc[o] += v; break;
        }
      });
      for (int64_t o = 0; o < n_out; ++o) {
        A r = acc[o];
        if (kind == ReduceKind::kMean) {
          if constexpr (kIsFloatLike<T>) {
            r = r / static_cast<double>(count);  // NaN for an empty reduction
          } else {
            r = count == 0 ? A(0) : r / static_cast<A>(count);
          }
        }
        if constexpr (kIsFloatLike<T>) {
          dst[o] = from_double<T>(r);
        } else {
          dst[o] = static_cast<T>(r);
        }
      }
      return Status::ok();
    }
    case ReduceKind::kMax:
    case ReduceKind::kMin: {
      const bool is_max = kind == ReduceKind::kMax;
      A init;
      if constexpr (kIsFloatLike<T>) {
        init = is_max ? -std::numeric_limits<double>::infinity()
                      : std::numeric_limits<double>::infinity();
      } else {
        init = is_max ? static_cast<A>(std::numeric_limits<T>::lowest())
                      : static_cast<A>(std::numeric_limits<T>::max());
      }
      std::vector<A> acc(static_cast<size_t>(n_out), init);
      for_each_element(x.shape(), plan.kept_shape, [&](int64_t i, int64_t o) {
        const A v = val(i);
        // NaN propagates as in numpy: once the accumulator is NaN no comparison replaces it.
        if constexpr (kIsFloatLike<T>) {
          if (std::isnan(v)) {
            acc[o] = v;
            return;
          }
        }
        if (is_max ? v > acc[o] : v < acc[o]) acc[o] = v;
      });
      for (int64_t o = 0; o < n_out; ++o) {
        if constexpr (kIsFloatLike<T>) {
          dst[o] = from_double<T>(acc[o]);
        } else {
          dst[o] = static_cast<T>(acc[o]);
        }
      }
      return Status::ok();
    }
    case ReduceKind::kL2:
    case ReduceKind::kLogSum: {
      std::vector<double> acc(static_cast<size_t>(n_out), 0.0);
      for_each_element(x.shape(), plan.kept_shape, [&](int64_t i, int64_t o) {
        const double v = to_double(in[i]);
        acc[o] += kind == ReduceKind::kL2 ? v * v : v;
      });
      for (int64_t o = 0; o < n_out; ++o) {
        dst[o] = from_double<T>(kind == ReduceKind::kL2 ? std::sqrt(acc[o]) : std::log(acc[o]));
      }
      return Status::ok();
    }
    case ReduceKind::kLogSumExp: {
      // Shift by the maximum so that exp() cannot overflow.
      std::vector<double> peak(static_cast<size_t>(n_out),
                               -std::numeric_limits<double>::infinity());
      for_each_element(x.shape(), plan.kept_shape, [&](int64_t i, int64_t o) {
        const double v = to_double(in[i]);
        if (std::isnan(v) || v > peak[o]) peak[o] = std::isnan(peak[o]) ? peak[o] : v;
      });
      std::vector<double> acc(static_cast<size_t>(n_out), 0.0);
      for_each_element(x.shape(), plan.kept_shape, [&](int64_t i, int64_t o) {
        if (std::isfinite(peak[o])) acc[o] += std::exp(to_double(in[i]) - peak[o]);
      });
      for (int64_t o = 0; o < n_out; ++o) {
        const double r = std::isfinite(peak[o]) ? peak[o] + std::log(acc[o]) : peak[o];
        dst[o] = from_double<T>(r);
      }
      return Status::ok();
    }
  }
  return internal_error("unhandled reduction kind");
}

Status reduce(KernelContext& ctx, ReduceKind kind, const char* name, int64_t axes_input_since) {
  const Tensor& x = ctx.input(0);
  ER_ASSIGN_OR_RETURN(ReducePlan plan, plan_reduction(ctx, axes_input_since));
  Tensor out(x.dtype(), plan.kept_shape);
  ER_RETURN_IF_ERROR(dispatch<NumericTypes>(x.dtype(), name, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    return reduce_typed<T>(kind, x, plan, out);
  }));
  ctx.set_output(0, out.reshaped(plan.out_shape));
  return Status::ok();
}

Status arg_extreme(KernelContext& ctx, bool is_max, const char* name) {
  const Tensor& x = ctx.input(0);
  ER_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(ctx.attr_int("axis", 0), x.rank()));
  const bool keepdims = ctx.attr_int("keepdims", 1) != 0;
  const bool last = ctx.opset() >= 12 && ctx.attr_int("select_last_index", 0) != 0;
  const int64_t rank = x.rank();
  const int64_t len = rank == 0 ? 1 : x.dim(axis);
  if (len == 0) {
    return invalid_argument(std::string(name) + " needs a non-empty axis, but axis " +
                            std::to_string(axis) + " of shape " + shape_to_string(x.shape()) +
                            " has size 0");
  }
  int64_t outer = 1;
  int64_t inner = 1;
  Shape out_shape;
  for (int64_t i = 0; i < rank; ++i) {
    if (i < axis) outer *= x.dim(i);
    if (i > axis) inner *= x.dim(i);
    if (i != axis) {
      out_shape.push_back(x.dim(i));
    } else if (keepdims) {
      out_shape.push_back(1);
    }
  }
  Tensor out(DType::kInt64, out_shape);
  int64_t* dst = out.data<int64_t>();
  ER_RETURN_IF_ERROR(dispatch<NumericTypes>(x.dtype(), name, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    using C = compute_t<T>;
    const T* in = x.data<T>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const T* base = in + o * len * inner + i;
        int64_t best = 0;
        C best_v = static_cast<C>(base[0]);
        // numpy semantics: the first NaN wins and stays.
        bool best_nan = is_nan_value(best_v);
        for (int64_t k = 1; k < len && !best_nan; ++k) {
          const C v = static_cast<C>(base[k * inner]);
          if (is_nan_value(v)) {
            best = k;
            best_nan = true;
            break;
          }
          const bool better = is_max ? (last ? v >= best_v : v > best_v)
                                     : (last ? v <= best_v : v < best_v);
          if (better) {
            best = k;
            best_v = v;
          }
        }
        dst[o * inner + i] = best;
      }
    }
    return Status::ok();
  }));
  ctx.set_output(0, out);
  return Status::ok();
}

}  // namespace

Status kernel_ReduceSum(KernelContext& ctx) {
  return reduce(ctx, ReduceKind::kSum, "ReduceSum", 13);
}
Status kernel_ReduceMean(KernelContext& ctx) {
  return reduce(ctx, ReduceKind::kMean, "ReduceMean", 18);
}
Status kernel_ReduceMax(KernelContext& ctx) {
  return reduce(ctx, ReduceKind::kMax, "ReduceMax", 18);
}
Status kernel_ReduceMin(KernelContext& ctx) {
  return reduce(ctx, ReduceKind::kMin, "ReduceMin", 18);
}
Status kernel_ReduceProd(KernelContext& ctx) {
  return reduce(ctx, ReduceKind::kProd, "ReduceProd", 18);
}
Status kernel_ReduceL1(KernelContext& ctx) {
  return reduce(ctx, ReduceKind::kL1, "ReduceL1", 18);
}
Status kernel_ReduceL2(KernelContext& ctx) {
  return reduce(ctx, ReduceKind::kL2, "ReduceL2", 18);
}
Status kernel_ReduceLogSum(KernelContext& ctx) {
  return reduce(ctx, ReduceKind::kLogSum, "ReduceLogSum", 18);
}
Status kernel_ReduceLogSumExp(KernelContext& ctx) {
  return reduce(ctx, ReduceKind::kLogSumExp, "ReduceLogSumExp", 18);
}
Status kernel_ReduceSumSquare(KernelContext& ctx) {
  return reduce(ctx, ReduceKind::kSumSquare, "ReduceSumSquare", 18);
}
Status kernel_ArgMax(KernelContext& ctx) { return arg_extreme(ctx, true, "ArgMax"); }
Status kernel_ArgMin(KernelContext& ctx) { return arg_extreme(ctx, false, "ArgMin"); }

}  // namespace edgerun::reference
