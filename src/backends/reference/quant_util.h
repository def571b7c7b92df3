// Helpers shared by the quantisation kernels (quant_*.cpp): rounding, saturation and reading the
// scale / zero-point tensors. Private to the quant family.
//
// These kernels are the ground truth int8 models are measured against, so rounding is written
// out explicitly instead of relying on the floating-point environment's rounding mode.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/dispatch.h"
#include "edgerun/status.hpp"
#include "edgerun/tensor.hpp"

namespace edgerun::reference::quant {

// Type lists without commas, so dispatch calls can sit inside ER_RETURN_IF_ERROR.
using Int8Types = TypeList<uint8_t, int8_t>;
using QuantInputTypes = TypeList<float, int32_t>;              // QuantizeLinear x
using DequantInputTypes = TypeList<uint8_t, int8_t, int32_t>;  // DequantizeLinear x

// Round to nearest, ties to even (what ONNX specifies for every quantising op). v - floor(v) is
// exact for any finite binary float, so the tie test is exact too.
template <class F>
F round_half_even(F v) {
  if (!std::isfinite(v)) return v;
  const F lower = std::floor(v);
  const F diff = v - lower;
  if (diff > F(0.5)) return lower + F(1);
  if (diff < F(0.5)) return lower;
  return std::fmod(lower, F(2)) == F(0) ? lower : lower + F(1);
}

// Clamps an already rounded value into Q's range. NaN has no quantised value; it maps to 0 so
// the result stays deterministic (numpy's cast of NaN is undefined).
template <class Q, class F>
Q saturate(F v) {
  if (std::isnan(v)) return Q(0);
  const F lo = static_cast<F>(std::numeric_limits<Q>::lowest());
  const F hi = static_cast<F>(std::numeric_limits<Q>::max());
  if (v <= lo) return std::numeric_limits<Q>::lowest();
  if (v >= hi) return std::numeric_limits<Q>::max();
  return static_cast<Q>(v);
}

// A scale or zero point is per-tensor when it holds one value and is a scalar or a 1-element
// vector (models in the wild use shape [1] for per-tensor parameters).
inline bool is_per_tensor(const Tensor& t) { return t.size() == 1 && t.rank() <= 1; }

// A float32 scale tensor as floats. ONNX does not forbid zero or negative scales (x / 0 simply
// saturates), so only the dtype is checked.
inline Result<std::vector<float>> read_scales(const Tensor& t, std::string_view what) {
  if (t.dtype() != DType::kFloat32) {
    return invalid_argument(std::string(what) + " must be float32, got " +
                            std::string(dtype_name(t.dtype())));
  }
  return t.to_vector<float>();
}

// An 8-bit or 32-bit integer zero-point tensor widened to int32.
inline Result<std::vector<int32_t>> read_zero_points(const Tensor& t, std::string_view what) {
  std::vector<int32_t> out(static_cast<size_t>(t.size()));
  Status s = dispatch<DequantInputTypes>(t.dtype(), what, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = t.data<T>();
    for (int64_t i = 0; i < t.size(); ++i) out[static_cast<size_t>(i)] = static_cast<int32_t>(p[i]);
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return out;
}

// Checks that a zero point has the dtype of the tensor it belongs to (ONNX ties them to one
// type variable) and the shape of its scale.
inline Status check_zero_point(const Tensor& zp, DType expected_dtype, const Shape& scale_shape,
                               std::string_view what) {
  if (zp.dtype() != expected_dtype) {
    return invalid_argument(std::string(what) + " must have dtype " +
                            std::string(dtype_name(expected_dtype)) + ", got " +
                            std::string(dtype_name(zp.dtype())));
  }
  if (zp.shape() != scale_shape && !(zp.size() == 1 && shape_size(scale_shape) == 1)) {
    return invalid_argument(std::string(what) + " must have the shape of its scale " +
                            shape_to_string(scale_shape) + ", got " + shape_to_string(zp.shape()));
  }
  return Status::ok();
}

// Requantises an int32 accumulator: saturate(round(acc * multiplier) + zero_point). The
// multiplier is a float32 (scale products are formed in float32, as the ONNX reference does);
// the product is formed in double so that every int32 accumulator is represented exactly.
template <class Q>
Q requantize(int32_t acc, float multiplier, int32_t zero_point) {
  const double v = round_half_even(static_cast<double>(acc) * static_cast<double>(multiplier));
  return saturate<Q>(v + static_cast<double>(zero_point));
}

}  // namespace edgerun::reference::quant
