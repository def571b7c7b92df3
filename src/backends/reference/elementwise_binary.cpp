// Multi-input elementwise ops with numpy broadcasting: arithmetic, Pow, Mod, bit and logic ops,
// comparisons, the variadic Sum/Mean/Max/Min, Where and PRelu.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "backends/reference/elementwise_util.h"

namespace edgerun::reference {

using elementwise::apply_binary;
using elementwise::binary_op;
using elementwise::binary_shapes;
using elementwise::BinaryShapes;
using elementwise::kIsFloat;
using elementwise::kIsInt;
using elementwise::to_storage;

namespace {

using EqualTypes = TypeList<float, double, float16_t, bfloat16_t, int8_t, int16_t, int32_t,
                            int64_t, uint8_t, uint16_t, uint32_t, uint64_t, bool, std::string>;

// Arithmetic on storage values: the 16-bit floats go through float, integers wrap on overflow.
template <class T, class FloatOp, class IntOp>
T arith(T a, T b, FloatOp fop, IntOp iop) {
  if constexpr (kIsInt<T>) {
    return iop(a, b);
  } else {
    using C = compute_t<T>;
    return to_storage<T>(fop(static_cast<C>(a), static_cast<C>(b)));
  }
}

Status integer_division_by_zero(std::string_view op) {
  return invalid_argument(std::string(op) + ": integer division by zero");
}

}  // namespace

Status kernel_Add(KernelContext& ctx) {
  return binary_op<NumericTypes>(ctx, "Add", [](auto a, auto b) {
    return arith(a, b, [](auto x, auto y) { return x + y; },
                 [](auto x, auto y) { return elementwise::wrap_add(x, y); });
  });
}

Status kernel_Sub(KernelContext& ctx) {
  return binary_op<NumericTypes>(ctx, "Sub", [](auto a, auto b) {
    return arith(a, b, [](auto x, auto y) { return x - y; },
                 [](auto x, auto y) { return elementwise::wrap_sub(x, y); });
  });
}

Status kernel_Mul(KernelContext& ctx) {
  return binary_op<NumericTypes>(ctx, "Mul", [](auto a, auto b) {
    return arith(a, b, [](auto x, auto y) { return x * y; },
                 [](auto x, auto y) { return elementwise::wrap_mul(x, y); });
  });
}

Status kernel_Div(KernelContext& ctx) {
  bool by_zero = false;
  Status s = binary_op<NumericTypes>(ctx, "Div", [&](auto a, auto b) {
    return arith(a, b, [](auto x, auto y) { return x / y; }, [&](auto x, auto y) {
      using T = decltype(x);
      if (y == 0) {
        by_zero = true;
        return T{0};
      }
      // Integer division truncates toward zero (C semantics); MIN / -1 wraps to MIN.
      if constexpr (std::is_signed_v<T>) {
        if (y == -1) return elementwise::wrap_neg(x);
      }
      return static_cast<T>(x / y);
    });
  });
  if (s.is_ok() && by_zero) return integer_division_by_zero("Div");
  return s;
}

namespace {

// base^exp for integers by repeated squaring, wrapping on overflow. A negative exponent gives
// the truncated reciprocal: 0 except for bases 1 and -1.
template <class T>
T int_pow(T base, int64_t exp) {
  if (exp < 0) {
    if (base == 1) return T{1};
    if constexpr (std::is_signed_v<T>) {
      if (base == -1) return (exp % 2 == 0) ? T{1} : T{-1};
    }
    return T{0};
  }
  T result{1};
  while (exp > 0) {
    if (exp & 1) result = elementwise::wrap_mul(result, base);
    base = elementwise::wrap_mul(base, base);
    exp >>= 1;
  }
  return result;
}

// One Pow element: integer bases with integer exponents stay exact, everything else goes
// through double.
template <class T, class E>
T pow_element(T x, E y) {
  if constexpr (kIsInt<T> && kIsInt<E>) {
    if constexpr (std::is_unsigned_v<E>) {
      const uint64_t e = static_cast<uint64_t>(y);
      return int_pow(x, static_cast<int64_t>(std::min<uint64_t>(e, 1ull << 62)));
    } else {
      return int_pow(x, static_cast<int64_t>(y));
    }
  } else if constexpr (kIsInt<T>) {
    return elementwise::float_to_int<T>(
        std::pow(static_cast<double>(x), static_cast<double>(static_cast<compute_t<E>>(y))));
  } else {
    using C = compute_t<T>;
    const double e = static_cast<double>(static_cast<compute_t<E>>(y));
    return to_storage<T>(static_cast<C>(std::pow(static_cast<double>(static_cast<C>(x)), e)));
  }
}

}  // namespace

Status kernel_Pow(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  // Before opset 12 base and exponent shared one dtype; later the exponent may differ.
  if (ctx.opset() < 12 && a.dtype() != b.dtype()) {
    return invalid_argument("Pow (opset " + std::to_string(ctx.opset()) +
                            ") needs base and exponent of one dtype, got " +
                            std::string(dtype_name(a.dtype())) + " and " +
                            std::string(dtype_name(b.dtype())));
  }
  ER_ASSIGN_OR_RETURN(BinaryShapes shapes, binary_shapes(ctx, a.shape(), b.shape()));
  return dispatch<NumericTypes>(a.dtype(), "Pow", [&](auto base_tag) -> Status {
    using T = typename decltype(base_tag)::type;
    return dispatch<NumericTypes>(b.dtype(), "Pow exponent", [&](auto exp_tag) -> Status {
      using E = typename decltype(exp_tag)::type;
      ctx.set_output(0, apply_binary<T, E, T>(a, b, shapes, pow_element<T, E>));
      return Status::ok();
    });
  });
}

Status kernel_Mod(KernelContext& ctx) {
  const bool c_fmod = ctx.attr_int("fmod", 0) != 0;
  bool by_zero = false;
  Status s = binary_op<NumericTypes>(ctx, "Mod", [&](auto a, auto b) {
    using T = decltype(a);
    if constexpr (kIsInt<T>) {
      if (b == 0) {
        by_zero = true;
        return T{0};
      }
      if constexpr (std::is_signed_v<T>) {
        if (b == -1) return T{0};  // MIN % -1 would trap
      }
      T r = static_cast<T>(a % b);
      // fmod=0: the result takes the divisor's sign (Python / numpy.mod).
      if constexpr (std::is_signed_v<T>) {
        if (!c_fmod && r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
      }
      return r;
    } else {
      using C = compute_t<T>;
      const C x = static_cast<C>(a);
      const C y = static_cast<C>(b);
      C r = std::fmod(x, y);
      if (!c_fmod && r != C{0} && ((r < C{0}) != (y < C{0}))) r += y;
      return to_storage<T>(r);
    }
  });
  if (s.is_ok() && by_zero) return integer_division_by_zero("Mod");
  return s;
}

Status kernel_BitShift(KernelContext& ctx) {
  const std::string direction = ctx.attr_string("direction", "");
  if (direction != "LEFT" && direction != "RIGHT") {
    return invalid_argument("BitShift direction must be \"LEFT\" or \"RIGHT\", got \"" +
                            direction + "\"");
  }
  const bool left = direction == "LEFT";
  return binary_op<UnsignedIntTypes>(ctx, "BitShift", [&](auto x, auto y) {
    using T = decltype(x);
    // Shifting by the bit width or more is undefined in C++; every bit is shifted out.
    if (y >= static_cast<T>(sizeof(T) * 8)) return T{0};
    return static_cast<T>(left ? x << y : x >> y);
  });
}

Status kernel_BitwiseAnd(KernelContext& ctx) {
  return binary_op<IntTypes>(ctx, "BitwiseAnd",
                             [](auto x, auto y) { return static_cast<decltype(x)>(x & y); });
}
Status kernel_BitwiseOr(KernelContext& ctx) {
  return binary_op<IntTypes>(ctx, "BitwiseOr",
                             [](auto x, auto y) { return static_cast<decltype(x)>(x | y); });
}
Status kernel_BitwiseXor(KernelContext& ctx) {
  return binary_op<IntTypes>(ctx, "BitwiseXor",
                             [](auto x, auto y) { return static_cast<decltype(x)>(x ^ y); });
}
Status kernel_BitwiseNot(KernelContext& ctx) {
  return elementwise::unary_op<IntTypes>(
      ctx, "BitwiseNot", [](auto x) { return static_cast<decltype(x)>(~x); });
}

Status kernel_And(KernelContext& ctx) {
  return binary_op<TypeList<bool>>(ctx, "And", [](bool x, bool y) { return x && y; });
}
Status kernel_Or(KernelContext& ctx) {
  return binary_op<TypeList<bool>>(ctx, "Or", [](bool x, bool y) { return x || y; });
}
Status kernel_Xor(KernelContext& ctx) {
  return binary_op<TypeList<bool>>(ctx, "Xor", [](bool x, bool y) { return x != y; });
}

namespace {

// Compares in compute_t so that the 16-bit floats compare as floats.
template <class Cmp>
Status compare_op(KernelContext& ctx, std::string_view name, Cmp cmp) {
  return binary_op<NumericTypes, bool>(ctx, name, [&](auto x, auto y) -> bool {
    using C = compute_t<decltype(x)>;
    return cmp(static_cast<C>(x), static_cast<C>(y));
  });
}

}  // namespace

Status kernel_Equal(KernelContext& ctx) {
  return binary_op<EqualTypes, bool>(ctx, "Equal", [](const auto& x, const auto& y) -> bool {
    using T = std::decay_t<decltype(x)>;
    if constexpr (elementwise::kIsHalf<T>) {
      return static_cast<float>(x) == static_cast<float>(y);
    } else {
      return x == y;
    }
  });
}
Status kernel_Greater(KernelContext& ctx) {
  return compare_op(ctx, "Greater", [](auto x, auto y) { return x > y; });
}
Status kernel_Less(KernelContext& ctx) {
  return compare_op(ctx, "Less", [](auto x, auto y) { return x < y; });
}
Status kernel_GreaterOrEqual(KernelContext& ctx) {
  return compare_op(ctx, "GreaterOrEqual", [](auto x, auto y) { return x >= y; });
}
Status kernel_LessOrEqual(KernelContext& ctx) {
  return compare_op(ctx, "LessOrEqual", [](auto x, auto y) { return x <= y; });
}

// ---- Variadic ops ------------------------------------------------------------------------

namespace {

// Folds inputs 0..N-1 elementwise with `combine` (in compute_t), then maps each result through
// `finish` (which also receives N). Broadcasting is numpy-style from opset 8; earlier opsets
// required identical shapes.
template <class List, class Combine, class Finish>
Status variadic_op(KernelContext& ctx, std::string_view name, Combine combine, Finish finish) {
  const size_t n = ctx.num_inputs();
  if (n == 0) return invalid_argument(std::string(name) + " needs at least one input, got 0");
  std::vector<Shape> shapes;
  for (size_t k = 0; k < n; ++k) {
    if (!ctx.has_input(k)) {
      return invalid_argument(std::string(name) + " input " + std::to_string(k) +
                              " is missing; every input is required");
    }
    const Tensor& t = ctx.input(k);
    if (t.dtype() != ctx.input(0).dtype()) {
      return invalid_argument(std::string(name) + " needs all inputs of one dtype: input 0 is " +
                              std::string(dtype_name(ctx.input(0).dtype())) + ", input " +
                              std::to_string(k) + " is " + std::string(dtype_name(t.dtype())));
    }
    if (ctx.opset() < 8 && t.shape() != ctx.input(0).shape()) {
      return invalid_argument(std::string(name) + " (opset " + std::to_string(ctx.opset()) +
                              ") needs all inputs of one shape: input 0 is " +
                              shape_to_string(ctx.input(0).shape()) + ", input " +
                              std::to_string(k) + " is " + shape_to_string(t.shape()));
    }
    shapes.push_back(t.shape());
  }
  ER_ASSIGN_OR_RETURN(Shape out_shape, broadcast_shapes(shapes));
  return dispatch<List>(ctx.input(0).dtype(), name, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    using C = compute_t<T>;
    const int64_t total = shape_size(out_shape);
    std::vector<C> acc(static_cast<size_t>(total));
    for (size_t k = 0; k < n; ++k) {
      const T* in = ctx.input(k).data<T>();
      BroadcastIterator it(out_shape, {shapes[k]});
      for (int64_t i = 0; i < total; ++i) {
        const C v = static_cast<C>(in[it.offset(0)]);
        acc[static_cast<size_t>(i)] = k == 0 ? v : combine(acc[static_cast<size_t>(i)], v);
        it.next();
      }
    }
    Tensor out(dtype_of<T>, out_shape);
    T* po = out.data<T>();
    for (int64_t i = 0; i < total; ++i) {
      po[i] = to_storage<T>(finish(acc[static_cast<size_t>(i)], n));
    }
    ctx.set_output(0, std::move(out));
    return Status::ok();
  });
}

const auto kKeep = [](auto v, size_t) { return v; };

// numpy.maximum / minimum propagate NaN from either side.
template <class C>
C nan_max(C a, C b) {
  if constexpr (std::is_floating_point_v<C>) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<C>::quiet_NaN();
  }
  return a < b ? b : a;
}
template <class C>
C nan_min(C a, C b) {
  if constexpr (std::is_floating_point_v<C>) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<C>::quiet_NaN();
  }
  return b < a ? b : a;
}

}  // namespace

