// MaxUnpool: scatters pooled values back to the positions MaxPool took them from.
#include <algorithm>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"

namespace edgerun::reference {

Status kernel_MaxUnpool(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& ind_t = ctx.input(1);
  if (x.rank() < 3) {
    return invalid_argument("MaxUnpool X must have rank >= 3 [N, C, spatial...], got shape " +
                            shape_to_string(x.shape()));
  }
  if (ind_t.shape() != x.shape()) {
    return invalid_argument("MaxUnpool indices shape " + shape_to_string(ind_t.shape()) +
                            " must equal the X shape " + shape_to_string(x.shape()));
  }
  const size_t spatial = static_cast<size_t>(x.rank() - 2);
  const std::vector<int64_t> kernel = ctx.attr_ints("kernel_shape");
  if (kernel.size() != spatial) {
    return invalid_argument("MaxUnpool kernel_shape must have " + std::to_string(spatial) +
                            " values, got " + std::to_string(kernel.size()));
  }
  const std::vector<int64_t> strides = ctx.attr_ints("strides", std::vector<int64_t>(spatial, 1));
  const std::vector<int64_t> pads = ctx.attr_ints("pads", std::vector<int64_t>(2 * spatial, 0));
  if (strides.size() != spatial || pads.size() != 2 * spatial) {
    return invalid_argument("MaxUnpool needs " + std::to_string(spatial) + " strides and " +
                            std::to_string(2 * spatial) + " pads, got " +
                            std::to_string(strides.size()) + " and " +
                            std::to_string(pads.size()));
  }
  Shape inferred = {x.dim(0), x.dim(1)};
  for (size_t d = 0; d < spatial; ++d) {
    if (kernel[d] <= 0 || strides[d] <= 0 || pads[d] < 0 || pads[d + spatial] < 0) {
      return invalid_argument("MaxUnpool kernel_shape and strides must be positive and pads "
                              "non-negative along spatial axis " + std::to_string(d));
    }
    const int64_t len = (x.dim(static_cast<int64_t>(d) + 2) - 1) * strides[d] -
                        (pads[d] + pads[d + spatial]) + kernel[d];
    if (len < 0) {
      return invalid_argument("MaxUnpool output size along spatial axis " + std::to_string(d) +
                              " is negative (" + std::to_string(len) + ")");
    }
    inferred.push_back(len);
  }
  Shape out_shape = inferred;
  if (ctx.has_input(2)) {
    ER_ASSIGN_OR_RETURN(out_shape, read_ints(ctx.input(2), "output_shape"));
    if (out_shape.size() != inferred.size()) {
      return invalid_argument("MaxUnpool output_shape must have " +
                              std::to_string(inferred.size()) + " values, got " +
                              shape_to_string(out_shape));
    }
    for (size_t d = 0; d < out_shape.size(); ++d) {
      // The indices address the unpadded result, which is then placed at the origin of
      // output_shape; so output_shape may only grow it.
      if (out_shape[d] < inferred[d] || (d < 2 && out_shape[d] != inferred[d])) {
        return invalid_argument("MaxUnpool output_shape " + shape_to_string(out_shape) +
                                " must keep N and C and be at least " +
                                shape_to_string(inferred) + " in every spatial dim");
      }
    }
  }
  ER_ASSIGN_OR_RETURN(std::vector<int64_t> indices, read_ints(ind_t, "indices"));
  const int64_t inferred_size = shape_size(inferred);
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] < 0 || indices[i] >= inferred_size) {
      return invalid_argument("MaxUnpool index " + std::to_string(indices[i]) + " at position " +
                              std::to_string(i) + " is outside [0, " +
                              std::to_string(inferred_size) + ") for unpooled shape " +
                              shape_to_string(inferred));
    }
  }

  Tensor y(x.dtype(), out_shape);
  const std::vector<int64_t> in_strides = strides_of(inferred);
  const std::vector<int64_t> out_strides = strides_of(out_shape);
  ER_RETURN_IF_ERROR(dispatch<NumericTypes>(x.dtype(), "MaxUnpool", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T* in = x.data<T>();
    T* out = y.data<T>();
    for (size_t i = 0; i < indices.size(); ++i) {
      // Re-address the flat index of the inferred shape in the (possibly larger) output.
      int64_t rest = indices[i];
      int64_t dst = 0;
      for (size_t d = 0; d < inferred.size(); ++d) {
        dst += rest / in_strides[d] * out_strides[d];
        rest %= in_strides[d];
      }
      out[dst] = in[i];
    }
    return Status::ok();
  }));
  ctx.set_output(0, y);
  return Status::ok();
}

}  // namespace edgerun::reference
