// Joining and cutting along one axis: Concat and Split.
#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/shape_util.h"

namespace edgerun::reference {

Result<Tensor> concat_tensors(const std::vector<const Tensor*>& parts, int64_t axis,
                              std::string_view op) {
  if (parts.empty()) return invalid_argument(std::string(op) + " needs at least one input");
  const Tensor& first = *parts[0];
  const int64_t rank = first.rank();
  if (rank == 0) {
    return invalid_argument(std::string(op) + " needs inputs of rank >= 1, got a scalar");
  }
  ER_ASSIGN_OR_RETURN(axis, normalize_axis(axis, rank));
  Shape out_shape = first.shape();
  out_shape[static_cast<size_t>(axis)] = 0;
  for (size_t p = 0; p < parts.size(); ++p) {
    const Tensor& t = *parts[p];
    if (t.dtype() != first.dtype()) {
      return invalid_argument(std::string(op) + " input " + std::to_string(p) + " has dtype " +
                              std::string(dtype_name(t.dtype())) + " but input 0 has " +
                              std::string(dtype_name(first.dtype())));
    }
    bool match = t.rank() == rank;
    for (int64_t d = 0; match && d < rank; ++d) {
      match = d == axis || t.dim(d) == first.dim(d);
    }
    if (!match) {
      return invalid_argument(std::string(op) + " input " + std::to_string(p) + " has shape " +
                              shape_to_string(t.shape()) + " which does not match input 0 " +
                              shape_to_string(first.shape()) + " outside axis " +
                              std::to_string(axis));
    }
    out_shape[static_cast<size_t>(axis)] += t.dim(axis);
  }
  Tensor out(first.dtype(), out_shape);
  const size_t a = static_cast<size_t>(axis);
  const int64_t outer = dims_product(out_shape, 0, a);
  const int64_t out_block = dims_product(out_shape, a, out_shape.size());
  int64_t offset = 0;  // where this part's block starts inside each output block
  for (const Tensor* t : parts) {
    const int64_t block = dims_product(t->shape(), a, t->shape().size());
    const ElementCopier copier(*t, out);
    for (int64_t o = 0; o < outer; ++o) copier.copy(o * out_block + offset, o * block, block);
    offset += block;
  }
  return out;
}

std::vector<Tensor> split_tensor(const Tensor& data, int64_t axis,
                                 const std::vector<int64_t>& lengths) {
  const Shape& shape = data.shape();
  const size_t a = static_cast<size_t>(axis);
  const int64_t outer = dims_product(shape, 0, a);
  const int64_t inner = dims_product(shape, a + 1, shape.size());
  const int64_t in_block = shape[a] * inner;
  std::vector<Tensor> parts;
  int64_t start = 0;  // first index along the axis of the current part
  for (int64_t length : lengths) {
    Shape part_shape = shape;
    part_shape[a] = length;
    Tensor part(data.dtype(), part_shape);
    const int64_t block = length * inner;
    const ElementCopier copier(data, part);
    for (int64_t o = 0; o < outer; ++o) copier.copy(o * block, o * in_block + start * inner, block);
    start += length;
    parts.push_back(std::move(part));
  }
  return parts;
}

Status kernel_Concat(KernelContext& ctx) {
  std::vector<const Tensor*> parts;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (ctx.has_input(i)) parts.push_back(&ctx.input(i));
  }
  if (parts.empty()) return invalid_model("Concat needs at least one input");
  // Concat-1 defaulted to axis 1; from opset 4 the attribute is required.
  if (ctx.opset() >= 4 && !ctx.has_attr("axis")) {
    return invalid_model("Concat needs an 'axis' attribute");
  }
  ER_ASSIGN_OR_RETURN(Tensor out, concat_tensors(parts, ctx.attr_int("axis", 1), "Concat"));
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

namespace {

// The length of each output along the axis, from whichever source this opset
// uses.
Result<std::vector<int64_t>> split_lengths(KernelContext& ctx, int64_t dim, size_t outputs) {
  std::vector<int64_t> split;
  bool given = false;
  if (ctx.opset() >= 13 || (ctx.opset() == 1 && ctx.has_input(1))) {
    if (ctx.has_input(1)) {
      ER_ASSIGN_OR_RETURN(split, read_ints(ctx.input(1), "Split split"));
      given = true;
    }
  } else if (ctx.has_attr("split")) {
    split = ctx.attr_ints("split");
    given = true;
  }
  if (given) {
    int64_t total = 0;
    for (int64_t s : split) {
      if (s < 0) {
        return invalid_argument("Split lengths " + ints_to_string(split) +
                                " contain a negative length");
      }
      total += s;
    }
    if (total != dim) {
      return invalid_argument("Split lengths " + ints_to_string(split) + " sum to " +
                              std::to_string(total) + " but the axis has dim " +
                              std::to_string(dim));
    }
    if (split.size() != outputs) {
      return invalid_argument("Split lengths " + ints_to_string(split) + " give " +
                              std::to_string(split.size()) + " parts but the node has " +
                              std::to_string(outputs) + " outputs");
    }
    return split;
  }
  size_t parts = outputs;
  bool uneven_ok = false;
  if (ctx.opset() >= 18 && ctx.has_attr("num_outputs")) {
    const int64_t n = ctx.attr_int("num_outputs", 0);
    if (n <= 0 || static_cast<size_t>(n) != outputs) {
      return invalid_argument("Split num_outputs is " + std::to_string(n) + " but the node has " +
                              std::to_string(outputs) + " outputs");
    }
    parts = static_cast<size_t>(n);
    uneven_ok = true;  // opset 18: the last chunk takes what is left
  }
  if (parts == 0) return invalid_model("Split has no outputs");
  const int64_t n = static_cast<int64_t>(parts);
  if (dim % n != 0 && !uneven_ok) {
    return invalid_argument("Split of dim " + std::to_string(dim) + " into " + std::to_string(n) +
                            " equal parts is not possible; give split lengths");
  }
  const int64_t chunk = (dim + n - 1) / n;
  int64_t left = dim;
  for (size_t i = 0; i < parts; ++i) {
    const int64_t len = std::min(chunk, left);
    split.push_back(len);
    left -= len;
  }
  return split;
}

}  // namespace

Status kernel_Split(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  if (data.rank() == 0) return invalid_argument("Split needs an input of rank >= 1, got a scalar");
  int64_t axis = 0;
  ER_ASSIGN_OR_RETURN(axis, normalize_axis(ctx.attr_int("axis", 0), data.rank()));
  std::vector<int64_t> split;
  ER_ASSIGN_OR_RETURN(split, split_lengths(ctx, data.dim(axis), ctx.num_outputs()));
  std::vector<Tensor> parts = split_tensor(data, axis, split);
  for (size_t i = 0; i < parts.size(); ++i) ctx.set_output(i, std::move(parts[i]));
  return Status::ok();
}

}  // namespace edgerun::reference