Status kernel_Sum(KernelContext& ctx) {
  return variadic_op<NumericTypes>(
      ctx, "Sum",
      [](auto a, auto b) {
        if constexpr (kIsInt<decltype(a)>) {
          return elementwise::wrap_add(a, b);
        } else {
          return a + b;
        }
      },
      kKeep);
}

Status kernel_Mean(KernelContext& ctx) {
  return variadic_op<FloatTypes>(
      ctx, "Mean", [](auto a, auto b) { return a + b; },
      [](auto v, size_t n) { return v / static_cast<decltype(v)>(n); });
}

Status kernel_Max(KernelContext& ctx) {
  return variadic_op<NumericTypes>(
      ctx, "Max", [](auto a, auto b) { return nan_max(a, b); }, kKeep);
}

Status kernel_Min(KernelContext& ctx) {
  return variadic_op<NumericTypes>(
      ctx, "Min", [](auto a, auto b) { return nan_min(a, b); }, kKeep);
}

Status kernel_Where(KernelContext& ctx) {
  const Tensor& cond = ctx.input(0);
  const Tensor& x = ctx.input(1);
  const Tensor& y = ctx.input(2);
  if (cond.dtype() != DType::kBool) {
    return invalid_argument("Where condition must be bool, got " +
                            std::string(dtype_name(cond.dtype())));
  }
  if (x.dtype() != y.dtype()) {
    return invalid_argument("Where needs X and Y of one dtype, got " +
                            std::string(dtype_name(x.dtype())) + " and " +
                            std::string(dtype_name(y.dtype())));
  }
  ER_ASSIGN_OR_RETURN(Shape out_shape, broadcast_shapes({cond.shape(), x.shape(), y.shape()}));
  return dispatch<AllTypes>(x.dtype(), "Where", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    Tensor out(dtype_of<T>, out_shape);
    const bool* pc = cond.data<bool>();
    const T* px = x.data<T>();
    const T* py = y.data<T>();
    T* po = out.data<T>();
    BroadcastIterator it(out_shape, {cond.shape(), x.shape(), y.shape()});
    for (int64_t i = 0; i < out.size(); ++i) {
      po[i] = pc[it.offset(0)] ? px[it.offset(1)] : py[it.offset(2)];
      it.next();
    }
    ctx.set_output(0, std::move(out));
    return Status::ok();
  });
}

