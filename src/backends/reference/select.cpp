// Ops that pick, mask or reorder elements by position or value: Compress,
// NonZero, Trilu, ReverseSequence.
#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/shape_util.h"

namespace edgerun::reference {

Status kernel_Compress(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& condition = ctx.input(1);
  if (condition.dtype() != DType::kBool || condition.rank() != 1) {
    return invalid_argument("Compress condition must be a 1-D bool tensor, got " +
                            std::string(dtype_name(condition.dtype())) + " " +
                            shape_to_string(condition.shape()));
  }
  const bool* keep = condition.data<bool>();
  // Without an axis the input is treated as flattened.
  const bool flat = !ctx.has_attr("axis");
  const Tensor source = flat ? data.reshaped({data.size()}) : data;
  int64_t axis = 0;
  if (!flat) {
    ER_ASSIGN_OR_RETURN(axis, normalize_axis(ctx.attr_int("axis", 0), data.rank()));
  }
  if (source.rank() == 0) return invalid_argument("Compress needs an input of rank >= 1");
  const int64_t dim = source.dim(axis);
  if (condition.size() > dim) {
    return invalid_argument("Compress condition has " + std::to_string(condition.size()) +
                            " entries but axis " + std::to_string(axis) + " has dim " +
                            std::to_string(dim));
  }
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < condition.size(); ++i) {
    if (keep[i]) kept.push_back(i);
  }
  const Shape& s = source.shape();
  const size_t a = static_cast<size_t>(axis);
  Shape out_shape = s;
  out_shape[a] = static_cast<int64_t>(kept.size());
  const int64_t outer = dims_product(s, 0, a);
  const int64_t inner = dims_product(s, a + 1, s.size());
  Tensor out(data.dtype(), out_shape);
  const ElementCopier copier(source, out);
  const int64_t n = static_cast<int64_t>(kept.size());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < n; ++j) {
      copier.copy((o * n + j) * inner, (o * dim + kept[static_cast<size_t>(j)]) * inner, inner);
    }
  }
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

Status kernel_NonZero(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  std::vector<bool> nonzero(static_cast<size_t>(data.size()));
  ER_RETURN_IF_ERROR(dispatch<AllTypes>(data.dtype(), "NonZero", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T* p = data.data<T>();
    for (int64_t i = 0; i < data.size(); ++i) {
      if constexpr (std::is_same_v<T, std::string>) {
        nonzero[static_cast<size_t>(i)] = !p[i].empty();
      } else {
        nonzero[static_cast<size_t>(i)] = static_cast<compute_t<T>>(p[i]) != compute_t<T>{};
      }
    }
    return Status::ok();
  }));
  int64_t count = 0;
  for (bool b : nonzero) count += b ? 1 : 0;
  // A scalar is reported like a one-element vector (numpy's behaviour).
  const Shape shape = data.rank() == 0 ? Shape{1} : data.shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  Tensor out(DType::kInt64, {rank, count});
  int64_t* o = out.data<int64_t>();
  if (data.size() > 0) {
    std::vector<int64_t> index(shape.size(), 0);
    int64_t i = 0;
    int64_t column = 0;
    do {
      if (nonzero[static_cast<size_t>(i++)]) {
        for (int64_t k = 0; k < rank; ++k) o[k * count + column] = index[static_cast<size_t>(k)];
        ++column;
      }
    } while (next_index(index, shape));
  }
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

Status kernel_Trilu(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  if (data.rank() < 2) {
    return invalid_argument("Trilu expects an input of rank >= 2, got " +
                            shape_to_string(data.shape()));
  }
  int64_t k = 0;
  if (ctx.has_input(1)) {
    std::vector<int64_t> kv;
    ER_ASSIGN_OR_RETURN(kv, read_ints(ctx.input(1), "Trilu k"));
    if (kv.size() != 1) {
      return invalid_argument("Trilu k must be a single value, got " + std::to_string(kv.size()));
    }
    k = kv[0];
  }
  const bool upper = ctx.attr_int("upper", 1) != 0;
  const int64_t rows = data.dim(data.rank() - 2);
  const int64_t cols = data.dim(data.rank() - 1);
  const int64_t matrices = rows * cols == 0 ? 0 : data.size() / (rows * cols);
  Tensor out(data.dtype(),
             data.shape());  // zero-filled: what is not kept stays zero
  const ElementCopier copier(data, out);
  for (int64_t m = 0; m < matrices; ++m) {
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < cols; ++j) {
        const bool keep = upper ? j - i >= k : j - i <= k;
        if (keep) {
          const int64_t at = (m * rows + i) * cols + j;
          copier.copy(at, at);
        }
      }
    }
  }
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

Status kernel_ReverseSequence(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  if (data.rank() < 2) {
    return invalid_argument("ReverseSequence expects an input of rank >= 2, got " +
                            shape_to_string(data.shape()));
  }
  const int64_t batch_axis = ctx.attr_int("batch_axis", 1);
  const int64_t time_axis = ctx.attr_int("time_axis", 0);
  if (!((batch_axis == 0 && time_axis == 1) || (batch_axis == 1 && time_axis == 0))) {
    return invalid_argument("ReverseSequence batch_axis " + std::to_string(batch_axis) +
                            " and time_axis " + std::to_string(time_axis) +
                            " must be 0 and 1 in some order");
  }
  std::vector<int64_t> lens;
  ER_ASSIGN_OR_RETURN(lens, read_ints(ctx.input(1), "ReverseSequence sequence_lens"));
  const int64_t batch = data.dim(batch_axis);
  const int64_t steps = data.dim(time_axis);
  if (static_cast<int64_t>(lens.size()) != batch) {
    return invalid_argument("ReverseSequence sequence_lens has " + std::to_string(lens.size()) +
                            " entries but the batch dim is " + std::to_string(batch));
  }
  for (int64_t len : lens) {
    if (len < 0 || len > steps) {
      return invalid_argument("ReverseSequence length " + std::to_string(len) + " is outside 0.." +
                              std::to_string(steps));
    }
  }
  Tensor out(data.dtype(), data.shape());
  const std::vector<int64_t> strides = strides_of(data.shape());
  const int64_t inner = dims_product(data.shape(), 2, data.shape().size());
  const ElementCopier copier(data, out);
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = lens[static_cast<size_t>(b)];
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t from = t < len ? len - 1 - t : t;
      const int64_t base = b * strides[static_cast<size_t>(batch_axis)];
      copier.copy(base + t * strides[static_cast<size_t>(time_axis)],
                  base + from * strides[static_cast<size_t>(time_axis)], inner);
    }
  }
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

}  // namespace edgerun::reference
