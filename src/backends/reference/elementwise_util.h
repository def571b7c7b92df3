// Private helpers of the elementwise kernels: element mapping, numpy broadcasting with fast
// paths, legacy (opset < 7) broadcasting, and UB-free integer arithmetic.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "core/dispatch.h"

namespace edgerun::reference::elementwise {

template <class T>
inline constexpr bool kIsHalf = std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>;

template <class T>
inline constexpr bool kIsFloat = std::is_floating_point_v<T> || kIsHalf<T>;

template <class T>
inline constexpr bool kIsInt = std::is_integral_v<T> && !std::is_same_v<T, bool>;

// Converts a computed value back to the storage type; the 16-bit floats only build from float.
template <class T, class V>
T to_storage(V v) {
  if constexpr (kIsHalf<T>) {
    return T(static_cast<float>(v));
  } else {
    return static_cast<T>(v);
  }
}

// Signed overflow is undefined in C++, but ONNX integer arithmetic wraps like the hardware
// does; doing it in the unsigned type gives exactly that.
template <class T>
T wrap_add(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
}
template <class T>
T wrap_sub(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
}
template <class T>
T wrap_mul(T a, T b) {
  using U = std::make_unsigned_t<T>;
  // uint16 * uint16 promotes to (signed) int and can overflow; widen to a type that cannot.
  using W = std::conditional_t<(sizeof(U) < sizeof(unsigned)), unsigned, U>;
  return static_cast<T>(static_cast<U>(static_cast<W>(static_cast<U>(a)) *
                                       static_cast<W>(static_cast<U>(b))));
}
template <class T>
T wrap_neg(T a) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(U{0} - static_cast<U>(a)));
}

// Float to integer the way numpy's astype behaves on common hardware for in-range values
// (truncation toward zero), made total: NaN gives 0 and out-of-range values saturate, so no
// input can trigger undefined behaviour.
template <class T>
T float_to_int(double v) {
  if (std::isnan(v)) return T{0};
  v = std::trunc(v);
  constexpr double lo = static_cast<double>(std::numeric_limits<T>::lowest());
  constexpr double hi = static_cast<double>(std::numeric_limits<T>::max());
  if (v <= lo) return std::numeric_limits<T>::lowest();
  // `hi` may round up past max() for 64-bit types, so compare with >=.
  if (v >= hi) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}

// Writes f(x) for every element; f receives the value in compute_t<I>. `out` (x's shape, dtype
// O) is where to write, e.g. the planned storage from KernelContext::allocate_output; it may be
// x's own bytes (element i is read before it is written). Undefined: a fresh tensor.
template <class I, class O, class F>
Tensor map_unary(const Tensor& x, F&& f, Tensor out = {}) {
  if (!out.defined()) out = Tensor::uninitialized(dtype_of<O>, x.shape());
  const I* in = x.data<I>();
  O* o = out.data<O>();
  for (int64_t i = 0; i < x.size(); ++i) {
    o[i] = to_storage<O>(f(static_cast<compute_t<I>>(in[i])));
  }
  return out;
}

// Dispatches over `List` and maps every element of input 0 through f, keeping the dtype.
template <class List, class F>
Status unary_op(KernelContext& ctx, std::string_view name, F&& f) {
  const Tensor& x = ctx.input(0);
  return dispatch<List>(x.dtype(), name, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    ctx.set_output(0, map_unary<T, T>(x, f, ctx.allocate_output(0, dtype_of<T>, x.shape())));
    return Status::ok();
  });
}

// The shapes a binary op reads its operands as, and the output shape.
struct BinaryShapes {
  Shape out;
  Shape a;
  Shape b;
};

