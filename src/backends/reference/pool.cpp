// Pooling: MaxPool (with Indices), AveragePool, LpPool, their Global* forms and MaxRoiPool.
// Inputs are (N, C, D1, ..., Dn); windows move over the spatial dims.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/nn_util.h"

namespace edgerun::reference {
namespace {

using nn::ints_to_string;
using nn::next_index;
using nn::product;

enum class PoolKind { kMax, kAverage, kLp };

// Reads kernel_shape and the window attributes that the op's opset defines.
Result<nn::Window> pool_window(const KernelContext& ctx, const Tensor& x, const char* op,
                               bool ceil_since_10, bool dilations_allowed) {
  std::vector<int64_t> spatial;
  ER_ASSIGN_OR_RETURN(spatial, nn::spatial_dims(x, std::string(op) + " input X"));
  if (!ctx.has_attr("kernel_shape")) {
    return invalid_argument(std::string(op) + " requires the kernel_shape attribute");
  }
  const bool ceil_mode = ceil_since_10 && ctx.attr_int("ceil_mode", 0) != 0;
  return nn::forward_window(ctx, std::move(spatial), ctx.attr_ints("kernel_shape"), ceil_mode,
                            dilations_allowed);
}

// Slides the window over every (n, c) plane; `visit(plane, out_pos, in_offsets, count)` gets the
// in-plane offsets of the window elements that lie inside the input and `padded_count`, the
// number of window elements inside the padded input (for count_include_pad).
template <class Visit>
void for_each_window(const nn::Window& w, int64_t planes, Visit&& visit) {
  const size_t nd = w.rank();
  const int64_t out_size = product(w.out);
  const int64_t k_size = product(w.kernel);
  const std::vector<int64_t> in_strides = strides_of(w.in);
  std::vector<int64_t> offsets;
  offsets.reserve(static_cast<size_t>(k_size));
  std::vector<int64_t> o(nd, 0), k(nd, 0);
  for (int64_t op = 0; op < out_size; ++op, next_index(o, w.out)) {
    offsets.clear();
    int64_t padded_count = 0;
    for (int64_t kp = 0; kp < k_size; ++kp, next_index(k, w.kernel)) {
      int64_t off = 0;
      bool inside = true, inside_padded = true;
      for (size_t d = 0; d < nd; ++d) {
        const int64_t i = o[d] * w.strides[d] - w.pad_begin[d] + k[d] * w.dilations[d];
        if (i < 0 || i >= w.in[d]) inside = false;
        if (i < -w.pad_begin[d] || i >= w.in[d] + w.pad_end[d]) inside_padded = false;
        off += i * in_strides[d];
      }
      if (inside_padded) ++padded_count;
      if (inside) offsets.push_back(off);
    }
    for (int64_t plane = 0; plane < planes; ++plane) visit(plane, op, offsets, padded_count);
  }
}

// Converts a row-major offset within a plane into the column-major one (storage_order = 1).
int64_t column_major_offset(int64_t row_major, const std::vector<int64_t>& dims) {
  int64_t result = 0, scale = 1;
  std::vector<int64_t> idx(dims.size());
  for (size_t d = dims.size(); d-- > 0;) {
    idx[d] = row_major % dims[d];
    row_major /= dims[d];
  }
  for (size_t d = 0; d < dims.size(); ++d) {
    result += idx[d] * scale;
    scale *= dims[d];
  }
  return result;
}

Status run_pool(KernelContext& ctx, PoolKind kind, const char* op) {
  const Tensor& x = ctx.input(0);
  const int64_t opset = ctx.opset();
  nn::Window w;
  // ceil_mode arrived in opset 10 for MaxPool/AveragePool and 18 for LpPool; dilations in 10
  // for MaxPool and 18 for LpPool (AveragePool has none before 19).
  const bool ceil_ok = kind == PoolKind::kLp ? opset >= 18 : opset >= 10;
  const bool dil_ok = kind == PoolKind::kMax ? opset >= 10 : kind == PoolKind::kLp && opset >= 18;
  ER_ASSIGN_OR_RETURN(w, pool_window(ctx, x, op, ceil_ok, dil_ok));
  Shape out_shape{x.dim(0), x.dim(1)};
  out_shape.insert(out_shape.end(), w.out.begin(), w.out.end());
  Tensor y(x.dtype(), out_shape);
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t in_size = product(w.in);
  const int64_t out_size = product(w.out);

  if (kind == PoolKind::kMax) {
    const bool want_indices = opset >= 8 && ctx.wants_output(1);
    const int64_t storage_order = opset >= 8 ? ctx.attr_int("storage_order", 0) : 0;
    if (storage_order != 0 && storage_order != 1) {
      return invalid_argument("MaxPool storage_order must be 0 or 1, got " +
                              std::to_string(storage_order));
    }
    Tensor indices(DType::kInt64, want_indices ? out_shape : Shape{0});
    ER_RETURN_IF_ERROR(dispatch<NumericTypes>(x.dtype(), op, [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      using C = compute_t<T>;
      const T* px = x.data<T>();
      T* py = y.data<T>();
      int64_t* pi = indices.data<int64_t>();
      for_each_window(w, planes, [&](int64_t plane, int64_t opos,
                                     const std::vector<int64_t>& offs, int64_t) {
        const T* src = px + plane * in_size;
        // A window entirely in padding (only possible with unusual pads) yields the lowest value.
        C best = std::numeric_limits<C>::lowest();
        if constexpr (std::numeric_limits<C>::has_infinity) {
          best = -std::numeric_limits<C>::infinity();
        }
        int64_t best_off = offs.empty() ? 0 : offs[0];
        for (int64_t off : offs) {
          const C v = static_cast<C>(src[off]);
          if (v > best) {
            best = v;
            best_off = off;
          }
        }
        py[plane * out_size + opos] = T(best);
        if (want_indices) {
          const int64_t local =
              storage_order == 1 ? column_major_offset(best_off, w.in) : best_off;
          pi[plane * out_size + opos] = plane * in_size + local;
        }
      });
      return Status::ok();
    }));
    ctx.set_output(0, std::move(y));
    if (want_indices) ctx.set_output(1, std::move(indices));
    return Status::ok();
  }

  const bool include_pad = kind == PoolKind::kAverage && opset >= 7 &&
                           ctx.attr_int("count_include_pad", 0) != 0;
  const double p = kind == PoolKind::kLp ? ctx.attr_float("p", 2.0f) : 1.0;
  if (kind == PoolKind::kLp && p <= 0) {
    return invalid_argument("LpPool p must be > 0, got " + std::to_string(p));
  }
  ER_RETURN_IF_ERROR(dispatch<FloatTypes>(x.dtype(), op, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    using C = compute_t<T>;
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for_each_window(w, planes, [&](int64_t plane, int64_t opos, const std::vector<int64_t>& offs,
                                   int64_t padded_count) {
      const T* src = px + plane * in_size;
      double acc = 0.0;
      double result = 0.0;
      if (kind == PoolKind::kAverage) {
        for (int64_t off : offs) acc += static_cast<C>(src[off]);
        const int64_t count = include_pad ? padded_count : static_cast<int64_t>(offs.size());
        result = count > 0 ? acc / static_cast<double>(count) : 0.0;
      } else {
        for (int64_t off : offs) {
          acc += std::pow(std::abs(static_cast<double>(static_cast<C>(src[off]))), p);
        }
        result = std::pow(acc, 1.0 / p);
      }
      py[plane * out_size + opos] = T(static_cast<C>(result));
    });
    return Status::ok();
  }));
  ctx.set_output(0, std::move(y));
  return Status::ok();
}

// Global pools reduce each (n, c) plane to a single value, keeping the spatial dims as 1.
Status run_global_pool(KernelContext& ctx, PoolKind kind, const char* op) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) {
    return invalid_argument(std::string(op) + " input must have shape (N, C, ...), got " +
                            shape_to_string(x.shape()));
  }
  Shape out_shape = x.shape();
  for (size_t d = 2; d < out_shape.size(); ++d) out_shape[d] = 1;
  Tensor y(x.dtype(), out_shape);
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t plane_size = planes == 0 ? 0 : x.size() / planes;
  const double p = kind == PoolKind::kLp ? ctx.attr_float("p", 2.0f) : 1.0;
  if (kind == PoolKind::kLp && p <= 0) {
    return invalid_argument("GlobalLpPool p must be > 0, got " + std::to_string(p));
  }
  ER_RETURN_IF_ERROR(dispatch<FloatTypes>(x.dtype(), op, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    using C = compute_t<T>;
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (int64_t plane = 0; plane < planes; ++plane) {
      const T* src = px + plane * plane_size;
      double result = 0.0;
      if (kind == PoolKind::kMax) {
        result = -std::numeric_limits<double>::infinity();
        for (int64_t i = 0; i < plane_size; ++i) {
          result = std::max<double>(result, static_cast<C>(src[i]));
        }
      } else if (kind == PoolKind::kAverage) {
        for (int64_t i = 0; i < plane_size; ++i) result += static_cast<C>(src[i]);
        result = plane_size > 0 ? result / static_cast<double>(plane_size) : 0.0;
      } else {
        for (int64_t i = 0; i < plane_size; ++i) {
          result += std::pow(std::abs(static_cast<double>(static_cast<C>(src[i]))), p);
        }
        result = std::pow(result, 1.0 / p);
      }
      py[plane] = T(static_cast<C>(result));
    }
    return Status::ok();
  }));
  ctx.set_output(0, std::move(y));
  return Status::ok();
}

}  // namespace

