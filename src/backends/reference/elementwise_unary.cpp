// One-input elementwise ops: math functions, predicates, activations and Clip.
#include <algorithm>
#include <cmath>
#include <limits>

#include "backends/reference/elementwise_util.h"

namespace edgerun::reference {

using elementwise::kIsFloat;
using elementwise::kIsHalf;
using elementwise::map_unary;
using elementwise::to_storage;
using elementwise::unary_op;

namespace {

using FloatSignedTypes = TypeList<float, double, float16_t, bfloat16_t, int8_t, int16_t, int32_t,
                                  int64_t>;

// Float-only math: f receives float (for float/float16/bfloat16) or double.
template <class F>
Status float_math(KernelContext& ctx, std::string_view name, F&& f) {
  return unary_op<FloatTypes>(ctx, name, std::forward<F>(f));
}

// Ops that output bool from a float input (IsNaN, IsInf).
template <class F>
Status float_predicate(KernelContext& ctx, std::string_view name, F&& f) {
  const Tensor& x = ctx.input(0);
  return dispatch<FloatTypes>(x.dtype(), name, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    ctx.set_output(0, map_unary<T, bool>(x, f));
    return Status::ok();
  });
}

}  // namespace

Status kernel_Abs(KernelContext& ctx) {
  return unary_op<NumericTypes>(ctx, "Abs", [](auto x) {
    using C = decltype(x);
    if constexpr (std::is_unsigned_v<C>) {
      return x;
    } else if constexpr (std::is_integral_v<C>) {
      return x < 0 ? elementwise::wrap_neg(x) : x;
    } else {
      return std::fabs(x);
    }
  });
}

Status kernel_Neg(KernelContext& ctx) {
  return unary_op<FloatSignedTypes>(ctx, "Neg", [](auto x) {
    if constexpr (std::is_integral_v<decltype(x)>) {
      return elementwise::wrap_neg(x);
    } else {
      return -x;
    }
  });
}

Status kernel_Reciprocal(KernelContext& ctx) {
  return float_math(ctx, "Reciprocal", [](auto x) { return decltype(x){1} / x; });
}
Status kernel_Sqrt(KernelContext& ctx) {
  return float_math(ctx, "Sqrt", [](auto x) { return std::sqrt(x); });
}
Status kernel_Exp(KernelContext& ctx) {
  return float_math(ctx, "Exp", [](auto x) { return std::exp(x); });
}
Status kernel_Log(KernelContext& ctx) {
  return float_math(ctx, "Log", [](auto x) { return std::log(x); });
}
Status kernel_Ceil(KernelContext& ctx) {
  return float_math(ctx, "Ceil", [](auto x) { return std::ceil(x); });
}
Status kernel_Floor(KernelContext& ctx) {
  return float_math(ctx, "Floor", [](auto x) { return std::floor(x); });
}
Status kernel_Round(KernelContext& ctx) {
  // nearbyint in the default rounding mode rounds halves to even, as ONNX requires.
  return float_math(ctx, "Round", [](auto x) { return std::nearbyint(x); });
}

Status kernel_Sign(KernelContext& ctx) {
  return unary_op<NumericTypes>(ctx, "Sign", [](auto x) {
    using C = decltype(x);
    if constexpr (std::is_unsigned_v<C>) {
      return static_cast<C>(x > 0 ? 1 : 0);
    } else {
      // NaN compares false both ways and passes through, like numpy.sign.
      return x > C{0} ? C{1} : (x < C{0} ? C{-1} : x);
    }
  });
}

Status kernel_Erf(KernelContext& ctx) {
  return unary_op<NumericTypes>(ctx, "Erf", [](auto x) {
    if constexpr (std::is_integral_v<decltype(x)>) {
      return std::erf(static_cast<double>(x));
    } else {
      return std::erf(x);
    }
  });
}

Status kernel_Sin(KernelContext& ctx) {
  return float_math(ctx, "Sin", [](auto x) { return std::sin(x); });
}
Status kernel_Cos(KernelContext& ctx) {
  return float_math(ctx, "Cos", [](auto x) { return std::cos(x); });
}
Status kernel_Tan(KernelContext& ctx) {
  return float_math(ctx, "Tan", [](auto x) { return std::tan(x); });
}
Status kernel_Asin(KernelContext& ctx) {
  return float_math(ctx, "Asin", [](auto x) { return std::asin(x); });
}
Status kernel_Acos(KernelContext& ctx) {
  return float_math(ctx, "Acos", [](auto x) { return std::acos(x); });
}
Status kernel_Atan(KernelContext& ctx) {
  return float_math(ctx, "Atan", [](auto x) { return std::atan(x); });
}
Status kernel_Sinh(KernelContext& ctx) {
  return float_math(ctx, "Sinh", [](auto x) { return std::sinh(x); });
}
Status kernel_Cosh(KernelContext& ctx) {
  return float_math(ctx, "Cosh", [](auto x) { return std::cosh(x); });
}
Status kernel_Asinh(KernelContext& ctx) {
  return float_math(ctx, "Asinh", [](auto x) { return std::asinh(x); });
}
Status kernel_Acosh(KernelContext& ctx) {
  return float_math(ctx, "Acosh", [](auto x) { return std::acosh(x); });
}
Status kernel_Atanh(KernelContext& ctx) {
  return float_math(ctx, "Atanh", [](auto x) { return std::atanh(x); });
}
Status kernel_Tanh(KernelContext& ctx) {
  return float_math(ctx, "Tanh", [](auto x) { return std::tanh(x); });
}

