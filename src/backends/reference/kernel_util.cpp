#include "backends/reference/kernel_util.h"

#include "core/dispatch.h"

namespace edgerun::reference {

Result<int64_t> normalize_axis(int64_t axis, int64_t rank) {
  const int64_t lo = rank == 0 ? -1 : -rank;
  const int64_t hi = rank == 0 ? 0 : rank - 1;
  if (axis < lo || axis > hi) {
    return invalid_argument("axis " + std::to_string(axis) + " is out of range for rank " +
                            std::to_string(rank) + " (expected " + std::to_string(lo) + ".." +
                            std::to_string(hi) + ")");
  }
  return axis < 0 ? axis + (rank == 0 ? 1 : rank) : axis;
}

std::vector<int64_t> strides_of(const Shape& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i) {
    strides[i] = strides[i + 1] * shape[i + 1];
  }
  return strides;
}

Result<Shape> broadcast_shapes(const std::vector<Shape>& shapes) {
  size_t rank = 0;
  for (const Shape& s : shapes) rank = std::max(rank, s.size());
  Shape out(rank, 1);
  for (const Shape& s : shapes) {
    const size_t pad = rank - s.size();
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t& o = out[pad + i];
      const int64_t d = s[i];
      if (d == o || d == 1) continue;
      if (o == 1) {
        o = d;
        continue;
      }
      std::string all;
      for (const Shape& t : shapes) all += (all.empty() ? "" : " and ") + shape_to_string(t);
      return invalid_argument("shapes " + all + " do not broadcast: dim " +
                              std::to_string(pad + i) + " is " + std::to_string(o) + " vs " +
                              std::to_string(d));
    }
  }
  return out;
}

std::vector<int64_t> broadcast_strides(const Shape& input, const Shape& out_shape) {
  std::vector<int64_t> result(out_shape.size(), 0);
  const std::vector<int64_t> own = strides_of(input);
  const size_t pad = out_shape.size() - input.size();
  for (size_t i = 0; i < input.size(); ++i) result[pad + i] = input[i] == 1 ? 0 : own[i];
  return result;
}

BroadcastIterator::BroadcastIterator(const Shape& out_shape, const std::vector<Shape>& inputs)
    : shape_(out_shape), index_(out_shape.size(), 0), offsets_(inputs.size(), 0) {
  for (const Shape& s : inputs) strides_.push_back(broadcast_strides(s, out_shape));
}

void BroadcastIterator::next() {
  for (int64_t axis = static_cast<int64_t>(shape_.size()) - 1; axis >= 0; --axis) {
    if (++index_[axis] < shape_[axis]) {
      for (size_t k = 0; k < strides_.size(); ++k) offsets_[k] += strides_[k][axis];
      return;
    }
    for (size_t k = 0; k < strides_.size(); ++k) {
      offsets_[k] -= strides_[k][axis] * (shape_[axis] - 1);
    }
    index_[axis] = 0;
  }
}

Result<std::vector<int64_t>> read_ints(const Tensor& t, std::string_view what) {
  std::vector<int64_t> out(static_cast<size_t>(t.size()));
  if (t.dtype() == DType::kInt64) {
    for (int64_t i = 0; i < t.size(); ++i) out[i] = t.data<int64_t>()[i];
  } else if (t.dtype() == DType::kInt32) {
    for (int64_t i = 0; i < t.size(); ++i) out[i] = t.data<int32_t>()[i];
  } else {
    return invalid_argument(std::string(what) + " must be int32 or int64, got " +
                            std::string(dtype_name(t.dtype())));
  }
  return out;
}

Result<std::vector<double>> read_doubles(const Tensor& t, std::string_view what) {
  std::vector<double> out(static_cast<size_t>(t.size()));
  Status s = dispatch<NumericBoolTypes>(t.dtype(), what, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    for (int64_t i = 0; i < t.size(); ++i) out[i] = static_cast<double>(t.data<T>()[i]);
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return out;
}

}  // namespace edgerun::reference