Status kernel_MaxPool(KernelContext& ctx) { return run_pool(ctx, PoolKind::kMax, "MaxPool"); }

Status kernel_AveragePool(KernelContext& ctx) {
  return run_pool(ctx, PoolKind::kAverage, "AveragePool");
}

Status kernel_LpPool(KernelContext& ctx) { return run_pool(ctx, PoolKind::kLp, "LpPool"); }

Status kernel_GlobalMaxPool(KernelContext& ctx) {
  return run_global_pool(ctx, PoolKind::kMax, "GlobalMaxPool");
}

Status kernel_GlobalAveragePool(KernelContext& ctx) {
  return run_global_pool(ctx, PoolKind::kAverage, "GlobalAveragePool");
}

Status kernel_GlobalLpPool(KernelContext& ctx) {
  return run_global_pool(ctx, PoolKind::kLp, "GlobalLpPool");
}

// Max over a grid of bins laid on each region of interest, in Caffe's rounding convention.
Status kernel_MaxRoiPool(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& rois = ctx.input(1);
  if (x.rank() != 4) {
    return invalid_argument("MaxRoiPool X must have shape (N, C, H, W), got " +
                            shape_to_string(x.shape()));
  }
  if (rois.rank() != 2 || rois.dim(1) != 5) {
    return invalid_argument("MaxRoiPool rois must have shape (num_rois, 5), got " +
                            shape_to_string(rois.shape()));
  }
  const std::vector<int64_t> pooled = ctx.attr_ints("pooled_shape");
  if (pooled.size() != 2 || pooled[0] < 1 || pooled[1] < 1) {
    return invalid_argument("MaxRoiPool pooled_shape must be two positive values, got " +
                            ints_to_string(pooled));
  }
  const double scale = ctx.attr_float("spatial_scale", 1.0f);
  std::vector<double> r;
  ER_ASSIGN_OR_RETURN(r, read_doubles(rois, "MaxRoiPool rois"));
  const int64_t num_rois = rois.dim(0);
  const int64_t channels = x.dim(1), height = x.dim(2), width = x.dim(3);
  const int64_t ph = pooled[0], pw = pooled[1];
  Tensor y(x.dtype(), {num_rois, channels, ph, pw});
  ER_RETURN_IF_ERROR(dispatch<FloatTypes>(x.dtype(), "MaxRoiPool", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    using C = compute_t<T>;
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (int64_t roi = 0; roi < num_rois; ++roi) {
      const double* box = &r[static_cast<size_t>(roi * 5)];
      const int64_t batch = static_cast<int64_t>(box[0]);
      if (batch < 0 || batch >= x.dim(0)) {
        return invalid_argument("MaxRoiPool roi " + std::to_string(roi) + " names batch " +
                                std::to_string(batch) + ", expected 0.." +
                                std::to_string(x.dim(0) - 1));
      }
      const int64_t x1 = std::llround(box[1] * scale), y1 = std::llround(box[2] * scale);
      const int64_t x2 = std::llround(box[3] * scale), y2 = std::llround(box[4] * scale);
      const double bin_h = static_cast<double>(std::max<int64_t>(y2 - y1 + 1, 1)) / ph;
      const double bin_w = static_cast<double>(std::max<int64_t>(x2 - x1 + 1, 1)) / pw;
      for (int64_t c = 0; c < channels; ++c) {
        const T* plane = px + (batch * channels + c) * height * width;
        for (int64_t i = 0; i < ph; ++i) {
          const int64_t h0 = std::clamp<int64_t>(std::floor(i * bin_h) + y1, 0, height);
          const int64_t h1 = std::clamp<int64_t>(std::ceil((i + 1) * bin_h) + y1, 0, height);
          for (int64_t j = 0; j < pw; ++j) {
            const int64_t w0 = std::clamp<int64_t>(std::floor(j * bin_w) + x1, 0, width);
            const int64_t w1 = std::clamp<int64_t>(std::ceil((j + 1) * bin_w) + x1, 0, width);
            // An empty bin (the roi lies outside the image) yields 0.
            double best = (h1 <= h0 || w1 <= w0) ? 0.0 : -std::numeric_limits<double>::infinity();
            for (int64_t h = h0; h < h1; ++h) {
              for (int64_t w = w0; w < w1; ++w) {
                best = std::max<double>(best, static_cast<C>(plane[h * width + w]));
              }
            }
            py[((roi * channels + c) * ph + i) * pw + j] = T(static_cast<C>(best));
          }
        }
      }
    }
    return Status::ok();
  }));
  ctx.set_output(0, std::move(y));
  return Status::ok();
}

}  // namespace edgerun::reference
