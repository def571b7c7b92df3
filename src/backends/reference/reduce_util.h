// Helpers shared by the reduce family's kernels (reductions, TopK, CumSum, Resize, losses).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "edgerun/dtype.hpp"

namespace edgerun::reference {

template <class T>
inline constexpr bool kIsFloatLike = std::is_floating_point_v<T> ||
                                     std::is_same_v<T, float16_t> ||
                                     std::is_same_v<T, bfloat16_t>;

// Converts a double result back to the element type. Integer outputs saturate (and NaN becomes
// 0) because a plain cast of an out-of-range double is undefined behaviour.
template <class T>
T from_double(double v) {
  if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
    return T(static_cast<float>(v));
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else if constexpr (std::is_same_v<T, bool>) {
    return v != 0.0;
  } else {
    if (std::isnan(v)) return T(0);
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) {
      return std::numeric_limits<T>::lowest();
    }
    if (v >= static_cast<double>(std::numeric_limits<T>::max())) {
      return std::numeric_limits<T>::max();
    }
    return static_cast<T>(v);
  }
}

template <class T>
double to_double(T v) {
  if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
    return static_cast<double>(static_cast<float>(v));
  } else {
    return static_cast<double>(v);
  }
}

// NaN test that also compiles for integer element types.
template <class T>
bool is_nan_value(T v) {
  if constexpr (kIsFloatLike<T>) {
    return std::isnan(to_double(v));
  } else {
    return false;
  }
}

}  // namespace edgerun::reference
