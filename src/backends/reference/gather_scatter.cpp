// Indexed reads and writes: Gather, GatherElements, GatherND, Scatter,
// ScatterElements, ScatterND. Every index is range-checked (negative ones count
// from the end) before the elements it selects move, so a bad index never reads or
// writes out of bounds.
#include <algorithm>
#include <utility>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/shape_util.h"
#include "core/small_array.h"

namespace edgerun::reference {

namespace {

// Index tensors must have the data's rank and may not be larger than the data
// along any axis except `axis` (the indexed one), or the implied positions fall
// outside the data.
Status check_elementwise_indices(const Tensor& data, const Tensor& indices, int64_t axis,
                                 std::string_view op) {
  if (indices.rank() != data.rank()) {
    return invalid_argument(std::string(op) + " indices " + shape_to_string(indices.shape()) +
                            " must have the rank of data " + shape_to_string(data.shape()));
  }
  for (int64_t d = 0; d < data.rank(); ++d) {
    if (d != axis && indices.dim(d) > data.dim(d)) {
      return invalid_argument(std::string(op) + " indices " + shape_to_string(indices.shape()) +
                              " exceed data " + shape_to_string(data.shape()) + " along axis " +
                              std::to_string(d));
    }
  }
  return Status::ok();
}

// For each element of `indices` (row-major), the flat offset in `data` it
// addresses.
Result<std::vector<int64_t>> elementwise_offsets(const Tensor& data, const Tensor& indices,
                                                 int64_t axis, std::string_view op) {
  ER_RETURN_IF_ERROR(check_elementwise_indices(data, indices, axis, op));
  std::vector<int64_t> values;
  ER_ASSIGN_OR_RETURN(values, read_ints(indices, std::string(op) + " indices"));
  std::vector<int64_t> offsets(values.size());
  if (values.empty()) return offsets;
  const std::vector<int64_t> strides = strides_of(data.shape());
  const size_t a = static_cast<size_t>(axis);
  std::vector<int64_t> index(static_cast<size_t>(data.rank()), 0);
  size_t i = 0;
  do {
    int64_t resolved = 0;
    ER_RETURN_IF_ERROR(resolve_index(values[i], axis, data.dim(axis), &resolved));
    int64_t offset = 0;
    for (size_t k = 0; k < index.size(); ++k) offset += (k == a ? resolved : index[k]) * strides[k];
    offsets[i++] = offset;
  } while (next_index(index, indices.shape()));
  return offsets;
}

// GatherND/ScatterND view: `indices` [..., m] holds tuples addressing the first
// m dims (after `batch_dims` shared leading dims) of `data`. Returns the flat
// offset of each addressed slice.
Result<std::vector<int64_t>> tuple_offsets(const Tensor& data, const Tensor& indices,
                                           int64_t batch_dims, std::string_view op) {
  const int64_t r = data.rank();
  const int64_t q = indices.rank();
  if (r < 1 || q < 1) {
    return invalid_argument(std::string(op) + " needs data and indices of rank >= 1, got " +
                            shape_to_string(data.shape()) + " and " +
                            shape_to_string(indices.shape()));
  }
  if (batch_dims < 0 || batch_dims >= std::min(q, r)) {
    return invalid_argument(std::string(op) + " batch_dims " + std::to_string(batch_dims) +
                            " must be in 0.." + std::to_string(std::min(q, r) - 1));
  }
  const size_t b = static_cast<size_t>(batch_dims);
  for (size_t d = 0; d < b; ++d) {
    if (indices.shape()[d] != data.shape()[d]) {
      return invalid_argument(std::string(op) + " indices " + shape_to_string(indices.shape()) +
                              " and data " + shape_to_string(data.shape()) +
                              " differ in batch dim " + std::to_string(d));
    }
  }
  const int64_t m = indices.shape().back();
  if (m > r - batch_dims) {
    return invalid_argument(std::string(op) + " index tuples have " + std::to_string(m) +
                            " entries but data " + shape_to_string(data.shape()) + " has only " +
                            std::to_string(r - batch_dims) + " dims after the batch dims");
  }
  std::vector<int64_t> values;
  ER_ASSIGN_OR_RETURN(values, read_ints(indices, std::string(op) + " indices"));
  const Shape& ds = data.shape();
  const std::vector<int64_t> strides = strides_of(ds);
  const int64_t batch_block = dims_product(ds, b, ds.size());
  const int64_t tuples = dims_product(indices.shape(), 0, indices.shape().size() - 1);
  const int64_t per_batch = dims_product(indices.shape(), b, indices.shape().size() - 1);
  std::vector<int64_t> offsets(static_cast<size_t>(tuples));
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t offset = per_batch == 0 ? 0 : (t / per_batch) * batch_block;
    for (int64_t k = 0; k < m; ++k) {
      const int64_t axis = batch_dims + k;
      int64_t resolved = 0;
      ER_RETURN_IF_ERROR(resolve_index(values[static_cast<size_t>(t * m + k)], axis,
                                       ds[static_cast<size_t>(axis)], &resolved));
      offset += resolved * strides[static_cast<size_t>(axis)];
    }
    offsets[static_cast<size_t>(t)] = offset;
  }
  return offsets;
}

enum class Reduction { kNone, kAdd, kMul, kMax, kMin };

Result<Reduction> reduction_of(KernelContext& ctx, std::string_view op) {
  // The reduction attribute arrived in opset 16.
  if (ctx.opset() < 16) return Reduction::kNone;
  const std::string r = ctx.attr_string("reduction", "none");
  if (r == "none") return Reduction::kNone;
  if (r == "add") return Reduction::kAdd;
  if (r == "mul") return Reduction::kMul;
  if (r == "max") return Reduction::kMax;
  if (r == "min") return Reduction::kMin;
  return invalid_argument(std::string(op) + " reduction '" + r +
                          "' is not none, add, mul, max or min");
}

// out[dst[i] + j] (op)= updates[i * count + j] for every target i and j <
// count, in order, so duplicate targets combine (or, without a reduction, the
// last write wins).
Status scatter(Tensor& out, const Tensor& updates, const std::vector<int64_t>& dst, int64_t count,
               Reduction reduction, std::string_view op) {
  if (updates.dtype() != out.dtype()) {
    return invalid_argument(std::string(op) + " updates have dtype " +
                            std::string(dtype_name(updates.dtype())) + " but data has " +
                            std::string(dtype_name(out.dtype())));
  }
  if (reduction == Reduction::kNone) {
    const ElementCopier copier(updates, out);
    for (size_t i = 0; i < dst.size(); ++i) {
      copier.copy(dst[i], static_cast<int64_t>(i) * count, count);
    }
    return Status::ok();
  }
  return dispatch<NumericTypes>(
      out.dtype(), std::string(op) + " with a reduction", [&](auto tag) -> Status {
        using T = typename decltype(tag)::type;
        using C = compute_t<T>;
        T* o = out.data<T>();
        const T* u = updates.data<T>();
        for (size_t i = 0; i < dst.size(); ++i) {
          for (int64_t j = 0; j < count; ++j) {
            T& target = o[dst[i] + j];
            const C a = static_cast<C>(target);
            const C b = static_cast<C>(u[static_cast<int64_t>(i) * count + j]);
            C r = a;
            switch (reduction) {
              case Reduction::kAdd:
                r = static_cast<C>(a + b);
                break;
              case Reduction::kMul:
                r = static_cast<C>(a * b);
                break;
              case Reduction::kMax:
                r = std::max(a, b);
                break;
              case Reduction::kMin:
                r = std::min(a, b);
                break;
              case Reduction::kNone:
                r = b;
                break;
            }
            target = static_cast<T>(r);
          }
        }
        return Status::ok();
      });
}

Status scatter_elements(KernelContext& ctx, std::string_view op) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const Tensor& updates = ctx.input(2);
  if (updates.shape() != indices.shape()) {
    return invalid_argument(std::string(op) + " updates " + shape_to_string(updates.shape()) +
                            " must have the shape of indices " + shape_to_string(indices.shape()));
  }
  if (data.rank() == 0) return invalid_argument(std::string(op) + " needs data of rank >= 1");
  int64_t axis = 0;
  ER_ASSIGN_OR_RETURN(axis, normalize_axis(ctx.attr_int("axis", 0), data.rank()));
  Reduction reduction = Reduction::kNone;
  if (op != "Scatter") {
    ER_ASSIGN_OR_RETURN(reduction, reduction_of(ctx, op));
  }
  std::vector<int64_t> offsets;
  ER_ASSIGN_OR_RETURN(offsets, elementwise_offsets(data, indices, axis, op));
  Tensor out = data.clone();
  ER_RETURN_IF_ERROR(scatter(out, updates, offsets, 1, reduction, op));
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

// Index `i` of Gather's int32 or int64 indices, resolved against `dim` (negative from the end).
Status gather_index(const Tensor& indices, int64_t i, int64_t axis, int64_t dim, int64_t* out) {
  const int64_t raw = indices.dtype() == DType::kInt64 ? indices.data<int64_t>()[i]
                                                       : indices.data<int32_t>()[i];
  return resolve_index(raw, axis, dim, out);
}

}  // namespace

