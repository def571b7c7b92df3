// Repetition: Expand (numpy broadcasting to a shape) and Tile (whole-tensor
// repeats).
#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/shape_util.h"

namespace edgerun::reference {

Status kernel_Expand(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  std::vector<int64_t> shape;
  ER_ASSIGN_OR_RETURN(shape, read_ints(ctx.input(1), "Expand shape"));
  for (int64_t d : shape) {
    if (d < 0) {
      return invalid_argument("Expand shape " + ints_to_string(shape) + " has a negative dim");
    }
  }
  Shape out_shape;
  ER_ASSIGN_OR_RETURN(out_shape, broadcast_shapes({data.shape(), shape}));
  Tensor out(data.dtype(), out_shape);
  const ElementCopier copier(data, out);
  BroadcastIterator it(out_shape, {data.shape()});
  for (int64_t i = 0; i < out.size(); ++i) {
    copier.copy(i, it.offset(0));
    it.next();
  }
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

Status kernel_Tile(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const int64_t rank = data.rank();
  std::vector<int64_t> repeats;
  if (ctx.opset() < 6) {
    // Tile-1 repeated along a single axis given as two scalar inputs.
    if (!ctx.has_input(1) || !ctx.has_input(2)) {
      return invalid_model("Tile-1 needs tiles and axis inputs");
    }
    std::vector<int64_t> tiles, axis;
    ER_ASSIGN_OR_RETURN(tiles, read_ints(ctx.input(1), "Tile tiles"));
    ER_ASSIGN_OR_RETURN(axis, read_ints(ctx.input(2), "Tile axis"));
    if (tiles.size() != 1 || axis.size() != 1) {
      return invalid_argument("Tile-1 tiles and axis must be single values");
    }
    int64_t a = 0;
    ER_ASSIGN_OR_RETURN(a, normalize_axis(axis[0], rank));
    repeats.assign(static_cast<size_t>(rank), 1);
    repeats[static_cast<size_t>(a)] = tiles[0];
  } else {
    ER_ASSIGN_OR_RETURN(repeats, read_ints(ctx.input(1), "Tile repeats"));
  }
  if (static_cast<int64_t>(repeats.size()) != rank) {
    return invalid_argument("Tile repeats " + ints_to_string(repeats) + " have " +
                            std::to_string(repeats.size()) + " entries but the input " +
                            shape_to_string(data.shape()) + " has rank " + std::to_string(rank));
  }
  Shape out_shape = data.shape();
  for (size_t i = 0; i < repeats.size(); ++i) {
    if (repeats[i] < 0) {
      return invalid_argument("Tile repeats " + ints_to_string(repeats) + " must be >= 0");
    }
    out_shape[i] *= repeats[i];
  }
  Tensor out(data.dtype(), out_shape);
  if (out.size() > 0) {
    const std::vector<int64_t> strides = strides_of(data.shape());
    const ElementCopier copier(data, out);
    std::vector<int64_t> index(static_cast<size_t>(rank), 0);
    int64_t dst = 0;
    do {
      int64_t src = 0;
      for (size_t k = 0; k < index.size(); ++k) src += (index[k] % data.shape()[k]) * strides[k];
      copier.copy(dst++, src);
    } while (next_index(index, out_shape));
  }
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

}  // namespace edgerun::reference