Status kernel_Not(KernelContext& ctx) {
  return unary_op<TypeList<bool>>(ctx, "Not", [](bool x) { return !x; });
}

Status kernel_IsNaN(KernelContext& ctx) {
  return float_predicate(ctx, "IsNaN", [](auto x) { return std::isnan(x); });
}

Status kernel_IsInf(KernelContext& ctx) {
  const bool pos = ctx.attr_int("detect_positive", 1) != 0;
  const bool neg = ctx.attr_int("detect_negative", 1) != 0;
  return float_predicate(ctx, "IsInf", [&](auto x) {
    return std::isinf(x) && ((x > 0 && pos) || (x < 0 && neg));
  });
}

// ---- Activations -------------------------------------------------------------------------

Status kernel_Relu(KernelContext& ctx) {
  return unary_op<FloatSignedTypes>(ctx, "Relu", [](auto x) {
    using C = decltype(x);
    return x > C{0} ? x : C{0};
  });
}

Status kernel_LeakyRelu(KernelContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 0.01f);
  return float_math(ctx, "LeakyRelu", [&](auto x) {
    using C = decltype(x);
    return x >= C{0} ? x : static_cast<C>(alpha) * x;
  });
}

Status kernel_Elu(KernelContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 1.0f);
  return float_math(ctx, "Elu", [&](auto x) {
    using C = decltype(x);
    return x >= C{0} ? x : static_cast<C>(alpha) * std::expm1(x);
  });
}

Status kernel_Selu(KernelContext& ctx) {
  // Opset 1 documented the constants to 4 decimals; opset 6 gave them in full.
  const bool legacy = ctx.opset() < 6;
  const float alpha = ctx.attr_float("alpha", legacy ? 1.6732f : 1.67326319217681884765625f);
  const float gamma = ctx.attr_float("gamma", legacy ? 1.0507f : 1.05070102214813232421875f);
  return float_math(ctx, "Selu", [&](auto x) {
    using C = decltype(x);
    const C g = static_cast<C>(gamma);
    return x > C{0} ? g * x : g * (static_cast<C>(alpha) * std::exp(x) - static_cast<C>(alpha));
  });
}

Status kernel_Celu(KernelContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 1.0f);
  if (alpha == 0.0f) return invalid_argument("Celu alpha must be non-zero, got 0");
  return float_math(ctx, "Celu", [&](auto x) {
    using C = decltype(x);
    const C a = static_cast<C>(alpha);
    return std::max(C{0}, x) + std::min(C{0}, a * std::expm1(x / a));
  });
}

Status kernel_Sigmoid(KernelContext& ctx) {
  return float_math(ctx, "Sigmoid", [](auto x) {
    using C = decltype(x);
    // Split by sign so exp never overflows.
    if (x >= C{0}) return C{1} / (C{1} + std::exp(-x));
    const C e = std::exp(x);
    return e / (C{1} + e);
  });
}

Status kernel_HardSigmoid(KernelContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 0.2f);
  const float beta = ctx.attr_float("beta", 0.5f);
  return float_math(ctx, "HardSigmoid", [&](auto x) {
    using C = decltype(x);
    return std::clamp(static_cast<C>(alpha) * x + static_cast<C>(beta), C{0}, C{1});
  });
}

Status kernel_HardSwish(KernelContext& ctx) {
  return float_math(ctx, "HardSwish", [](auto x) {
    using C = decltype(x);
    return x * std::clamp(x / C{6} + C{0.5}, C{0}, C{1});
  });
}

// Swish (ai.edgerun, internal; alpha defaults to 1, which is SiLU). Computed as the unfused
// Mul(x, Sigmoid(Mul(x, alpha))) computes it, in the same order, so fusing that pattern changes
// no float32 or double result (float16 and bfloat16 keep the sigmoid in float instead of
// rounding it to 16 bits first). The sigmoid splits by sign so exp never overflows. Where it
// underflows to 0 (|alpha x| beyond ~104 in float) the product's limit is 0, which x * 0 gives
// for finite x but not for x = -inf (or +inf with alpha < 0): those give a signed 0, not the
// unfused NaN.
Status kernel_Swish(KernelContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 1.0f);
  return float_math(ctx, "Swish", [&](auto x) {
    using C = decltype(x);
    const C z = x * static_cast<C>(alpha);  // exact for alpha = 1
    C s;
    if (z >= C{0}) {
      s = C{1} / (C{1} + std::exp(-z));
    } else {
      const C e = std::exp(z);
      s = e / (C{1} + e);
    }
    if (s == C{0}) return std::signbit(x) ? -C{0} : C{0};
    return x * s;
  });
}

