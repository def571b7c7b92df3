// 16-bit floating-point storage types. Arithmetic happens in float: each type converts to
// float implicitly and is built from float explicitly, with IEEE round-to-nearest-even.
#pragma once

#include <cstdint>

namespace edgerun {

struct float16_t {
  uint16_t bits = 0;

  float16_t() = default;
  explicit float16_t(float value) : bits(from_float(value)) {}
  explicit float16_t(double value) : float16_t(static_cast<float>(value)) {}
  operator float() const { return to_float(bits); }  // NOLINT: implicit by design

  static float16_t from_bits(uint16_t b) {
    float16_t h;
    h.bits = b;
    return h;
  }
  static uint16_t from_float(float value);
  static float to_float(uint16_t bits);
};

struct bfloat16_t {
  uint16_t bits = 0;

  bfloat16_t() = default;
  explicit bfloat16_t(float value) : bits(from_float(value)) {}
  explicit bfloat16_t(double value) : bfloat16_t(static_cast<float>(value)) {}
  operator float() const { return to_float(bits); }  // NOLINT: implicit by design

  static bfloat16_t from_bits(uint16_t b) {
    bfloat16_t h;
    h.bits = b;
    return h;
  }
  static uint16_t from_float(float value);
  static float to_float(uint16_t bits);
};

}  // namespace edgerun
