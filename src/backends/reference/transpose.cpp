// Permutations of dims: Transpose and the block rearrangements DepthToSpace /
// SpaceToDepth, which are a reshape, a transpose and a reshape.
#include "backends/reference/kernel.h"
#include "backends/reference/shape_util.h"

namespace edgerun::reference {

Status kernel_Transpose(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const int64_t rank = data.rank();
  std::vector<int64_t> perm;
  if (ctx.has_attr("perm")) {
    perm = ctx.attr_ints("perm");
  } else {
    for (int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);
  }
  if (static_cast<int64_t>(perm.size()) != rank) {
    return invalid_argument("Transpose perm " + ints_to_string(perm) + " has " +
                            std::to_string(perm.size()) + " entries but the input " +
                            shape_to_string(data.shape()) + " has rank " + std::to_string(rank));
  }
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (int64_t& p : perm) {
    if (p < -rank || p >= rank || seen[static_cast<size_t>(p < 0 ? p + rank : p)]) {
      return invalid_argument("Transpose perm " + ints_to_string(perm) +
                              " is not a permutation of 0.." + std::to_string(rank - 1));
    }
    if (p < 0) p += rank;
    seen[static_cast<size_t>(p)] = true;
  }
  ctx.set_output(0, permute_tensor(data, perm));
  return Status::ok();
}

namespace {

Status check_blocks(const Tensor& data, int64_t block, std::string_view op) {
  if (data.rank() != 4) {
    return invalid_argument(std::string(op) + " expects a rank-4 NCHW input, got " +
                            shape_to_string(data.shape()));
  }
  if (block <= 0) {
    return invalid_argument(std::string(op) + " blocksize must be positive, got " +
                            std::to_string(block));
  }
  return Status::ok();
}

}  // namespace

Status kernel_DepthToSpace(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const int64_t b = ctx.attr_int("blocksize", 0);
  ER_RETURN_IF_ERROR(check_blocks(data, b, "DepthToSpace"));
  const int64_t n = data.dim(0), c = data.dim(1), h = data.dim(2), w = data.dim(3);
  if (c % (b * b) != 0) {
    return invalid_argument("DepthToSpace channels " + std::to_string(c) +
                            " are not divisible by blocksize^2 = " + std::to_string(b * b));
  }
  const int64_t oc = c / (b * b);
  // The mode attribute arrived in opset 11; before it the layout was always
  // DCR.
  const std::string mode = ctx.opset() >= 11 ? ctx.attr_string("mode", "DCR") : "DCR";
  Tensor moved;
  if (mode == "DCR") {
    moved = permute_tensor(data.reshaped({n, b, b, oc, h, w}), {0, 3, 4, 1, 5, 2});
  } else if (mode == "CRD") {
    moved = permute_tensor(data.reshaped({n, oc, b, b, h, w}), {0, 1, 4, 2, 5, 3});
  } else {
    return invalid_argument("DepthToSpace mode '" + mode + "' is not DCR or CRD");
  }
  ctx.set_output(0, moved.reshaped({n, oc, h * b, w * b}));
  return Status::ok();
}

Status kernel_SpaceToDepth(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const int64_t b = ctx.attr_int("blocksize", 0);
  ER_RETURN_IF_ERROR(check_blocks(data, b, "SpaceToDepth"));
  const int64_t n = data.dim(0), c = data.dim(1), h = data.dim(2), w = data.dim(3);
  if (h % b != 0 || w % b != 0) {
    return invalid_argument("SpaceToDepth spatial dims " + std::to_string(h) + "x" +
                            std::to_string(w) + " are not divisible by blocksize " +
                            std::to_string(b));
  }
  Tensor moved = permute_tensor(data.reshaped({n, c, h / b, b, w / b, b}), {0, 3, 5, 1, 2, 4});
  ctx.set_output(0, moved.reshaped({n, c * b * b, h / b, w / b}));
  return Status::ok();
}

}  // namespace edgerun::reference