Status kernel_PRelu(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& slope = ctx.input(1);
  if (x.dtype() != slope.dtype()) {
    return invalid_argument("PRelu needs X and slope of one dtype, got " +
                            std::string(dtype_name(x.dtype())) + " and " +
                            std::string(dtype_name(slope.dtype())));
  }
  // The slope broadcasts to X only (unidirectionally). Before opset 7 (Caffe2 heritage) a 1-D
  // slope of X's channel count applies per channel, along axis 1.
  Shape slope_shape = slope.shape();
  if (ctx.opset() < 7 && slope.rank() == 1 && x.rank() >= 2 && slope.dim(0) == x.dim(1)) {
    slope_shape = Shape(static_cast<size_t>(x.rank() - 1), 1);
    slope_shape[0] = slope.dim(0);
  }
  const Result<Shape> b = broadcast_shapes({x.shape(), slope_shape});
  if (!b.is_ok() || *b != x.shape()) {
    return invalid_argument("PRelu slope of shape " + shape_to_string(slope.shape()) +
                            " does not broadcast to X of shape " + shape_to_string(x.shape()));
  }
  const BinaryShapes shapes{x.shape(), x.shape(), slope_shape};
  return dispatch<NumericTypes>(x.dtype(), "PRelu", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    ctx.set_output(0, apply_binary<T, T, T>(x, slope, shapes, [](T v, T s) -> T {
      using C = compute_t<T>;
      const C cv = static_cast<C>(v);
      if (cv >= C{0}) return v;
      if constexpr (kIsInt<T>) {
        return elementwise::wrap_mul(v, s);
      } else {
        return to_storage<T>(cv * static_cast<C>(s));
      }
    }));
    return Status::ok();
  });
}

}  // namespace edgerun::reference