// Gelu (opset 20). The exact form is computed in the order the usual exported pattern
// (Div by sqrt(2), Erf, Add 1, Mul x, Mul 0.5) computes it, so fusing that pattern into one node
// changes nothing but the work.
Status kernel_Gelu(KernelContext& ctx) {
  const std::string approximate = ctx.attr_string("approximate", "none");
  if (approximate == "none") {
    return float_math(ctx, "Gelu", [](auto x) {
      using C = decltype(x);
      return x * (std::erf(x / static_cast<C>(1.4142135623730951)) + C{1}) * C{0.5};
    });
  }
  if (approximate == "tanh") {
    return float_math(ctx, "Gelu", [](auto x) {
      using C = decltype(x);
      const C inner = static_cast<C>(0.7978845608028654) * (x + static_cast<C>(0.044715) * x * x * x);
      return C{0.5} * x * (C{1} + std::tanh(inner));
    });
  }
  return invalid_argument("Gelu approximate '" + approximate + "' is not 'none' or 'tanh'");
}

namespace {
// log(1 + exp(x)) without overflow for large x.
template <class C>
C softplus(C x) {
  return x > C{0} ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}
}  // namespace

Status kernel_Softplus(KernelContext& ctx) {
  return float_math(ctx, "Softplus", [](auto x) { return softplus(x); });
}

Status kernel_Mish(KernelContext& ctx) {
  return float_math(ctx, "Mish", [](auto x) { return x * std::tanh(softplus(x)); });
}

Status kernel_Softsign(KernelContext& ctx) {
  return float_math(ctx, "Softsign", [](auto x) {
    using C = decltype(x);
    return x / (C{1} + std::fabs(x));
  });
}

Status kernel_ThresholdedRelu(KernelContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 1.0f);
  return float_math(ctx, "ThresholdedRelu", [&](auto x) {
    using C = decltype(x);
    return x > static_cast<C>(alpha) ? x : C{0};
  });
}

Status kernel_Shrink(KernelContext& ctx) {
  const double lambd = ctx.attr_float("lambd", 0.5f);
  const double bias = ctx.attr_float("bias", 0.0f);
  const Tensor& x = ctx.input(0);
  return dispatch<NumericTypes>(x.dtype(), "Shrink", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    ctx.set_output(0, map_unary<T, T>(x, [&](auto v) {
      const double d = static_cast<double>(v);
      const double r = d < -lambd ? d + bias : (d > lambd ? d - bias : 0.0);
      if constexpr (kIsFloat<T>) {
        return r;
      } else {
        return elementwise::float_to_int<T>(r);
      }
    }));
    return Status::ok();
  });
}

Status kernel_Clip(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (ctx.opset() < 11) {
    // Bounds were attributes, and only float types were allowed.
    const float lo = ctx.attr_float("min", std::numeric_limits<float>::lowest());
    const float hi = ctx.attr_float("max", std::numeric_limits<float>::max());
    return float_math(ctx, "Clip", [&](auto v) {
      using C = decltype(v);
      return std::min(std::max(v, static_cast<C>(lo)), static_cast<C>(hi));
    });
  }
  return dispatch<NumericTypes>(x.dtype(), "Clip", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    using C = compute_t<T>;
    C bounds[2] = {static_cast<C>(std::numeric_limits<T>::lowest()),
                   static_cast<C>(std::numeric_limits<T>::max())};
    if constexpr (kIsHalf<T>) {
      bounds[0] = -std::numeric_limits<float>::infinity();
      bounds[1] = std::numeric_limits<float>::infinity();
    }
    const char* names[2] = {"min", "max"};
    for (size_t k = 0; k < 2; ++k) {
      if (!ctx.has_input(k + 1)) continue;
      const Tensor& b = ctx.input(k + 1);
      if (b.dtype() != x.dtype()) {
        return invalid_argument(std::string("Clip ") + names[k] + " must have the input's dtype " +
                                std::string(dtype_name(x.dtype())) + ", got " +
                                std::string(dtype_name(b.dtype())));
      }
      if (b.size() != 1) {
        return invalid_argument(std::string("Clip ") + names[k] +
                                " must be a scalar, got shape " + shape_to_string(b.shape()));
      }
      bounds[k] = static_cast<C>(b.data<T>()[0]);
    }
    // min(max(x, lo), hi): when lo > hi every element becomes hi, as the spec says.
    ctx.set_output(0, map_unary<T, T>(x, [&](C v) {
      return std::min(std::max(v, bounds[0]), bounds[1]);
    }));
    return Status::ok();
  });
}

}  // namespace edgerun::reference