Status kernel_Gather(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  if (data.rank() == 0) return invalid_argument("Gather needs data of rank >= 1, got a scalar");
  if (indices.dtype() != DType::kInt64 && indices.dtype() != DType::kInt32) {
    return invalid_argument("Gather indices must be int32 or int64, got " +
                            std::string(dtype_name(indices.dtype())));
  }
  int64_t axis = 0;
  ER_ASSIGN_OR_RETURN(axis, normalize_axis(ctx.attr_int("axis", 0), data.rank()));
  const int64_t dim = data.dim(axis);
  const int64_t n = indices.size();

  // The output's dims: data's before the axis, the indices', data's after. On the stack for
  // the usual ranks, so that a warm run builds no shape.
  const Shape& ds = data.shape();
  const size_t a = static_cast<size_t>(axis);
  SmallArray<int64_t, 12> dims(ds.size() - 1 + indices.shape().size());
  auto filled = std::copy(ds.begin(), ds.begin() + axis, dims.span().begin());
  filled = std::copy(indices.shape().begin(), indices.shape().end(), filled);
  std::copy(ds.begin() + axis + 1, ds.end(), filled);
  Tensor out = ctx.allocate_output(0, data.dtype(), std::as_const(dims).span());

  const int64_t outer = dims_product(ds, 0, a);
  const int64_t inner = dims_product(ds, a + 1, ds.size());
  const ElementCopier copier(data, out);
  // Each index is resolved (and range-checked) once, before the rows it selects move.
  for (int64_t j = 0; j < n; ++j) {
    int64_t index = 0;
    ER_RETURN_IF_ERROR(gather_index(indices, j, axis, dim, &index));
    for (int64_t o = 0; o < outer; ++o) {
      copier.copy((o * n + j) * inner, (o * dim + index) * inner, inner);
    }
  }
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

Status kernel_GatherElements(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  if (data.rank() == 0) {
    return invalid_argument("GatherElements needs data of rank >= 1, got a scalar");
  }
  int64_t axis = 0;
  ER_ASSIGN_OR_RETURN(axis, normalize_axis(ctx.attr_int("axis", 0), data.rank()));
  std::vector<int64_t> offsets;
  ER_ASSIGN_OR_RETURN(offsets, elementwise_offsets(data, indices, axis, "GatherElements"));
  Tensor out(data.dtype(), indices.shape());
  const ElementCopier copier(data, out);
  for (size_t i = 0; i < offsets.size(); ++i) copier.copy(static_cast<int64_t>(i), offsets[i]);
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

Status kernel_GatherND(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const int64_t batch_dims = ctx.opset() >= 12 ? ctx.attr_int("batch_dims", 0) : 0;
  std::vector<int64_t> offsets;
  ER_ASSIGN_OR_RETURN(offsets, tuple_offsets(data, indices, batch_dims, "GatherND"));
  const Shape& is = indices.shape();
  const Shape& ds = data.shape();
  const size_t m = static_cast<size_t>(is.back());
  Shape out_shape(is.begin(), is.end() - 1);
  out_shape.insert(out_shape.end(), ds.begin() + batch_dims + static_cast<int64_t>(m), ds.end());
  const int64_t slice = dims_product(ds, static_cast<size_t>(batch_dims) + m, ds.size());
  Tensor out(data.dtype(), out_shape);
  const ElementCopier copier(data, out);
  for (size_t t = 0; t < offsets.size(); ++t) {
    copier.copy(static_cast<int64_t>(t) * slice, offsets[t], slice);
  }
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

Status kernel_Scatter(KernelContext& ctx) { return scatter_elements(ctx, "Scatter"); }

Status kernel_ScatterElements(KernelContext& ctx) {
  return scatter_elements(ctx, "ScatterElements");
}

Status kernel_ScatterND(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const Tensor& updates = ctx.input(2);
  Reduction reduction = Reduction::kNone;
  ER_ASSIGN_OR_RETURN(reduction, reduction_of(ctx, "ScatterND"));
  std::vector<int64_t> offsets;
  ER_ASSIGN_OR_RETURN(offsets, tuple_offsets(data, indices, 0, "ScatterND"));
  const Shape& is = indices.shape();
  const Shape& ds = data.shape();
  const size_t m = static_cast<size_t>(is.back());
  Shape expected(is.begin(), is.end() - 1);
  expected.insert(expected.end(), ds.begin() + static_cast<int64_t>(m), ds.end());
  if (updates.shape() != expected) {
    return invalid_argument("ScatterND updates " + shape_to_string(updates.shape()) +
                            " must have shape " + shape_to_string(expected) + " (indices " +
                            shape_to_string(is) + ", data " + shape_to_string(ds) + ")");
  }
  Tensor out = data.clone();
  ER_RETURN_IF_ERROR(
      scatter(out, updates, offsets, dims_product(ds, m, ds.size()), reduction, "ScatterND"));
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

}  // namespace edgerun::reference
