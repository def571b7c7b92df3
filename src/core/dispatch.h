// Runs a generic lambda for the C++ type behind a runtime DType.
//
//   return dispatch<kNumericTypes>(t.dtype(), "Relu", [&](auto tag) -> Status {
//     using T = typename decltype(tag)::type;
//     ...
//   });
//
// A dtype outside the list gives an "unsupported" status naming the op and the dtype.
#pragma once

#include <complex>
#include <string>
#include <string_view>

#include "edgerun/dtype.hpp"
#include "edgerun/status.hpp"

namespace edgerun {

template <class T>
struct TypeTag {
  using type = T;
};

template <class... Ts>
struct TypeList {};

using FloatTypes = TypeList<float, double, float16_t, bfloat16_t>;
using SignedIntTypes = TypeList<int8_t, int16_t, int32_t, int64_t>;
using UnsignedIntTypes = TypeList<uint8_t, uint16_t, uint32_t, uint64_t>;
using IntTypes = TypeList<int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t>;
using NumericTypes = TypeList<float, double, float16_t, bfloat16_t, int8_t, int16_t, int32_t,
                              int64_t, uint8_t, uint16_t, uint32_t, uint64_t>;
using NumericBoolTypes = TypeList<float, double, float16_t, bfloat16_t, int8_t, int16_t, int32_t,
                                  int64_t, uint8_t, uint16_t, uint32_t, uint64_t, bool>;
using AllTypes = TypeList<float, double, float16_t, bfloat16_t, int8_t, int16_t, int32_t, int64_t,
                          uint8_t, uint16_t, uint32_t, uint64_t, bool, std::string,
                          std::complex<float>, std::complex<double>>;

namespace detail {
template <class F, class T, class... Rest>
Status dispatch_impl(DType dtype, std::string_view what, F&& f, TypeList<T, Rest...>) {
  if (dtype == dtype_of<T>) return f(TypeTag<T>{});
  if constexpr (sizeof...(Rest) > 0) {
    return dispatch_impl(dtype, what, std::forward<F>(f), TypeList<Rest...>{});
  } else {
    return unsupported(std::string(what) + " does not support dtype " +
                       std::string(dtype_name(dtype)));
  }
}
}  // namespace detail

template <class List, class F>
Status dispatch(DType dtype, std::string_view what, F&& f) {
  return detail::dispatch_impl(dtype, what, std::forward<F>(f), List{});
}

}  // namespace edgerun
