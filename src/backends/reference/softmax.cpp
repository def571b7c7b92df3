// Softmax, LogSoftmax and Hardmax.
//
// Before opset 13 these ops flatten the input to 2-D at `axis` (default 1) and normalise each
// row over everything from `axis` on; from opset 13 they normalise along the single axis `axis`
// (default -1). Both views are "outer x reduced x inner" blocks, which is how they run here.
#include <cmath>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"

namespace edgerun::reference {
namespace {

enum class SoftmaxKind { kSoftmax, kLogSoftmax, kHardmax };

Status run_softmax(KernelContext& ctx, SoftmaxKind kind, const char* name) {
  const Tensor& x = ctx.input(0);
  const bool legacy = ctx.opset() < 13;
  const int64_t rank = x.rank();
  int64_t axis = ctx.attr_int("axis", legacy ? 1 : -1);
  // A scalar has one element along its (only, implied) axis.
  if (rank == 0) {
    if (axis != 0 && axis != -1) {
      return invalid_argument(std::string(name) + " axis " + std::to_string(axis) +
                              " is out of range for a scalar");
    }
  } else {
    // Legacy flattening also accepts axis == rank: every row then holds one element.
    if (!legacy || axis != rank) {
      ER_ASSIGN_OR_RETURN(axis, normalize_axis(axis, rank));
    }
  }
  int64_t outer = 1, reduced = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i) {
    if (i < axis) {
      outer *= x.dim(i);
    } else if (legacy || i == axis) {
      reduced *= x.dim(i);
    } else {
      inner *= x.dim(i);
    }
  }
  Tensor out = ctx.allocate_output(0, x.dtype(), x.shape());
  ER_RETURN_IF_ERROR(dispatch<FloatTypes>(x.dtype(), name, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    T* py = out.data<T>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t in = 0; in < inner; ++in) {
        const int64_t base = o * reduced * inner + in;
        auto at = [&](int64_t r) { return base + r * inner; };
        // Subtracting the maximum keeps exp() finite; Hardmax takes the first maximum.
        if (reduced == 0) continue;
        double max_v = static_cast<compute_t<T>>(px[at(0)]);
        int64_t arg = 0;
        for (int64_t r = 1; r < reduced; ++r) {
          const double v = static_cast<compute_t<T>>(px[at(r)]);
          if (v > max_v) {
            max_v = v;
            arg = r;
          }
        }
        if (kind == SoftmaxKind::kHardmax) {
          for (int64_t r = 0; r < reduced; ++r) {
            py[at(r)] = T(static_cast<compute_t<T>>(r == arg ? 1 : 0));
          }
          continue;
        }
        double sum = 0.0;
        for (int64_t r = 0; r < reduced; ++r) {
          sum += std::exp(static_cast<double>(static_cast<compute_t<T>>(px[at(r)])) - max_v);
        }
        const double log_sum = std::log(sum);
        for (int64_t r = 0; r < reduced; ++r) {
          const double shifted = static_cast<double>(static_cast<compute_t<T>>(px[at(r)])) - max_v;
          const double y = kind == SoftmaxKind::kSoftmax ? std::exp(shifted) / sum
                                                         : shifted - log_sum;
          py[at(r)] = T(static_cast<compute_t<T>>(y));
        }
      }
    }
    return Status::ok();
  }));
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

}  // namespace

Status kernel_Softmax(KernelContext& ctx) {
  return run_softmax(ctx, SoftmaxKind::kSoftmax, "Softmax");
}

Status kernel_LogSoftmax(KernelContext& ctx) {
  return run_softmax(ctx, SoftmaxKind::kLogSoftmax, "LogSoftmax");
}

Status kernel_Hardmax(KernelContext& ctx) {
  return run_softmax(ctx, SoftmaxKind::kHardmax, "Hardmax");
}

}  // namespace edgerun::reference
