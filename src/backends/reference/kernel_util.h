// Small helpers shared by reference kernels: axes, strides, numpy broadcasting, int tensors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edgerun/status.hpp"
#include "edgerun/tensor.hpp"

namespace edgerun::reference {

// Maps a possibly negative axis into [0, rank); an error names the axis and the rank.
Result<int64_t> normalize_axis(int64_t axis, int64_t rank);

// Row-major element strides of a shape.
std::vector<int64_t> strides_of(const Shape& shape);

// numpy broadcasting of any number of shapes; an error names the two clashing dims.
Result<Shape> broadcast_shapes(const std::vector<Shape>& shapes);

// Strides to read `input` as if it had `out_shape` (0 where a dim is broadcast). `input` must
// broadcast to `out_shape`.
std::vector<int64_t> broadcast_strides(const Shape& input, const Shape& out_shape);

// Walks every element of `out_shape` in row-major order and keeps, for each of N inputs, the
// offset of the element that broadcasts to it. Use: for (i...) { f(it.offset(0), it.offset(1));
// it.next(); }
class BroadcastIterator {
 public:
  BroadcastIterator(const Shape& out_shape, const std::vector<Shape>& inputs);
  int64_t offset(size_t input) const { return offsets_[input]; }
  void next();

 private:
  Shape shape_;
  std::vector<std::vector<int64_t>> strides_;
  std::vector<int64_t> index_;
  std::vector<int64_t> offsets_;
};

// Reads an integer tensor (int32 or int64, any shape) as int64 values.
Result<std::vector<int64_t>> read_ints(const Tensor& t, std::string_view what);

// Any float-like tensor as doubles (for scalar parameters such as alpha inputs).
Result<std::vector<double>> read_doubles(const Tensor& t, std::string_view what);

}  // namespace edgerun::reference
