// Element types. The numeric values are ONNX's TensorProto.DataType so that import and the
// C ABI need no translation table.
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "edgerun/half.hpp"

namespace edgerun {

enum class DType : int32_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kFloat64 = 11,
  kUInt32 = 12,
  kUInt64 = 13,
  kComplex64 = 14,
  kComplex128 = 15,
  kBFloat16 = 16,
};

// Bytes per element; 0 for kUndefined. kString reports sizeof(std::string) (in-memory layout).
size_t dtype_size(DType dtype);
// numpy-style names: "float32", "int64", "bool", "string", "bfloat16", ...
std::string_view dtype_name(DType dtype);
std::optional<DType> dtype_from_name(std::string_view name);
bool is_floating(DType dtype);  // float16, bfloat16, float32, float64
bool is_integer(DType dtype);   // signed and unsigned integers, not bool
bool is_signed(DType dtype);

template <class T> struct DTypeOf;
#define ER_DTYPE_OF(T, D) \
  template <> struct DTypeOf<T> { static constexpr DType value = DType::D; }
ER_DTYPE_OF(float, kFloat32);
ER_DTYPE_OF(double, kFloat64);
ER_DTYPE_OF(float16_t, kFloat16);
ER_DTYPE_OF(bfloat16_t, kBFloat16);
ER_DTYPE_OF(int8_t, kInt8);
ER_DTYPE_OF(int16_t, kInt16);
ER_DTYPE_OF(int32_t, kInt32);
ER_DTYPE_OF(int64_t, kInt64);
ER_DTYPE_OF(uint8_t, kUInt8);
ER_DTYPE_OF(uint16_t, kUInt16);
ER_DTYPE_OF(uint32_t, kUInt32);
ER_DTYPE_OF(uint64_t, kUInt64);
ER_DTYPE_OF(bool, kBool);
ER_DTYPE_OF(std::string, kString);
ER_DTYPE_OF(std::complex<float>, kComplex64);
ER_DTYPE_OF(std::complex<double>, kComplex128);
#undef ER_DTYPE_OF

template <class T>
inline constexpr DType dtype_of = DTypeOf<T>::value;

// The type arithmetic is done in: float for the 16-bit floats, the type itself otherwise.
template <class T>
using compute_t = std::conditional_t<std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>,
                                     float, T>;

}  // namespace edgerun
