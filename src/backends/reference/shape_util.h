// Helpers shared by the data-movement (shape family) reference kernels.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "edgerun/status.hpp"
#include "edgerun/tensor.hpp"

namespace edgerun::reference {

// Copies elements between two tensors of the same dtype without knowing the C++ type behind
// it: data movement only needs the bytes, so these kernels are written once for every dtype
// instead of being instantiated per dtype. Strings are the one dtype that needs real copies.
class ElementCopier {
 public:
  ElementCopier(const Tensor& src, Tensor& dst)
      : src_(static_cast<const char*>(src.raw_data())),
        dst_(static_cast<char*>(dst.raw_data())),
        size_(dtype_size(src.dtype())),
        strings_(src.dtype() == DType::kString) {}

  // dst[dst_index .. dst_index + count) = src[src_index .. src_index + count)
  void copy(int64_t dst_index, int64_t src_index, int64_t count = 1) const {
    if (count <= 0) return;
    if (strings_) {
      const auto* s = reinterpret_cast<const std::string*>(src_) + src_index;
      auto* d = reinterpret_cast<std::string*>(dst_) + dst_index;
      for (int64_t i = 0; i < count; ++i) d[i] = s[i];
      return;
    }
    std::memcpy(dst_ + static_cast<size_t>(dst_index) * size_,
                src_ + static_cast<size_t>(src_index) * size_, static_cast<size_t>(count) * size_);
  }

 private:
  const char* src_;
  char* dst_;
  size_t size_;
  bool strings_;
};

// Maps a possibly negative gather/scatter index into [0, dim). The error names the index, the
// axis and the dim, as a bad index is almost always a model or input bug worth pinpointing.
inline Status resolve_index(int64_t index, int64_t axis, int64_t dim, int64_t* resolved) {
  if (index < -dim || index >= dim) {
    return invalid_argument("index " + std::to_string(index) + " is out of range for axis " +
                            std::to_string(axis) + " with dim " + std::to_string(dim) +
                            " (expected " + std::to_string(-dim) + ".." + std::to_string(dim - 1) +
                            ")");
  }
  *resolved = index < 0 ? index + dim : index;
  return Status::ok();
}

// "[1, 2, 3]" for a list of ints (axes, pads, repeats) in error messages.
inline std::string ints_to_string(const std::vector<int64_t>& values) {
  return shape_to_string(values);
}

// Product of dims [begin, end) of a shape.
inline int64_t dims_product(const Shape& shape, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t i = begin; i < end && i < shape.size(); ++i) n *= shape[i];
  return n;
}

// Advances a row-major multi-index over `shape`; returns false after the last element.
inline bool next_index(std::vector<int64_t>& index, const Shape& shape) {
  for (size_t k = shape.size(); k-- > 0;) {
    if (++index[k] < shape[k]) return true;
    index[k] = 0;
  }
  return false;
}

// Axes from an attribute or input may repeat or fall outside the rank; this normalises them
// against `rank` and rejects both, naming the op.
Result<std::vector<int64_t>> normalize_axes(const std::vector<int64_t>& axes, int64_t rank,
                                            std::string_view op);

// The shape Reshape gives an input of `input_shape` for its requested shape (0 copies the input
// dim unless `allow_zero`, one -1 takes what is left). Shared with shape inference, which must
// agree with the kernel.
Result<Shape> reshape_output_shape(const Shape& input_shape, const std::vector<int64_t>& requested,
                                   bool allow_zero);

// One sliced axis: the first index read, the step and how many elements are taken.
struct SliceAxis {
  int64_t first = 0;
  int64_t step = 1;
  int64_t count = 0;
};
// numpy-style clamping of Slice's start/end for an axis of `dim` elements; `step` must not be 0.
SliceAxis slice_axis(int64_t start, int64_t end, int64_t step, int64_t dim);

// Joins tensors of one dtype along `axis` (negative counts from the end); shapes must agree
// outside it. Errors name `op`, the input and the clash.
Result<Tensor> concat_tensors(const std::vector<const Tensor*>& parts, int64_t axis,
                              std::string_view op);
// Cuts `data` along a normalised `axis` into parts of the given lengths, which must sum to the
// axis' dim.
std::vector<Tensor> split_tensor(const Tensor& data, int64_t axis,
                                 const std::vector<int64_t>& lengths);

// Moves the dims of `input` into the order `perm` (out dim i = input dim perm[i]). `perm` must
// be a permutation of [0, rank).
Tensor permute_tensor(const Tensor& input, const std::vector<int64_t>& perm);

}  // namespace edgerun::reference
