// Shared geometry of sliding-window ops (Conv, ConvTranspose, pools): reading strides, dilations,
// pads and auto_pad, and the output size they give. Private to the nn kernel files.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"

namespace edgerun::reference::nn {

inline std::string ints_to_string(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// Row-major odometer over `dims`: advances `idx` and returns false once it wraps around.
inline bool next_index(std::vector<int64_t>& idx, const std::vector<int64_t>& dims) {
  for (size_t i = idx.size(); i-- > 0;) {
    if (++idx[i] < dims[i]) return true;
    idx[i] = 0;
  }
  return false;
}

inline int64_t product(const std::vector<int64_t>& dims) {
  int64_t p = 1;
  for (int64_t d : dims) p *= d;
  return p;
}

// The spatial geometry of one windowed op over an input with N spatial dims.
struct Window {
  std::vector<int64_t> in;  // spatial input dims
  std::vector<int64_t> kernel;
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pad_begin;
  std::vector<int64_t> pad_end;
  std::vector<int64_t> out;  // spatial output dims
  size_t rank() const { return in.size(); }
};

// Reads a per-spatial-dim attribute, defaulting every dim to `fallback`; checks its length and
// that every value is at least `min_value`.
inline Result<std::vector<int64_t>> spatial_attr(const KernelContext& ctx, std::string_view name,
                                                 size_t n, int64_t fallback, int64_t min_value) {
  std::vector<int64_t> v = ctx.attr_ints(name);
  if (v.empty()) return std::vector<int64_t>(n, fallback);
  if (v.size() != n) {
    return invalid_argument(std::string(name) + " must have " + std::to_string(n) +
                            " values (one per spatial dim), got " + ints_to_string(v));
  }
  for (int64_t x : v) {
    if (x < min_value) {
      return invalid_argument(std::string(name) + " values must be >= " +
                              std::to_string(min_value) + ", got " + ints_to_string(v));
    }
  }
  return v;
}

// Reads strides, dilations, pads and auto_pad for a forward window (Conv, pools) over
// `in_spatial` with `kernel`, and computes the output dims. `ceil_mode` rounds the output size
// up (pools from opset 10), dropping a last window that would start inside the end padding.
inline Result<Window> forward_window(const KernelContext& ctx, std::vector<int64_t> in_spatial,
                                     std::vector<int64_t> kernel, bool ceil_mode,
                                     bool has_dilations) {
  const size_t n = in_spatial.size();
  Window w;
  w.in = std::move(in_spatial);
  w.kernel = std::move(kernel);
  if (w.kernel.size() != n) {
    return invalid_argument("kernel_shape " + ints_to_string(w.kernel) + " must have " +
                            std::to_string(n) + " values (one per spatial dim)");
  }
  for (int64_t k : w.kernel) {
    if (k < 1) return invalid_argument("kernel dims must be >= 1, got " + ints_to_string(w.kernel));
  }
  ER_ASSIGN_OR_RETURN(w.strides, spatial_attr(ctx, "strides", n, 1, 1));
  if (has_dilations) {
    ER_ASSIGN_OR_RETURN(w.dilations, spatial_attr(ctx, "dilations", n, 1, 1));
  } else {
    w.dilations.assign(n, 1);
  }
  std::vector<int64_t> pads = ctx.attr_ints("pads");
  if (pads.empty()) pads.assign(2 * n, 0);
  if (pads.size() != 2 * n) {
    return invalid_argument("pads must have " + std::to_string(2 * n) +
                            " values (begin and end per spatial dim), got " +
                            ints_to_string(pads));
  }
  for (int64_t p : pads) {
    if (p < 0) return invalid_argument("pads must be >= 0, got " + ints_to_string(pads));
  }
  const std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" &&
      auto_pad != "SAME_LOWER") {
    return invalid_argument("auto_pad must be NOTSET, VALID, SAME_UPPER or SAME_LOWER, got '" +
                            auto_pad + "'");
  }
  w.pad_begin.resize(n);
  w.pad_end.resize(n);
  w.out.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t in = w.in[i];
    const int64_t s = w.strides[i];
    const int64_t span = (w.kernel[i] - 1) * w.dilations[i] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      w.out[i] = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (w.out[i] - 1) * s + span - in);
      // SAME_UPPER puts the odd padding element at the end, SAME_LOWER at the beginning.
      w.pad_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w.pad_end[i] = total - w.pad_begin[i];
      continue;
    }
    if (auto_pad == "NOTSET") {
      w.pad_begin[i] = pads[i];
      w.pad_end[i] = pads[i + n];
    } else {
      w.pad_begin[i] = w.pad_end[i] = 0;
    }
    const int64_t padded = in + w.pad_begin[i] + w.pad_end[i];
    if (padded < span) {
      return invalid_argument("the window (kernel " + ints_to_string(w.kernel) + ", dilations " +
                              ints_to_string(w.dilations) + ") is larger than the padded input " +
                              "in spatial dim " + std::to_string(i) + " (" +
                              std::to_string(padded) + ")");
    }
    if (ceil_mode) {
      w.out[i] = (padded - span + s - 1) / s + 1;
      if ((w.out[i] - 1) * s >= in + w.pad_begin[i]) --w.out[i];
    } else {
      w.out[i] = (padded - span) / s + 1;
    }
  }
  return w;
}

// The spatial dims of an input of layout (N, C, D1, ..., Dn), checking the rank.
inline Result<std::vector<int64_t>> spatial_dims(const Tensor& x, std::string_view what,
                                                 int64_t min_spatial = 1) {
  if (x.rank() < 2 + min_spatial) {
    return invalid_argument(std::string(what) + " must have shape (N, C, D1, ...) with at least " +
                            std::to_string(min_spatial) + " spatial dim(s), got " +
                            shape_to_string(x.shape()));
  }
  return std::vector<int64_t>(x.shape().begin() + 2, x.shape().end());
}

// Accumulator type for sums and dot products: double for floats, 64-bit for integers.
template <class T>
using acc_t = std::conditional_t<
    std::is_floating_point_v<compute_t<T>>, double,
    std::conditional_t<std::is_signed_v<compute_t<T>>, int64_t, uint64_t>>;

}  // namespace edgerun::reference::nn
