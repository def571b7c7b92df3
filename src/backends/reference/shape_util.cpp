#include "backends/reference/shape_util.h"

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

}  // namespace edgerun::reference
