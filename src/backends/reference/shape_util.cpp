#include "backends/reference/shape_util.h"

#include <algorithm>

#include "backends/reference/kernel_util.h"

namespace edgerun::reference {

Result<std::vector<int64_t>> normalize_axes(const std::vector<int64_t>& axes, int64_t rank,
                                            std::string_view op) {
  std::vector<int64_t> out;
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (int64_t axis : axes) {
    if (axis < -rank || axis >= rank) {
      return invalid_argument(std::string(op) + " axis " + std::to_string(axis) +
                              " is out of range for rank " + std::to_string(rank) + " (expected " +
                              std::to_string(-rank) + ".." + std::to_string(rank - 1) + ")");
    }
    const int64_t a = axis < 0 ? axis + rank : axis;
    if (seen[static_cast<size_t>(a)]) {
      return invalid_argument(std::string(op) + " axes " + ints_to_string(axes) + " name axis " +
                              std::to_string(a) + " twice");
    }
    seen[static_cast<size_t>(a)] = true;
    out.push_back(a);
  }
  return out;
}

Tensor permute_tensor(const Tensor& input, const std::vector<int64_t>& perm) {
  const size_t rank = perm.size();
  Shape out_shape(rank);
  const std::vector<int64_t> in_strides = strides_of(input.shape());
  // Stride in the input of a step along each output dim.
  std::vector<int64_t> step(rank);
  for (size_t i = 0; i < rank; ++i) {
    out_shape[i] = input.dim(perm[i]);
    step[i] = in_strides[static_cast<size_t>(perm[i])];
  }
  Tensor out(input.dtype(), out_shape);
  if (out.size() == 0) return out;
  const ElementCopier copier(input, out);
  std::vector<int64_t> index(rank, 0);
  int64_t src = 0;
  for (int64_t dst = 0; dst < out.size(); ++dst) {
    copier.copy(dst, src);
    // Odometer step that keeps the input offset in sync with the output index.
    for (size_t k = rank; k-- > 0;) {
      if (++index[k] < out_shape[k]) {
        src += step[k];
        break;
      }
      src -= step[k] * (out_shape[k] - 1);
      index[k] = 0;
    }
  }
  return out;
}

Result<Shape> reshape_output_shape(const Shape& input_shape, const std::vector<int64_t>& requested,
                                   bool allow_zero) {
  const int64_t input_size = shape_size(input_shape);
  Shape out(requested.size());
  int64_t inferred = -1;
  int64_t known = 1;
  bool has_zero = false;
  for (size_t i = 0; i < requested.size(); ++i) {
    const int64_t d = requested[i];
    if (d == -1) {
      if (inferred >= 0) {
        return invalid_argument("Reshape shape " + ints_to_string(requested) +
                                " has more than one -1");
      }
      inferred = static_cast<int64_t>(i);
      continue;
    }
    if (d < -1) {
      return invalid_argument("Reshape shape " + ints_to_string(requested) + " has dim " +
                              std::to_string(d) + " (expected >= -1)");
    }
    if (d == 0 && !allow_zero) {
      if (i >= input_shape.size()) {
        return invalid_argument("Reshape shape " + ints_to_string(requested) + " copies dim " +
                                std::to_string(i) + " (0) but the input " +
                                shape_to_string(input_shape) + " has rank " +
                                std::to_string(input_shape.size()));
      }
      out[i] = input_shape[i];
    } else {
      out[i] = d;
      has_zero = has_zero || d == 0;
    }
    known *= out[i];
  }
  if (inferred >= 0) {
    if (has_zero) {
      return invalid_argument("Reshape shape " + ints_to_string(requested) +
                              " has both 0 (with allowzero=1) and -1");
    }
    if (known == 0 || input_size % known != 0) {
      return invalid_argument(
          "Reshape cannot infer the -1 dim of " + ints_to_string(requested) + ": the input " +
          shape_to_string(input_shape) + " has " + std::to_string(input_size) +
          " elements, not a multiple of the other dims' product " + std::to_string(known));
    }
    out[static_cast<size_t>(inferred)] = input_size / known;
  }
  if (shape_size(out) != input_size) {
    return invalid_argument("Reshape of " + shape_to_string(input_shape) + " (" +
                            std::to_string(input_size) + " elements) to " +
                            ints_to_string(requested) + " gives " + shape_to_string(out) + " (" +
                            std::to_string(shape_size(out)) + " elements); expected " +
                            std::to_string(input_size) + " elements");
  }
  return out;
}

SliceAxis slice_axis(int64_t start, int64_t end, int64_t step, int64_t dim) {
  // Clamp before adding dim so INT64_MIN/MAX sentinels cannot overflow.
  int64_t b = std::clamp(start, -dim - 1, dim + 1);
  int64_t e = std::clamp(end, -dim - 1, dim + 1);
  if (b < 0) b += dim;
  if (e < 0) e += dim;
  SliceAxis axis;
  axis.step = step;
  if (step > 0) {
    b = std::clamp<int64_t>(b, 0, dim);
    e = std::clamp<int64_t>(e, 0, dim);
    axis.count = e > b ? (e - b + step - 1) / step : 0;
  } else if (dim > 0) {
    b = std::clamp<int64_t>(b, 0, dim - 1);
    e = std::clamp<int64_t>(e, -1, dim - 1);
    axis.count = b > e ? (b - e + (-step) - 1) / (-step) : 0;
  }
  axis.first = b;
  return axis;
}

}  // namespace edgerun::reference