// numpy broadcasting from opset 7 on; before that the `broadcast`/`axis` attributes: without
// broadcast=1 the shapes must match, with it B's shape must equal a contiguous run of A's dims
// starting at `axis` (default: A's trailing dims), and the output has A's shape.
inline Result<BinaryShapes> binary_shapes(const KernelContext& ctx, const Shape& a,
                                          const Shape& b) {
  if (ctx.opset() >= 7) {
    ER_ASSIGN_OR_RETURN(Shape out, broadcast_shapes({a, b}));
    return BinaryShapes{out, a, b};
  }
  if (ctx.attr_int("broadcast", 0) == 0) {
    if (a != b) {
      return invalid_argument("without broadcast=1 (opset " + std::to_string(ctx.opset()) +
                              ") both inputs need the same shape, got " + shape_to_string(a) +
                              " and " + shape_to_string(b));
    }
    return BinaryShapes{a, a, b};
  }
  const int64_t rank_a = static_cast<int64_t>(a.size());
  const int64_t rank_b = static_cast<int64_t>(b.size());
  // A scalar or single-element B broadcasts everywhere.
  if (shape_size(b) == 1 && rank_b <= rank_a) return BinaryShapes{a, a, Shape(a.size(), 1)};
  if (rank_b > rank_a) {
    return invalid_argument("legacy broadcast needs rank(B) <= rank(A), got " +
                            shape_to_string(a) + " and " + shape_to_string(b));
  }
  int64_t axis = ctx.attr_int("axis", rank_a - rank_b);
  if (axis < 0) axis += rank_a;
  if (axis < 0 || axis + rank_b > rank_a) {
    return invalid_argument("legacy broadcast axis " + std::to_string(ctx.attr_int("axis", 0)) +
                            " does not fit B " + shape_to_string(b) + " into A " +
                            shape_to_string(a));
  }
  Shape eff(a.size(), 1);
  for (int64_t i = 0; i < rank_b; ++i) {
    const int64_t d = b[static_cast<size_t>(i)];
    const int64_t want = a[static_cast<size_t>(axis + i)];
    if (d != want && d != 1) {
      return invalid_argument("legacy broadcast: B " + shape_to_string(b) + " at axis " +
                              std::to_string(axis) + " does not match A " + shape_to_string(a));
    }
    eff[static_cast<size_t>(axis + i)] = d;
  }
  return BinaryShapes{a, a, eff};
}

// out[i] = f(a[..], b[..]) over the broadcast shapes, with fast paths for equal shapes and a
// single-element operand (the common cases: same-shaped tensors, tensor op scalar). `out` as for
// map_unary; it may share bytes with an operand of the output's shape.
template <class A, class B, class O, class F>
Tensor apply_binary(const Tensor& a, const Tensor& b, const BinaryShapes& s, F&& f,
                    Tensor out = {}) {
  if (!out.defined()) out = Tensor::uninitialized(dtype_of<O>, s.out);
  const A* pa = a.data<A>();
  const B* pb = b.data<B>();
  O* po = out.data<O>();
  const int64_t n = out.size();
  if (a.size() == n && b.size() == n && s.a == s.out && s.b == s.out) {
    for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
  } else if (a.size() == n && s.a == s.out && b.size() == 1) {
    for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[0]);
  } else if (b.size() == n && s.b == s.out && a.size() == 1) {
    for (int64_t i = 0; i < n; ++i) po[i] = f(pa[0], pb[i]);
  } else {
    BroadcastIterator it(s.out, {s.a, s.b});
    for (int64_t i = 0; i < n; ++i) {
      po[i] = f(pa[it.offset(0)], pb[it.offset(1)]);
      it.next();
    }
  }
  return out;
}

// The usual binary op: both inputs of one dtype from `List`; `f(T, T)` returns the output
// element (of type T, or of type O when O is given, e.g. bool for comparisons).
template <class List, class O = void, class F>
Status binary_op(KernelContext& ctx, std::string_view name, F&& f) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype() != b.dtype()) {
    return invalid_argument(std::string(name) + " needs both inputs of one dtype, got " +
                            std::string(dtype_name(a.dtype())) + " and " +
                            std::string(dtype_name(b.dtype())));
  }
  ER_ASSIGN_OR_RETURN(BinaryShapes shapes, binary_shapes(ctx, a.shape(), b.shape()));
  return dispatch<List>(a.dtype(), name, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    using Out = std::conditional_t<std::is_void_v<O>, T, O>;
    ctx.set_output(0, apply_binary<T, T, Out>(a, b, shapes, f,
                                              ctx.allocate_output(0, dtype_of<Out>, shapes.out)));
    return Status::ok();
  });
}

}  // namespace edgerun::reference::elementwise
